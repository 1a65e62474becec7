import Foundation
import SQLKit

/// A `live.reminder` job: when a scheduled class's time comes, its groups are reminded — a line
/// in each ("… starts now", `live_starting`, which notifies members like any message) — unless
/// the teacher started it already (the `live_started` line went out then) or cancelled it.
struct LiveReminderJob: Codable, Sendable {
    var orgID: Organization.ID
    var classID: LiveClass.ID
}

extension LiveService {
    static let reminderKind = "live.reminder"

    /// Queues the reminder of a scheduled class, due at its time (in the transaction that makes it).
    func enqueueReminder(_ db: any SQLDatabase, _ outbox: Outbox, _ c: LiveClass) async throws {
        guard c.state == .scheduled, let at = c.scheduledAt else { return }
        try await jobs.enqueue(db, outbox, kind: Self.reminderKind, payload: LiveReminderJob(orgID: c.orgID, classID: c.id), due: at,
                               orgID: c.orgID, dedupeKey: "\(Self.reminderKind):\(c.id.string)")
    }

    /// The reminder, if the class is still waiting to start.
    func remind(_ db: any SQLDatabase, _ outbox: Outbox, _ job: LiveReminderJob, now: Date) async throws {
        try await store.lockClass(db, orgID: job.orgID, id: job.classID)
        guard let c = try await store.fetchClass(db, orgID: job.orgID, id: job.classID), c.state == .scheduled else { return }
        try await notify(db, outbox, c, .liveStarting, now: now)
    }
}

struct LiveReminderHandler: JobHandler {
    let service: LiveService
    var kind: String { LiveService.reminderKind }

    func run(_ run: JobRun) async throws {
        let job = try run.payload(as: LiveReminderJob.self)
        try await run.commit { db, outbox in try await service.remind(db, outbox, job, now: service.clock.now()) }
    }
}
