import Foundation
import HTTPTypes
import Testing
@testable import TackServer

extension API {
    func conversations(_ org: Org, as person: Person) async throws -> [JSON] {
        try await call(.get, "/api/v1/orgs/\(org.id)/conversations", as: person).json["items"].array
    }

    func group(_ org: Org, as owner: Person, name: String = "Team", members: [String]) async throws -> String {
        let reply = try await call(.post, "/api/v1/orgs/\(org.id)/conversations", as: owner, json: API.body(["name": name, "memberIds": members]))
        #expect(reply.status == .created, "\(reply.text)")
        return reply.json["id"].string ?? ""
    }

    @discardableResult
    func send(_ org: Org, _ conversation: String, as person: Person, text: String, key: String = UUID().uuidString,
              extra: [String: Any] = [:]) async throws -> Reply {
        var body: [String: Any?] = ["clientKey": key, "text": text]
        for (k, v) in extra { body[k] = v }
        return try await call(.post, "/api/v1/orgs/\(org.id)/conversations/\(conversation)/messages", as: person, json: API.body(body))
    }

    func read(_ org: Org, _ conversation: String, as person: Person, upTo seq: Int) async throws -> Reply {
        try await call(.post, "/api/v1/orgs/\(org.id)/conversations/\(conversation)/read", as: person, json: API.body(["seq": seq]))
    }

    func messages(_ org: Org, _ conversation: String, as person: Person, query: String = "") async throws -> Reply {
        try await call(.get, "/api/v1/orgs/\(org.id)/conversations/\(conversation)/messages\(query)", as: person)
    }
}

/// An organisation with Ann (owner), Bob and Cat, and a group of the three.
struct ChatFixture {
    var api: API
    var org: API.Org
    var ann: Person, bob: Person, cat: Person
    var annMember: String, bobMember: String, catMember: String
    var group: String

    static func make(_ api: API) async throws -> ChatFixture {
        let ann = try await api.signUp("Ann"), bob = try await api.signUp("Bob"), cat = try await api.signUp("Cat")
        let org = try await api.createOrg(ann)
        let bobMember = try await api.join(bob, org, owner: ann), catMember = try await api.join(cat, org, owner: ann)
        let group = try await api.group(org, as: ann, members: [bobMember, catMember])
        return ChatFixture(api: api, org: org, ann: ann, bob: bob, cat: cat, annMember: org.ownerMemberID, bobMember: bobMember,
                           catMember: catMember, group: group)
    }
}

@Suite("Chat API")
struct ChatAPITests {
    @Test("1:1 chats are opened once; sends are stored once per client key; clients sync from a cursor", arguments: Engine.all)
    func directAndSync(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let f = try await ChatFixture.make(api)
            let path = "/api/v1/orgs/\(f.org.id)/conversations/direct"
            let first = try await api.call(.post, path, as: f.ann, json: API.body(["memberId": f.bobMember]))
            let again = try await api.call(.post, path, as: f.bob, json: API.body(["memberId": f.annMember]))
            #expect(first.json["id"] == again.json["id"])
            #expect(first.json["name"].string == "Bob")
            #expect(again.json["name"].string == "Ann")
            #expect(try await api.call(.post, path, as: f.ann, json: API.body(["memberId": f.annMember])).status == .unprocessableContent)
            let direct = first.json["id"].string!
            let sent = try await api.send(f.org, direct, as: f.ann, text: "hello", key: "same")
            let retried = try await api.send(f.org, direct, as: f.ann, text: "hello", key: "same")
            #expect(sent.status == .created)
            #expect(sent.json["id"] == retried.json["id"])
            #expect(sent.json["clientKey"].string == "same")
            for i in 2...6 { try await api.send(f.org, direct, as: i.isMultiple(of: 2) ? f.bob : f.ann, text: "m\(i)") }
            let page = try await api.messages(f.org, direct, as: f.bob, query: "?after=2&limit=3").json
            #expect(page["items"].array.compactMap { $0["seq"].int } == [3, 4, 5])
            #expect(page["hasMore"].bool == true)
            #expect(page["lastSeq"].int == 6)
            #expect(page["items"][0]["clientKey"].isNull, "another's client key is not shown")
            let history = try await api.messages(f.org, direct, as: f.bob, query: "?before=3").json
            #expect(history["items"].array.compactMap { $0["seq"].int } == [1, 2])
            #expect(history["hasMore"].bool == false)
            let empty = try await api.send(f.org, direct, as: f.ann, text: "   ")
            #expect(empty.status == .unprocessableContent)
            // Ideographic and no-break spaces, tabs and line breaks are white space too.
            #expect(try await api.send(f.org, direct, as: f.ann, text: "\u{3000}\u{00A0}\t\r\n\u{2028}").status == .unprocessableContent)
            #expect(try await api.messages(f.org, direct, as: f.ann).json["lastSeq"].int == 6, "a refused send stores nothing")
        }
    }

    @Test("text with a NUL character is refused alike on both engines and nothing is stored", arguments: Engine.all)
    func nulCharacters(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let f = try await ChatFixture.make(api)
            let before = try await api.messages(f.org, f.group, as: f.ann).json["lastSeq"].int
            for (text, key) in [("a\u{0}b", "k1"), ("ab", "k\u{0}")] {
                let reply = try await api.send(f.org, f.group, as: f.ann, text: text, key: key)
                #expect(reply.status == .badRequest, "\(reply.text)")
                #expect(reply.code == "invalid_text")
            }
            // An escaped backslash followed by "u0000" is ordinary text.
            let literal = try await api.send(f.org, f.group, as: f.ann, text: #"C:\u0000"#)
            #expect(literal.status == .created, "\(literal.text)")
            #expect(literal.json["text"].string == #"C:\u0000"#)
            let search = try await api.call(.get, "/api/v1/orgs/\(f.org.id)/messages/search?q=a%00b", as: f.ann)
            #expect(search.status == .badRequest)
            #expect(search.code == "invalid_text")
            #expect(try await api.messages(f.org, f.group, as: f.ann).json["lastSeq"].int == before.map { $0 + 1 })
        }
    }

    @Test("concurrent sends get gap-free, unique sequence numbers", arguments: Engine.all)
    func concurrentSends(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let f = try await ChatFixture.make(api)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<40 {
                    group.addTask { try await api.send(f.org, f.group, as: [f.ann, f.bob, f.cat][i % 3], text: "n\(i)", key: "c\(i)") }
                }
                try await group.waitForAll()
            }
            let seqs = try await api.messages(f.org, f.group, as: f.cat, query: "?limit=200").json["items"].array.compactMap { $0["seq"].int }
            #expect(seqs == Array(1...41), "the group's creation message and 40 sends")
        }
    }

    @Test("a group commit's sends: plain ones written together, the others one by one, each refused alone", arguments: Engine.all)
    func batchedSends(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let f = try await ChatFixture.make(api)
            let direct = try #require(try await api.call(.post, "/api/v1/orgs/\(f.org.id)/conversations/direct", as: f.ann,
                                                         json: API.body(["memberId": f.bobMember])).json["id"].string)
            let other = try await api.group(f.org, as: f.ann, name: "Other", members: [f.bobMember])  // Cat is not in it
            let old = try await api.send(f.org, f.group, as: f.bob, text: "before", key: "old").json
            func lastSeq(_ c: String) async throws -> Int { try #require(try await api.messages(f.org, c, as: f.ann).json["lastSeq"].int) }
            let (direct0, other0, group0) = (try await lastSeq(direct), try await lastSeq(other), try await lastSeq(f.group))
            func job(_ p: Person, _ c: String, _ text: String, key: String, reply: Int64? = nil) -> ChatService.SendJob {
                ChatService.SendJob(identity: Identity(userID: User.ID(string: p.userID)!, sessionHash: "", kind: .token),
                                    orgID: Organization.ID(string: f.org.id)!, conversationID: Conversation.ID(string: c)!,
                                    message: OutgoingMessage(clientKey: key, text: text, attachmentID: nil, mentions: [], mentionAll: false,
                                                             replyToSeq: reply, forwardedFrom: nil, forwardedAttachment: nil),
                                    now: Date(), limits: .init())
            }
            let jobs = [
                job(f.ann, direct, "d1", key: "d1"), job(f.bob, direct, "d2 needle", key: "d2"), job(f.ann, direct, "d3", key: "d3"),
                job(f.cat, other, "not a member", key: "x"), job(f.ann, other, "o1", key: "o1"),
                // The team's sends go one by one: a reply, and a retried client key.
                job(f.ann, f.group, "g1", key: "g1"), job(f.bob, f.group, "re", key: "g2", reply: Int64(group0)), job(f.bob, f.group, "before", key: "old"),
            ]
            let outcomes = try await api.parts.database.write { db in
                try await ChatService.sendBatch(db, Outbox(), jobs, store: ChatStore(), mentioned: nil)
            }
            func seq(_ i: Int) -> Int? { if case .sent(let s) = outcomes[i] { Int(s.message.seq) } else { nil } }
            #expect((0..<3).map(seq) == [direct0 + 1, direct0 + 2, direct0 + 3])
            if case .refused(let error) = outcomes[3] { #expect(error.status == .notFound) } else { Issue.record("Cat is not in Other") }
            #expect(seq(4) == other0 + 1)
            #expect((5..<8).map(seq) == [group0 + 1, group0 + 2, Int(try #require(old["seq"].int))])
            if case .sent(let again) = outcomes[7] { #expect(again.message.id.string == old["id"].string?.lowercased()) }
            // Stored as answered: texts in order, sequence numbers without gaps, each sender's own
            // message read, the batch's text searchable.
            let items = try await api.messages(f.org, direct, as: f.bob).json["items"].array
            #expect(items.compactMap { $0["text"].string }.suffix(3) == ["d1", "d2 needle", "d3"])
            #expect(items.compactMap { $0["seq"].int } == Array(1...(direct0 + 3)))
            #expect(try await lastSeq(other) == other0 + 1)
            #expect(try await lastSeq(f.group) == group0 + 2)
            let bobsView = try await api.conversations(f.org, as: f.bob).first { $0["id"].string == direct }
            #expect(bobsView?["readSeq"].int == direct0 + 2, "his own d2")
            #expect(bobsView?["unreadCount"].int == 1, "d3")
            let annsView = try await api.conversations(f.org, as: f.ann).first { $0["id"].string == direct }
            #expect(annsView?["readSeq"].int == direct0 + 3)
            let hits = try await api.call(.get, "/api/v1/orgs/\(f.org.id)/messages/search?q=needle", as: f.bob).json["items"].array
            #expect(hits.compactMap { $0["message"]["text"].string } == ["d2 needle"])
        }
    }

    @Test("read receipts: joins, leaves, recalls and two devices", arguments: Engine.all)
    func receipts(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let f = try await ChatFixture.make(api)
            let seq = try await api.send(f.org, f.group, as: f.ann, text: "Please read").json
            #expect(seq["unreadCount"].int == 2)
            let s = seq["seq"].int!
            _ = try await api.read(f.org, f.group, as: f.bob, upTo: s)
            // Cat reads on a phone, then an older position from a laptop: the watermark stays.
            let phone = try await api.read(f.org, f.group, as: f.cat, upTo: s)
            let laptop = try await api.read(f.org, f.group, as: f.cat, upTo: s - 1)
            #expect(phone.json["readSeq"].int == s)
            #expect(laptop.json["readSeq"].int == s)
            #expect(try await api.read(f.org, f.group, as: f.cat, upTo: 9999).json["readSeq"].int == s, "not beyond the last message")
            let own = try await api.messages(f.org, f.group, as: f.ann).json["items"].array.last!
            #expect(own["unreadCount"].int == 0)
            // Dan joins later: he does not count for earlier messages, but does for later ones.
            let dan = try await api.signUp("Dan")
            let danMember = try await api.join(dan, f.org, owner: f.ann)
            _ = try await api.call(.post, "/api/v1/orgs/\(f.org.id)/conversations/\(f.group)/members", as: f.ann, json: API.body(["memberIds": [danMember]]))
            let readers = try await api.call(.get, "/api/v1/orgs/\(f.org.id)/conversations/\(f.group)/messages/\(s)/readers", as: f.ann).json
            #expect(readers["read"].array.compactMap { $0["name"].string }.sorted() == ["Bob", "Cat"])
            #expect(readers["unread"].array.isEmpty)
            let later = try await api.send(f.org, f.group, as: f.ann, text: "Everyone?").json["seq"].int!
            var counts = try await api.call(.get, "/api/v1/orgs/\(f.org.id)/conversations/\(f.group)/receipts?from=1&to=\(later)", as: f.ann).json["counts"].array
            #expect(counts.map { [$0["seq"].int!, $0["unread"].int!] } == [[s, 0], [later, 3]])
            // Cat leaves: she no longer counts.
            _ = try await api.call(.delete, "/api/v1/orgs/\(f.org.id)/conversations/\(f.group)/members/\(f.cat.userID)", as: f.cat)
            counts = try await api.call(.get, "/api/v1/orgs/\(f.org.id)/conversations/\(f.group)/receipts?from=\(later)&to=\(later)", as: f.ann).json["counts"].array
            #expect(counts.first?["unread"].int == 2)
            // A recalled message still has readers, but no text.
            _ = try await api.call(.post, "/api/v1/orgs/\(f.org.id)/conversations/\(f.group)/messages/\(s)/recall", as: f.ann)
            let recalled = try await api.messages(f.org, f.group, as: f.bob, query: "?after=\(s - 1)&limit=1").json["items"][0]
            #expect(recalled["recalled"].bool == true)
            #expect(recalled["text"].isNull)
        }
    }

    @Test("permissions: outsiders see nothing; only authors recall; only owners and admins manage or mention all", arguments: Engine.all)
    func permissions(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let f = try await ChatFixture.make(api)
            let base = "/api/v1/orgs/\(f.org.id)/conversations/\(f.group)"
            let eve = try await api.signUp("Eve")
            _ = try await api.join(eve, f.org, owner: f.ann)
            let s = try await api.send(f.org, f.group, as: f.bob, text: "secret plans").json["seq"].int!
            #expect(try await api.messages(f.org, f.group, as: eve).status == .notFound)
            #expect(try await api.send(f.org, f.group, as: eve, text: "hi").status == .notFound)
            #expect(try await api.call(.get, "\(base)/messages/\(s)/readers", as: eve).status == .notFound)
            #expect(try await api.call(.get, "/api/v1/orgs/\(f.org.id)/messages/search?q=secret", as: eve).json["items"].array.isEmpty)
            #expect(try await api.call(.post, "\(base)/messages/\(s)/recall", as: f.cat).status == .forbidden)
            #expect(try await api.call(.patch, base, as: f.bob, json: API.body(["name": "Mine"])).status == .forbidden)
            #expect(try await api.call(.delete, "\(base)/members/\(f.cat.userID)", as: f.bob).status == .forbidden)
            #expect(try await api.send(f.org, f.group, as: f.bob, text: "@all", extra: ["mentionAll": true]).status == .forbidden)
            #expect(try await api.send(f.org, f.group, as: f.ann, text: "@all", extra: ["mentionAll": true]).status == .created)
            #expect(try await api.conversations(f.org, as: f.cat).first { $0["id"].string == f.group }?["mentioned"].bool == true)
            #expect(try await api.send(f.org, f.group, as: f.bob, text: "hi @Eve", extra: ["mentions": [eve.userID]]).status == .unprocessableContent,
                    "only members can be mentioned")
            _ = try await api.call(.patch, "\(base)/members/\(f.bob.userID)", as: f.ann, json: API.body(["role": "admin"]))
            #expect(try await api.call(.patch, base, as: f.bob, json: API.body(["name": "Renamed"])).json["name"].string == "Renamed")
            // The department group follows the directory: nobody renames or leaves it.
            let departmentGroup = try await api.conversations(f.org, as: f.ann).first { $0["kind"].string == "department" }!["id"].string!
            #expect(try await api.call(.patch, "/api/v1/orgs/\(f.org.id)/conversations/\(departmentGroup)", as: f.ann,
                                        json: API.body(["name": "x"])).code == "department_group")
            #expect(try await api.call(.delete, "/api/v1/orgs/\(f.org.id)/conversations/\(departmentGroup)/members/\(f.ann.userID)",
                                        as: f.ann).code == "department_group")
        }
    }

    @Test("replies, forwards, pins and recall's 24 hours", arguments: Engine.all)
    func messageActions(engine: Engine) async throws {
        let (clock, time) = WallClock.manual(Date())
        try await withAPI(engine, clock: clock) { api in
            let f = try await ChatFixture.make(api)
            let original = try await api.send(f.org, f.group, as: f.bob, text: "The plan").json["seq"].int!
            let reply = try await api.send(f.org, f.group, as: f.ann, text: "Agreed", extra: ["replyToSeq": original]).json
            #expect(reply["replyTo"]["excerpt"].string == "The plan")
            #expect(reply["replyTo"]["sender"]["name"].string == "Bob")
            let direct = try await api.call(.post, "/api/v1/orgs/\(f.org.id)/conversations/direct", as: f.ann,
                                            json: API.body(["memberId": f.catMember])).json["id"].string!
            let forwarded = try await api.call(.post, "/api/v1/orgs/\(f.org.id)/conversations/\(f.group)/messages/\(original)/forward", as: f.ann,
                                               json: API.body(["conversationIds": [direct]])).json["items"][0]
            #expect(forwarded["conversationId"].string == direct)
            #expect(forwarded["forwardedFrom"]["sender"]["name"].string == "Bob")
            #expect(forwarded["text"].string == "The plan")
            let pin = try await api.call(.put, "/api/v1/orgs/\(f.org.id)/conversations/\(f.group)/messages/\(original)/pin", as: f.cat).json
            #expect(pin["pinned"].bool == true)
            #expect(pin["pinnedBy"]["name"].string == "Cat")
            #expect(try await api.call(.get, "/api/v1/orgs/\(f.org.id)/conversations/\(f.group)/pins", as: f.ann).json["items"].array.count == 1)
            _ = try await api.call(.delete, "/api/v1/orgs/\(f.org.id)/conversations/\(f.group)/messages/\(original)/pin", as: f.ann)
            #expect(try await api.call(.get, "/api/v1/orgs/\(f.org.id)/conversations/\(f.group)/pins", as: f.ann).json["items"].array.isEmpty)
            time.advance(by: 25 * 3600)
            let late = try await api.call(.post, "/api/v1/orgs/\(f.org.id)/conversations/\(f.group)/messages/\(original)/recall", as: f.bob)
            #expect(late.code == "recall_window_passed")
        }
    }

    @Test("attachments: type from content, served only to members, limited in size", arguments: Engine.all)
    func attachments(engine: Engine) async throws {
        try await withAPI(engine, configure: { $0.maxAttachmentBytes = 64 * 1024 }) { api in
            let f = try await ChatFixture.make(api)
            let upload = "/api/v1/orgs/\(f.org.id)/conversations/\(f.group)/attachments"
            let disguised = try await api.call(.post, "\(upload)?name=photo.png", as: f.ann, body: "<script>alert(1)</script>",
                                               headers: [.contentType: "application/octet-stream"])
            #expect(disguised.json["contentType"].string == "text/plain", "the name does not decide the type")
            let id = disguised.json["id"].string!
            let sent = try await api.send(f.org, f.group, as: f.ann, text: "", extra: ["attachmentId": id])
            #expect(sent.json["kind"].string == "file")
            let download = try await api.call(.get, "/api/v1/orgs/\(f.org.id)/attachments/\(id)", as: f.bob)
            #expect(download.status == .ok)
            #expect(download.headers[.contentType] == "application/octet-stream")
            #expect(download.headers[.contentDisposition]?.hasPrefix("attachment;") == true)
            #expect(download.headers[.contentSecurityPolicy]?.contains("sandbox") == true)
            #expect(download.text == "<script>alert(1)</script>")
            let eve = try await api.signUp("Eve")
            _ = try await api.join(eve, f.org, owner: f.ann)
            #expect(try await api.call(.get, "/api/v1/orgs/\(f.org.id)/attachments/\(id)", as: eve).status == .notFound)
            let big = try await api.call(.post, "\(upload)?name=big.bin", as: f.ann, body: String(repeating: "x", count: 70_000),
                                         headers: [.contentType: "application/octet-stream"])
            #expect(big.status == .contentTooLarge)
            let notMine = try await api.send(f.org, f.group, as: f.bob, text: "", extra: ["attachmentId": id])
            #expect(notMine.status == .unprocessableContent, "only the uploader sends an attachment")
        }
    }

    @Test("department and class groups follow the directory", arguments: Engine.all)
    func departmentGroups(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let f = try await ChatFixture.make(api)
            let grade = try await api.createDepartment(f.org, as: f.ann, name: "Grade 8")
            let klass = try await api.createDepartment(f.org, as: f.ann, name: "Class 2", parent: grade, kind: "class")
            func groups(_ person: Person) async throws -> [String] {
                try await api.conversations(f.org, as: person).filter { $0["kind"].string == "department" }.compactMap { $0["name"].string }.sorted()
            }
            #expect(try await groups(f.bob) == ["Acme"])
            _ = try await api.call(.patch, "/api/v1/orgs/\(f.org.id)/members/\(f.bobMember)", as: f.ann, json: API.body(["departmentIds": [klass]]))
            #expect(try await groups(f.bob) == ["Acme", "Class 2", "Grade 8"], "a class member is in the grade's and the school's groups too")
            _ = try await api.call(.patch, "/api/v1/orgs/\(f.org.id)/departments/\(klass)", as: f.ann, json: API.body(["name": "Class 2B"]))
            #expect(try await groups(f.bob) == ["Acme", "Class 2B", "Grade 8"])
            _ = try await api.call(.post, "/api/v1/orgs/\(f.org.id)/members/import", as: f.ann,
                                   body: "name,email,department\nDan,dan@example.com,Grade 8/Class 2B\n", headers: [.contentType: "text/csv"])
            let classGroup = try await api.conversations(f.org, as: f.bob).first { $0["name"].string == "Class 2B" }!
            #expect(classGroup["memberCount"].int == 2)
            // Leaving the organisation leaves its groups; the other side keeps a 1:1 history.
            let direct = try await api.call(.post, "/api/v1/orgs/\(f.org.id)/conversations/direct", as: f.ann,
                                            json: API.body(["memberId": f.bobMember])).json["id"].string!
            try await api.send(f.org, direct, as: f.bob, text: "bye")
            _ = try await api.call(.delete, "/api/v1/orgs/\(f.org.id)/members/\(f.bobMember)", as: f.bob)
            #expect(try await api.messages(f.org, f.group, as: f.bob).status == .notFound)
            #expect(try await api.messages(f.org, direct, as: f.bob).status == .notFound)
            #expect(try await api.messages(f.org, direct, as: f.ann).json["items"].array.count == 1)
            let members = try await api.call(.get, "/api/v1/orgs/\(f.org.id)/conversations/\(f.group)/members", as: f.ann).json["items"].array
            #expect(members.compactMap { $0["name"].string } == ["Ann", "Cat"])
        }
    }

    @Test("groups have a size limit", arguments: [Engine.sqlite])
    func sizeLimit(engine: Engine) async throws {
        try await withAPI(engine, configure: { $0.groupMaxMembers = 3 }) { api in
            let f = try await ChatFixture.make(api)
            let dan = try await api.signUp("Dan")
            let danMember = try await api.join(dan, f.org, owner: f.ann)
            let full = try await api.call(.post, "/api/v1/orgs/\(f.org.id)/conversations/\(f.group)/members", as: f.ann,
                                          json: API.body(["memberIds": [danMember]]))
            #expect(full.code == "group_full")
            let tooMany = try await api.call(.post, "/api/v1/orgs/\(f.org.id)/conversations", as: f.ann,
                                             json: API.body(["name": "Big", "memberIds": [f.bobMember, f.catMember, danMember]]))
            #expect(tooMany.status == .unprocessableContent)
        }
    }

    @Test("search finds a Chinese phrase across one's conversations", arguments: Engine.all)
    func search(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let f = try await ChatFixture.make(api)
            try await api.send(f.org, f.group, as: f.bob, text: "今天下午三点开会")
            try await api.send(f.org, f.group, as: f.bob, text: "Budget review at 3pm")
            let hits = try await api.call(.get, "/api/v1/orgs/\(f.org.id)/messages/search?q=%E5%BC%80%E4%BC%9A", as: f.cat).json["items"].array
            #expect(hits.count == 1)
            #expect(hits.first?["conversationName"].string == "Team")
            #expect(hits.first?["message"]["text"].string == "今天下午三点开会")
            let english = try await api.call(.get, "/api/v1/orgs/\(f.org.id)/messages/search?q=budg", as: f.cat).json["items"].array
            #expect(english.first?["message"]["text"].string == "Budget review at 3pm")
            #expect(try await api.call(.get, "/api/v1/orgs/\(f.org.id)/messages/search?q=%21%21", as: f.cat).json["items"].array.isEmpty)
        }
    }
}

@Suite("Chat real time", .timeLimit(.minutes(2)))
struct ChatRealtimeTests {
    @Test("messages reach every member; read receipts reach the sender, coalesced", arguments: Engine.all)
    func delivery(engine: Engine) async throws {
        // Receipts gathered for 3 s: the ten reads below fit in one or two gatherings however busy the machine.
        try await withAPI(engine, mode: .live, configure: { $0.receiptInterval = .seconds(3) }) { api in
            let f = try await ChatFixture.make(api)
            let annSocket = TestSocket(port: api.client.port!, token: f.ann.token)
            let bobSocket = TestSocket(port: api.client.port!, token: f.bob.token)
            defer { annSocket.close(); bobSocket.close() }
            for socket in [annSocket, bobSocket] { await socket.start() }
            var seqs: [Int] = []
            for i in 1...5 { seqs.append(try await api.send(f.org, f.group, as: f.ann, text: "m\(i)").json["seq"].int!) }
            for expected in seqs {
                let event = await bobSocket.next(ofType: "message.created")
                #expect(event?["data"]["seq"].int == expected)
                #expect(event?["conversationId"].string == f.group)
            }
            // Bob and Cat read everything, message by message: Ann hears about it in a few events.
            for s in seqs {
                _ = try await api.read(f.org, f.group, as: f.bob, upTo: s)
                _ = try await api.read(f.org, f.group, as: f.cat, upTo: s)
            }
            var updates = 0
            var unread: [Int: Int] = [:]
            while unread[seqs.last!] != 0 {
                guard let event = await annSocket.next(ofType: "receipts.updated") else { break }
                updates += 1
                for count in event["data"]["counts"].array { unread[count["seq"].int!] = count["unread"].int! }
            }
            #expect(unread[seqs.last!] == 0)
            #expect(seqs.allSatisfy { unread[$0] == 0 })
            #expect(updates < 10, "ten reads, coalesced: \(updates) events")
        }
    }

    @Test("a person added to a group starts receiving its messages at once", arguments: [Engine.sqlite])
    func joining(engine: Engine) async throws {
        try await withAPI(engine, mode: .live) { api in
            let f = try await ChatFixture.make(api)
            let dan = try await api.signUp("Dan")
            let danMember = try await api.join(dan, f.org, owner: f.ann)
            let socket = TestSocket(port: api.client.port!, token: dan.token)
            defer { socket.close() }
            await socket.start()
            _ = try await api.call(.post, "/api/v1/orgs/\(f.org.id)/conversations/\(f.group)/members", as: f.ann, json: API.body(["memberIds": [danMember]]))
            let added = await socket.next(ofType: "conversation.added")
            #expect(added?["data"]["id"].string == f.group)
            try await api.send(f.org, f.group, as: f.bob, text: "welcome Dan")
            var text: String?
            while let event = await socket.next(ofType: "message.created") {
                if event["data"]["kind"].string == "text" { text = event["data"]["text"].string; break }
            }
            #expect(text == "welcome Dan")
        }
    }
}
