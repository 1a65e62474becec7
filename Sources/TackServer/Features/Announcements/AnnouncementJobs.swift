import Foundation

extension AnnouncementService {
    /// The job handlers of announcements, to register with the scheduler.
    var jobHandlers: [any JobHandler] { [AnnouncementPublishHandler(service: self)] }
}

/// `announcement.publish`: a scheduled announcement's minute came — it goes out in the job's own
/// transaction. An announcement that was cancelled, or moved to a later minute (its old job was
/// cancelled, but may already have been claimed), is left alone.
struct AnnouncementPublishHandler: JobHandler {
    let service: AnnouncementService
    var kind: String { AnnouncementService.publishKind }

    func run(_ run: JobRun) async throws {
        let job = try run.payload(as: AnnouncementJob.self)
        try await run.commit { db, outbox in
            guard let announcement = try await service.store.fetch(db, orgID: job.orgID, id: job.announcementID),
                  announcement.publishedAt == nil, announcement.cancelledAt == nil,
                  let at = announcement.scheduledAt, at <= run.now
            else { return }
            try await service.publish(db, outbox, announcement, now: run.now)
        }
    }
}
