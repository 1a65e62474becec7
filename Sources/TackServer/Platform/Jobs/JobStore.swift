import Foundation
import SQLKit
import Tagged

/// A durable job: work due at a time, run once by one worker of one node.
struct Job: Sendable, Equatable {
    typealias ID = Tagged<Job, UUID>
    enum State: String, Sendable { case pending, running, done, failed, cancelled }

    var id: ID
    var kind: String
    var orgID: Organization.ID?
    var payload: String
    var dueAt: Date
    /// Runs started so far, this one included once claimed.
    var attempts: Int
    var maxAttempts: Int
    /// The claim this run holds: completing with another token (the lease expired and another
    /// worker claimed the job) changes nothing.
    var claimToken: String?
}

/// The `jobs` table. Claims are `UPDATE … RETURNING` over the due rows; on PostgreSQL the rows
/// are picked `FOR UPDATE SKIP LOCKED`, so several nodes claim disjoint sets without waiting.
struct JobStore: Sendable {
    struct NewJob: Sendable {
        var kind: String
        var orgID: Organization.ID?
        var payload: String
        var dueAt: Date
        var dedupeKey: String?
        var maxAttempts: Int
    }

    /// Adds a job. With a `dedupeKey` that is already queued, nothing is added and the existing
    /// job's id is returned.
    @discardableResult
    func insert(_ db: any SQLDatabase, _ job: NewJob, now: Date) async throws -> Job.ID {
        if let key = job.dedupeKey,
           let existing = try await db.select().column("id").from("jobs").where("dedupe_key", .equal, key).first() {
            return try existing.decode(column: "id", as: Job.ID.self)
        }
        let id = Job.ID.random()
        try await db.insert(into: "jobs")
            .columns("id", "kind", "org_id", "payload", "dedupe_key", "state", "due_at", "attempts", "max_attempts", "created_at")
            .values(SQLBind(id), SQLBind(job.kind), SQLBind(job.orgID), SQLBind(job.payload), SQLBind(job.dedupeKey),
                    SQLBind(Job.State.pending.rawValue), SQLBind(job.dueAt), SQLBind(0), SQLBind(job.maxAttempts), SQLBind(now))
            .run()
        return id
    }

    /// Inserts many jobs without dedupe keys, one statement per 500.
    func insertMany(_ db: any SQLDatabase, _ jobs: [NewJob], now: Date) async throws {
        for chunk in jobs.chunked(500) {
            let insert = db.insert(into: "jobs")
                .columns("id", "kind", "org_id", "payload", "dedupe_key", "state", "due_at", "attempts", "max_attempts", "created_at")
            for job in chunk {
                precondition(job.dedupeKey == nil, "insertMany does not deduplicate")
                insert.values(SQLBind(Job.ID.random()), SQLBind(job.kind), SQLBind(job.orgID), SQLBind(job.payload), SQLBind(job.dedupeKey),
                              SQLBind(Job.State.pending.rawValue), SQLBind(job.dueAt), SQLBind(0), SQLBind(job.maxAttempts), SQLBind(now))
            }
            try await insert.run()
        }
    }

    /// Claims up to `limit` jobs that are due (and runs whose lease expired: their worker died),
    /// oldest due first, for `lease` seconds.
    func claim(_ db: any SQLDatabase, now: Date, limit: Int, lease: TimeInterval, worker: String) async throws -> [Job] {
        let token = UUID().uuidString
        let lock: SQLQueryString = db.dialect.name == "sqlite" ? "" : " FOR UPDATE SKIP LOCKED"
        var claimed: [Job] = []
        // Expired leases first (rare: a crashed worker), then what is due.
        for condition: SQLQueryString in ["state = 'running' AND lease_until < \(bind: now)", "state = 'pending' AND due_at <= \(bind: now)"] {
            let room = limit - claimed.count
            guard room > 0 else { break }
            let rows = try await db.raw("""
                UPDATE jobs SET state = 'running', attempts = attempts + 1, claim_token = \(bind: token), claimed_by = \(bind: worker),
                    lease_until = \(bind: now.addingTimeInterval(lease))
                WHERE id IN (SELECT id FROM jobs WHERE \(condition) ORDER BY due_at LIMIT \(literal: room)\(lock))
                RETURNING id, kind, org_id, payload, due_at, attempts, max_attempts, claim_token
                """).all()
            claimed += try rows.map(Self.job)
        }
        return claimed.sorted { $0.dueAt < $1.dueAt }
    }

    /// Marks a claimed job done. Fails with `JobLeaseLost` if the claim is no longer this run's.
    func complete(_ db: any SQLDatabase, _ job: Job, now: Date) async throws {
        try await finish(db, job, state: .done, error: nil, now: now)
    }

    /// Marks done the jobs (of one claim) whose claim is still this run's; returns their ids.
    func completeAll(_ db: any SQLDatabase, _ jobs: [Job], now: Date) async throws -> Set<Job.ID> {
        guard let token = jobs.first?.claimToken else { return [] }
        precondition(jobs.allSatisfy { $0.claimToken == token }, "a batch is one claim")
        var done: Set<Job.ID> = []
        for chunk in jobs.chunked(500) {
            let rows = try await db.raw("""
                UPDATE jobs SET state = 'done', finished_at = \(bind: now), last_error = NULL, claim_token = NULL, lease_until = NULL
                WHERE id IN \(SQLBind.group(chunk.map(\.id))) AND claim_token = \(bind: token) RETURNING id
                """).all()
            for row in rows { done.insert(try row.decode(column: "id", as: Job.ID.self)) }
        }
        return done
    }

    /// Marks a claimed job failed for good.
    func fail(_ db: any SQLDatabase, _ job: Job, error: String, now: Date) async throws {
        try await finish(db, job, state: .failed, error: error, now: now)
    }

    private func finish(_ db: any SQLDatabase, _ job: Job, state: Job.State, error: String?, now: Date) async throws {
        let rows = try await db.raw("""
            UPDATE jobs SET state = \(bind: state.rawValue), finished_at = \(bind: now), last_error = \(bind: error),
                claim_token = NULL, lease_until = NULL
            WHERE id = \(bind: job.id) AND claim_token = \(bind: job.claimToken) RETURNING id
            """).all()
        if rows.isEmpty { throw JobLeaseLost() }
    }

    /// Extends a running job's claim to `until` (a long run keeps its lease); `JobLeaseLost` if
    /// the claim is no longer this run's.
    func extendLease(_ db: any SQLDatabase, _ job: Job, until: Date) async throws {
        let rows = try await db.raw("""
            UPDATE jobs SET lease_until = \(bind: until)
            WHERE id = \(bind: job.id) AND claim_token = \(bind: job.claimToken) AND state = 'running' RETURNING id
            """).all()
        if rows.isEmpty { throw JobLeaseLost() }
    }

    /// Puts a claimed job back in the queue, due at `dueAt` (a retry after a failure).
    func retry(_ db: any SQLDatabase, _ job: Job, at dueAt: Date, error: String) async throws {
        let rows = try await db.raw("""
            UPDATE jobs SET state = 'pending', due_at = \(bind: dueAt), last_error = \(bind: error), claim_token = NULL, lease_until = NULL
            WHERE id = \(bind: job.id) AND claim_token = \(bind: job.claimToken) RETURNING id
            """).all()
        if rows.isEmpty { throw JobLeaseLost() }
    }

    /// Cancels a job that has not started (e.g. an escalation of a DING that was confirmed).
    func cancel(_ db: any SQLDatabase, dedupeKey: String, now: Date) async throws {
        try await db.update("jobs").set("state", to: Job.State.cancelled.rawValue).set("finished_at", to: now)
            .where("dedupe_key", .equal, dedupeKey).where("state", .equal, Job.State.pending.rawValue).run()
    }

    /// Every run left `running` goes back to the queue at once. Only for a single node (SQLite):
    /// no other process can be running them.
    func releaseAll(_ db: any SQLDatabase) async throws {
        try await db.raw("""
            UPDATE jobs SET state = 'pending', claim_token = NULL, lease_until = NULL WHERE state = 'running'
            """).run()
    }

    /// When the next job is due (nil: nothing is queued).
    func nextDue(_ db: any SQLDatabase) async throws -> Date? {
        let row = try await db.raw("SELECT MIN(due_at) AS due FROM jobs WHERE state = 'pending'").first()
        return try row?.decode(column: "due", as: Date?.self)
    }

    /// Forgets finished jobs older than `age` seconds.
    func deleteFinished(_ db: any SQLDatabase, before: Date) async throws {
        try await db.raw("""
            DELETE FROM jobs WHERE state IN ('done', 'failed', 'cancelled') AND finished_at < \(bind: before)
            """).run()
    }

    func fetch(_ db: any SQLDatabase, id: Job.ID) async throws -> (Job, Job.State, String?)? {
        guard let row = try await db.raw("""
            SELECT id, kind, org_id, payload, due_at, attempts, max_attempts, claim_token, state, last_error FROM jobs WHERE id = \(bind: id)
            """).first() else { return nil }
        return (try Self.job(row), Job.State(rawValue: try row.decode(column: "state", as: String.self)) ?? .failed,
                try row.decode(column: "last_error", as: String?.self))
    }

    private static func job(_ row: any SQLRow) throws -> Job {
        Job(id: try row.decode(column: "id", as: Job.ID.self), kind: try row.decode(column: "kind", as: String.self),
            orgID: try row.decode(column: "org_id", as: Organization.ID?.self), payload: try row.decode(column: "payload", as: String.self),
            dueAt: try row.decode(column: "due_at", as: Date.self), attempts: try row.decode(column: "attempts", as: Int.self),
            maxAttempts: try row.decode(column: "max_attempts", as: Int.self), claimToken: try row.decode(column: "claim_token", as: String?.self))
    }
}

/// The run's claim was taken over (its lease expired): its work is not committed.
struct JobLeaseLost: Error {}
