import Foundation
import Logging
import SQLKit
import Synchronization
import Testing
@testable import TackServer

/// A handler that records each committed run, and can be told to fail.
final class RecordingHandler: JobHandler {
    let kind: String
    let runs = Mutex<[String: Int]>([:])
    /// Attempts that throw (1-based), per payload.
    let failing: Set<Int>
    let failure: (@Sendable () -> any Error)?

    init(kind: String = "test.record", failing: Set<Int> = [], failure: (@Sendable () -> any Error)? = nil) {
        self.kind = kind
        self.failing = failing
        self.failure = failure
    }

    struct Payload: Codable { var name: String }

    func run(_ run: JobRun) async throws {
        let name = try run.payload(as: Payload.self).name
        if failing.contains(run.job.attempts) { throw failure?() ?? JobRetry(delay: 60, reason: "told to fail") }
        try await run.commit { _, _ in }
        runs.withLock { $0[name, default: 0] += 1 }
    }

    var count: Int { runs.withLock { $0.values.reduce(0, +) } }
    func count(_ name: String) -> Int { runs.withLock { $0[name] ?? 0 } }
}

/// A batch handler that records, per payload, the commits that included it.
final class RecordingBatchHandler: BatchJobHandler {
    let kind = "test.batch"
    let runs = Mutex<[String: Int]>([:])
    let batches = Mutex<[Int]>([])
    /// Each batch fails once (before committing) while this is set.
    let failFirst = Mutex<Bool>(false)

    func run(batch: JobBatch) async throws {
        if failFirst.withLock({ f in defer { f = false }; return f }) { throw JobRetry(delay: 60, reason: "told to fail") }
        let names = batch.payloads(as: RecordingHandler.Payload.self)
        try await batch.commit { _, _, owned in
            #expect(owned == Set(batch.jobs.map(\.id)))
        }
        batches.withLock { $0.append(batch.jobs.count) }
        runs.withLock { for (_, p) in names { $0[p.name, default: 0] += 1 } }
    }
}

@Suite("Job scheduler")
struct JobSchedulerTests {
    func enqueue(_ parts: TackServerParts, _ name: String, due: Date? = nil, dedupeKey: String? = nil, maxAttempts: Int = 8,
                 kind: String = "test.record") async throws -> Job.ID {
        try await parts.database.write { db in
            try await parts.jobs.queue.enqueue(db, Outbox(), kind: kind, payload: RecordingHandler.Payload(name: name), due: due,
                                               dedupeKey: dedupeKey, maxAttempts: maxAttempts)
        }
    }

    func state(_ parts: TackServerParts, _ id: Job.ID) async throws -> (Job.State, String?) {
        let found = try await parts.database.read { db in try await JobStore().fetch(db, id: id) }
        return (found!.1, found!.2)
    }

    @Test("a long run keeps its claim: extendLease moves lease_until, and fails once the claim is another's", arguments: Engine.all)
    func extendLease(engine: Engine) async throws {
        let (clock, time) = WallClock.manual()
        try await withParts(engine, clock: clock) { parts, _ in
            let id = try await enqueue(parts, "long")
            let store = JobStore()
            let claimed = try await parts.database.write { db in try await store.claim(db, now: time.current, limit: 1, lease: 120, worker: "w1") }
            let job = try #require(claimed.first)
            #expect(job.id == id)
            try await parts.database.write { db in try await store.extendLease(db, job, until: time.current.addingTimeInterval(600)) }
            // Not claimable by another worker after the first lease would have ended.
            let taken = try await parts.database.write { db in
                try await store.claim(db, now: time.current.addingTimeInterval(300), limit: 1, lease: 120, worker: "w2")
            }
            #expect(taken.isEmpty)
            let later = try await parts.database.write { db in
                try await store.claim(db, now: time.current.addingTimeInterval(601), limit: 1, lease: 120, worker: "w2")
            }
            #expect(later.first?.id == id)
            await #expect(throws: JobLeaseLost.self) {
                try await parts.database.write { db in try await store.extendLease(db, job, until: time.current.addingTimeInterval(900)) }
            }
        }
    }

    @Test("a job runs when it is due, once", arguments: Engine.all)
    func runsWhenDue(engine: Engine) async throws {
        let (clock, time) = WallClock.manual()
        try await withParts(engine, clock: clock) { parts, _ in
            let handler = RecordingHandler()
            parts.jobs.register(handler)
            let later = try await enqueue(parts, "later", due: time.current.addingTimeInterval(600))
            _ = try await enqueue(parts, "now")
            #expect(try await parts.jobs.runDue() == 1)
            #expect(handler.count("now") == 1 && handler.count("later") == 0)
            time.advance(by: 599)
            #expect(try await parts.jobs.runDue() == 0)
            time.advance(by: 1)
            #expect(try await parts.jobs.runDue() == 1)
            time.advance(by: 3600)
            #expect(try await parts.jobs.runDue() == 0)
            #expect(handler.count("later") == 1 && handler.count("now") == 1)
            #expect(try await state(parts, later).0 == .done)
        }
    }

    @Test("failures are retried with backoff and fail for good after the last attempt", arguments: Engine.all)
    func retries(engine: Engine) async throws {
        let (clock, time) = WallClock.manual()
        try await withParts(engine, clock: clock) { parts, _ in
            let handler = RecordingHandler(failing: [1, 2, 3], failure: { URLError(.timedOut) })
            parts.jobs.register(handler)
            let flaky = try await enqueue(parts, "flaky", maxAttempts: 5)
            let doomed = try await enqueue(parts, "doomed", maxAttempts: 2)
            #expect(try await parts.jobs.runDue() == 2)
            #expect(try await state(parts, flaky).0 == .pending)
            // The first retry comes after about 10 s (±10 %), the second after about 20 s more.
            time.advance(by: 8.9)
            #expect(try await parts.jobs.runDue() == 0)
            time.advance(by: 2.2)
            #expect(try await parts.jobs.runDue() == 2)
            let (doomedState, error) = try await state(parts, doomed)
            #expect(doomedState == .failed)
            #expect(error?.contains("URLError") == true || error?.contains("timed") == true, "\(error ?? "")")
            time.advance(by: 22.1)
            #expect(try await parts.jobs.runDue() == 1)  // attempt 3 fails too
            time.advance(by: 44.1)
            #expect(try await parts.jobs.runDue() == 1)  // attempt 4 succeeds
            #expect(handler.count("flaky") == 1)
            #expect(handler.count("doomed") == 0)
            #expect(try await state(parts, flaky).0 == .done)
        }
    }

    @Test("JobRetry picks the delay; JobFailure gives up at once; an unknown kind fails", arguments: [Engine.sqlite])
    func explicitOutcomes(engine: Engine) async throws {
        let (clock, time) = WallClock.manual()
        try await withParts(engine, clock: clock) { parts, _ in
            parts.jobs.register(RecordingHandler(kind: "test.retry", failing: [1], failure: { JobRetry(delay: 300, reason: "busy") }))
            parts.jobs.register(RecordingHandler(kind: "test.fail", failing: [1], failure: { JobFailure(reason: "bad address") }))
            let retry = try await enqueue(parts, "r", kind: "test.retry")
            let fail = try await enqueue(parts, "f", kind: "test.fail")
            let unknown = try await enqueue(parts, "u", kind: "test.unknown")
            try await parts.jobs.runDue()
            #expect(try await state(parts, fail) == (.failed, "bad address"))
            #expect(try await state(parts, unknown).0 == .failed)
            time.advance(by: 299)
            #expect(try await parts.jobs.runDue() == 0)
            time.advance(by: 1)
            #expect(try await parts.jobs.runDue() == 1)
            #expect(try await state(parts, retry).0 == .done)
        }
    }

    @Test("a dedupe key queues a job once; a cancelled job does not run", arguments: Engine.all)
    func dedupeAndCancel(engine: Engine) async throws {
        let (clock, _) = WallClock.manual()
        try await withParts(engine, clock: clock) { parts, _ in
            let handler = RecordingHandler()
            parts.jobs.register(handler)
            let first = try await enqueue(parts, "a", dedupeKey: "ding:1:sms")
            let second = try await enqueue(parts, "a", dedupeKey: "ding:1:sms")
            #expect(first == second)
            _ = try await enqueue(parts, "b", dedupeKey: "ding:1:call")
            try await parts.database.write { db in try await parts.jobs.queue.cancel(db, dedupeKey: "ding:1:call") }
            #expect(try await parts.jobs.runDue() == 1)
            #expect(handler.count("a") == 1 && handler.count("b") == 0)
        }
    }

    @Test("a run whose lease expired cannot commit: the job runs once", arguments: Engine.all)
    func leaseFencing(engine: Engine) async throws {
        let (clock, time) = WallClock.manual()
        try await withParts(engine, clock: clock) { parts, _ in
            let id = try await enqueue(parts, "slow")
            let store = JobStore()
            let first = try await parts.database.write { db in
                try await store.claim(db, now: time.current, limit: 10, lease: 60, worker: "a")
            }
            #expect(first.map(\.id) == [id])
            // Still leased: nobody else gets it.
            let none = try await parts.database.write { db in try await store.claim(db, now: time.current.addingTimeInterval(59), limit: 10, lease: 60, worker: "b") }
            #expect(none.isEmpty)
            time.advance(by: 61)
            let second = try await parts.database.write { db in try await store.claim(db, now: time.current, limit: 10, lease: 60, worker: "b") }
            #expect(second.map(\.id) == [id])
            #expect(second.first?.attempts == 2)
            await #expect(throws: JobLeaseLost.self) {
                try await parts.database.write { db in try await store.complete(db, first[0], now: time.current) }
            }
            try await parts.database.write { db in try await store.complete(db, second[0], now: time.current) }
            #expect(try await state(parts, id).0 == .done)
        }
    }

    @Test("two schedulers on one database run each of 300 jobs exactly once", arguments: Engine.all)
    func twoWorkers(engine: Engine) async throws {
        try await withParts(engine) { parts, _ in
            let handler = RecordingHandler()
            let other = JobScheduler(transactor: Transactor(database: parts.database, hub: parts.hub, clock: .live), clock: .live,
                                     options: .init(batch: 16, singleNode: false), ready: parts.migrator.migrated, logger: Logger(label: "test"))
            parts.jobs.register(handler)
            other.register(handler)
            for i in 0..<300 { _ = try await enqueue(parts, "job \(i)") }
            async let a = parts.jobs.runDue()
            async let b = other.runDue()
            let (ranA, ranB) = try await (a, b)
            #expect(ranA + ranB == 300)
            #expect(handler.count == 300)
            #expect(handler.runs.withLock { $0.values.allSatisfy { $0 == 1 } })
        }
    }

    @Test("a batch handler runs due jobs together, each exactly once across two schedulers; a failed batch is retried whole",
          arguments: Engine.all)
    func batches(engine: Engine) async throws {
        let (clock, time) = WallClock.manual()
        try await withParts(engine, clock: clock) { parts, _ in
            let handler = RecordingBatchHandler()
            let other = JobScheduler(transactor: Transactor(database: parts.database, hub: parts.hub, clock: clock), clock: clock,
                                     options: .init(batch: 64, singleNode: false), ready: parts.migrator.migrated, logger: Logger(label: "test"))
            parts.jobs.register(handler)
            other.register(handler)
            for i in 0..<300 { _ = try await enqueue(parts, "job \(i)", kind: "test.batch") }
            async let a = parts.jobs.runDue()
            async let b = other.runDue()
            let (ranA, ranB) = try await (a, b)
            #expect(ranA + ranB == 300)
            #expect(handler.runs.withLock { $0.count == 300 && $0.values.allSatisfy { $0 == 1 } })
            #expect(handler.batches.withLock { $0.allSatisfy { $0 <= 32 } && $0.contains { $0 > 1 } }, "together, at most 32 at a time")

            handler.failFirst.withLock { $0 = true }
            for i in 0..<5 { _ = try await enqueue(parts, "again \(i)", kind: "test.batch") }
            #expect(try await parts.jobs.runDue() == 5)
            #expect(handler.runs.withLock { $0.keys.filter { $0.hasPrefix("again") }.isEmpty }, "the failed batch committed nothing")
            time.advance(by: 60)
            #expect(try await parts.jobs.runDue() == 5)
            #expect(handler.runs.withLock { $0.filter { $0.key.hasPrefix("again") }.values.allSatisfy { $0 == 1 } && $0.count == 305 })
        }
    }

    @Test("many jobs added at once (one statement per 500) each run once", arguments: Engine.all)
    func enqueueMany(engine: Engine) async throws {
        try await withParts(engine) { parts, _ in
            let handler = RecordingHandler()
            parts.jobs.register(handler)
            try await parts.database.write { db in
                try await parts.jobs.queue.enqueueMany(db, Outbox(), kind: "test.record",
                                                       payloads: (0..<1200).map { RecordingHandler.Payload(name: "job \($0)") })
            }
            #expect(try await parts.jobs.runDue() == 1200)
            #expect(handler.count == 1200 && handler.runs.withLock { $0.count == 1200 })
        }
    }

    @Test("the running scheduler wakes for a job added on its node and for one coming due", arguments: [Engine.sqlite])
    func serviceLoop(engine: Engine) async throws {
        try await withParts(engine) { parts, _ in
            let handler = RecordingHandler()
            parts.jobs.register(handler)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await parts.jobs.run() }
                let seen = AsyncStream.makeStream(of: Void.self)
                parts.jobs.register(NotifyingHandler(continuation: seen.continuation))
                try await parts.database.write { db in
                    let outbox = Outbox()
                    try await parts.jobs.queue.enqueue(db, outbox, kind: "test.notify", payload: RecordingHandler.Payload(name: "x"))
                    try await parts.jobs.queue.enqueue(db, outbox, kind: "test.notify", payload: RecordingHandler.Payload(name: "y"),
                                                       due: Date().addingTimeInterval(0.3))
                    outbox.committed.actions.forEach { $0() }
                }
                var iterator = seen.stream.makeAsyncIterator()
                await iterator.next()
                await iterator.next()
                group.cancelAll()
            }
        }
    }
}

/// Tells the test each time one of its jobs ran.
struct NotifyingHandler: JobHandler {
    let kind = "test.notify"
    let continuation: AsyncStream<Void>.Continuation
    func run(_ run: JobRun) async throws {
        try await run.commit { _, _ in }
        continuation.yield()
    }
}
