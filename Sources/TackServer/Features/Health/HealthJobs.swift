import Foundation
import SQLKit

/// A report's scheduled work: its reminders, the closing of each day's window (the day's counts
/// kept), and the daily expiry of raw answers. Each job schedules its own next occurrence; a
/// report's change schedules afresh, and jobs of an older version of the report do nothing.
struct HealthJob: Codable, Sendable {
    var orgID: Organization.ID
    var reportID: HealthReport.ID
    /// The report's `updatedAt` when the job was queued (seconds since 1970).
    var version: Double
    var day: String
    /// Reminders: which one.
    var index: Int?
}

extension HealthService {
    var jobHandlers: [any JobHandler] {
        [HealthRemindHandler(service: self), HealthCloseHandler(service: self), HealthRetentionHandler(service: self)]
    }

    static func version(_ report: HealthReport) -> Double { report.updatedAt.timeIntervalSince1970 }

    /// Queues the report's next reminders, the next close of a window, and the next expiry run.
    func scheduleJobs(_ db: any SQLDatabase, _ outbox: Outbox, _ report: HealthReport, after now: Date) async throws {
        let zone = try await store.fetchTimeZone(db, orgID: report.orgID)
        if report.active {
            for index in report.reminders.indices { try await scheduleReminder(db, outbox, report, index: index, zone: zone, after: now) }
            try await scheduleClose(db, outbox, report, zone: zone, after: now)
        }
        try await scheduleRetention(db, outbox, report, zone: zone, after: now)
    }

    func scheduleReminder(_ db: any SQLDatabase, _ outbox: Outbox, _ report: HealthReport, index: Int, zone: TimeZone, after now: Date) async throws {
        guard let (day, at) = report.schedule(in: zone).next(minutes: report.reminders[index].at, after: now) else { return }
        let version = Self.version(report)
        try await jobs.enqueue(db, outbox, kind: Self.remindKind,
                               payload: HealthJob(orgID: report.orgID, reportID: report.id, version: version, day: day.description, index: index),
                               due: at, orgID: report.orgID, dedupeKey: "health:\(report.id.string):remind:\(index):\(Int(at.timeIntervalSince1970)):\(version)")
    }

    func scheduleClose(_ db: any SQLDatabase, _ outbox: Outbox, _ report: HealthReport, zone: TimeZone, after now: Date) async throws {
        guard let (day, at) = report.schedule(in: zone).next(minutes: report.closesAt, after: now) else { return }
        let version = Self.version(report)
        try await jobs.enqueue(db, outbox, kind: Self.closeKind,
                               payload: HealthJob(orgID: report.orgID, reportID: report.id, version: version, day: day.description, index: nil),
                               due: at, orgID: report.orgID, dedupeKey: "health:\(report.id.string):close:\(day):\(version)")
    }

    /// Daily, at 00:30 in the organisation's zone.
    func scheduleRetention(_ db: any SQLDatabase, _ outbox: Outbox, _ report: HealthReport, zone: TimeZone, after now: Date) async throws {
        let every = ReportSchedule(timeZone: zone, opensAt: 0, closesAt: 1440, skipWeekends: false, holidays: [])
        guard let (day, at) = every.next(minutes: 30, after: now) else { return }
        try await jobs.enqueue(db, outbox, kind: Self.retentionKind,
                               payload: HealthJob(orgID: report.orgID, reportID: report.id, version: 0, day: day.description, index: nil),
                               due: at, orgID: report.orgID, dedupeKey: "health:\(report.id.string):retention:\(day)")
    }

    /// The report as the job knew it, or nil if it changed or is gone.
    fileprivate func current(_ db: any SQLDatabase, _ job: HealthJob) async throws -> HealthReport? {
        guard let report = try await store.fetchReport(db, orgID: job.orgID, id: job.reportID),
              abs(Self.version(report) - job.version) < 0.0005 else { return nil }
        return report
    }

    /// Deletes the raw answers (and photos) older than the report's retention; counts and colours stay.
    func expire(_ db: any SQLDatabase, _ report: HealthReport, now: Date) async throws -> [HealthPhoto] {
        let zone = try await store.fetchTimeZone(db, orgID: report.orgID)
        let cutoff = LocalDate(now, in: zone).adding(days: -report.retentionDays)
        try await store.expireAnswers(db, reportID: report.id, before: cutoff)
        let horizon = now.addingTimeInterval(-Double(report.retentionDays) * 86_400)
        var photos = try await store.deletePhotos(db, orgID: report.orgID, reportID: report.id, before: horizon)
        // Photos uploaded but never used in an answer go after a day.
        photos += try await store.deletePhotos(db, orgID: report.orgID, reportID: nil, before: now.addingTimeInterval(-86_400))
        return photos
    }

    /// Removes the files of deleted photos that no other photo row shares (content-addressed).
    func removeFiles(_ photos: [HealthPhoto]) async {
        for photo in photos {
            let uses = (try? await database.read { db in try await store.countPhotoUses(db, orgID: photo.orgID, sha256: photo.sha256) }) ?? 1
            if uses == 0 { files.delete(namespace: "health-\(photo.orgID.string)", name: photo.sha256) }
        }
    }
}

/// `health.remind`: a reminder time came — everyone who has not reported (and the guardians of
/// students among them) gets an in-app notice, or a DING from the report's creator.
struct HealthRemindHandler: JobHandler {
    let service: HealthService
    var kind: String { HealthService.remindKind }

    func run(_ run: JobRun) async throws {
        let job = try run.payload(as: HealthJob.self)
        try await run.commit { db, outbox in
            guard let report = try await service.current(db, job), report.active, let index = job.index, report.reminders.indices.contains(index),
                  let day = LocalDate(job.day)
            else { return }
            let zone = try await service.store.fetchTimeZone(db, orgID: report.orgID)

            if let window = report.schedule(in: zone).window(on: day), window.contains(run.now) {
                let missing = try await service.store.fetchNotReported(db, report: report, scope: .all, day: day)
                let guardians = report.allowGuardians
                    ? try await service.store.fetchGuardianUsers(db, orgID: report.orgID, students: missing) : [:]
                let reminder = report.reminders[index]
                switch reminder.channel {
                case .app:
                    let closes = window.upperBound.addingTimeInterval(0.001)
                    let data = try EventJSON.encode(HealthReminderEvent(reportId: report.id.string, title: report.title, day: day.description,
                                                                        channel: "app", memberId: nil, closesAt: closes))
                    for user in missing { outbox.add(.personal(user, type: HealthEvent.reminder, data: data)) }
                    if !guardians.isEmpty {
                        let students = try await service.store.fetchMemberIDs(db, orgID: report.orgID, users: Array(guardians.keys))
                        for (student, parents) in guardians {
                            let forWard = try EventJSON.encode(HealthReminderEvent(reportId: report.id.string, title: report.title, day: day.description,
                                                                                   channel: "app", memberId: students[student]?.string, closesAt: closes))
                            for parent in parents { outbox.add(.personal(parent, type: HealthEvent.reminder, data: forWard)) }
                        }
                    }
                case .ding:
                    let recipients = Array(Set(missing).union(guardians.values.joined())).filter { $0 != report.createdBy.userID }
                        .sorted { $0.string < $1.string }
                    if !recipients.isEmpty, report.createdBy.memberID != nil {
                        _ = try await service.ding.insert(db, outbox, orgID: report.orgID, sender: report.createdBy,
                                                          text: HealthService.reminderText(report), channel: .app, scheduledAt: nil, source: nil,
                                                          announcementID: nil, recipients: recipients, now: run.now)
                    }
                }
            }
            try await service.scheduleReminder(db, outbox, report, index: index, zone: zone, after: run.now)
        }
    }
}

/// `health.close`: a day's window closed — its counts over the audience of that moment are kept.
struct HealthCloseHandler: JobHandler {
    let service: HealthService
    var kind: String { HealthService.closeKind }

    func run(_ run: JobRun) async throws {
        let job = try run.payload(as: HealthJob.self)
        try await run.commit { db, outbox in
            guard let report = try await service.current(db, job), report.active, let day = LocalDate(job.day) else { return }
            let totals = try await service.store.countDay(db, report: report, scope: .all, day: day)
            try await service.store.saveTotals(db, orgID: report.orgID, reportID: report.id, totals)
            let zone = try await service.store.fetchTimeZone(db, orgID: report.orgID)
            try await service.scheduleClose(db, outbox, report, zone: zone, after: run.now)
        }
    }
}

/// `health.retention`: daily, raw answers older than the report's retention are deleted.
struct HealthRetentionHandler: JobHandler {
    let service: HealthService
    var kind: String { HealthService.retentionKind }

    func run(_ run: JobRun) async throws {
        let job = try run.payload(as: HealthJob.self)
        let deleted = Deleted()
        try await run.commit { db, outbox in
            guard let report = try await service.store.fetchReport(db, orgID: job.orgID, id: job.reportID) else { return }
            deleted.photos = try await service.expire(db, report, now: run.now)
            let zone = try await service.store.fetchTimeZone(db, orgID: report.orgID)
            try await service.scheduleRetention(db, outbox, report, zone: zone, after: run.now)
        }
        await service.removeFiles(deleted.photos)
    }

    private final class Deleted: @unchecked Sendable { var photos: [HealthPhoto] = [] }
}
