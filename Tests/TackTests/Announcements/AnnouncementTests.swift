import Foundation
import HTTPTypes
import SQLKit
import Testing
@testable import TackServer

/// Ann (owner) and Amy (admin); Bob in Sales, Cat in Sales › East, Dan in Support.
struct AnnouncementFixture {
    var api: API
    var org: API.Org
    var ann: Person, amy: Person, bob: Person, cat: Person, dan: Person
    var sales: String, east: String, support: String

    static func make(_ api: API) async throws -> AnnouncementFixture {
        let ann = try await api.signUp("Ann"), amy = try await api.signUp("Amy")
        let bob = try await api.signUp("Bob"), cat = try await api.signUp("Cat"), dan = try await api.signUp("Dan")
        let org = try await api.createOrg(ann)
        let sales = try await api.createDepartment(org, as: ann, name: "Sales")
        let east = try await api.createDepartment(org, as: ann, name: "East", parent: sales)
        let support = try await api.createDepartment(org, as: ann, name: "Support")
        _ = try await api.join(amy, org, owner: ann, role: "admin")
        for (person, department) in [(bob, sales), (cat, east), (dan, support)] {
            let invitation = try await api.call(.post, "/api/v1/orgs/\(org.id)/invitations", as: ann, json: API.body(["departmentId": department]))
            let accepted = try await api.call(.post, "/api/v1/invitations/\(invitation.json["code"].string ?? "")/accept", as: person)
            #expect(accepted.json["status"].string == "joined", "\(accepted.text)")
        }
        return AnnouncementFixture(api: api, org: org, ann: ann, amy: amy, bob: bob, cat: cat, dan: dan, sales: sales, east: east, support: support)
    }

    var base: String { "/api/v1/orgs/\(org.id)/announcements" }

    func publish(title: String = "Fire drill", body: String = "<p>At <b>10:00</b> in the yard.</p>", departments: [String]? = nil,
                 wholeOrganization: Bool? = nil, confirm: Bool = true, pinned: Bool? = nil, scheduledAt: String? = nil,
                 attachments: [String]? = nil, as person: Person? = nil, key: String? = nil) async throws -> Reply {
        var headers = HTTPFields()
        if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
        return try await api.call(.post, base, as: person ?? ann, json: Self.input(
            title: title, body: body, departments: departments ?? (wholeOrganization == true ? nil : [sales]), wholeOrganization: wholeOrganization,
            confirm: confirm, pinned: pinned, scheduledAt: scheduledAt, attachments: attachments), headers: headers)
    }

    static func input(title: String, body: String, departments: [String]?, wholeOrganization: Bool? = nil, confirm: Bool = true,
                      pinned: Bool? = nil, scheduledAt: String? = nil, attachments: [String]? = nil) -> String {
        API.body(["title": title, "body": body, "departmentIds": departments, "wholeOrganization": wholeOrganization,
                  "requireConfirmation": confirm, "pinned": pinned, "scheduledAt": scheduledAt, "attachmentIds": attachments])
    }

    func get(_ id: String, as person: Person) async throws -> Reply { try await api.call(.get, "\(base)/\(id)", as: person) }
    func post(_ id: String, _ action: String, as person: Person) async throws -> Reply { try await api.call(.post, "\(base)/\(id)/\(action)", as: person) }
    func received(as person: Person) async throws -> [JSON] { try await api.call(.get, base, as: person).json["items"].array }
    func recipients(_ id: String, as person: Person? = nil) async throws -> Reply {
        try await api.call(.get, "\(base)/\(id)/recipients", as: person ?? ann)
    }
}

@Suite("Announcements")
struct AnnouncementTests {
    static func manual() -> (WallClock, ManualTime, (inout TackConfiguration) -> Void) {
        let (clock, time) = WallClock.manual(Date())
        return (clock, time, { $0.runJobs = false })
    }

    @Test("an announcement reaches its departments and those below; members read and confirm; admins see who", arguments: Engine.all)
    func publishReadConfirm(engine: Engine) async throws {
        let (clock, time, configure) = Self.manual()
        try await withAPI(engine, clock: clock, configure: configure) { api in
            let f = try await AnnouncementFixture.make(api)
            let created = try await f.publish(key: "k1")
            #expect(created.status == .created, "\(created.text)")
            let id = created.json["id"].string!
            #expect(try await f.publish(key: "k1").json["id"].string == id, "a retried create is stored once")
            #expect(created.json["status"].string == "published")
            #expect(created.json["body"].string == "<p>At <b>10:00</b> in the yard.</p>")
            #expect(created.json["text"].string == "At 10:00 in the yard.")
            #expect(created.json["stats"]["recipientCount"].int == 2, "Bob in Sales and Cat in Sales › East")
            // Bob and Cat have it; Dan (Support) and the author do not.
            for person in [f.bob, f.cat] {
                let items = try await f.received(as: person)
                #expect(items.map { $0["id"].string } == [id])
                #expect(items.first?["myReadAt"].isNull == true)
                #expect(items.first?["stats"].isNull == true, "recipients do not see the counts")
                #expect(items.first?["excerpt"].string == "At 10:00 in the yard.")
            }
            #expect(try await f.received(as: f.dan).isEmpty)
            #expect(try await f.received(as: f.ann).isEmpty)
            #expect(try await f.get(id, as: f.dan).status == .notFound)
            #expect(try await f.post(id, "read", as: f.dan).status == .notFound)
            #expect(try await f.post(id, "confirm", as: f.dan).status == .notFound)
            // Reading is idempotent: the first time counts.
            let read = try await f.post(id, "read", as: f.bob)
            #expect(read.status == .ok)
            let readAt = read.json["myReadAt"].string
            #expect(readAt != nil)
            time.advance(by: 60)
            #expect(try await f.post(id, "read", as: f.bob).json["myReadAt"].string == readAt)
            let confirmed = try await f.post(id, "confirm", as: f.bob)
            #expect(confirmed.status == .ok)
            #expect(confirmed.json["myConfirmedAt"].string != nil)
            #expect(try await f.post(id, "confirm", as: f.bob).json["myConfirmedAt"].string == confirmed.json["myConfirmedAt"].string)
            // Cat confirms without opening first: confirming reads too.
            let stats = try await f.recipients(id).json
            #expect(stats["stats"] == .object(["recipientCount": .number(2), "readCount": .number(1), "confirmedCount": .number(1)]))
            let states = Dictionary(uniqueKeysWithValues: stats["items"].array.map {
                ($0["person"]["name"].string ?? "", [$0["readAt"].isNull, $0["confirmedAt"].isNull])
            })
            #expect(states == ["Bob": [false, false], "Cat": [true, true]])
            #expect(try await f.recipients(id, as: f.amy).status == .ok, "every admin sees the statistics")
            #expect(try await f.recipients(id, as: f.bob).status == .forbidden)
            #expect(try await f.recipients(id, as: f.dan).status == .notFound)
            let cat = try await f.post(id, "confirm", as: f.cat)
            #expect(cat.json["myReadAt"].string == cat.json["myConfirmedAt"].string)
            #expect(try await f.get(id, as: f.ann).json["stats"]["confirmedCount"].int == 2)
            // The admins' list has everything, with counts; members may not ask for it.
            let all = try await api.call(.get, "\(f.base)?box=all", as: f.amy).json["items"].array
            #expect(all.map { $0["id"].string } == [id])
            #expect(all.first?["stats"]["readCount"].int == 2)
            #expect(try await api.call(.get, "\(f.base)?box=all", as: f.bob).status == .forbidden)
        }
    }

    @Test("bad announcements are refused with a stable code and create nothing", arguments: Engine.all)
    func badInput(engine: Engine) async throws {
        let (clock, time, configure) = Self.manual()
        try await withAPI(engine, clock: clock, configure: configure) { api in
            let f = try await AnnouncementFixture.make(api)
            let eve = try await api.signUp("Eve")
            let other = try await api.createOrg(eve, name: "Other")
            let cases: [(Reply, String)] = [
                (try await f.publish(title: "  "), "empty"),
                (try await f.publish(title: String(repeating: "t", count: 201)), "too_long"),
                (try await f.publish(body: "<p></p><script>only a script</script>"), "empty"),
                (try await f.publish(body: String(repeating: "x", count: 20_001)), "too_long"),
                (try await f.publish(departments: [UUID().uuidString]), "unknown_department"),
                (try await f.publish(departments: [other.rootDepartmentID]), "unknown_department"),
                (try await f.publish(departments: []), "empty"),
                (try await f.publish(departments: [f.sales], wholeOrganization: true), "audience_conflict"),
                (try await f.publish(scheduledAt: iso(time.current.addingTimeInterval(-60))), "in_the_past"),
                (try await f.publish(scheduledAt: iso(time.current.addingTimeInterval(400 * 86_400))), "too_far"),
                (try await f.publish(attachments: [UUID().uuidString]), "unknown_attachment"),
            ]
            for (reply, code) in cases {
                #expect(reply.status == .unprocessableContent, "\(reply.text)")
                #expect(reply.headers[.contentType]?.hasPrefix("application/problem+json") == true)
                #expect(reply.json["errors"][0]["code"].string == code, "\(reply.text)")
            }
            // Nobody but the author in the audience.
            let lonely = try await api.createDepartment(f.org, as: f.ann, name: "Empty")
            #expect(try await f.publish(departments: [lonely]).json["errors"][0]["code"].string == "no_recipients")
            #expect(try await f.publish(body: String(repeating: "<b></b>", count: 30_000)).json["errors"][0]["code"].string == "too_long")
            #expect(try await f.publish(departments: ["not-a-uuid"]).code == "invalid_id")
            // Members do not publish.
            let forbidden = try await f.publish(as: f.bob)
            #expect(forbidden.status == .forbidden)
            #expect(forbidden.code == "forbidden")
            // Confirming one that does not ask for it; an admin confirming one they did not receive.
            let plain = try await f.publish(confirm: false).json["id"].string!
            let notRequired = try await f.post(plain, "confirm", as: f.bob)
            #expect(notRequired.status == .conflict)
            #expect(notRequired.code == "confirmation_not_required")
            #expect(try await f.post(plain, "confirm", as: f.amy).code == "not_a_recipient")
            #expect(try await f.post(plain, "read", as: f.amy).json["myReadAt"].isNull, "an admin's look reads nothing")
            for limit in ["0", "201"] { #expect(try await api.call(.get, "\(f.base)?limit=\(limit)", as: f.ann).code == "invalid_parameter") }
            let all = try await api.call(.get, "\(f.base)?box=all", as: f.ann).json["items"].array
            #expect(all.count == 1, "only the valid one exists")
            #expect(try await api.parts.jobs.runDue() == 0)
        }
    }

    @Test("a scheduled announcement goes out at its minute, to whoever is in the audience then; it can be edited and cancelled until then",
          arguments: Engine.all)
    func scheduled(engine: Engine) async throws {
        let (clock, time, configure) = Self.manual()
        try await withAPI(engine, clock: clock, configure: configure) { api in
            let f = try await AnnouncementFixture.make(api)
            let created = try await f.publish(scheduledAt: iso(time.current.addingTimeInterval(600)))
            #expect(created.status == .created, "\(created.text)")
            #expect(created.json["status"].string == "scheduled")
            let id = created.json["id"].string!
            #expect(try await f.received(as: f.bob).isEmpty)
            #expect(try await f.get(id, as: f.bob).status == .notFound, "not visible before it goes out")
            #expect(try await f.post(id, "read", as: f.bob).status == .notFound)
            // Edited: new title, to Support instead, ten minutes later.
            let edited = try await api.call(.put, "\(f.base)/\(id)", as: f.amy, json: AnnouncementFixture.input(
                title: "Fire drill moved", body: "<p>Now at 11:00.</p>", departments: [f.support],
                scheduledAt: iso(time.current.addingTimeInterval(1200))))
            #expect(edited.status == .ok, "\(edited.text)")
            #expect(edited.json["title"].string == "Fire drill moved")
            #expect(try await api.call(.put, "\(f.base)/\(id)", as: f.bob, json: AnnouncementFixture.input(
                title: "x", body: "x", departments: [f.support])).status == .forbidden)
            time.advance(by: 600)
            #expect(try await api.parts.jobs.runDue() == 0, "the first minute was given up")
            #expect(try await f.received(as: f.dan).isEmpty)
            // Someone who joins Support before the minute gets it.
            let eli = try await api.signUp("Eli")
            let invitation = try await api.call(.post, "/api/v1/orgs/\(f.org.id)/invitations", as: f.ann, json: API.body(["departmentId": f.support]))
            _ = try await api.call(.post, "/api/v1/invitations/\(invitation.json["code"].string!)/accept", as: eli)
            time.advance(by: 600)
            #expect(try await api.parts.jobs.runDue() == 1)
            #expect(try await f.received(as: f.dan).map { $0["title"].string } == ["Fire drill moved"])
            #expect(try await f.received(as: eli).count == 1)
            #expect(try await f.received(as: f.bob).isEmpty)
            #expect(try await f.get(id, as: f.ann).json["publishedAt"].string != nil)
            // Gone out: no more edits or cancelling.
            #expect(try await f.post(id, "cancel", as: f.ann).code == "already_published")
            #expect(try await api.call(.put, "\(f.base)/\(id)", as: f.ann, json: AnnouncementFixture.input(
                title: "x", body: "x", departments: [f.support])).code == "already_published")
            // A cancelled one never goes out.
            let cancelled = try await f.publish(title: "Cancelled", scheduledAt: iso(time.current.addingTimeInterval(120))).json["id"].string!
            #expect(try await f.post(cancelled, "cancel", as: f.bob).status == .forbidden)
            #expect(try await f.post(cancelled, "cancel", as: f.ann).json["status"].string == "cancelled")
            time.advance(by: 180)
            #expect(try await api.parts.jobs.runDue() == 0)
            #expect(try await f.received(as: f.bob).isEmpty)
            #expect(try await f.get(cancelled, as: f.ann).json["publishedAt"].isNull)
        }
    }

    @Test("pinned announcements come first; only admins pin", arguments: Engine.all)
    func pinned(engine: Engine) async throws {
        let (clock, time, configure) = Self.manual()
        try await withAPI(engine, clock: clock, configure: configure) { api in
            let f = try await AnnouncementFixture.make(api)
            let first = try await f.publish(title: "First", wholeOrganization: true).json["id"].string!
            time.advance(by: 10)
            let second = try await f.publish(title: "Second", wholeOrganization: true).json["id"].string!
            #expect(try await f.received(as: f.dan).map { $0["id"].string } == [second, first])
            #expect(try await f.post(first, "pin", as: f.bob).status == .forbidden)
            let pinned = try await f.post(first, "pin", as: f.amy)
            #expect(pinned.json["pinned"].bool == true)
            #expect(try await f.received(as: f.dan).map { $0["id"].string } == [first, second])
            #expect(try await f.post(first, "unpin", as: f.amy).json["pinned"].bool == false)
            #expect(try await f.received(as: f.dan).map { $0["id"].string } == [second, first])
            // Pinned at publication.
            time.advance(by: 10)
            let third = try await f.publish(title: "Third", wholeOrganization: true, pinned: true).json["id"].string!
            #expect(try await f.received(as: f.dan).map { $0["id"].string } == [third, second, first])
        }
    }

    @Test("DING the unconfirmed reaches exactly them, at most once every 5 minutes", arguments: Engine.all)
    func dingUnconfirmed(engine: Engine) async throws {
        let (clock, time, configure) = Self.manual()
        try await withAPI(engine, clock: clock, configure: configure) { api in
            let f = try await AnnouncementFixture.make(api)
            let id = try await f.publish(wholeOrganization: true).json["id"].string!
            let scheduled = try await f.publish(scheduledAt: iso(time.current.addingTimeInterval(600))).json["id"].string!
            #expect(try await f.post(scheduled, "ding", as: f.ann).code == "not_published")
            _ = try await f.post(id, "confirm", as: f.bob)
            _ = try await f.post(id, "read", as: f.cat)  // read, not confirmed
            #expect(try await f.post(id, "ding", as: f.bob).status == .forbidden)
            let ding = try await api.call(.post, "\(f.base)/\(id)/ding", as: f.ann, headers: [HTTPField.Name("Idempotency-Key")!: "d1"])
            #expect(ding.status == .created, "\(ding.text)")
            #expect(ding.json["announcementId"].string == id)
            #expect(ding.json["text"].string == "Fire drill")
            // Amy (admin, a recipient of a whole-organisation announcement), Cat and Dan have not confirmed.
            #expect(Set(ding.json["recipients"].array.compactMap { $0["person"]["name"].string }) == ["Amy", "Cat", "Dan"])
            #expect(try await api.call(.post, "\(f.base)/\(id)/ding", as: f.ann, headers: [HTTPField.Name("Idempotency-Key")!: "d1"])
                .json["id"] == ding.json["id"], "a retried DING is sent once")
            try await api.parts.jobs.runDue()
            let inbox = try await api.call(.get, "/api/v1/orgs/\(f.org.id)/dings?unconfirmed=true", as: f.cat).json["items"].array
            #expect(inbox.map { $0["announcementId"].string } == [id])
            #expect(try await api.call(.get, "/api/v1/orgs/\(f.org.id)/dings", as: f.bob).json["items"].array.isEmpty)
            let early = try await f.post(id, "ding", as: f.amy)
            #expect(early.status == .tooManyRequests)
            #expect(early.headers[.retryAfter] == "300")
            time.advance(by: 300)
            // Amy DINGs: everyone unconfirmed but herself.
            let second = try await f.post(id, "ding", as: f.amy)
            #expect(Set(second.json["recipients"].array.compactMap { $0["person"]["name"].string }) == ["Cat", "Dan"])
            time.advance(by: 300)
            for person in [f.amy, f.cat, f.dan] { _ = try await f.post(id, "confirm", as: person) }
            #expect(try await f.post(id, "ding", as: f.ann).code == "nobody_left")
        }
    }

    @Test("attachments reach the recipients and admins only, as downloads", arguments: Engine.all)
    func attachments(engine: Engine) async throws {
        let (clock, _, configure) = Self.manual()
        try await withAPI(engine, clock: clock, configure: configure) { api in
            let f = try await AnnouncementFixture.make(api)
            let octet: HTTPFields = [.contentType: "application/octet-stream"]
            let upload = try await api.call(.post, "\(f.base)/attachments?name=rota.html", as: f.ann, body: "<script>alert(1)</script>", headers: octet)
            #expect(upload.status == .created, "\(upload.text)")
            #expect(upload.json["contentType"].string == "text/plain", "the type comes from the content, never the name")
            let file = upload.json["id"].string!
            #expect(try await api.call(.post, "\(f.base)/attachments?name=x.txt", as: f.bob, body: "x", headers: octet).status == .forbidden)
            let id = try await f.publish(body: "", attachments: [file]).json["id"].string!
            #expect(try await f.get(id, as: f.bob).json["attachments"][0]["name"].string == "rota.html")
            let download = try await api.call(.get, "\(f.base)/\(id)/attachments/\(file)", as: f.bob)
            #expect(download.status == .ok)
            #expect(download.text == "<script>alert(1)</script>")
            #expect(download.headers[.contentDisposition]?.hasPrefix("attachment;") == true)
            #expect(download.headers[.contentSecurityPolicy]?.contains("sandbox") == true)
            #expect(download.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(try await api.call(.get, "\(f.base)/\(id)/attachments/\(file)", as: f.amy).status == .ok)
            #expect(try await api.call(.get, "\(f.base)/\(id)/attachments/\(file)", as: f.dan).status == .notFound)
            // An attachment belongs to one announcement.
            #expect(try await f.publish(attachments: [file]).json["errors"][0]["code"].string == "unknown_attachment")
        }
    }

    @Test("recipients hear of it at once; admins see the counts move, coalesced", arguments: [Engine.sqlite])
    func realtime(engine: Engine) async throws {
        try await withAPI(engine, mode: .live) { api in
            let f = try await AnnouncementFixture.make(api)
            let bobSocket = TestSocket(port: api.client.port!, token: f.bob.token)
            let amySocket = TestSocket(port: api.client.port!, token: f.amy.token)
            defer { bobSocket.close(); amySocket.close() }
            for socket in [bobSocket, amySocket] { await socket.start() }
            let id = try await f.publish(title: "Live").json["id"].string!
            let published = await bobSocket.next(ofType: "announcement.published")
            #expect(published?["data"]["id"].string == id)
            #expect(published?["data"]["title"].string == "Live")
            #expect(await amySocket.next(ofType: "announcement.updated")?["data"]["status"].string == "published")
            _ = try await f.post(id, "confirm", as: f.bob)
            #expect(await bobSocket.next(ofType: "announcement.read")?["data"]["announcementId"].string == id)
            let stats = await amySocket.next(ofType: "announcement.stats")
            #expect(stats?["data"]["announcementId"].string == id)
            #expect(stats?["data"]["confirmedCount"].int == 1)
            #expect(stats?["data"]["readCount"].int == 1)
        }
    }
}

@Suite("Announcement store")
struct AnnouncementStoreTests {
    @Test("the audience of departments includes their sub-departments; counts come from the recipients", arguments: Engine.all)
    func audience(engine: Engine) async throws {
        try await withStore(engine) { db, f in
            let owner = try await f.user("Owner")
            let (org, root) = try await f.org(owner: owner)
            let school = try await f.department("Grade 1", in: org, parent: root)
            let classA = try await f.department("1A", in: org, parent: school, kind: .class)
            let classB = try await f.department("1B", in: org, parent: school, kind: .class)
            let office = try await f.department("Office", in: org, parent: root)
            _ = try await f.member(owner, of: org, role: .owner, departments: [office])
            let a = try await f.user("A"), b = try await f.user("B"), c = try await f.user("C"), both = try await f.user("Both")
            _ = try await f.member(a, of: org, departments: [classA])
            _ = try await f.member(b, of: org, departments: [classB])
            _ = try await f.member(c, of: org, departments: [office])
            _ = try await f.member(both, of: org, departments: [classA, office])
            let store = AnnouncementStore()
            func names(_ users: [User.ID]) -> Set<User.ID> { Set(users) }
            #expect(names(try await store.fetchAudience(db, orgID: org.id, wholeOrganization: false, departments: [school.id]))
                    == [a.id, b.id, both.id])
            #expect(names(try await store.fetchAudience(db, orgID: org.id, wholeOrganization: false, departments: [classA.id, office.id]))
                    == [a.id, both.id, c.id, owner.id])
            #expect(try await store.fetchAudience(db, orgID: org.id, wholeOrganization: true, departments: []).count == 5)
            #expect(try await DirectoryStore().fetchDepartmentIDs(db, orgID: org.id, among: [school.id, .random()]) == [school.id])

            let announcement = Announcement(
                id: .random(), orgID: org.id, author: PersonRef(userID: owner.id, memberID: nil, name: "Owner"), title: "T", bodyHTML: "<p>x</p>",
                bodyText: "x", wholeOrganization: false, departmentIDs: [school.id], requiresConfirmation: true, pinnedAt: nil, scheduledAt: nil,
                publishedAt: nil, cancelledAt: nil, lastDingedAt: nil, recipientCount: 0, createdAt: f.now, updatedAt: f.now)
            try await store.insert(db, announcement)
            #expect(try await store.fetch(db, orgID: org.id, id: announcement.id)?.departmentIDs == [school.id])
            #expect(try await store.markPublished(db, id: announcement.id, at: f.now, recipientCount: 3))
            #expect(try await !store.markPublished(db, id: announcement.id, at: f.now, recipientCount: 3), "once")
            #expect(try await !store.markCancelled(db, id: announcement.id, at: f.now), "gone out")
            try await store.insertRecipients(db, orgID: org.id, id: announcement.id, users: [a.id, b.id, both.id])
            #expect(try await store.markRead(db, id: announcement.id, userID: a.id, at: f.now))
            #expect(try await !store.markRead(db, id: announcement.id, userID: a.id, at: f.now))
            #expect(try await store.confirm(db, id: announcement.id, userID: b.id, at: f.now))
            #expect(try await !store.confirm(db, id: announcement.id, userID: b.id, at: f.now))
            #expect(try await !store.markRead(db, id: announcement.id, userID: c.id, at: f.now), "not a recipient")
            #expect(try await store.fetchCounts(db, ids: [announcement.id])[announcement.id] == AnnouncementCounts(recipients: 3, read: 2, confirmed: 1))
            let received = try await store.fetchReceived(db, orgID: org.id, userID: b.id, limit: 10)
            #expect(received.map(\.0.id) == [announcement.id])
            #expect(received.first?.confirmedAt == f.now)
            #expect(try await store.fetchReceived(db, orgID: org.id, userID: c.id, limit: 10).isEmpty)
            #expect(try await store.fetchRecipients(db, orgID: org.id, id: announcement.id).map(\.person.name) == ["A", "B", "Both"])
        }
    }
}
