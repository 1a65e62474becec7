import DequeModule
import Foundation
import Logging
import SQLKit
import Synchronization

/// Group commit: concurrent requests for the same kind of write share one transaction.
///
/// Requests queue up while a transaction runs; the next transaction takes all of them (up to
/// `maxBatch`), runs each in a savepoint — one that fails is rolled back alone and fails alone —
/// commits once, and only then answers every request and publishes their events. With no
/// contention a request commits on its own at once, so latency stays low; under load the cost
/// of BEGIN/COMMIT (and on PostgreSQL the disk flush of each commit) is shared by the batch.
///
/// SQLite has one writer, so there is one queue. PostgreSQL runs transactions side by side, so
/// there its jobs are spread over several queues ("lanes") by their sort key: jobs with the same
/// key (e.g. one conversation) share a lane and keep their order, and lanes lock disjoint rows.
final class GroupCommitter<Job: Sendable, Result: Sendable>: Sendable {
    typealias Work = @Sendable (any SQLDatabase, Outbox, Job) async throws -> Result
    /// The writes of a whole batch at once (set-based SQL), a result per job in order.
    typealias BatchWork = @Sendable (any SQLDatabase, Outbox, [Job]) async throws -> [Result]

    private struct Pending: Sendable {
        var job: Job
        var sortKey: String
        var continuation: CheckedContinuation<Result, any Error>
    }

    private struct State: ~Copyable {
        var queue = Deque<Pending>()
        var running = false
    }

    private final class Lane: Sendable {
        let state = Mutex(State())
    }

    private let transactor: Transactor
    private let work: Work?
    private let batchWork: BatchWork?
    private let maxBatch: Int
    private let logger: Logger
    private let lanes: [Lane]

    /// - Parameters:
    ///   - work: the write for one request, inside the shared transaction.
    init(transactor: Transactor, maxBatch: Int = 256, lanes: Int? = nil, logger: Logger, work: @escaping Work) {
        self.transactor = transactor
        self.lanes = (0..<(lanes ?? (transactor.database.engine == .sqlite ? 1 : 8))).map { _ in Lane() }
        self.work = work
        batchWork = nil
        self.maxBatch = maxBatch
        self.logger = logger
    }

    /// A committer whose batches are written together by `batchWork` (one statement per table
    /// instead of one per job). A batch that fails is retried job by job, each alone in its
    /// transaction, so one bad job fails alone.
    init(transactor: Transactor, maxBatch: Int = 256, logger: Logger, batchWork: @escaping BatchWork) {
        self.transactor = transactor
        lanes = (0..<(transactor.database.engine == .sqlite ? 1 : 8)).map { _ in Lane() }
        work = nil
        self.batchWork = batchWork
        self.maxBatch = maxBatch
        self.logger = logger
    }

    /// Runs `job` in the next shared transaction and returns its result once that committed.
    ///
    /// - Parameter sortKey: jobs of a batch run in this order, so that on PostgreSQL two nodes'
    ///   batches lock rows (e.g. conversation counters) in the same order and cannot deadlock.
    func submit(_ job: Job, sortKey: String) async throws -> Result {
        let lane = lanes[lanes.count == 1 ? 0 : Int(Self.stableHash(sortKey) % UInt64(lanes.count))]
        return try await withCheckedThrowingContinuation { continuation in
            let start = lane.state.withLock { s -> Bool in
                s.queue.append(Pending(job: job, sortKey: sortKey, continuation: continuation))
                if s.running { return false }
                s.running = true
                return true
            }
            if start { Task { await self.drain(lane) } }
        }
    }

    /// FNV-1a: the same lane for the same key in every process.
    private static func stableHash(_ key: String) -> UInt64 {
        key.utf8.reduce(14_695_981_039_346_656_037) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
    }

    private func drain(_ lane: Lane) async {
        while true {
            let batch = lane.state.withLock { s -> [Pending] in
                if s.queue.isEmpty {
                    s.running = false
                    return []
                }
                let n = min(maxBatch, s.queue.count)
                let taken = Array(s.queue.prefix(n))
                s.queue.removeFirst(n)
                return taken
            }
            if batch.isEmpty { return }
            await run(batch.sorted { $0.sortKey < $1.sortKey })
        }
    }

    private func run(_ batch: [Pending]) async {
        guard let work else { return await runTogether(batch) }
        do {
            // The outbox lives inside the transaction body: a retried transaction starts afresh.
            let (results, committed) = try await transactor.database.write { db -> ([Swift.Result<Result, any Error>], Outbox.Committed) in
                let outbox = Outbox()
                var results: [Swift.Result<Result, any Error>] = []
                results.reserveCapacity(batch.count)
                for (i, pending) in batch.enumerated() {
                    if batch.count == 1 {
                        // Alone in its transaction: its failure rolls the transaction back.
                        results.append(.success(try await work(db, outbox, pending.job)))
                        continue
                    }
                    try await db.raw("SAVEPOINT g\(unsafeRaw: String(i))").run()
                    let local = Outbox()
                    do {
                        let result = try await work(db, local, pending.job)
                        try await db.raw("RELEASE SAVEPOINT g\(unsafeRaw: String(i))").run()
                        outbox.absorb(local)
                        results.append(.success(result))
                    } catch {
                        try await db.raw("ROLLBACK TO SAVEPOINT g\(unsafeRaw: String(i))").run()
                        try await db.raw("RELEASE SAVEPOINT g\(unsafeRaw: String(i))").run()
                        results.append(.failure(error))
                    }
                }
                return (results, outbox.committed)
            }
            await transactor.deliver(committed)
            for (pending, result) in zip(batch, results) { pending.continuation.resume(with: result) }
        } catch {
            if batch.count > 1 { logger.warning("a group commit failed", metadata: ["error": "\(error)", "size": "\(batch.count)"]) }
            for pending in batch { pending.continuation.resume(throwing: error) }
        }
    }

    private func runTogether(_ batch: [Pending]) async {
        guard let batchWork else { return }
        do {
            let (results, committed) = try await transactor.database.write { db -> ([Result], Outbox.Committed) in
                let outbox = Outbox()
                let results = try await batchWork(db, outbox, batch.map(\.job))
                precondition(results.count == batch.count, "a result per job")
                return (results, outbox.committed)
            }
            await transactor.deliver(committed)
            for (pending, result) in zip(batch, results) { pending.continuation.resume(returning: result) }
        } catch {
            guard batch.count > 1 else { return batch[0].continuation.resume(throwing: error) }
            logger.warning("a group commit failed; its jobs are retried one by one", metadata: ["error": "\(error)", "size": "\(batch.count)"])
            for pending in batch { await runTogether([pending]) }
        }
    }
}
