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

    /// Stops Janus and starts it again with the same secrets and ports (as after a crash): it has
    /// forgotten its rooms and tokens.
    func restart(portBase: Int) throws {
        try stop()
        try Self.script("start", directory.path, String(portBase), environment: ["JANUS_KEEP_SECRETS": "1"])
    }

    /// Runs `scripts/janus` and waits for it (`posix_spawn` and `waitpid`: the Janus it starts
    /// outlives it, and Foundation's `Process` may then wait for ever). No Tack listens for this
    /// Janus's events (tests post them themselves): it sends none.
    private static func script(_ arguments: String..., environment extra: [String: String] = [:]) throws {
        let path = repository.appendingPathComponent("scripts/janus").path
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var environment = ProcessInfo.processInfo.environment
        environment["JANUS_EVENTS_URL"] = "none"
        environment.merge(extra) { $1 }
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for e in envp { free(e) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        ChildProcess.defaultSignals(&attributes)  // else Janus inherits a blocked SIGTERM and never stops kindly
        var pid: pid_t = 0
        guard posix_spawn(&pid, path, &actions, &attributes, argv, envp) == 0 else {
            throw JanusControl.Failure(description: "scripts/janus could not be started")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status == 0 else { throw JanusControl.Failure(description: "scripts/janus \(arguments) failed (\(status))") }
    }

    /// Whether Janus has the room (asked with the API secret).
    func roomExists(_ room: Int64) async throws -> Bool {
        try await JanusControl(settings: settings, client: .shared).roomExists(room)
    }

    /// A page's Janus session: made with `token`, one VideoRoom handle attached.
    struct Participant {
        var session: Int64
        var handle: Int64
        var token: String
    }

    func participant(token: String) async throws -> Participant {
        let session = try #require(try await post(settings.httpURL, ["janus": "create", "token": token])["data"]["id"].int)
        let handle = try #require(try await post("\(settings.httpURL)/\(session)", ["janus": "attach", "plugin": JanusControl.videoRoom, "token": token])["data"]["id"].int)
        return Participant(session: Int64(session), handle: Int64(handle), token: token)
    }

    /// The participant joins `room` as a publisher numbered `feed` (as janus.js does before it
    /// publishes); returns once the room lists it.
    func join(_ p: Participant, room: Int64, feed: Int64) async throws {
        _ = try await post("\(settings.httpURL)/\(p.session)/\(p.handle)",
                           ["janus": "message", "token": p.token, "body": ["request": "join", "ptype": "publisher", "room": room, "id": feed]])
        let deadline = ContinuousClock.now + .seconds(10)
        while try await !participants(room).contains(feed) {
            guard ContinuousClock.now < deadline else { throw JanusControl.Failure(description: "\(feed) never joined room \(room)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The numbers of the room's participants (as the API secret's holder sees them).
    func participants(_ room: Int64) async throws -> Set<Int64> {
        let data = try await JanusControl(settings: settings, client: .shared).videoRoom(["request": "listparticipants", "room": room])
        return Set((data["participants"] as? [[String: Any]] ?? []).compactMap { $0["id"].flatMap(JanusControl.int64) })
    }

    /// The Janus sessions open now (admin API).
    func sessions() async throws -> Set<Int64> {
        Set(try await post(settings.adminURL, ["janus": "list_sessions", "admin_secret": settings.adminSecret])["sessions"].array.compactMap(\.int).map(Int64.init))
    }

    /// The event Janus's handler posts when a publisher joins (`joined`) or its media starts (`published`).
    static func event(_ kind: String, _ p: Participant, room: Int64, feed: Int64) -> [String: Any] {
        ["emitter": "test", "type": 64, "timestamp": 1, "session_id": p.session, "handle_id": p.handle,
         "event": ["plugin": JanusControl.videoRoom, "data": ["event": kind, "room": room, "id": feed]]]
    }

    private func post(_ url: String, _ body: [String: Any]) async throws -> JSON {
        var body = body
        body["transaction"] = UUID().uuidString
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.body = .bytes(.init(bytes: try JSONSerialization.data(withJSONObject: body)))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let reply = try JSON(parsing: Data(buffer: try await response.body.collect(upTo: 1 << 20)))
        guard reply["janus"].string != "error" else { throw JanusControl.Failure(description: "Janus: \(reply)") }
        return reply
    }

    /// Whether Janus accepts `token` (it opens a session with it).
    func accepts(token: String) async throws -> Bool {
        do {
            _ = try await post(settings.httpURL, ["janus": "create", "token": token])
            return true
        } catch is JanusControl.Failure {
            return false
        }
    }
}

@Suite("Live class media (a real Janus)", .serialized)
struct LiveMediaTests {
    /// A Tack driving a throwaway Janus on `portBase`, its jobs not running, and the school of
    /// `LiveFixture`; Janus is stopped afterwards.
    static func withJanus(_ engine: Engine, portBase: Int, _ body: @escaping @Sendable (ThrowawayJanus, API, LiveFixture) async throws -> Void) async throws {
        let janus = try ThrowawayJanus(portBase: portBase)
        defer { try? janus.stop() }
        let (clock, time) = WallClock.manual(LiveFixture.start)
        try await withAPI(engine, clock: clock, configure: { $0.runJobs = false; $0.janus = janus.settings }) { api in
            try await body(janus, api, try await LiveFixture.make(api, time))
        }
    }

    @Test("a class that goes live gets a recorded Janus room; each person a token; the teacher publishes, students watch; removal revokes, the end destroys", arguments: Engine.all)
    func rooms(engine: Engine) async throws {
        try await Self.withJanus(engine, portBase: 18960) { janus, api, f in
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

    @Test("Janus's events: a publisher Tack did not name is sent out of the room; a turn's end and a removal take effect in Janus, not only on the page", arguments: Engine.all)
    func enforcement(engine: Engine) async throws {
        try await Self.withJanus(engine, portBase: 18970) { janus, api, f in
            let id = try await f.create(["title": "Maths", "groupIds": [f.groupA, f.groupB], "startNow": true]).json["id"].string!
            func media(_ person: Person) async throws -> (token: String, room: Int64, feed: Int64) {
                let m = try await f.call(.post, id, "/watch", as: person, json: ["mode": "live"]).json["media"]
                return (try #require(m["token"].string), Int64(try #require(m["room"].int)), Int64(try #require(m["feed"].int)))
            }
            let tom = try await media(f.tom), sue = try await media(f.sue), zoe = try await media(f.zoe)
            let room = tom.room
            let authorization = "Basic " + Data("janus:\(janus.settings.apiSecret)".utf8).base64EncodedString()
            func report(_ events: [[String: Any]], authorization: String? = authorization) async throws -> Reply {
                var headers = HTTPFields()
                if let authorization { headers[.authorization] = authorization }
                let body = String(decoding: try JSONSerialization.data(withJSONObject: events), as: UTF8.self)
                return try await api.call(.post, "/api/v1/media/janus-events", json: body, headers: headers)
            }

            // The teacher publishing as the teacher's feed stays.
            let teacherPage = try await janus.participant(token: tom.token)
            try await janus.join(teacherPage, room: room, feed: tom.feed)
            #expect(try await report([ThrowawayJanus.event("joined", teacherPage, room: room, feed: tom.feed)]).status == .noContent)
            #expect(try await report([ThrowawayJanus.event("published", teacherPage, room: room, feed: tom.feed)]).status == .noContent)
            #expect(try await janus.participants(room) == [tom.feed])

            // Only Janus reports events: the wrong password, none, or not JSON changes nothing.
            let sueRogue = try await janus.participant(token: sue.token)
            try await janus.join(sueRogue, room: room, feed: 4242)
            let rogue = ThrowawayJanus.event("published", sueRogue, room: room, feed: 4242)
            let wrong = "Basic " + Data("janus:guess".utf8).base64EncodedString()
            #expect(try await report([rogue], authorization: wrong).code == "invalid_credentials")
            #expect(try await report([rogue], authorization: nil).status == .unauthorized)
            var headers = HTTPFields()
            headers[.authorization] = authorization
            #expect(try await api.call(.post, "/api/v1/media/janus-events", json: "{\"not\": \"an array\"}", headers: headers).status == .badRequest)
            #expect(try await janus.participants(room) == [tom.feed, 4242])

            // A student publishing under a number Tack did not give them is sent away…
            #expect(try await report([rogue]).status == .noContent)
            #expect(try await janus.participants(room) == [tom.feed])
            // … so is one publishing as themselves before the teacher lets them speak; events
            // come in batches, with others Tack ignores.
            let zoePage = try await janus.participant(token: zoe.token)
            try await janus.join(zoePage, room: room, feed: zoe.feed)
            let suePage = try await janus.participant(token: sue.token)
            try await janus.join(suePage, room: room, feed: sue.feed)
            #expect(try await report([ThrowawayJanus.event("joined", teacherPage, room: room, feed: tom.feed),
                                      ThrowawayJanus.event("joined", zoePage, room: room, feed: zoe.feed),
                                      ["type": 1, "session_id": 1, "event": ["name": "created"]],
                                      ThrowawayJanus.event("joined", suePage, room: room, feed: sue.feed)]).status == .noContent)
            #expect(try await janus.participants(room) == [tom.feed])

            // Let speak, Sue publishes as herself; the end of her turn sends her feed away even
            // if her page went on.
            #expect(try await f.call(.put, id, "/hands", as: f.sue).status == .ok)
            #expect(try await f.call(.put, id, "/speakers/\(f.sue.userID)", as: f.tom).status == .ok)
            let speaking = try await janus.participant(token: sue.token)
            try await janus.join(speaking, room: room, feed: sue.feed)
            #expect(try await report([ThrowawayJanus.event("published", speaking, room: room, feed: sue.feed)]).status == .noContent)
            #expect(try await janus.participants(room) == [tom.feed, sue.feed])
            #expect(try await f.call(.delete, id, "/speakers/\(f.sue.userID)", as: f.tom).status == .ok)
            #expect(try await janus.participants(room) == [tom.feed])
            // So does "mute everyone", and pausing the class.
            #expect(try await f.call(.put, id, "/hands", as: f.sue).status == .ok)
            #expect(try await f.call(.put, id, "/speakers/\(f.sue.userID)", as: f.tom).status == .ok)
            let again = try await janus.participant(token: sue.token)
            try await janus.join(again, room: room, feed: sue.feed)
            #expect(try await f.call(.delete, id, "/speakers", as: f.tom).status == .ok)
            #expect(try await janus.participants(room) == [tom.feed])
            #expect(try await f.call(.put, id, "/hands", as: f.sue).status == .ok)
            #expect(try await f.call(.put, id, "/speakers/\(f.sue.userID)", as: f.tom).status == .ok)
            let third = try await janus.participant(token: sue.token)
            try await janus.join(third, room: room, feed: sue.feed)
            #expect(try await f.call(.patch, id, "/controls", as: f.tom, json: ["paused": true]).status == .ok)
            #expect(try await janus.participants(room) == [tom.feed])
            #expect(try await f.call(.patch, id, "/controls", as: f.tom, json: ["paused": false]).status == .ok)

            // Removed: every Janus session of Sue's ends at once (her pages stop receiving).
            let sueSessions: Set<Int64> = [sueRogue.session, suePage.session, speaking.session, again.session, third.session]
            #expect(try await janus.sessions().isSuperset(of: sueSessions))
            #expect(try await f.call(.put, id, "/removals/\(f.sue.userID)", as: f.tom).status == .noContent)
            let left = try await janus.sessions()
            #expect(left.isDisjoint(with: sueSessions), "\(left)")
            #expect(left.contains(teacherPage.session) && left.contains(zoePage.session), "nobody else's")
        }
    }

    @Test("Janus restarted (its rooms and tokens forgotten): the next open of a live class makes its room again, same number and secret, and gives the tokens back", arguments: Engine.all)
    func janusRestarted(engine: Engine) async throws {
        try await Self.withJanus(engine, portBase: 18980) { janus, api, f in
            let id = try await f.create(["title": "Maths", "groupIds": [f.groupA], "startNow": true]).json["id"].string!
            let tom = try await f.call(.post, id, "/watch", as: f.tom, json: ["mode": "live"]).json["media"]
            let sue = try await f.call(.post, id, "/watch", as: f.sue, json: ["mode": "live"]).json["media"]
            let room = Int64(try #require(tom["room"].int))

            try janus.restart(portBase: 18980)
            #expect(try await janus.roomExists(room) == false)
            #expect(try await janus.accepts(token: sue["token"].string!) == false)

            // Sue's page reconnects: it opens the class again.
            let again = try await f.call(.post, id, "/watch", as: f.sue, json: ["mode": "live"])
            #expect(again.status == .ok, "\(again.text)")
            #expect(again.json["media"]["room"].int == tom["room"].int && again.json["media"]["token"] == sue["token"])
            #expect(try await janus.roomExists(room))
            for token in [tom["token"].string!, sue["token"].string!] { #expect(try await janus.accepts(token: token)) }
            // The feeds keep their numbers (they come from the room's secret, which Janus has again).
            let teacherPage = try await janus.participant(token: tom["token"].string!)
            try await janus.join(teacherPage, room: room, feed: Int64(tom["feed"].int!))
            // A class that is not live is not brought back.
            _ = try await f.call(.post, id, "/transition", as: f.tom, json: ["action": "end"])
            try janus.restart(portBase: 18980)
            _ = try await f.call(.post, id, "/watch", as: f.sue, json: ["mode": "live"])
            #expect(try await janus.roomExists(room) == false)
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
