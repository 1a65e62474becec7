import Dispatch
import Foundation
import Synchronization

/// Copies committed pages from SQLite's write-ahead log into the database file on a thread of its
/// own, so that the writer seldom has to.
///
/// In WAL mode the connection that commits past `wal_autocheckpoint` pages runs the checkpoint
/// itself, inside that commit: it syncs the log, copies up to 32 MiB of pages and syncs the
/// database file while every queued write waits — the slowest acknowledgements of a busy minute
/// (`docs/benchmarks.md`). Here a connection of its own runs a `PASSIVE` checkpoint (which never
/// blocks the writer or readers) at most every `interval` while there are new commits, so when the
/// writer's automatic checkpoint comes due, nearly every page has been copied already and it only
/// finishes the tail (and restarts the log, which keeps it from growing). Checkpoints do not
/// change what survives a crash: a commit is durable once it is in the log.
final class SQLiteCheckpointer: Sendable {
    /// What one checkpoint found: frames in the log, and how many of them are in the database file.
    struct Pass: Sendable, Equatable {
        var logFrames: Int
        var checkpointed: Int
    }

    private let stopped = Atomic<Bool>(false)
    private let pending = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let waiters = Mutex<[CheckedContinuation<Pass?, Never>]>([])

    /// Starts the thread; it runs until `stop()`.
    init(connection: SQLiteConnection, interval: Duration = .milliseconds(100)) {
        let nanoseconds = Int(interval.components.seconds) * 1_000_000_000 + Int(interval.components.attoseconds / 1_000_000_000)
        let thread = Thread { [self] in
            Thread.current.name = "tack-checkpoint"
            while true {
                _ = wake.wait(timeout: .now() + .nanoseconds(nanoseconds))
                if stopped.load(ordering: .acquiring) { break }
                guard pending.exchange(false, ordering: .acquiringAndReleasing) else { continue }
                answerWaiters(Self.checkpoint(connection))
            }
            answerWaiters(nil)
        }
        thread.start()
    }

    /// The writer committed: there is something to copy at the next turn.
    func committed() {
        pending.store(true, ordering: .releasing)
    }

    /// Ends the thread (at once, not at its next turn).
    func stop() {
        stopped.store(true, ordering: .releasing)
        wake.signal()
    }

    /// Whether commits are waiting for the next turn.
    var hasPendingCommits: Bool { pending.load(ordering: .acquiring) }

    /// Has the thread checkpoint now, and returns what it found: nil if the thread stopped first
    /// or the checkpoint could not run (another one was running).
    func checkpointNow() async -> Pass? {
        await withCheckedContinuation { continuation in
            let stop = waiters.withLock { w -> Bool in
                if stopped.load(ordering: .acquiring) { return true }
                w.append(continuation)
                return false
            }
            if stop { return continuation.resume(returning: nil) }
            pending.store(true, ordering: .releasing)
            wake.signal()
        }
    }

    private func answerWaiters(_ pass: Pass?) {
        for waiter in waiters.withLock({ w in defer { w.removeAll() }; return w }) { waiter.resume(returning: pass) }
    }

    private static func checkpoint(_ connection: SQLiteConnection) -> Pass? {
        var pass: Pass?
        // SQLITE_BUSY (another checkpoint is running: the writer's own) is no failure: next time.
        try? connection.query("PRAGMA wal_checkpoint(PASSIVE)", []) { row in
            if case .integer(let log) = try row.value("log"), case .integer(let done) = try row.value("checkpointed") {
                pass = Pass(logFrames: Int(log), checkpointed: Int(done))
            }
        }
        return pass
    }
}
