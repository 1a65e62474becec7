import HummingbirdCore
import Logging
import NIOCore

/// Runs each connection's task on the connection's own event loop.
///
/// Without it, every request crosses threads several times: NIO reads the request on an event
/// loop and resumes the connection's task on Swift's shared pool, whose writes go back to the
/// event loop (a wake-up and a thread switch each way, ~17 % of the CPU of a cheap request).
/// With the connection's event loop as the task's preferred executor, reading, handling and
/// writing happen on one thread, and the two cores are shared by connections, not by hops:
/// `GET /api/v1/me` went from ~3,600 to ~4,900 answers/s on 2 cores (docs/benchmarks.md).
///
/// The cost: a long computation in a request holds up the other connections of its event loop,
/// where on the pool it held up one pool thread. Requests that compute for long (exports) or
/// that want both cores (the dashboard's parallel reads) run on the shared pool instead
/// (`onSharedPool`). Work that is not a request's — group commits, jobs, timers — never ran here.
struct EventLoopPinnedChannel<Inner: ServerChildChannel>: ServerChildChannel {
    typealias Value = Inner.Value
    let inner: Inner

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        inner.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor(value.channel.eventLoop)) {
            await inner.handle(value: value, logger: logger)
        }
    }
}

/// A `TaskExecutor` that runs jobs on one NIO event loop (the swift-nio in use has none).
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    private let loop: any EventLoop

    init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// Runs `body` on Swift's shared pool, off the connection's event loop: for a request that
/// computes for long (an export) or runs reads side by side that should use both cores.
func onSharedPool<T: Sendable>(_ body: () async throws -> T) async throws -> T {
    try await withTaskExecutorPreference(globalConcurrentExecutor, operation: body)
}
