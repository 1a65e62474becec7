import ServiceLifecycle
import Synchronization

/// How long a task that is ready to run waits for a thread of Swift's cooperative pool: the
/// queue in front of the CPU.
///
/// Admission control needs it because on SQLite a read runs inline on the request's task: a
/// handler does not suspend, so it holds a permit only while it runs on one of the (two) threads.
/// When the CPU is what runs short, requests wait *before* any middleware sees them — their
/// connections' tasks are ready and queued for a thread — and no count of permits can see that
/// queue. This measures it with a task (of the connections' priority: it runs with the other
/// services) that sleeps `interval` at a time: how late it wakes is how long a ready task waits.
/// While it is late, the delay reads as at least how late it is by now — a probe waiting in the
/// queue it measures would otherwise report only once the queue had let it through.
final class SchedulingDelay: Service, Sendable {
    let interval: Duration
    private let origin = ContinuousClock.now
    /// The delay measured lately, in nanoseconds.
    private let measured = Atomic<Int64>(0)
    /// When the probe is due to run, in nanoseconds after `origin` (`.max` while it runs).
    private let due = Atomic<Int64>(.max)

    init(interval: Duration = .milliseconds(50)) {
        self.interval = interval
    }

    /// The delay lately measured, or how late the probe is by now if that is longer.
    var current: Duration {
        let late = nanoseconds(ContinuousClock.now - origin) - due.load(ordering: .relaxed)
        return .nanoseconds(max(measured.load(ordering: .relaxed), late))
    }

    /// Takes a measurement: a rise at once, a fall halfway, so that one lucky sample in a long
    /// queue does not read as no queue.
    func record(_ sample: Duration) {
        let new = max(0, nanoseconds(sample))
        let old = measured.load(ordering: .relaxed)
        measured.store(new >= old ? new : (old + new) / 2, ordering: .relaxed)
    }

    /// One measurement: sleeps `interval` and records how late it woke.
    func tick() async throws {
        let wake = ContinuousClock.now + interval
        due.store(nanoseconds(wake - origin), ordering: .relaxed)
        defer { due.store(.max, ordering: .relaxed) }
        try await Task.sleep(until: wake, tolerance: .milliseconds(1), clock: .continuous)
        record(.now - wake)
    }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while true { try await self.tick() }
        }
    }

    private func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }
}
