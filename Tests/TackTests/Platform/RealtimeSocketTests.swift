import Foundation
import HTTPTypes
import HummingbirdTesting
import SQLKit
import Testing
@testable import TackServer

/// The WebSocket channel end to end, on a real socket.
@Suite("Real-time channel", .timeLimit(.minutes(2)))
struct RealtimeSocketTests {
    @Test("hello, replay after a cursor, resumed, then live events", arguments: Engine.all)
    func resumeThenLive(engine: Engine) async throws {
        try await withAPI(engine, mode: .live) { api in
            let ann = try await api.signUp("Ann")
            let org = try await api.createOrg(ann)
            _ = try await api.createDepartment(org, as: ann, name: "Sales")
            let socket = TestSocket(port: api.client.port!, token: ann.token)
            defer { socket.close() }
            let hello = await socket.next()
            #expect(hello?["type"].string == "hello")
            #expect(hello?["data"]["userId"].string == ann.userID)
            socket.send(#"{"type":"resume","cursors":{"\#(org.id)":1}}"#)
            let replayed = await socket.next()
            #expect(replayed?["type"].string == "department.created")
            #expect(replayed?["seq"].int == 2)
            let resumed = await socket.next()
            #expect(resumed?["type"].string == "resumed")
            #expect(resumed?["data"]["cursors"][org.id].int == 2)
            _ = try await api.createDepartment(org, as: ann, name: "Support")
            let live = await socket.next()
            #expect(live?["type"].string == "department.created")
            #expect(live?["seq"].int == 3)
            #expect(live?["data"]["name"].string == "Support")
            socket.send(#"{"type":"ping"}"#)
            #expect(await socket.next()?["type"].string == "pong")
        }
    }

    @Test("TACK_EVENT_LOOPS=1: one loop serves requests and live events; by default one loop per core")
    func oneEventLoop() async throws {
        #expect(try TackConfiguration.fromEnvironment(["TACK_EVENT_LOOPS": "1"]).eventLoops == 1)
        #expect(try TackConfiguration.fromEnvironment([:]).eventLoops == nil)
        #expect(throws: ConfigurationError.self) { try TackConfiguration.fromEnvironment(["TACK_EVENT_LOOPS": "0"]) }
        #expect(throws: ConfigurationError.self) { try TackConfiguration.fromEnvironment(["TACK_EVENT_LOOPS": "two"]) }
        #expect(Array(EventLoops.group(threads: 1).makeIterator()).count == 1)
        #expect(EventLoops.group(threads: 1) === EventLoops.group(threads: 1))
        try await withAPI(.sqlite, mode: .live, configure: { $0.eventLoops = 1 }) { api in
            let ann = try await api.signUp("Ann")
            let org = try await api.createOrg(ann)
            _ = try await api.createDepartment(org, as: ann, name: "Sales")
            let socket = TestSocket(port: api.client.port!, token: ann.token)
            defer { socket.close() }
            #expect(await socket.next()?["type"].string == "hello")
            socket.send(#"{"type":"resume","cursors":{"\#(org.id)":2}}"#)
            #expect(await socket.next()?["type"].string == "resumed")
            _ = try await api.createDepartment(org, as: ann, name: "Support")
            let live = await socket.next()
            #expect(live?["type"].string == "department.created")
            #expect(live?["data"]["name"].string == "Support")
        }
    }

    @Test("the state a client builds from events equals a fresh fetch", arguments: Engine.all)
    func stateFromEventsMatchesFetch(engine: Engine) async throws {
        try await withAPI(engine, mode: .live) { api in
            let ann = try await api.signUp("Ann"), bob = try await api.signUp("Bob")
            let org = try await api.createOrg(ann)
            _ = try await api.join(bob, org, owner: ann)
            // The client's initial state.
            var departments = try await fetchDepartments(api, org, as: bob)
            var members = try await fetchMembers(api, org, as: bob)
            let cursor = try await api.call(.get, "/api/v1/orgs/\(org.id)", as: bob).json["eventSeq"].int!
            let socket = TestSocket(port: api.client.port!, token: bob.token)
            defer { socket.close() }
            _ = await socket.next()
            socket.send(#"{"type":"resume","cursors":{"\#(org.id)":\#(cursor)}}"#)
            #expect(await socket.next()?["type"].string == "resumed")

            // Changes by others.
            let grade = try await api.createDepartment(org, as: ann, name: "Grade 8")
            let klass = try await api.createDepartment(org, as: ann, name: "Class 1", parent: grade, kind: "class")
            _ = try await api.call(.patch, "/api/v1/orgs/\(org.id)/departments/\(klass)", as: ann, json: API.body(["name": "Class 1A"]))
            let cat = try await api.signUp("Cat")
            let catID = try await api.join(cat, org, owner: ann)
            _ = try await api.call(.patch, "/api/v1/orgs/\(org.id)/members/\(catID)", as: ann,
                                   json: API.body(["departmentIds": [klass], "title": "Monitor", "capabilities": ["student"]]))
            let temp = try await api.createDepartment(org, as: ann, name: "Temp")
            _ = try await api.call(.delete, "/api/v1/orgs/\(org.id)/departments/\(temp)", as: ann)
            let dan = try await api.signUp("Dan")
            let danID = try await api.join(dan, org, owner: ann)
            _ = try await api.call(.delete, "/api/v1/orgs/\(org.id)/members/\(danID)", as: ann)
            _ = try await api.call(.post, "/api/v1/orgs/\(org.id)/members/import", as: ann,
                                   body: "name,email,department\nEve,eve@example.com,Grade 8\n", headers: [.contentType: "text/csv"])
            let latest = try await api.call(.get, "/api/v1/orgs/\(org.id)", as: ann).json["eventSeq"].int!

            // Apply events until the latest one, as the web app does.
            var seq = cursor
            while seq < latest, let event = await socket.next() {
                guard let eventSeq = event["seq"].int, eventSeq > seq else { continue }
                seq = eventSeq
                let data = event["data"]
                switch event["type"].string {
                case "department.created", "department.updated": departments[data["id"].string!] = data["name"].string! + "|" + (data["parentId"].string ?? "")
                case "department.deleted": departments[data["id"].string!] = nil
                case "member.joined", "member.updated": members[data["id"].string!] = describe(data)
                case "member.left": members[data["id"].string!] = nil
                case "members.imported":
                    departments = try await fetchDepartments(api, org, as: bob)
                    members = try await fetchMembers(api, org, as: bob)
                default: break
                }
            }
            #expect(seq == latest)
            #expect(departments == (try await fetchDepartments(api, org, as: bob)))
            #expect(members == (try await fetchMembers(api, org, as: bob)))
        }
    }

    func describe(_ member: JSON) -> String {
        [member["name"].string ?? "", member["title"].string ?? "", member["role"].string ?? "",
         member["capabilities"].description, member["departmentIds"].description].joined(separator: "|")
    }

    func fetchDepartments(_ api: API, _ org: API.Org, as person: Person) async throws -> [String: String] {
        let items = try await api.call(.get, "/api/v1/orgs/\(org.id)/departments", as: person).json["items"].array
        return Dictionary(uniqueKeysWithValues: items.map { ($0["id"].string!, $0["name"].string! + "|" + ($0["parentId"].string ?? "")) })
    }

    func fetchMembers(_ api: API, _ org: API.Org, as person: Person) async throws -> [String: String] {
        let items = try await api.call(.get, "/api/v1/orgs/\(org.id)/members?limit=1000", as: person).json["items"].array
        return Dictionary(uniqueKeysWithValues: items.map { ($0["id"].string!, describe($0)) })
    }

    @Test("renaming oneself and claiming an imported account reach the organisations' members", arguments: [Engine.sqlite])
    func profileChanges(engine: Engine) async throws {
        try await withAPI(engine, mode: .live) { api in
            let ann = try await api.signUp("Ann"), bob = try await api.signUp("Bob")
            let org = try await api.createOrg(ann)
            _ = try await api.join(bob, org, owner: ann)
            _ = try await api.call(.post, "/api/v1/orgs/\(org.id)/members/import", as: ann,
                                   body: "name,email\nImported,imp@example.com\n", headers: [.contentType: "text/csv"])
            let socket = TestSocket(port: api.client.port!, token: ann.token)
            defer { socket.close() }
            await socket.start()
            _ = try await api.call(.patch, "/api/v1/me", as: bob, json: API.body(["name": "Robert"]))
            let renamed = await socket.next()
            #expect(renamed?["type"].string == "member.updated")
            #expect(renamed?["data"]["name"].string == "Robert")
            _ = try await api.call(.post, "/api/v1/auth/signup", json: API.body(["name": "Real Name", "login": "imp@example.com", "password": "correct horse"]))
            let claimed = await socket.next()
            #expect(claimed?["type"].string == "member.updated")
            #expect(claimed?["data"]["name"].string == "Real Name")
            #expect(claimed?["data"]["claimed"].bool == true)
        }
    }

    @Test("outsiders get no socket, no foreign events and no foreign replay", arguments: [Engine.sqlite])
    func isolation(engine: Engine) async throws {
        try await withAPI(engine, mode: .live) { api in
            let ann = try await api.signUp("Ann"), bob = try await api.signUp("Bob")
            let a = try await api.createOrg(ann, name: "A")
            let b = try await api.createOrg(bob, name: "B")
            let anonymous = TestSocket(port: api.client.port!, token: nil)
            await #expect(throws: (any Error).self) { _ = try await anonymous.closed.value }
            let plain = try await api.call(.get, "/api/v1/events", as: bob)
            #expect(plain.status == .upgradeRequired)

            let socket = TestSocket(port: api.client.port!, token: bob.token)
            defer { socket.close() }
            _ = await socket.next()
            socket.send(#"{"type":"resume","cursors":{"\#(a.id)":0,"\#(b.id)":0}}"#)
            let replay = await socket.next()
            #expect(replay?["org"].string == b.id, "only B's history is replayed")
            let resumed = await socket.next(ofType: "resumed")
            #expect(resumed?["data"]["cursors"][a.id].isNull == true)
            _ = try await api.createDepartment(a, as: ann, name: "Secret")
            _ = try await api.createDepartment(b, as: bob, name: "Own")
            let next = await socket.next()
            #expect(next?["data"]["name"].string == "Own", "A's change never reached Bob")
        }
    }

    @Test("members do not receive admins-only events; joining starts the stream", arguments: [Engine.sqlite])
    func audiences(engine: Engine) async throws {
        try await withAPI(engine, mode: .live) { api in
            let ann = try await api.signUp("Ann"), bob = try await api.signUp("Bob")
            let org = try await api.createOrg(ann)
            let socket = TestSocket(port: api.client.port!, token: bob.token)
            defer { socket.close() }
            await socket.start()
            _ = try await api.join(bob, org, owner: ann)
            #expect(await socket.next(ofType: "member.joined") != nil)
            #expect(await socket.next(ofType: "membership.added") != nil)
            _ = try await api.call(.post, "/api/v1/orgs/\(org.id)/invitations", as: ann, json: API.body([:]))
            _ = try await api.createDepartment(org, as: ann, name: "After")
            var seen: [String] = []
            while let event = await socket.next(), event["type"].string != "department.created" { seen.append(event["type"].string ?? "") }
            #expect(!seen.contains("invitation.created"), "the admins-only invitation event was skipped: \(seen)")
        }
    }

    @Test("signing out closes the session's sockets with 4001", arguments: [Engine.sqlite])
    func signOutCloses(engine: Engine) async throws {
        try await withAPI(engine, mode: .live) { api in
            let ann = try await api.signUp("Ann")
            let socket = TestSocket(port: api.client.port!, token: ann.token)
            await socket.start()
            _ = try await api.call(.post, "/api/v1/auth/signout", as: ann)
            let frame = try await socket.closed.value
            #expect(frame?.closeCode == .init(codeNumber: 4001))
        }
    }

    @Test("a session ended by another process closes its sockets at the next sweep", arguments: Engine.all)
    func sweep(engine: Engine) async throws {
        try await withAPI(engine, mode: .live) { api in
            let ann = try await api.signUp("Ann"), bob = try await api.signUp("Bob")
            let annSocket = TestSocket(port: api.client.port!, token: ann.token)
            let bobSocket = TestSocket(port: api.client.port!, token: bob.token)
            defer { bobSocket.close() }
            for socket in [annSocket, bobSocket] { await socket.start() }
            // As `tack admin reset-password` does from its own process: no hub message here.
            let annID = try #require(User.ID(string: ann.userID))
            _ = try await api.parts.database.write { db in try await AccountStore().deleteSessions(db, userID: annID, keeping: nil) }
            await SocketSessionSweeper(hub: api.parts.hub, auth: api.parts.auth, logger: ScratchDatabase.logger).sweepOnce()
            let frame = try await annSocket.closed.value
            #expect(frame?.closeCode == .init(codeNumber: 4001))
            bobSocket.send(#"{"type":"ping"}"#)
            #expect(await bobSocket.next()?["type"].string == "pong", "live sessions keep their sockets")
        }
    }

    @Test("a client that stops reading is closed with 4008 instead of growing memory", arguments: [Engine.sqlite])
    func slowClient(engine: Engine) async throws {
        try await withAPI(engine, mode: .live, configure: { $0.socketQueueLimit = 16 }) { api in
            let ann = try await api.signUp("Ann")
            let socket = TestSocket(port: api.client.port!, token: ann.token, pauseAfter: 2)
            await socket.start()
            // Far more than the socket buffers hold, while the client reads nothing.
            let payload = "\"" + String(repeating: "x", count: 4000) + "\""
            let userID = try #require(User.ID(string: ann.userID))
            for _ in 0..<5000 { await api.parts.hub.publish([.personal(userID, type: "filler", data: payload)]) }
            socket.resumeReading()
            var received = 0
            while await socket.next() != nil { received += 1 }
            let frame = try await socket.closed.value
            #expect(frame?.closeCode == .init(codeNumber: 4008))
            #expect(received < 5000)
        }
    }

    @Test("a cursor older than the kept log gets resync", arguments: Engine.all)
    func resync(engine: Engine) async throws {
        try await withAPI(engine, mode: .live) { api in
            let ann = try await api.signUp("Ann")
            let org = try await api.createOrg(ann)
            for name in ["A", "B", "C"] { _ = try await api.createDepartment(org, as: ann, name: name) }
            let orgID = try #require(Organization.ID(string: org.id))
            try await api.parts.database.write { db in
                try await db.delete(from: "org_events").where("org_id", .equal, orgID).where("seq", .lessThanOrEqual, 2).run()
            }
            let socket = TestSocket(port: api.client.port!, token: ann.token)
            defer { socket.close() }
            _ = await socket.next()
            socket.send(#"{"type":"resume","cursors":{"\#(org.id)":0}}"#)
            let message = await socket.next()
            #expect(message?["type"].string == "resync")
            #expect(message?["data"]["latestSeq"].int == 4)
            let page = try await api.call(.get, "/api/v1/orgs/\(org.id)/events?after=1", as: ann).json
            #expect(page["resync"].bool == true)
        }
    }
}
