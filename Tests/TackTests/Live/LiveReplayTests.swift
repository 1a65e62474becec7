import Foundation
import HTTPTypes
import SQLKit
import Synchronization
import Testing
@testable import TackServer

@Suite("Replay pieces")
struct ReplayPieceTests {
    @Test("Range headers: one byte range is served; several, or another unit, get the whole file; the rest is 416")
    func ranges() {
        #expect(ByteRange(header: nil, size: 1000) == .whole)
        #expect(ByteRange(header: "bytes=0-99", size: 1000) == .part(0...99))
        #expect(ByteRange(header: "bytes=990-", size: 1000) == .part(990...999))
        #expect(ByteRange(header: "bytes=-10", size: 1000) == .part(990...999))
        #expect(ByteRange(header: "bytes=-5000", size: 1000) == .part(0...999))
        #expect(ByteRange(header: "bytes=900-5000", size: 1000) == .part(900...999))
        #expect(ByteRange(header: "bytes=0-1,5-6", size: 1000) == .whole)
        #expect(ByteRange(header: "items=0-1", size: 1000) == .whole)
        for bad in ["bytes=1000-", "bytes=5-2", "bytes=abc", "bytes=-0", "bytes=-", "bytes=1-x", "bytes=99999999999999999999-"] {
            #expect(ByteRange(header: bad, size: 1000) == .unsatisfiable, "\(bad)")
        }
        #expect(ByteRange(header: "bytes=0-", size: 0) == .unsatisfiable)
    }

    @Test("the picture is the teacher's feed, or the first feed with video; every voice is mixed")
    func choice() {
        func track(_ name: String, _ kind: JanusRecordingConverter.Track.Kind, _ start: Int64) -> JanusRecordingConverter.Track {
            .init(file: URL(fileURLWithPath: "/r/\(name)"), kind: kind, codec: kind == .audio ? "opus" : "vp8",
                  feed: JanusRecordingConverter.feed(inFileName: name), start: start)
        }
        #expect(JanusRecordingConverter.feed(inFileName: "videoroom-42-user-1-1796075424289569-audio-0.mjr") == "1")
        #expect(JanusRecordingConverter.feed(inFileName: "recording.mjr") == nil)
        let student = track("videoroom-42-user-77-100-video-1.mjr", .video, 100)
        let teacher = track("videoroom-42-user-1-200-video-1.mjr", .video, 200)
        let again = track("videoroom-42-user-1-900-video-1.mjr", .video, 900)
        let voices = [track("videoroom-42-user-77-300-audio-0.mjr", .audio, 300), track("videoroom-42-user-1-150-audio-0.mjr", .audio, 150)]
        let chosen = JanusRecordingConverter.choose([again, student, teacher] + voices, teacherFeed: "1")
        #expect(chosen.video == [teacher, again])
        #expect(chosen.audio.map(\.start) == [150, 300])
        #expect(JanusRecordingConverter.choose([student] + voices, teacherFeed: "1").video == [student])
        #expect(JanusRecordingConverter.choose(voices, teacherFeed: "1").video.isEmpty)
    }
}

/// A converter that writes `content` as the replay (or fails, or finds nothing), counting calls.
final class FakeConverter: Sendable {
    enum Behaviour: Sendable { case write, fail, failOnce, nothing }
    static let content = String(repeating: "0123456789", count: 100)
    let behaviour: Behaviour
    private let count = Atomic<Int>(0)
    var calls: Int { count.load(ordering: .acquiring) }

    init(_ behaviour: Behaviour) { self.behaviour = behaviour }

    var converter: ReplayConverter {
        ReplayConverter { [self] _, output, _ in
            let n = count.add(1, ordering: .acquiringAndReleasing).newValue
            switch behaviour {
            case .fail: throw ChildProcess.Failure(description: "ffmpeg exited with 1")
            case .failOnce where n == 1: throw ChildProcess.Failure(description: "ffmpeg exited with 1")
            case .nothing: return nil
            case .write, .failOnce:
                try FileManager.default.createDirectory(at: output.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(Self.content.utf8).write(to: output)
                return ReplayFile(bytes: Int64(Self.content.utf8.count), seconds: 12.5)
            }
        }
    }
}

@Suite("Live class replays")
struct LiveReplayTests {
    /// A live class for both groups that had a recorded room (set in its row: these tests run
    /// without a Janus), with `fake` converting.
    static func live(_ f: LiveFixture, _ fake: FakeConverter, recorded: Bool = true) async throws -> String {
        f.api.parts.jobs.register(LiveReplayHandler(service: f.api.parts.live, converter: fake.converter))
        let id = try #require(try await f.create(["title": "Maths \"7\"", "groupIds": [f.groupA, f.groupB], "startNow": true]).json["id"].string)
        if recorded {
            let classID = LiveClass.ID(rawValue: UUID(uuidString: id)!)
            try await f.api.parts.database.write { db in
                try await db.raw("UPDATE live_classes SET janus_room = 42, room_secret = 's' WHERE id = \(bind: classID)").run()
            }
        }
        return id
    }

    static func end(_ f: LiveFixture, _ id: String) async throws {
        let ended = try await f.call(.post, id, "/transition", as: f.tom, json: ["action": "end"])
        #expect(ended.json["state"].string == "ended", "\(ended.text)")
    }

    static func replayJobs(_ f: LiveFixture) async throws -> [(state: String, attempts: Int)] {
        try await f.api.parts.database.read { db in
            try await db.raw("SELECT state, attempts FROM jobs WHERE kind = 'live.replay'").all().map { row -> (state: String, attempts: Int) in
                (try row.decode(column: "state", as: String.self), try row.decode(column: "attempts", as: Int.self))
            }
        }
    }

    /// Runs the jobs that are due after `seconds`.
    @discardableResult
    static func runJobs(_ f: LiveFixture, after seconds: TimeInterval = LiveService.replayDelay) async throws -> Int {
        f.time.advance(by: seconds)
        return try await f.api.parts.jobs.runDue()
    }

    @Test("the end of a recorded class queues its replay; the job makes it replay_ready once, with the notice in every group", arguments: Engine.all)
    func ready(engine: Engine) async throws {
        try await LiveTests.run(engine) { f in
            let fake = FakeConverter(.write)
            let id = try await Self.live(f, fake)
            try await Self.end(f, id)
            #expect(try await Self.replayJobs(f).map(\.state) == ["pending"], "queued with the end")
            #expect(try await Self.runJobs(f, after: 0) == 0, "not before the room is closed")
            #expect(try await Self.runJobs(f) == 1)
            #expect(fake.calls == 1)
            let c = try await f.call(.get, id, "", as: f.sue).json
            #expect(c["state"].string == "replay_ready")
            #expect(c["replay"]["seconds"].double == 12.5 && c["replay"]["bytes"].int == 1000)
            #expect(c["replayFailed"].bool == false)
            for (group, person) in [(f.groupA, f.sue), (f.groupB, f.zoe)] {
                let notice = try await f.api.messages(f.org, group, as: person).json["items"].array.last?["system"]
                #expect(notice?["event"].string == "live_replay" && notice?["liveClassId"].string == id, "\(String(describing: notice))")
            }
            // Exactly once: nothing is left to run, and a replay is not "made" twice.
            #expect(try await Self.runJobs(f, after: 3600) == 0)
            #expect(fake.calls == 1)
            #expect(try await Self.replayJobs(f).map(\.state) == ["done"])
            #expect(try await f.call(.post, id, "/transition", as: f.tom, json: ["action": "end"]).code == "invalid_state")
            // The replay is watchable now.
            #expect(try await f.call(.post, id, "/watch", as: f.sue, json: ["mode": "replay"]).status == .ok)
        }
    }

    @Test("the raw recordings are deleted a week after the replay is made (TACK_LIVE_RECORDINGS_DAYS); a failed replay's are kept", arguments: Engine.all)
    func recordingsDeleted(engine: Engine) async throws {
        try await LiveTests.run(engine) { f in
            let live = f.api.parts.live
            func recorded(_ id: String) throws -> URL {
                let folder = live.recordingDirectory(LiveClass.ID(rawValue: UUID(uuidString: id)!))
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                try Data("mjr".utf8).write(to: folder.appendingPathComponent("videoroom-42-user-1-video-0.mjr"))
                return folder
            }
            let made = try await Self.live(f, FakeConverter(.write))
            let kept = try recorded(made)
            try await Self.end(f, made)
            #expect(try await Self.runJobs(f) == 1)
            #expect(try await f.call(.get, made, "", as: f.sue).json["state"].string == "replay_ready")
            #expect(try await Self.runJobs(f, after: 6 * 86_400) == 0)
            #expect(FileManager.default.fileExists(atPath: kept.path), "kept for a week")

            // A class whose replay failed keeps its recordings (to be converted by hand).
            let failed = try await Self.live(f, FakeConverter(.fail))
            let failedFolder = try recorded(failed)
            try await Self.end(f, failed)
            for _ in 0..<LiveService.replayAttempts { try await Self.runJobs(f, after: 7200) }
            #expect(try await f.call(.get, failed, "", as: f.sue).json["replayFailed"].bool == true)

            #expect(try await Self.runJobs(f, after: 86_400) == 1)
            #expect(!FileManager.default.fileExists(atPath: kept.path), "deleted after the week")
            #expect(FileManager.default.fileExists(atPath: failedFolder.path))
            #expect(FileManager.default.fileExists(atPath: live.replayDirectory.appendingPathComponent(LiveService.replayFile(LiveClass.ID(rawValue: UUID(uuidString: made)!))).path),
                    "the replay stays")
        }
    }

    @Test("a failed conversion is retried; after its last attempt the class stays ended, marked replayFailed", arguments: Engine.all)
    func failure(engine: Engine) async throws {
        try await LiveTests.run(engine) { f in
            let flaky = FakeConverter(.failOnce)
            let id = try await Self.live(f, flaky)
            try await Self.end(f, id)
            #expect(try await Self.runJobs(f) == 1)
            #expect(try await f.call(.get, id, "", as: f.tom).json["state"].string == "ended", "the first attempt failed")
            #expect(try await Self.runJobs(f, after: 60) == 1)
            #expect(try await f.call(.get, id, "", as: f.tom).json["state"].string == "replay_ready", "the retry made it")
            #expect(flaky.calls == 2)

            let broken = FakeConverter(.fail)
            let other = try await Self.live(f, broken)
            try await Self.end(f, other)
            for _ in 0..<LiveService.replayAttempts { try await Self.runJobs(f, after: 7200) }
            #expect(broken.calls == LiveService.replayAttempts)
            #expect(try await Self.runJobs(f, after: 7200) == 0, "given up")
            let c = try await f.call(.get, other, "", as: f.tom).json
            #expect(c["state"].string == "ended" && c["replayFailed"].bool == true && c["replay"].isNull, "\(c)")
            #expect(try await Self.replayJobs(f).map(\.state).sorted() == ["done", "failed"])
            let notices = try await f.api.messages(f.org, f.groupA, as: f.sue).json["items"].array.compactMap { $0["system"]["event"].string }
            #expect(notices.filter { $0 == "live_replay" }.count == 1, "only the class that has a replay is announced")
        }
    }

    @Test("no recordings, no replay: a class without a room queues nothing; a room nobody published in stays ended", arguments: Engine.all)
    func noRecordings(engine: Engine) async throws {
        try await LiveTests.run(engine) { f in
            let fake = FakeConverter(.nothing)
            let plain = try await Self.live(f, fake, recorded: false)
            try await Self.end(f, plain)
            #expect(try await Self.replayJobs(f).isEmpty)
            let silent = try await Self.live(f, fake)
            try await Self.end(f, silent)
            #expect(try await Self.runJobs(f) == 1)
            #expect(fake.calls == 1)
            for id in [plain, silent] {
                let c = try await f.call(.get, id, "", as: f.tom).json
                #expect(c["state"].string == "ended" && c["replayFailed"].bool == false && c["replay"].isNull)
                #expect(try await f.call(.get, id, "/replay", as: f.tom).code == "no_replay")
            }
        }
    }

    @Test("the replay downloads to whoever may watch: ranges, inline, 404 for strangers, 403 for the removed, 409 before it is made", arguments: Engine.all)
    func download(engine: Engine) async throws {
        try await LiveTests.run(engine) { f in
            let fake = FakeConverter(.write)
            let id = try await Self.live(f, fake)
            #expect(try await f.call(.put, id, "/removals/\(f.max.userID)", as: f.tom).status == .noContent)
            #expect(try await f.call(.get, id, "/replay", as: f.sue).code == "no_replay", "live: no replay")
            try await Self.end(f, id)
            let early = try await f.call(.get, id, "/replay", as: f.sue)
            #expect(early.status == .conflict && early.code == "no_replay")
            #expect(early.headers[.contentType] == "application/problem+json")
            try await Self.runJobs(f)

            let whole = try await f.call(.get, id, "/replay", as: f.sue)
            #expect(whole.status == .ok, "\(whole.text)")
            #expect(whole.text == FakeConverter.content)
            #expect(whole.headers[.contentType] == "video/webm")
            #expect(whole.headers[.acceptRanges] == "bytes")
            #expect(whole.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(whole.headers[.contentDisposition]?.hasPrefix("inline; filename=\"Maths _7_.webm\"") == true, "\(whole.headers)")
            let content = Array(FakeConverter.content.utf8)
            for (range, expected, contentRange) in [("bytes=0-99", 0...99, "bytes 0-99/1000"), ("bytes=990-", 990...999, "bytes 990-999/1000"),
                                                    ("bytes=-10", 990...999, "bytes 990-999/1000"), ("bytes=500-5000", 500...999, "bytes 500-999/1000")] {
                let part = try await f.api.call(.get, "\(f.base)/\(id)/replay", as: f.zoe, headers: [.range: range])
                #expect(part.status == .partialContent, "\(range): \(part.status)")
                #expect(part.headers[.contentRange] == contentRange)
                #expect(part.headers[.contentLength] == String(expected.count))
                #expect(Array(part.text.utf8) == Array(content[expected]), "\(range)")
            }
            for range in ["bytes=1000-", "bytes=5-2", "bytes=x-"] {
                let refused = try await f.api.call(.get, "\(f.base)/\(id)/replay", as: f.sue, headers: [.range: range])
                #expect(refused.status == .rangeNotSatisfiable && refused.code == "range_not_satisfiable", "\(range): \(refused.text)")
                #expect(refused.headers[.contentRange] == "bytes */1000")
                #expect(refused.headers[.contentType] == "application/problem+json")
            }
            #expect(try await f.api.call(.get, "\(f.base)/\(id)/replay", as: f.sue, headers: [.range: "bytes=0-1,4-5"]).status == .ok)

            // Who may: the teacher and an organisation admin; not someone outside the groups,
            // nor a removed student, nor anyone of another organisation.
            #expect(try await f.call(.get, id, "/replay", as: f.tom).status == .ok)
            #expect(try await f.call(.get, id, "/replay", as: f.ann).status == .ok)
            let outsider = try await f.call(.get, id, "/replay", as: f.ola)
            #expect(outsider.status == .notFound && !outsider.text.contains("Maths"))
            let removed = try await f.call(.get, id, "/replay", as: f.max)
            #expect(removed.status == .forbidden && removed.code == "removed")
            let stranger = try await f.api.signUp("Eve")
            let elsewhere = try await f.api.createOrg(stranger, name: "Elsewhere")
            #expect(try await f.api.call(.get, "/api/v1/orgs/\(elsewhere.id)/live/\(id)/replay", as: stranger).status == .notFound)
            #expect(try await f.call(.get, id, "/replay", as: stranger).status == .notFound)
            #expect(try await f.api.call(.get, "\(f.base)/not-an-id/replay", as: f.sue).status == .badRequest)
        }
    }
}
