import Foundation
import Logging
import Metrics
import SQLKit
import ServiceLifecycle
import Synchronization

/// What a kind of job does when one of its jobs runs.
protocol JobHandler: Sendable {
    var kind: String { get }
    /// Runs a claimed job. Database writes that must happen exactly once belong in
    /// `run.commit`, the transaction that also marks the job done. Throwing retries the job
    /// later with backoff (`JobRetry` chooses when; `JobFailure` gives up at once).
    func run(_ run: JobRun) async throws
}

/// A handler that runs the claimed jobs of its kind together, with set-based SQL: one read and
/// one transaction for many jobs instead of one per job (e.g. 10,000 DINGs due in one minute).
protocol BatchJobHandler: JobHandler {
    /// Runs several claimed jobs. Effects that must happen once belong in `batch.commit`, which
    /// marks done the jobs whose claims are still this run's and tells the body which those are.
    /// Throwing gives every job of the batch back for a retry.
    func run(batch: JobBatch) async throws
}

extension BatchJobHandler {
    /// One job alone: a batch of one, committed like any job.
    func run(_ run: JobRun) async throws {
        try await self.run(batch: JobBatch(jobs: [run.job], now: run.now) { body in
            try await run.commit { db, outbox in try await body(db, outbox, [run.job.id]) }
        })
    }
}

/// Claimed jobs of one kind run together by a `BatchJobHandler`.
final class JobBatch: Sendable {
    typealias Body = @Sendable (any SQLDatabase, Outbox, Set<Job.ID>) async throws -> Void
    let jobs: [Job]
    /// When the run started (the scheduler's clock).
    let now: Date
    private let commitBody: @Sendable (@escaping Body) async throws -> Void
    private let done = Atomic<Bool>(false)

    init(jobs: [Job], now: Date, commit: @escaping @Sendable (@escaping Body) async throws -> Void) {
        self.jobs = jobs
        self.now = now
        commitBody = commit
    }

    var committed: Bool { done.load(ordering: .acquiring) }

    /// The payloads of the jobs that can be read (others are given up when the batch commits: they
    /// are marked done with nothing to do, which is what an unreadable payload deserves).
    func payloads<T: Decodable>(as type: T.Type) -> [(Job, T)] {
        jobs.compactMap { job in (try? JSONDecoder.tack.decode(T.self, from: Data(job.payload.utf8))).map { (job, $0) } }
    }

    /// Runs `body` in the transaction that marks the jobs done; `body` gets the ids of the jobs
    /// still claimed by this run (a job whose lease expired and was taken over is left out, and
    /// its effects must be too). Call at most once.
    func commit(_ body: @escaping Body) async throws {
        precondition(!committed, "a batch commits once")
        try await commitBody(body)
        done.store(true, ordering: .releasing)
    }
}

/// Asks for the job to be run again after `delay` seconds.
struct JobRetry: Error { var delay: TimeInterval; var reason: String }

/// Gives a job up for good: retrying would not help.
struct JobFailure: Error { var reason: String }

/// One run of a claimed job, as its handler sees it.
final class JobRun: Sendable {
    let job: Job
    /// The time the run started (the scheduler's clock).
    let now: Date
    fileprivate let committer: GroupCommitter<JobScheduler.Completion, Void>
    fileprivate let clock: WallClock
    /// Seconds a claim lasts; `keepingLease` renews it well before that.
    let lease: TimeInterval
    private let renew: @Sendable () async throws -> Void
    private let done = Atomic<Bool>(false)

    fileprivate init(job: Job, now: Date, committer: GroupCommitter<JobScheduler.Completion, Void>, clock: WallClock, lease: TimeInterval,
                     renew: @escaping @Sendable () async throws -> Void) {
        self.job = job
        self.now = now
        self.committer = committer
        self.clock = clock
        self.lease = lease
        self.renew = renew
    }

    /// Runs `body` (work that may take longer than a lease: converting a class's recording) while
    /// renewing the job's claim every third of a lease, so that no other worker takes the job
    /// over while it runs. A renewal that fails is left to the commit's fence.
    func keepingLease<R: Sendable>(_ body: @Sendable () async throws -> R) async throws -> R {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [renew, lease] in
                while true {
                    try await Task.sleep(for: .milliseconds(Int64(lease * 1000 / 3)))
                    try await renew()
                }
            }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    var committed: Bool { done.load(ordering: .acquiring) }

    func payload<T: Decodable>(as type: T.Type) throws -> T {
        do { return try JSONDecoder.tack.decode(T.self, from: Data(job.payload.utf8)) } catch {
            throw JobFailure(reason: "unreadable payload: \(error)")
        }
    }

    /// Runs `body` in the transaction that marks the job done — its writes and events happen
    /// once, or not at all if the claim was lost. Call at most once; the scheduler commits an
    /// empty body for handlers that do not.
    func commit(_ body: @escaping @Sendable (any SQLDatabase, Outbox) async throws -> Void) async throws {
        precondition(!committed, "a job run commits once")
        try await committer.submit(JobScheduler.Completion(job: job, now: clock.now(), body: body), sortKey: job.id.string)
        done.store(true, ordering: .releasing)
    }
}

/// Adds jobs, inside the transaction of the action that wants them.
struct JobQueue: Sendable {
    let store = JobStore()
    let clock: WallClock
    /// Wakes this node's scheduler (after the transaction that added a job committed).
    let wake: @Sendable () -> Void

    @discardableResult
    func enqueue<P: Encodable>(_ db: any SQLDatabase, _ outbox: Outbox, kind: String, payload: P, due: Date? = nil,
                               orgID: Organization.ID? = nil, dedupeKey: String? = nil, maxAttempts: Int = 8) async throws -> Job.ID {
        let now = clock.now()
        let text = String(decoding: try JSONEncoder.tack.encode(payload), as: UTF8.self)
        let id = try await store.insert(db, .init(kind: kind, orgID: orgID, payload: text, dueAt: due ?? now, dedupeKey: dedupeKey,
                                                  maxAttempts: maxAttempts), now: now)
        outbox.afterCommit(wake)
        return id
    }

    /// Adds one job per payload, with one statement per 500 (no dedupe keys: for work whose
    /// cause happens once, e.g. an announcement's e-mails, queued by the transaction that sends it).
    func enqueueMany<P: Encodable>(_ db: any SQLDatabase, _ outbox: Outbox, kind: String, payloads: [P], due: Date? = nil,
                                   orgID: Organization.ID? = nil, maxAttempts: Int = 8) async throws {
        guard !payloads.isEmpty else { return }
        let now = clock.now()
        let encoder = JSONEncoder.tack
        let jobs = try payloads.map { payload in
            JobStore.NewJob(kind: kind, orgID: orgID, payload: String(decoding: try encoder.encode(payload), as: UTF8.self), dueAt: due ?? now,
                            dedupeKey: nil, maxAttempts: maxAttempts)
        }
        try await store.insertMany(db, jobs, now: now)
        outbox.afterCommit(wake)
    }

    func cancel(_ db: any SQLDatabase, dedupeKey: String) async throws {
        try await store.cancel(db, dedupeKey: dedupeKey, now: clock.now())
    }
}

/// Runs due jobs: claims them in batches, runs their handlers concurrently, commits their
/// completions together (group commit), and retries failures with exponential backoff.
///
/// A job runs once: its effects commit in the transaction that marks it done, fenced by the
/// claim token, so a run whose lease expired (its node stalled or died and another node claimed
/// the job) cannot commit. A node that dies mid-run leaves the job to be claimed again when its
/// lease ends; on SQLite (one node) jobs left running are released when Tack starts.
final class JobScheduler: Service, Sendable {
    struct Completion: Sendable {
        var job: Job
        var now: Date
        var body: @Sendable (any SQLDatabase, Outbox) async throws -> Void
    }

    struct Options: Sendable {
        /// Jobs claimed (and run concurrently) at a time.
        var batch = 128
        /// Seconds a claim lasts before another worker may take the job over.
        var lease: TimeInterval = 120
        /// The longest sleep between looks at the queue: jobs added by other nodes wait at most this.
        var pollInterval: Duration = .seconds(1)
        /// Whether this is the only node (SQLite): runs left `running` are released at start.
        var singleNode = true
        /// First retry delay in seconds; doubled per attempt, at most `maxBackoff`.
        var backoff: TimeInterval = 10
        var maxBackoff: TimeInterval = 3600
    }

    let queue: JobQueue
    private let database: Database
    private let clock: WallClock
    private let handlers: Mutex<[String: any JobHandler]>
    private let options: Options
    private let worker: String
    private let logger: Logger
    private let store = JobStore()
    private let committer: GroupCommitter<Completion, Void>
    private let transactor: Transactor
    private let signal: WakeSignal

    private static let completed = Counter(label: "tack_jobs_completed_total")
    private static let retried = Counter(label: "tack_jobs_retried_total")
    private static let failed = Counter(label: "tack_jobs_failed_total")

    /// Opens when the schema is up to date; the worker starts then.
    private let ready: ReadyGate

    init(transactor: Transactor, clock: WallClock, options: Options = Options(), ready: ReadyGate, logger: Logger) {
        self.ready = ready
        database = transactor.database
        self.transactor = transactor
        self.clock = clock
        self.options = options
        self.logger = logger
        handlers = Mutex([:])
        worker = "\(ProcessInfo.processInfo.hostName):\(getpid()):\(UUID().uuidString.prefix(8))"
        let store = JobStore()
        committer = GroupCommitter(transactor: transactor, logger: logger) { db, outbox, completion in
            try await completion.body(db, outbox)
            try await store.complete(db, completion.job, now: completion.now)
        }
        let signal = WakeSignal()
        self.signal = signal
        queue = JobQueue(clock: clock, wake: { signal.signal() })
    }

    /// Registers what a kind of job does (at start-up, before `run`).
    func register(_ handler: any JobHandler) {
        handlers.withLock { $0[handler.kind] = handler }
    }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            await self.ready.wait()
            if Task.isCancelled { return }
            if self.options.singleNode {
                try await self.database.write { db in try await self.store.releaseAll(db) }
            }
            while !Task.isCancelled {
                do {
                    _ = try await self.runDue()
                    let next = try await self.database.read { db in try await self.store.nextDue(db) }
                    await self.sleep(until: next)
                } catch is CancellationError {
                    return
                } catch {
                    self.logger.error("the job scheduler failed; trying again", metadata: ["error": "\(error)"])
                    try await Task.sleep(for: self.options.pollInterval)
                }
            }
        }
    }

    /// Claims and runs every job that is due now; returns how many ran. Up to `batch` jobs run at
    /// once, and more are claimed whenever half of them finished — a slow job does not hold the
    /// next ones back. Jobs of a `BatchJobHandler` run in groups of up to 32.
    @discardableResult
    func runDue() async throws -> Int {
        try await withThrowingTaskGroup(of: Int.self) { group in
            var total = 0, running = 0
            var exhausted = false
            while true {
                // Claim when half the room is free — or when everything finished, since finished
                // jobs may have added jobs that are due now.
                if running == 0 || (!exhausted && running <= options.batch / 2) {
                    let now = clock.now()
                    let room = options.batch - running
                    let jobs = try await database.write { db in
                        try await store.claim(db, now: now, limit: room, lease: options.lease, worker: worker)
                    }
                    exhausted = jobs.count < room
                    if jobs.isEmpty, running == 0 { return total }
                    let registered = handlers.withLock { $0 }
                    var batches: [String: [Job]] = [:]
                    for job in jobs {
                        if registered[job.kind] is any BatchJobHandler {
                            batches[job.kind, default: []].append(job)
                        } else {
                            group.addTask { await self.execute(job, now: now); return 1 }
                        }
                    }
                    for (kind, list) in batches {
                        guard let handler = registered[kind] as? any BatchJobHandler else { continue }
                        for chunk in list.chunked(32) {
                            let chunk = Array(chunk)
                            group.addTask { await self.execute(batch: chunk, handler: handler, now: now); return chunk.count }
                        }
                    }
                    running += jobs.count
                    total += jobs.count
                }
                running -= try await group.next() ?? 0
            }
        }
    }

    /// Runs jobs of one kind (claimed together, so with one claim token) as a batch.
    private func execute(batch jobs: [Job], handler: any BatchJobHandler, now: Date) async {
        let batch = JobBatch(jobs: jobs, now: now) { [transactor, store, clock] body in
            try await transactor.run { db, outbox in
                let owned = try await store.completeAll(db, jobs, now: clock.now())
                if owned.isEmpty { throw JobLeaseLost() }
                try await body(db, outbox, owned)
            }
        }
        do {
            try await handler.run(batch: batch)
            if !batch.committed { try await batch.commit { _, _, _ in } }
            Self.completed.increment(by: Int64(jobs.count))
        } catch is JobLeaseLost {
            logger.warning("a batch of jobs was taken over before it finished", metadata: ["kind": "\(handler.kind)", "jobs": "\(jobs.count)"])
        } catch {
            if batch.committed {
                logger.error("a batch of jobs failed after it committed", metadata: ["kind": "\(handler.kind)", "error": "\(error)"])
                return
            }
            for job in jobs { await giveBack(job, error: error) }
        }
    }

    private func execute(_ job: Job, now: Date) async {
        let run = JobRun(job: job, now: now, committer: committer, clock: clock, lease: options.lease) { [database, store, clock, options] in
            try await database.write { db in try await store.extendLease(db, job, until: clock.now().addingTimeInterval(options.lease)) }
        }
        do {
            guard let handler = handlers.withLock({ $0[job.kind] }) else { throw JobFailure(reason: "no handler for jobs of kind \(job.kind)") }
            try await handler.run(run)
            if !run.committed { try await run.commit { _, _ in } }
            Self.completed.increment()
        } catch is JobLeaseLost {
            logger.warning("a job's claim was taken over before it finished", metadata: ["job": "\(job.id.string)", "kind": "\(job.kind)"])
        } catch {
            if run.committed {
                logger.error("a job failed after it committed", metadata: ["job": "\(job.id.string)", "error": "\(error)"])
                return
            }
            await giveBack(job, error: error)
        }
    }

    /// Schedules a retry, or fails the job for good after its last attempt.
    private func giveBack(_ job: Job, error: any Error) async {
        let now = clock.now()
        let reason: String
        // Backoff doubles per attempt, ±10 % so that jobs that failed together do not retry together.
        var delay = min(options.maxBackoff, options.backoff * pow(2, Double(max(0, job.attempts - 1)))) * Double.random(in: 0.9...1.1)
        var permanent = job.attempts >= job.maxAttempts
        switch error {
        case let e as JobRetry: reason = e.reason; delay = e.delay
        case let e as JobFailure: reason = e.reason; permanent = true
        default: reason = "\(error)"
        }
        do {
            try await database.write { db in
                if permanent {
                    try await store.fail(db, job, error: reason, now: now)
                } else {
                    try await store.retry(db, job, at: now.addingTimeInterval(delay), error: reason)
                }
            }
            (permanent ? Self.failed : Self.retried).increment()
            logger.log(level: permanent ? .error : .warning, permanent ? "a job failed for good" : "a job failed; it will be retried",
                       metadata: ["job": "\(job.id.string)", "kind": "\(job.kind)", "attempt": "\(job.attempts)", "error": "\(reason)"])
        } catch {
            logger.warning("could not record a job's failure; its lease will expire", metadata: ["job": "\(job.id.string)", "error": "\(error)"])
        }
    }

    /// Sleeps until `next` (at most the poll interval) or until a job is added on this node.
    private func sleep(until next: Date?) async {
        var wait = options.pollInterval
        if let next {
            let seconds = next.timeIntervalSince(clock.now())
            if seconds <= 0 { return }
            wait = min(wait, .milliseconds(Int64(seconds * 1000) + 1))
        }
        await signal.wait(timeout: wait)
    }
}
