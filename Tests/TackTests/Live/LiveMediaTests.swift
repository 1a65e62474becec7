import AsyncHTTPClient
import Foundation
import HTTPTypes
import SQLKit
import Testing
@testable import TackServer

/// A throwaway Janus (`scripts/janus`) on 127.0.0.1: enough to create rooms and tokens (media
/// itself needs a network namespace: e2e/media).
final class ThrowawayJanus: Sendable {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    let directory: URL
    let settings: JanusSettings

    init(portBase: Int) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tack-janus-\(UUID().uuidString)")
        try Self.script("start", directory.path, String(portBase))
        settings = try #require(try JanusSettings.from(["TACK_JANUS_DIR": directory.path]))
    }

    func stop() throws { try Self.script("stop", directory.path) }

    /// Runs `scripts/janus` and waits for it (`posix_spawn` and `waitpid`: the Janus it starts
    /// outlives it, and Foundation's `Process` may then wait for ever).
    private static func script(_ arguments: String...) throws {
        let path = repository.appendingPathComponent("scripts/janus").path
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        guard posix_spawn(&pid, path, &actions, nil, argv, environ) == 0 else {
            throw JanusControl.Failure(description: "scripts/janus could not be started")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status == 0 else { throw JanusControl.Failure(description: "scripts/janus \(arguments) failed (\(status))") }
    }

    /// Whether Janus has the room (asked with the API secret).
    func roomExists(_ room: Int64) async throws -> Bool {
        let data = try await JanusControl(settings: settings, client: .shared).videoRoom(["request": "exists", "room": room])
        return data["exists"] as? Bool ?? false
    }

    /// Whether Janus accepts `token` (it opens a session with it).
    func accepts(token: String) async throws -> Bool {
        var request = HTTPClientRequest(url: settings.httpURL)
        request.method = .POST
        request.body = .bytes(.init(string: #"{"janus":"create","transaction":"t","token":"\#(token)"}"#))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 16)
        let reply = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
        return reply?["janus"] as? String == "success"
    }
}

@Suite("Live class media (a real Janus)", .serialized)
struct LiveMediaTests {
    @Test("a class that goes live gets a recorded Janus room; each person a token; the teacher publishes, students watch; removal revokes, the end destroys", arguments: Engine.all)
    func rooms(engine: Engine) async throws {
        let janus = try ThrowawayJanus(portBase: 18960)
        defer { try? janus.stop() }
        let (clock, time) = WallClock.manual(LiveFixture.start)
        try await withAPI(engine, clock: clock, configure: { $0.runJobs = false; $0.janus = janus.settings }) { api in
            let f = try await LiveFixture.make(api, time)
            let created = try await f.create(["title": "Maths", "groupIds": [f.groupA, f.groupB], "startNow": true])
            #expect(created.status == .created, "\(created.text)")
            let id = created.json["id"].string!
            #expect(created.json["mediaAvailable"].bool == true)
            #expect(created.json["onAir"].bool == false)

            let opened = try await f.call(.post, id, "/watch", as: f.tom, json: ["mode": "live"])
            let teacher = opened.json["media"]
            let room = try #require(teacher["room"].int.map(Int64.init), "\(opened.text)")
            #expect(try await janus.roomExists(room), "the room is made when the class goes live")
            #expect(teacher["url"].string == janus.settings.webSocketURL)
            let teacherFeed = try #require(teacher["teacherFeed"].int)
            #expect(teacher["publish"].bool == true && teacher["feed"].int == teacherFeed)
            let sue = try await f.call(.post, id, "/watch", as: f.sue, json: ["mode": "live"]).json["media"]
            #expect(sue["room"].int == teacher["room"].int && sue["publish"].bool == false)
            #expect(sue["teacherFeed"].isNull, "nobody learns the teacher's feed before the teacher holds it")
            #expect(sue["feed"].int != nil && sue["feed"].int != teacherFeed)
            #expect(sue["token"].string != teacher["token"].string, "a token per person")
            #expect(try await f.call(.post, id, "/watch", as: f.sue, json: ["mode": "live"]).json["media"]["token"].string == sue["token"].string,
                    "the same token on every device")
            #expect(try await janus.accepts(token: sue["token"].string!))
            #expect(try await janus.accepts(token: "not-a-token") == false)
            #expect(!created.text.contains(janus.settings.apiSecret) && !sue.description.contains(janus.settings.apiSecret))

            // On the air: the teacher's page says so once it publishes; nobody else may.
            #expect(try await f.call(.put, id, "/on-air", as: f.sue, json: ["onAir": true]).status == .forbidden)
            #expect(try await f.call(.put, id, "/on-air", as: f.tom, json: ["onAir": true]).json["onAir"].bool == true)
            #expect(try await f.call(.get, id, "", as: f.zoe).json["onAir"].bool == true)
            #expect(try await f.call(.post, id, "/watch", as: f.sue, json: ["mode": "live"]).json["media"]["teacherFeed"].int == teacherFeed)

            // A speaker's feed is theirs alone (as their page was told), named once they may speak.
            #expect(try await f.call(.put, id, "/hands", as: f.sue).json["items"].array.first?["feed"].isNull == true)
            #expect(try await f.call(.put, id, "/hands", as: f.zoe).status == .ok)
            let hands = try await f.call(.put, id, "/speakers/\(f.sue.userID)", as: f.tom).json["items"].array
            #expect(hands.first { $0["person"]["name"].string == "Sue" }?["feed"].int == sue["feed"].int)
            #expect(hands.first { $0["person"]["name"].string == "Zoe" }?["feed"].isNull == true)

            // Removed: the token no longer opens Janus.
            let max = try await f.call(.post, id, "/watch", as: f.max, json: ["mode": "live"]).json["media"]["token"].string!
            #expect(try await janus.accepts(token: max))
            #expect(try await f.call(.put, id, "/removals/\(f.max.userID)", as: f.tom).status == .noContent)
            #expect(try await janus.accepts(token: max) == false)

            // The end: the room is gone (its recording closed), every token revoked.
            let ended = try await f.call(.post, id, "/transition", as: f.tom, json: ["action": "end"]).json
            #expect(ended["onAir"].bool == false)
            #expect(try await janus.roomExists(room) == false)
            #expect(try await janus.accepts(token: sue["token"].string!) == false)
            // Its replay is queued by the same transaction, with the room's recording folder.
            let payloads = try await api.parts.database.read { db in
                try await db.raw("SELECT payload FROM jobs WHERE kind = 'live.replay'").all(decodingColumn: "payload", as: String.self)
            }
            #expect(payloads.count == 1 && payloads.first?.contains(id) == true, "\(payloads)")
            let job = try JSONDecoder.tack.decode(LiveReplayJob.self, from: Data(payloads.first!.utf8))
            #expect(job.recordings == URL(fileURLWithPath: janus.settings.recordingsDirectory).appendingPathComponent(id).path)
        }
    }

    @Test("when Janus does not answer, a class does not go live: 503 media_unavailable, nothing changes", arguments: Engine.all)
    func janusDown(engine: Engine) async throws {
        // Nothing listens there.
        let settings = JanusSettings(httpURL: "http://127.0.0.1:9/janus", webSocketURL: "ws://127.0.0.1:9", adminURL: "http://127.0.0.1:9/admin",
                                     apiSecret: "s", adminSecret: "s", roomAdminKey: "k", recordingsDirectory: "/nonexistent")
        let (clock, time) = WallClock.manual(LiveFixture.start)
        try await withAPI(engine, clock: clock, configure: { $0.runJobs = false; $0.janus = settings }) { api in
            let f = try await LiveFixture.make(api, time)
            let refused = try await f.create(["title": "Maths", "groupIds": [f.groupA], "startNow": true])
            #expect(refused.status == .serviceUnavailable, "\(refused.text)")
            #expect(refused.code == "media_unavailable")
            #expect(!refused.text.contains(settings.httpURL), "no internals in the answer")
            #expect(try await f.api.call(.get, "\(f.base)?groupId=\(f.groupA)", as: f.tom).json["items"].array.isEmpty)
            let later = ISO8601DateFormatter().string(from: LiveFixture.start.addingTimeInterval(3600))
            let scheduled = try await f.create(["title": "Art", "groupIds": [f.groupA], "scheduledAt": later]).json["id"].string!
            #expect(try await f.call(.post, scheduled, "/transition", as: f.tom, json: ["action": "start"]).code == "media_unavailable")
            #expect(try await f.call(.get, scheduled, "", as: f.tom).json["state"].string == "scheduled")
        }
    }
}
