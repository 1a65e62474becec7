import Foundation
import Testing
@testable import TackServer

@Suite("Account store")
struct AccountStoreTests {
    let store = AccountStore()

    @Test("people are found by e-mail, phone and id", arguments: Engine.all)
    func fetchUsers(engine: Engine) async throws {
        try await withStore(engine) { db, f in
            let a = try await f.user("Ann", email: "ann@example.com", phone: "+8613800000001")
            #expect(try await store.fetchUser(db, login: .email("ann@example.com"))?.0.id == a.id)
            #expect(try await store.fetchUser(db, login: .phone("+8613800000001"))?.0.id == a.id)
            #expect(try await store.fetchUser(db, id: a.id)?.passwordHash == "hash")
            #expect(try await store.fetchUser(db, login: .email("nobody@example.com")) == nil)
        }
    }

    @Test("renaming a person renames their memberships' sort key", arguments: Engine.all)
    func updateUser(engine: Engine) async throws {
        try await withStore(engine) { db, f in
            let a = try await f.user("Ann")
            let (org, root) = try await f.org(owner: a)
            _ = try await f.member(a, of: org, departments: [root])
            try await store.updateUser(db, id: a.id, name: "Zoe", locale: "zh-CN", now: f.now)
            let (user, _) = try #require(try await store.fetchUser(db, id: a.id))
            #expect(user.name == "Zoe")
            #expect(user.locale == "zh-CN")
            let page = try await DirectoryStore().fetchMemberPage(db, orgID: org.id, query: "zoe", departmentID: nil, after: nil, limit: 10)
            #expect(page.map(\.userID) == [a.id])
            try await store.updatePasswordHash(db, id: a.id, hash: "new", now: f.now)
            #expect(try await store.fetchUser(db, id: a.id)?.passwordHash == "new")
        }
    }

    @Test("an imported person is claimed once", arguments: Engine.all)
    func claim(engine: Engine) async throws {
        try await withStore(engine) { db, f in
            let imported = try await f.user("Imported", password: nil)
            #expect(try await store.fetchUser(db, id: imported.id)?.0.claimed == false)
            #expect(try await store.claimUser(db, id: imported.id, name: "Real Name", passwordHash: "h1", locale: nil, now: f.now))
            #expect(try await store.claimUser(db, id: imported.id, name: "Thief", passwordHash: "h2", locale: nil, now: f.now) == false)
            let (user, hash) = try #require(try await store.fetchUser(db, id: imported.id))
            #expect(user.name == "Real Name")
            #expect(hash == "h1")
        }
    }

    @Test("sessions are stored, extended and ended", arguments: Engine.all)
    func sessions(engine: Engine) async throws {
        try await withStore(engine) { db, f in
            let a = try await f.user()
            let s1 = Session(tokenHash: "one", userID: a.id, kind: .cookie, expiresAt: f.now.addingTimeInterval(60))
            let s2 = Session(tokenHash: "two", userID: a.id, kind: .token, expiresAt: f.now.addingTimeInterval(-60))
            try await store.insertSession(db, s1, now: f.now)
            try await store.insertSession(db, s2, now: f.now)
            #expect(try await store.fetchSession(db, tokenHash: "one") == s1)
            try await store.extendSession(db, tokenHash: "one", expiresAt: f.now.addingTimeInterval(600), now: f.now)
            #expect(try await store.fetchSession(db, tokenHash: "one")?.expiresAt == f.now.addingTimeInterval(600))
            try await store.deleteExpiredSessions(db, now: f.now)
            #expect(try await store.fetchSession(db, tokenHash: "two") == nil)
            try await store.insertSession(db, Session(tokenHash: "three", userID: a.id, kind: .cookie, expiresAt: f.now.addingTimeInterval(60)), now: f.now)
            #expect(try await store.deleteSessions(db, userID: a.id, keeping: "one") == ["three"])
            try await store.deleteSession(db, tokenHash: "one")
            #expect(try await store.fetchSession(db, tokenHash: "one") == nil)
        }
    }
}

@Suite("Logins")
struct LoginTests {
    @Test func normalisesEmailAndPhone() {
        #expect(Login(" Ann@Example.COM ") == .email("ann@example.com"))
        #expect(Login("+86 138-0000 (0001)") == .phone("+8613800000001"))
        #expect(Login("138.0000.0001") == .phone("13800000001"))
        for bad in ["", "ann@", "@x.com", "ann@localhost", "a b@x.com", "12345", "+1234567890123456", "phone"] {
            #expect(Login(bad) == nil, "\(bad) must be refused")
        }
    }
}
