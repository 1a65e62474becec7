import Foundation
import SQLKit
import Testing
@testable import TackServer

@Suite("Directory store")
struct DirectoryStoreTests {
    let store = DirectoryStore()

    @Test("organisations and memberships", arguments: Engine.all)
    func organisations(engine: Engine) async throws {
        try await withStore(engine) { db, f in
            let ann = try await f.user("Ann")
            let (b, bRoot) = try await f.org("Beta", owner: ann)
            let (a, aRoot) = try await f.org("Alpha", owner: ann)
            _ = try await f.member(ann, of: b, role: .member, departments: [bRoot])
            _ = try await f.member(ann, of: a, role: .owner, departments: [aRoot])
            try await store.updateOrganization(db, id: a.id, name: "Alpha Ltd", kind: .school)
            let fetched = try #require(try await store.fetchOrganization(db, id: a.id))
            #expect(fetched.name == "Alpha Ltd")
            #expect(fetched.kind == .school)
            #expect(fetched.memberCount == 1)
            let memberships = try await store.fetchMemberships(db, userID: ann.id)
            #expect(memberships.map(\.0.name) == ["Alpha Ltd", "Beta"])
            #expect(memberships.map(\.1.role) == [.owner, .member])
            #expect(memberships[0].1.departmentIDs == [aRoot.id])
            #expect(try await store.fetchMembershipRoles(db, userID: ann.id) == [a.id: true, b.id: false])
            #expect(try await store.fetchOrganization(db, id: .random()) == nil)
        }
    }

    @Test("departments form a tree listed parents first", arguments: Engine.all)
    func departments(engine: Engine) async throws {
        try await withStore(engine) { db, f in
            let ann = try await f.user()
            let (org, root) = try await f.org(owner: ann)
            let grade = try await f.department("Grade 8", in: org, parent: root, sortOrder: 2)
            let sales = try await f.department("Sales", in: org, parent: root, sortOrder: 1)
            let c2 = try await f.department("Class 2", in: org, parent: grade, kind: .class)
            _ = try await f.member(ann, of: org, departments: [c2])
            let all = try await store.fetchDepartments(db, orgID: org.id)
            #expect(all.map(\.name) == [org.name, "Sales", "Grade 8", "Class 2"])
            #expect(all.last?.kind == .class)
            #expect(all.last?.memberCount == 1)
            #expect(try await store.fetchRootDepartment(db, orgID: org.id)?.id == root.id)
            #expect(try await store.countChildren(db, id: grade.id) == 1)
            var moved = c2
            moved.parentID = sales.id
            moved.name = "East"
            try await store.updateDepartment(db, moved)
            #expect(try await store.fetchDepartment(db, orgID: org.id, id: c2.id)?.parentID == sales.id)
            // Sibling names are unique.
            do {
                _ = try await f.department("East", in: org, parent: sales)
                Issue.record("a duplicate sibling name was accepted")
            } catch {
                #expect(DatabaseErrors.isUniqueViolation(error))
            }
        }
    }

    @Test("deleting a department", arguments: Engine.all)
    func deleteDepartment(engine: Engine) async throws {
        try await withStore(engine) { db, f in
            let ann = try await f.user()
            let (org, root) = try await f.org(owner: ann)
            let d = try await f.department("Temp", in: org, parent: root)
            try await store.deleteDepartment(db, orgID: org.id, id: d.id)
            #expect(try await store.fetchDepartment(db, orgID: org.id, id: d.id) == nil)
        }
    }

    @Test("member pages follow the name order and the cursor", arguments: Engine.all)
    func memberPages(engine: Engine) async throws {
        try await withStore(engine) { db, f in
            let owner = try await f.user("Owner")
            let (org, root) = try await f.org(owner: owner)
            let sales = try await f.department("Sales", in: org, parent: root)
            var names = ["bob", "Alice", "carol", "王芳", "Dave_1", "dave21", "Eve%"]
            for name in names {
                _ = try await f.member(try await f.user(name), of: org, departments: [name.hasPrefix("d") || name.hasPrefix("D") ? sales : root])
            }
            names.sort { $0.lowercased() < $1.lowercased() }
            var seen: [String] = []
            var cursor: (String, Member.ID)?
            repeat {
                let page = try await store.fetchMemberPage(db, orgID: org.id, query: nil, departmentID: nil, after: cursor, limit: 3)
                seen += page.map(\.name)
                cursor = page.count == 3 ? (store.sortName(of: page[2]), page[2].id) : nil
            } while cursor != nil
            #expect(seen == names)
            let search = { (q: String) in try await store.fetchMemberPage(db, orgID: org.id, query: q, departmentID: nil, after: nil, limit: 10).map(\.name) }
            #expect(try await search("AL") == ["Alice"])
            #expect(try await search("芳") == ["王芳"])
            #expect(try await search("_1") == ["Dave_1"], "LIKE wildcards in a search are literal")
            #expect(try await search("%") == ["Eve%"])
            let inSales = try await store.fetchMemberPage(db, orgID: org.id, query: nil, departmentID: sales.id, after: nil, limit: 10)
            #expect(inSales.map(\.name) == ["dave21", "Dave_1"])
        }
    }

    @Test("members are updated, moved and removed", arguments: Engine.all)
    func updateMembers(engine: Engine) async throws {
        try await withStore(engine) { db, f in
            let ann = try await f.user("Ann"), bob = try await f.user("Bob")
            let (org, root) = try await f.org(owner: ann)
            let sales = try await f.department("Sales", in: org, parent: root)
            _ = try await f.member(ann, of: org, role: .owner, departments: [root])
            var m = try await f.member(bob, of: org, departments: [root])
            #expect(try await store.countOwners(db, orgID: org.id) == 1)
            m.role = .admin
            m.title = "Lead"
            m.capabilities = [.teacher, .healthOfficer]
            try await store.updateMember(db, m, now: f.now)
            m.departmentIDs = [sales.id, root.id]
            try await store.replaceDepartments(db, m)
            let read = try #require(try await store.fetchMember(db, orgID: org.id, id: m.id))
            #expect(read.role == .admin)
            #expect(read.title == "Lead")
            #expect(Set(read.capabilities) == [.teacher, .healthOfficer])
            #expect(Set(read.departmentIDs) == [sales.id, root.id])
            #expect(try await store.fetchMember(db, orgID: org.id, userID: bob.id)?.id == m.id)
            try await store.deleteMember(db, orgID: org.id, id: m.id)
            #expect(try await store.fetchMember(db, orgID: org.id, id: m.id) == nil)
            #expect(try await store.fetchDepartment(db, orgID: org.id, id: sales.id)?.memberCount == 0)
        }
    }
}

@Suite("Invitation store")
struct InvitationStoreTests {
    let store = InvitationStore()

    func invitation(_ org: Organization, maxUses: Int? = nil, at now: Date) -> Invitation {
        Invitation(id: .random(), orgID: org.id, code: Secrets.shortCode(), token: Secrets.token(bytes: 24), departmentID: nil,
                   role: .member, requiresApproval: false, expiresAt: now.addingTimeInterval(3600), maxUses: maxUses, uses: 0,
                   createdAt: now, revokedAt: nil)
    }

    @Test("invitations by code, token and organisation", arguments: Engine.all)
    func invitations(engine: Engine) async throws {
        try await withStore(engine) { db, f in
            let ann = try await f.user()
            let (org, _) = try await f.org(owner: ann)
            let inv = invitation(org, maxUses: 1, at: f.now)
            try await store.insertInvitation(db, inv, createdBy: ann.id)
            #expect(try await store.fetchInvitation(db, codeOrToken: inv.code.lowercased()) == inv)
            #expect(try await store.fetchInvitation(db, codeOrToken: inv.token) == inv)
            #expect(try await store.fetchInvitation(db, codeOrToken: "NOPE2345") == nil)
            #expect(try await store.fetchInvitations(db, orgID: org.id).map(\.id) == [inv.id])
            #expect(try await store.incrementUses(db, id: inv.id))
            #expect(try await store.incrementUses(db, id: inv.id) == false, "max uses reached")
            try await store.revokeInvitation(db, orgID: org.id, id: inv.id, at: f.now)
            #expect(try await store.fetchInvitation(db, orgID: org.id, id: inv.id)?.revokedAt == f.now)
        }
    }

    @Test("join requests are decided once", arguments: Engine.all)
    func joinRequests(engine: Engine) async throws {
        try await withStore(engine) { db, f in
            let ann = try await f.user(), bob = try await f.user("Bob")
            let (org, _) = try await f.org(owner: ann)
            let request = JoinRequest(id: .random(), orgID: org.id, userID: bob.id, invitationID: nil, name: "Bob", email: bob.email,
                                      phone: nil, status: .pending, createdAt: f.now, decidedAt: nil)
            try await store.insertJoinRequest(db, request)
            #expect(try await store.fetchPendingJoinRequest(db, orgID: org.id, userID: bob.id) == request)
            #expect(try await store.fetchJoinRequests(db, orgID: org.id, status: .pending) == [request])
            #expect(try await store.decideJoinRequest(db, id: request.id, status: .approved, by: ann.id, at: f.now))
            #expect(try await store.decideJoinRequest(db, id: request.id, status: .rejected, by: ann.id, at: f.now) == false)
            #expect(try await store.fetchJoinRequest(db, orgID: org.id, id: request.id)?.status == .approved)
            #expect(try await store.fetchJoinRequests(db, orgID: org.id, status: .pending).isEmpty)
        }
    }
}

@Suite("Event log store")
struct EventLogStoreTests {
    @Test("events replay in order, without the admins' to members", arguments: Engine.all)
    func replay(engine: Engine) async throws {
        try await withStore(engine) { db, f in
            let ann = try await f.user()
            let (org, _) = try await f.org(owner: ann)
            let log = EventLogStore()
            for i in 1...5 {
                _ = try await log.append(db, org: org.id, type: "e\(i)", adminsOnly: i == 3, data: #"{"i":\#(i)}"#, at: f.now)
            }
            guard case .events(let all, let latest) = try await log.fetchEvents(db, org: org.id, after: 1, limit: 100, isAdmin: true) else {
                Issue.record("expected events"); return
            }
            #expect(all.map(\.seq) == [2, 3, 4, 5])
            #expect(latest == 5)
            guard case .events(let forMember, _) = try await log.fetchEvents(db, org: org.id, after: 0, limit: 100, isAdmin: false) else {
                Issue.record("expected events"); return
            }
            #expect(forMember.map(\.seq) == [1, 2, 4, 5])
            #expect(try await log.fetchEvents(db, org: org.id, after: 5, limit: 100, isAdmin: false) == .events([], latestSeq: 5))
            #expect(try await log.fetchEvents(db, org: org.id, after: 0, limit: 2, isAdmin: false) == .resync(latestSeq: 5),
                    "more missed events than a replay carries")
        }
    }

    @Test("expired events are deleted beyond the newest kept, and a cursor before them resyncs", arguments: Engine.all)
    func retention(engine: Engine) async throws {
        try await withStore(engine) { db, f in
            let ann = try await f.user()
            let (org, _) = try await f.org(owner: ann)
            let log = EventLogStore(keepCount: 2, keepDays: 7)
            let old = f.now.addingTimeInterval(-8 * 86_400)
            for i in 1...4 { _ = try await log.append(db, org: org.id, type: "e", adminsOnly: false, data: "{}", at: i <= 3 ? old : f.now) }
            try await log.deleteExpired(db, now: f.now)
            // 1 and 2 are old and not among the newest 2: gone. 3 is old but among the newest 2.
            #expect(try await log.fetchEvents(db, org: org.id, after: 0, limit: 100, isAdmin: true) == .resync(latestSeq: 4))
            guard case .events(let kept, _) = try await log.fetchEvents(db, org: org.id, after: 2, limit: 100, isAdmin: true) else {
                Issue.record("expected events"); return
            }
            #expect(kept.map(\.seq) == [3, 4])
        }
    }
}
