import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
@testable import TackServer

@Suite("Live class rules")
struct LiveRulesTests {
    @Test("the life of a class: scheduled → live → ended → replay ready; cancelled only before it starts")
    func lifecycle() throws {
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        var c = LiveClass(id: .random(), orgID: .random(), teacher: PersonRef(userID: .random(), memberID: nil, name: "T"), title: "Maths",
                          groupIDs: [], scheduledAt: t0, state: .scheduled, startedAt: nil, endedAt: nil, locked: false, paused: true,
                          maxSpeakers: 1, createdAt: t0, updatedAt: t0)
        #expect(throws: AppError.self) { try c.apply(.end, at: t0) }
        #expect(throws: AppError.self) { try c.apply(.replayReady, at: t0) }
        try c.apply(.start, at: t0.addingTimeInterval(60))
        #expect(c.state == .live && c.startedAt == t0.addingTimeInterval(60))
        #expect(throws: AppError.self) { try c.apply(.start, at: t0) }
        #expect(throws: AppError.self) { try c.apply(.cancel, at: t0) }
        try c.apply(.end, at: t0.addingTimeInterval(3600))
        #expect(c.state == .ended && c.endedAt == t0.addingTimeInterval(3600) && !c.paused)
        try c.apply(.replayReady, at: t0.addingTimeInterval(3700))
        #expect(c.state == .replayReady)
        for state in LiveClass.State.allCases {
            #expect((LiveClass.next(state, .cancel) != nil) == (state == .scheduled))
        }
    }

    @Test("watch time: heartbeats credit the time since the last, at most 20 s; two devices share one timeline")
    func watchTime() {
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        var w = WatchTime.opened(at: t0)
        #expect(w.beat(at: t0.addingTimeInterval(15)) == 15)
        #expect(w.beat(at: t0.addingTimeInterval(30)) == 15)
        // A second device beats between the first one's: only the time since the last credit counts.
        #expect(w.beat(at: t0.addingTimeInterval(35)) == 5)
        #expect(w.beat(at: t0.addingTimeInterval(45)) == 10)
        #expect(w.beat(at: t0.addingTimeInterval(45)) == 0, "a repeated heartbeat adds nothing")
        #expect(w.seconds == 45, "never more than the wall-clock time")
        // A silence (the tab hidden, the phone locked) is not watch time: one interval is credited.
        #expect(w.beat(at: t0.addingTimeInterval(345)) == WatchTime.interval)
        // Opening the video again after a silence restarts the timeline there.
        w.reopen(at: t0.addingTimeInterval(1000))
        #expect(w.beat(at: t0.addingTimeInterval(1015)) == 15)
        #expect(w.seconds == 75)
        // Opening it on another device while one is running changes nothing.
        w.reopen(at: t0.addingTimeInterval(1020))
        #expect(w.beat(at: t0.addingTimeInterval(1030)) == 15)
    }

    @Test("watched: live, replay, both or neither; minutes rounded")
    func watched() {
        let p = PersonRef(userID: .random(), memberID: nil, name: "S")
        #expect(LiveWatchRow(person: p, liveSeconds: 0, replaySeconds: 0).watched == .neither)
        #expect(LiveWatchRow(person: p, liveSeconds: 90, replaySeconds: 0).watched == .live)
        #expect(LiveWatchRow(person: p, liveSeconds: 0, replaySeconds: 5).watched == .replay)
        #expect(LiveWatchRow(person: p, liveSeconds: 60, replaySeconds: 31).watched == .both)
        #expect(LiveWatchRow(person: p, liveSeconds: 60, replaySeconds: 31).minutes == 2)
    }
}

/// A school: Ann (owner); Tom a teacher; Sue, Sam and Max in group 7A, Zoe in 7B; Ola in the
/// school but in neither group. Tom owns both groups.
struct LiveFixture {
    var api: API
    var time: ManualTime
    var org: API.Org
    var ann: Person, tom: Person, sue: Person, sam: Person, max: Person, zoe: Person, ola: Person
    var groupA: String, groupB: String

    static let start = Date(timeIntervalSince1970: 1_796_000_400)

    static func make(_ api: API, _ time: ManualTime) async throws -> LiveFixture {
        let ann = try await api.signUp("Ann")
        let org = try await api.createOrg(ann, name: "School", kind: "school")
        var people: [String: Person] = [:], members: [String: String] = [:]
        for name in ["Tom", "Sue", "Sam", "Max", "Zoe", "Ola"] {
            people[name] = try await api.signUp(name)
            members[name] = try await api.join(people[name]!, org, owner: ann)
        }
        let teacher = try await api.call(.patch, "/api/v1/orgs/\(org.id)/members/\(members["Tom"]!)", as: ann,
                                         json: API.body(["capabilities": ["teacher"]]))
        #expect(teacher.status == .ok, "\(teacher.text)")
        let tom = people["Tom"]!
        let groupA = try await api.group(org, as: tom, name: "7A", members: [members["Sue"]!, members["Sam"]!, members["Max"]!])
        let groupB = try await api.group(org, as: tom, name: "7B", members: [members["Zoe"]!])
        return LiveFixture(api: api, time: time, org: org, ann: ann, tom: tom, sue: people["Sue"]!, sam: people["Sam"]!, max: people["Max"]!,
                           zoe: people["Zoe"]!, ola: people["Ola"]!, groupA: groupA, groupB: groupB)
    }

    var base: String { "/api/v1/orgs/\(org.id)/live" }

    func create(_ body: [String: Any?], as person: Person? = nil, key: String? = nil) async throws -> Reply {
        var headers = HTTPFields()
        if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
        return try await api.call(.post, base, as: person ?? tom, json: API.body(body), headers: headers)
    }

    func call(_ method: HTTPRequest.Method, _ id: String, _ suffix: String, as person: Person, json: [String: Any?]? = nil) async throws -> Reply {
        try await api.call(method, "\(base)/\(id)\(suffix)", as: person, json: json.map { API.body($0) })
    }
}

@Suite("Live classes")
struct LiveTests {
    static func run(_ engine: Engine, mode: TestingSetup = .router, _ body: @escaping @Sendable (LiveFixture) async throws -> Void) async throws {
        let (clock, time) = WallClock.manual(LiveFixture.start)
        try await withAPI(engine, mode: mode, clock: clock, configure: { $0.runJobs = false }) { api in
            try await body(try await LiveFixture.make(api, time))
        }
    }

    @Test("a teacher schedules a class for two groups; bad input is refused and changes nothing; retries are stored once", arguments: Engine.all)
    func create(engine: Engine) async throws {
        try await Self.run(engine) { f in
            let later = ISO8601DateFormatter().string(from: LiveFixture.start.addingTimeInterval(3600))
            let earlier = ISO8601DateFormatter().string(from: LiveFixture.start.addingTimeInterval(-60))
            for (body, code) in [(["title": " ", "groupIds": [f.groupA], "startNow": true], "invalid_title"),
                                 (["title": "Maths", "groupIds": [String](), "startNow": true], "invalid_groups"),
                                 (["title": "Maths", "groupIds": [f.groupA]], "missing_time"),
                                 (["title": "Maths", "groupIds": [f.groupA], "scheduledAt": earlier], "time_in_past"),
                                 (["title": "Maths", "groupIds": [f.groupA], "startNow": true, "maxSpeakers": 9], "invalid_max_speakers"),
                                 (["title": "Maths", "groupIds": [UUID().uuidString], "startNow": true], "unknown_group")] as [([String: Any?], String)] {
                let reply = try await f.create(body)
                #expect(reply.status == .unprocessableContent, "\(code): \(reply.text)")
                #expect(reply.json["errors"][0]["code"].string == code, "\(reply.text)")
            }
            // A member who is neither a teacher nor a group admin may not; nor someone outside the group.
            #expect(try await f.create(["title": "Maths", "groupIds": [f.groupA], "startNow": true], as: f.sue).status == .forbidden)
            #expect(try await f.create(["title": "Maths", "groupIds": [f.groupA], "startNow": true], as: f.ola).json["errors"][0]["code"].string
                    == "unknown_group")
            #expect(try await f.api.call(.get, "\(f.base)?groupId=\(f.groupA)", as: f.tom).json["items"].array.isEmpty, "nothing was stored")

            let created = try await f.create(["title": "Maths", "groupIds": [f.groupA, f.groupB, f.groupA], "scheduledAt": later], key: "k1")
            #expect(created.status == .created, "\(created.text)")
            let c = created.json
            #expect(c["state"].string == "scheduled")
            #expect(c["groupIds"].array.map { $0.string } == [f.groupA, f.groupB])
            #expect(c["teacher"]["name"].string == "Tom")
            #expect(c["maxSpeakers"].int == 4)
            #expect(c["me"]["role"].string == "teacher" && c["me"]["canRun"].bool == true)
            let retried = try await f.create(["title": "Maths", "groupIds": [f.groupA, f.groupB, f.groupA], "scheduledAt": later], key: "k1")
            #expect(retried.json["id"].string == c["id"].string, "a retried create is stored once: \(retried.text)")
            // Each group gets a notice that opens the class.
            for (group, person) in [(f.groupA, f.sue), (f.groupB, f.zoe)] {
                let notice = try await f.api.messages(f.org, group, as: person).json["items"].array.last?["system"]
                #expect(notice?["event"].string == "live_scheduled")
                #expect(notice?["liveClassId"].string == c["id"].string)
                #expect(notice?["name"].string == "Maths")
                #expect(notice?["actor"]["name"].string == "Tom")
                #expect(notice?["at"].string != nil)
            }
            // Both groups see it; Zoe (7B) as a viewer; Ola, in neither group, does not.
            #expect(try await f.api.call(.get, "\(f.base)?groupId=\(f.groupB)", as: f.zoe).json["items"].array.map { $0["id"].string } == [c["id"].string])
            let zoes = try await f.call(.get, c["id"].string!, "", as: f.zoe).json
            #expect(zoes["me"]["role"].string == "viewer" && zoes["me"]["canRun"].bool == false && zoes["me"]["seesStatistics"].bool == false)
            #expect(try await f.call(.get, c["id"].string!, "", as: f.ola).status == .notFound)
            #expect(try await f.api.call(.get, "\(f.base)?groupId=\(f.groupB)", as: f.ola).status == .notFound)
        }
    }

    @Test("only the teacher runs the class: start, end, cancel; wrong moves are 409", arguments: Engine.all)
    func lifecycle(engine: Engine) async throws {
        try await Self.run(engine) { f in
            let later = ISO8601DateFormatter().string(from: LiveFixture.start.addingTimeInterval(3600))
            let id = try await f.create(["title": "Maths", "groupIds": [f.groupA], "scheduledAt": later]).json["id"].string!
            #expect(try await f.call(.post, id, "/transition", as: f.sue, json: ["action": "start"]).status == .forbidden)
            #expect(try await f.call(.post, id, "/transition", as: f.tom, json: ["action": "end"]).code == "invalid_state")
            let live = try await f.call(.post, id, "/transition", as: f.tom, json: ["action": "start"]).json
            #expect(live["state"].string == "live")
            #expect(live["startedAt"].string != nil)
            let notice = try await f.api.messages(f.org, f.groupA, as: f.sue).json["items"].array.last?["system"]
            #expect(notice?["event"].string == "live_started" && notice?["liveClassId"].string == id, "the group hears that it is live")
            #expect(try await f.call(.post, id, "/transition", as: f.tom, json: ["action": "cancel"]).code == "invalid_state")
            // An organisation admin may run it too (a teacher fell ill).
            #expect(try await f.call(.post, id, "/transition", as: f.ann, json: ["action": "end"]).json["state"].string == "ended")
            let other = try await f.create(["title": "Art", "groupIds": [f.groupA], "scheduledAt": later]).json["id"].string!
            #expect(try await f.call(.post, other, "/transition", as: f.tom, json: ["action": "cancel"]).json["state"].string == "cancelled")
        }
    }

    @Test("hands: raised, let speak up to the limit, ended; pause lowers every hand; removed students stay out; a lock keeps newcomers out", arguments: Engine.all)
    func classroom(engine: Engine) async throws {
        try await Self.run(engine) { f in
            let id = try await f.create(["title": "Maths", "groupIds": [f.groupA, f.groupB], "startNow": true, "maxSpeakers": 1]).json["id"].string!
            #expect(try await f.call(.post, id, "/watch", as: f.sue, json: ["mode": "live"]).status == .ok)
            #expect(try await f.call(.put, id, "/hands", as: f.tom).code == "teacher")
            #expect(try await f.call(.put, id, "/hands", as: f.sue).json["items"].array.map { $0["person"]["name"].string } == ["Sue"])
            f.time.advance(by: 1)
            let hands = try await f.call(.put, id, "/hands", as: f.zoe).json["items"].array
            #expect(hands.map { $0["person"]["name"].string } == ["Sue", "Zoe"])
            // Only the teacher lets someone speak; only a raised hand; at most maxSpeakers at once.
            #expect(try await f.call(.put, id, "/speakers/\(f.sue.userID)", as: f.zoe).status == .forbidden)
            #expect(try await f.call(.put, id, "/speakers/\(f.sam.userID)", as: f.tom).code == "no_raised_hand")
            let speaking = try await f.call(.put, id, "/speakers/\(f.sue.userID)", as: f.tom).json["items"].array
            #expect(speaking.first { $0["person"]["name"].string == "Sue" }?["state"].string == "speaking")
            #expect(try await f.call(.get, id, "", as: f.sue).json["me"]["role"].string == "speaker")
            #expect(try await f.call(.put, id, "/speakers/\(f.zoe.userID)", as: f.tom).code == "too_many_speakers")
            let ended = try await f.call(.delete, id, "/speakers/\(f.sue.userID)", as: f.tom).json["items"].array
            #expect(ended.map { $0["person"]["name"].string } == ["Zoe"])
            #expect(try await f.call(.put, id, "/speakers/\(f.zoe.userID)", as: f.tom).status == .ok)
            #expect(try await f.call(.delete, id, "/hands", as: f.zoe).json["items"].array.isEmpty, "Zoe stops speaking herself")

            // Pause: every hand down, nobody raises one until it is resumed.
            #expect(try await f.call(.put, id, "/hands", as: f.sam).status == .ok)
            let paused = try await f.call(.patch, id, "/controls", as: f.tom, json: ["paused": true]).json
            #expect(paused["paused"].bool == true)
            #expect(try await f.call(.get, id, "/hands", as: f.tom).json["items"].array.isEmpty)
            #expect(try await f.call(.put, id, "/hands", as: f.sam).code == "class_paused")
            #expect(try await f.call(.patch, id, "/controls", as: f.sue, json: ["paused": false]).status == .forbidden)
            #expect(try await f.call(.patch, id, "/controls", as: f.tom, json: ["paused": false]).json["paused"].bool == false)

            // Removed: cannot come back, cannot raise a hand.
            #expect(try await f.call(.put, id, "/removals/\(f.max.userID)", as: f.sue).status == .forbidden)
            #expect(try await f.call(.put, id, "/removals/\(f.tom.userID)", as: f.tom).code == "teacher")
            #expect(try await f.call(.put, id, "/removals/\(f.ola.userID)", as: f.tom).status == .notFound)
            #expect(try await f.call(.put, id, "/hands", as: f.max).status == .ok)
            #expect(try await f.call(.put, id, "/removals/\(f.max.userID)", as: f.tom).status == .noContent)
            #expect(try await f.call(.get, id, "", as: f.max).json["me"]["removed"].bool == true)
            #expect(try await f.call(.get, id, "/hands", as: f.tom).json["items"].array.allSatisfy { $0["person"]["name"].string != "Max" })
            #expect(try await f.call(.put, id, "/speakers/\(f.max.userID)", as: f.tom).code == "no_raised_hand")
            #expect(try await f.call(.post, id, "/watch", as: f.max, json: ["mode": "live"]).code == "removed")
            #expect(try await f.call(.put, id, "/hands", as: f.max).code == "removed")

            // Locked: Sue, already in, may reopen; Sam, who never joined, may not.
            #expect(try await f.call(.patch, id, "/controls", as: f.tom, json: ["locked": true]).json["locked"].bool == true)
            #expect(try await f.call(.post, id, "/watch", as: f.sue, json: ["mode": "live"]).status == .ok)
            #expect(try await f.call(.post, id, "/watch", as: f.sam, json: ["mode": "live"]).code == "class_locked")
            #expect(try await f.call(.post, id, "/watch", as: f.tom, json: ["mode": "live"]).status == .ok)

            // Ending the class lowers every hand and stops live watching.
            #expect(try await f.call(.put, id, "/hands", as: f.zoe).status == .ok)
            #expect(try await f.call(.post, id, "/transition", as: f.tom, json: ["action": "end"]).status == .ok)
            #expect(try await f.call(.get, id, "/hands", as: f.tom).json["items"].array.isEmpty)
            #expect(try await f.call(.post, id, "/watch", as: f.sue, json: ["mode": "live"]).code == "not_live")
            #expect(try await f.call(.post, id, "/watch", as: f.sue, json: ["mode": "replay"]).code == "no_replay")
        }
    }

    @Test("at a scheduled class's time its groups are reminded, unless it started or was cancelled", arguments: Engine.all)
    func reminder(engine: Engine) async throws {
        try await Self.run(engine) { f in
            let at = ISO8601DateFormatter().string(from: LiveFixture.start.addingTimeInterval(3600))
            let waiting = try await f.create(["title": "Maths", "groupIds": [f.groupA, f.groupB], "scheduledAt": at]).json["id"].string!
            let started = try await f.create(["title": "Art", "groupIds": [f.groupA], "scheduledAt": at]).json["id"].string!
            let cancelled = try await f.create(["title": "Music", "groupIds": [f.groupA], "scheduledAt": at]).json["id"].string!
            #expect(try await f.call(.post, started, "/transition", as: f.tom, json: ["action": "start"]).status == .ok)
            #expect(try await f.call(.post, cancelled, "/transition", as: f.tom, json: ["action": "cancel"]).status == .ok)
            f.time.advance(by: 3599)
            #expect(try await f.api.parts.jobs.runDue() == 0, "not before its time")
            f.time.advance(by: 1)
            #expect(try await f.api.parts.jobs.runDue() == 3)
            for (group, person) in [(f.groupA, f.sue), (f.groupB, f.zoe)] {
                let reminded = try await f.api.messages(f.org, group, as: person).json["items"].array
                    .filter { $0["system"]["event"].string == "live_starting" }.map { $0["system"]["liveClassId"].string }
                #expect(reminded == [waiting], "only the class still waiting to start")
            }
            #expect(try await f.api.parts.jobs.runDue() == 0, "once")
        }
    }

    @Test("the teacher sees how many watch now (a heartbeat in the last 30 s); mute everyone", arguments: Engine.all)
    func watchingAndFeeds(engine: Engine) async throws {
        try await Self.run(engine) { f in
            let id = try await f.create(["title": "Maths", "groupIds": [f.groupA, f.groupB], "startNow": true]).json["id"].string!
            #expect(try await f.call(.get, id, "", as: f.tom).json["watching"].int == 0)
            for person in [f.sue, f.zoe, f.tom] {
                #expect(try await f.call(.post, id, "/watch", as: person, json: ["mode": "live"]).status == .ok)
            }
            #expect(try await f.call(.get, id, "", as: f.tom).json["watching"].int == 2, "the students, not the teacher")
            #expect(try await f.call(.get, id, "", as: f.ann).json["watching"].int == 2, "an admin runs classes too")
            #expect(try await f.call(.get, id, "", as: f.sue).json["watching"].isNull, "only for whoever runs the class")
            f.time.advance(by: 25)
            #expect(try await f.call(.post, id, "/heartbeats", as: f.sue, json: ["mode": "live"]).status == .ok)
            f.time.advance(by: 10)
            #expect(try await f.call(.get, id, "", as: f.tom).json["watching"].int == 1, "Zoe's page went quiet 35 s ago")

            // Without a media server nobody publishes: no feeds (with one: LiveMediaTests).
            #expect(try await f.call(.put, id, "/hands", as: f.sue).status == .ok)
            let speaking = try await f.call(.put, id, "/speakers/\(f.sue.userID)", as: f.tom).json["items"].array.first
            #expect(speaking?["state"].string == "speaking" && speaking?["feed"].isNull == true)

            // Mute everyone: every turn ends, raised hands stay; only whoever runs the class.
            #expect(try await f.call(.put, id, "/hands", as: f.zoe).status == .ok)
            #expect(try await f.call(.delete, id, "/speakers", as: f.sue).status == .forbidden)
            let muted = try await f.call(.delete, id, "/speakers", as: f.tom).json["items"].array
            #expect(muted.map { $0["person"]["name"].string } == ["Zoe"] && muted.first?["state"].string == "raised")
            #expect(try await f.call(.get, id, "", as: f.sue).json["me"]["role"].string == "viewer")
            #expect(try await f.call(.post, id, "/transition", as: f.tom, json: ["action": "end"]).json["watching"].isNull)
        }
    }

    @Test("watch statistics: minutes from heartbeats across devices, who never watched; for the teacher and the groups' admins", arguments: Engine.all)
    func statistics(engine: Engine) async throws {
        try await Self.run(engine) { f in
            let id = try await f.create(["title": "Maths", "groupIds": [f.groupA, f.groupB], "startNow": true]).json["id"].string!
            #expect(try await f.call(.post, id, "/heartbeats", as: f.sue, json: ["mode": "live"]).code == "not_open")
            #expect(try await f.call(.post, id, "/watch", as: f.sue, json: ["mode": "live"]).status == .ok)
            // Sue watches 10 minutes on a laptop and, overlapping, on a phone.
            var seconds = 0.0
            for step in 1...40 {
                f.time.advance(by: 15)
                seconds = try await f.call(.post, id, "/heartbeats", as: f.sue, json: ["mode": "live"]).json["seconds"].double ?? -1
                if step % 2 == 0 {
                    f.time.advance(by: 5)
                    seconds = try await f.call(.post, id, "/heartbeats", as: f.sue, json: ["mode": "live"]).json["seconds"].double ?? -1
                }
            }
            #expect(seconds == 40 * 15 + 20 * 5, "no more than the wall-clock time")
            // Zoe opens it, then her tab is hidden for an hour: one heartbeat after the hour is 15 s.
            #expect(try await f.call(.post, id, "/watch", as: f.zoe, json: ["mode": "live"]).status == .ok)
            f.time.advance(by: 3600)
            #expect(try await f.call(.post, id, "/heartbeats", as: f.zoe, json: ["mode": "live"]).json["seconds"].double == 15)
            #expect(try await f.call(.post, id, "/heartbeats", as: f.zoe, json: ["mode": "replay"]).code == "no_replay")

            #expect(try await f.call(.get, id, "/statistics", as: f.sue).status == .forbidden)
            #expect(try await f.call(.get, id, "/statistics", as: f.ola).status == .notFound)
            let stats = try await f.call(.get, id, "/statistics", as: f.tom).json
            let byName = Dictionary(uniqueKeysWithValues: stats["items"].array.map { ($0["person"]["name"].string ?? "", $0) })
            #expect(Set(byName.keys) == ["Max", "Sam", "Sue", "Zoe"], "the groups' members but the teacher")
            #expect(byName["Sue"]?["watched"].string == "live")
            #expect(byName["Sue"]?["minutes"].int == 12)
            #expect(byName["Zoe"]?["liveSeconds"].double == 15)
            #expect(byName["Sam"]?["watched"].string == "neither")
            #expect(byName["Max"]?["minutes"].int == 0)
            let csv = try await f.call(.get, id, "/statistics/export?format=csv", as: f.tom)
            #expect(csv.status == .ok)
            #expect(csv.headers[.contentDisposition]?.hasPrefix("attachment;") == true)
            #expect(csv.text.contains("Sue,live,12,0,12"), "\(csv.text)")
            #expect(csv.text.contains("Sam,neither,0,0,0"))
            let xlsx = try await f.call(.get, id, "/statistics/export?format=xlsx", as: f.tom)
            #expect(xlsx.status == .ok && xlsx.headers[.contentType]?.contains("spreadsheetml") == true)
            #expect(try await f.call(.get, id, "/statistics/export", as: f.zoe).status == .forbidden)
            // The organisation's owner sees them too.
            #expect(try await f.call(.get, id, "/statistics", as: f.ann).status == .ok)
        }
    }

    @Test("open class pages hear of every change: state, switches, hands; in every group of the class", arguments: Engine.all)
    func events(engine: Engine) async throws {
        try await Self.run(engine, mode: .live) { f in
            let sue = TestSocket(port: f.api.client.port!, token: f.sue.token)
            let zoe = TestSocket(port: f.api.client.port!, token: f.zoe.token)
            defer { sue.close(); zoe.close() }
            for socket in [sue, zoe] { await socket.start() }
            let id = try await f.create(["title": "Maths", "groupIds": [f.groupA, f.groupB], "startNow": true]).json["id"].string!
            func heard(_ reply: Reply, by socket: TestSocket) async {
                #expect(reply.status == .ok, "\(reply.text)")
                #expect(await socket.next(ofType: "live.updated")?["data"]["liveClassId"].string == id)
            }
            await heard(try await f.call(.put, id, "/hands", as: f.sue), by: zoe)
            await heard(try await f.call(.put, id, "/speakers/\(f.sue.userID)", as: f.tom), by: zoe)
            await heard(try await f.call(.patch, id, "/controls", as: f.tom, json: ["locked": true]), by: sue)
            await heard(try await f.call(.post, id, "/transition", as: f.tom, json: ["action": "end"]), by: zoe)
        }
    }

    @Test("changes at the same moment happen one after the other: an end is not undone by a lock, the speaker limit holds", arguments: Engine.all)
    func concurrentChanges(engine: Engine) async throws {
        try await Self.run(engine) { f in
            for _ in 0..<6 {
                let id = try await f.create(["title": "Maths", "groupIds": [f.groupA, f.groupB], "startNow": true, "maxSpeakers": 1]).json["id"].string!
                _ = try await f.call(.put, id, "/hands", as: f.sue)
                _ = try await f.call(.put, id, "/hands", as: f.zoe)
                async let end = f.call(.post, id, "/transition", as: f.tom, json: ["action": "end"])
                async let lock = f.call(.patch, id, "/controls", as: f.ann, json: ["locked": true])
                #expect(try await end.status == .ok)
                _ = try await lock
                #expect(try await f.call(.get, id, "", as: f.tom).json["state"].string == "ended", "the end stands")

                let next = try await f.create(["title": "Art", "groupIds": [f.groupA, f.groupB], "startNow": true, "maxSpeakers": 1]).json["id"].string!
                _ = try await f.call(.put, next, "/hands", as: f.sue)
                _ = try await f.call(.put, next, "/hands", as: f.zoe)
                async let first = f.call(.put, next, "/speakers/\(f.sue.userID)", as: f.tom)
                async let second = f.call(.put, next, "/speakers/\(f.zoe.userID)", as: f.ann)
                let statuses = [try await first.status, try await second.status]
                #expect(statuses.filter { $0 == .ok }.count == 1, "\(statuses)")
                let speaking = try await f.call(.get, next, "/hands", as: f.tom).json["items"].array.filter { $0["state"].string == "speaking" }
                #expect(speaking.count == 1)
            }
        }
    }
}
