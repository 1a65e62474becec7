import Foundation
import Logging
import SQLKit

/// A `live.replay` job: make the replay of a class that ended with a recorded Janus room.
struct LiveReplayJob: Codable, Sendable {
    var orgID: Organization.ID
    var classID: LiveClass.ID
    /// The folder Janus recorded the class's room into (as it was when the class ended).
    var recordings: String
    /// The room and its secret: the job makes sure the room is gone (its files closed) before it
    /// reads them.
    var room: Int64?
    var roomSecret: String?
    /// The feed the teacher published as: their video is the replay's picture.
    var teacherFeed: String? = nil
}

extension LiveService {
    static let replayKind = "live.replay"
    /// Conversions that keep failing are given up after this many runs (about 2½ minutes of
    /// retries with the scheduler's backoff of 10 s, doubled each time).
    static let replayAttempts = 5
    /// The job waits this long after the end: the room is destroyed (and Janus closes its files)
    /// just after the end commits.
    static let replayDelay: TimeInterval = 5

    /// Handlers of the feature's jobs, converting with `converter` (`.live` in the server; tests
    /// register a fake in its place).
    func jobHandlers(converter: ReplayConverter = .live) -> [any JobHandler] {
        [LiveReplayHandler(service: self, converter: converter), LiveReminderHandler(service: self), LiveRecordingsHandler(service: self)]
    }

    static let recordingsKind = "live.recordings"

    /// Where Janus records a class's room: `<recordings>/<class id>`. Without a Janus (it was
    /// configured away), `<data folder>/live/recordings/<class id>`.
    func recordingDirectory(_ classID: LiveClass.ID) -> URL {
        let root = media.map { URL(fileURLWithPath: $0.settings.recordingsDirectory, isDirectory: true) }
            ?? replayDirectory.appendingPathComponent("recordings", isDirectory: true)
        return root.appendingPathComponent(classID.string, isDirectory: true)
    }

    /// A class's replay file, relative to `replayDirectory`.
    static func replayFile(_ classID: LiveClass.ID) -> String { "\(classID.string)/replay.webm" }

    func enqueueReplay(_ db: any SQLDatabase, _ outbox: Outbox, _ c: LiveClass, room: Int64, now: Date) async throws {
        try await jobs.enqueue(db, outbox, kind: Self.replayKind,
                               payload: LiveReplayJob(orgID: c.orgID, classID: c.id, recordings: recordingDirectory(c.id).path, room: room,
                                                      roomSecret: c.roomSecret, teacherFeed: c.teacherFeed.map { String($0) }),
                               due: now.addingTimeInterval(Self.replayDelay), orgID: c.orgID, dedupeKey: "live.replay:\(c.id.string)",
                               maxAttempts: Self.replayAttempts)
    }

    /// The replay is made: the class becomes `replay_ready` with it, each of its groups gets the
    /// `live_replay` notice, open pages hear `live.updated`. Nothing happens to a class that is no
    /// longer waiting for its replay (deleted, or already done).
    func replayMade(_ db: any SQLDatabase, _ outbox: Outbox, _ job: LiveReplayJob, _ file: ReplayFile, now: Date) async throws {
        try await store.lockClass(db, orgID: job.orgID, id: job.classID)
        guard var c = try await store.fetchClass(db, orgID: job.orgID, id: job.classID), c.state == .ended else { return }
        try c.apply(.replayReady, at: now)
        c.replay = LiveReplay(file: Self.replayFile(c.id), bytes: file.bytes, seconds: file.seconds)
        c.replayFailed = false
        try await store.updateClass(db, c)
        try await notify(db, outbox, c, .liveReplay, now: now)
        Self.changed(outbox, c)
        // The raw recordings are kept a while (a replay can be made again from them by hand),
        // then deleted: they are as large as the replay.
        try await jobs.enqueue(db, outbox, kind: Self.recordingsKind, payload: LiveRecordingsJob(classID: c.id, recordings: job.recordings),
                               due: now.addingTimeInterval(recordingsKeptFor), orgID: c.orgID, dedupeKey: "\(Self.recordingsKind):\(c.id.string)")
    }

    /// The last attempt failed: the class stays `ended`, marked `replayFailed`.
    func replayFailed(_ job: LiveReplayJob, now: Date) async throws {
        try await transactor.run { db, outbox in
            try await store.lockClass(db, orgID: job.orgID, id: job.classID)
            guard var c = try await store.fetchClass(db, orgID: job.orgID, id: job.classID), c.state == .ended, !c.replayFailed else { return }
            c.replayFailed = true
            c.updatedAt = now
            try await store.updateClass(db, c)
            Self.changed(outbox, c)
        }
    }

    /// Makes sure Janus has closed the room's recording files: destroys the room if it is still
    /// there (the end's own attempt runs at the same time, or failed). A Janus that does not
    /// answer has no room open either.
    func closeRecordedRoom(_ job: LiveReplayJob) async {
        guard let media, let room = job.room, let secret = job.roomSecret else { return }
        do {
            try await media.destroyRoom(room, secret: secret)
        } catch {
            logger.debug("the room of an ended class was already gone", metadata: ["class": "\(job.classID.string)", "error": "\(error)"])
        }
    }

    // MARK: Serving

    /// The replay's file, for whoever may watch the class (as `open(… mode: .replay)`): 404 for
    /// strangers, `403 removed`, `409 no_replay` before it is made.
    func replay(_ identity: Identity, _ orgID: Organization.ID, _ id: LiveClass.ID) async throws -> (LiveClass, URL) {
        try await database.read { db in
            let (c, _, _) = try await load(db, identity, orgID, id, writing: false)
            try await requireParticipant(db, c, identity)
            try Self.requireWatchable(c, .replay)
            guard let replay = c.replay else { throw AppError.conflict("no_replay", "The class has no replay yet.") }
            return (c, replayDirectory.appendingPathComponent(replay.file))
        }
    }
}

/// `live.replay`: converts an ended class's recording (outside any transaction, renewing the
/// job's lease while it runs), then in the job's own commit makes the class `replay_ready`. A conversion that throws is retried by the
/// scheduler; after the last attempt the class is marked `replayFailed` and the job fails. A
/// class without recordings stays `ended`.
struct LiveReplayHandler: JobHandler {
    let service: LiveService
    let converter: ReplayConverter
    var kind: String { LiveService.replayKind }

    func run(_ run: JobRun) async throws {
        let job = try run.payload(as: LiveReplayJob.self)
        let current = try await service.database.read { db in try await service.store.fetchClass(db, orgID: job.orgID, id: job.classID) }
        guard let current, current.state == .ended else { return }
        await service.closeRecordedRoom(job)
        let output = service.replayDirectory.appendingPathComponent(LiveService.replayFile(job.classID))
        let file: ReplayFile?
        do {
            file = try await run.keepingLease { try await converter.convert(URL(fileURLWithPath: job.recordings, isDirectory: true), output, job.teacherFeed) }
        } catch {
            if run.job.attempts >= run.job.maxAttempts {
                service.logger.error("the replay of a live class could not be made; it stays ended",
                                     metadata: ["class": "\(job.classID.string)", "error": "\(error)"])
                try await service.replayFailed(job, now: service.clock.now())
            }
            throw error
        }
        guard let file else {
            service.logger.info("a live class ended without recordings: no replay", metadata: ["class": "\(job.classID.string)"])
            return
        }
        try await run.commit { db, outbox in try await service.replayMade(db, outbox, job, file, now: service.clock.now()) }
    }
}

/// A `live.recordings` job: deletes the raw recordings of a class whose replay was made, once
/// they have been kept `recordingsKeptFor` (`TACK_LIVE_RECORDINGS_DAYS`). The recordings of a
/// class whose replay failed are kept, to be converted by hand (`tack live-replay convert`).
struct LiveRecordingsJob: Codable, Sendable {
    var classID: LiveClass.ID
    var recordings: String
}

struct LiveRecordingsHandler: JobHandler {
    let service: LiveService
    var kind: String { LiveService.recordingsKind }

    func run(_ run: JobRun) async throws {
        let job = try run.payload(as: LiveRecordingsJob.self)
        let folder = URL(fileURLWithPath: job.recordings, isDirectory: true)
        // Only a class's own folder under the recordings root (a payload never names another).
        guard folder.lastPathComponent == job.classID.string, FileManager.default.fileExists(atPath: folder.path) else { return }
        try FileManager.default.removeItem(at: folder)
        service.logger.info("deleted a live class's raw recordings", metadata: ["class": "\(job.classID.string)"])
    }
}
