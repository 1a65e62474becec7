import Foundation
import HTTPTypes
import Testing
@testable import TackServer

@Suite("Invitations API")
struct InvitationAPITests {
    @Test("joining by code or link, into the invitation's department", arguments: Engine.all)
    func join(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let ann = try await api.signUp("Ann"), bob = try await api.signUp("Bob"), cat = try await api.signUp("Cat")
            let org = try await api.createOrg(ann)
            let sales = try await api.createDepartment(org, as: ann, name: "Sales")
            let invitation = try await api.call(.post, "/api/v1/orgs/\(org.id)/invitations", as: ann,
                                                json: API.body(["departmentId": sales, "expiresInHours": 24, "maxUses": 2]))
            #expect(invitation.status == .created)
            let code = invitation.json["code"].string!, token = invitation.json["token"].string!
            #expect(code.count == 8)
            let preview = try await api.call(.get, "/api/v1/invitations/\(code.lowercased())")
            #expect(preview.json["organizationName"].string == "Acme")
            #expect(preview.json["requiresApproval"].bool == false)
            let joined = try await api.call(.post, "/api/v1/invitations/\(code)/accept", as: bob)
            #expect(joined.json["status"].string == "joined")
            #expect(joined.json["member"]["departmentIds"].array.compactMap(\.string) == [sales])
            #expect(try await api.call(.post, "/api/v1/invitations/\(code)/accept", as: bob).json["status"].string == "already_member")
            #expect(try await api.call(.post, "/api/v1/invitations/\(token)/accept", as: cat).json["status"].string == "joined")
            let dan = try await api.signUp("Dan")
            let usedUp = try await api.call(.post, "/api/v1/invitations/\(code)/accept", as: dan)
            #expect(usedUp.status == .gone)
            #expect(usedUp.code == "invitation_used_up")
            #expect(try await api.memberCount(org, as: ann) == 3)
            #expect(try await api.call(.post, "/api/v1/invitations/\(code)/accept").status == .unauthorized)
            #expect(try await api.call(.get, "/api/v1/invitations/ZZZZ2345").code == "invitation_not_found")
        }
    }

    @Test("invitations expire and can be revoked", arguments: Engine.all)
    func expiryAndRevocation(engine: Engine) async throws {
        let (clock, time) = WallClock.manual(Date())
        try await withAPI(engine, clock: clock) { api in
            let ann = try await api.signUp("Ann"), bob = try await api.signUp("Bob")
            let org = try await api.createOrg(ann)
            let shortLived = try await api.call(.post, "/api/v1/orgs/\(org.id)/invitations", as: ann, json: API.body(["expiresInHours": 1]))
            let revoked = try await api.call(.post, "/api/v1/orgs/\(org.id)/invitations", as: ann, json: API.body([:]))
            let revokedID = revoked.json["id"].string!
            #expect(try await api.call(.delete, "/api/v1/orgs/\(org.id)/invitations/\(revokedID)", as: ann).status == .noContent)
            #expect(try await api.call(.post, "/api/v1/invitations/\(revoked.json["code"].string!)/accept", as: bob).code == "invitation_revoked")
            time.advance(by: 3601)
            let expired = try await api.call(.post, "/api/v1/invitations/\(shortLived.json["code"].string!)/accept", as: bob)
            #expect(expired.status == .gone)
            #expect(expired.code == "invitation_expired")
            #expect(try await api.memberCount(org, as: ann) == 1)
            let list = try await api.call(.get, "/api/v1/orgs/\(org.id)/invitations", as: ann).json["items"].array
            #expect(list.count == 2)
            #expect(list.contains { !$0["revokedAt"].isNull })
        }
    }

    @Test("only admins invite, only owners invite admins, and nonsense is refused", arguments: [Engine.sqlite])
    func permissions(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let ann = try await api.signUp("Ann"), bob = try await api.signUp("Bob")
            let org = try await api.createOrg(ann)
            let bobID = try await api.join(bob, org, owner: ann)
            let path = "/api/v1/orgs/\(org.id)/invitations"
            #expect(try await api.call(.post, path, as: bob, json: API.body([:])).status == .forbidden)
            #expect(try await api.call(.get, path, as: bob).status == .forbidden)
            _ = try await api.call(.patch, "/api/v1/orgs/\(org.id)/members/\(bobID)", as: ann, json: API.body(["role": "admin"]))
            #expect(try await api.call(.post, path, as: bob, json: API.body([:])).status == .created)
            #expect(try await api.call(.post, path, as: bob, json: API.body(["role": "admin"])).status == .forbidden)
            #expect(try await api.call(.post, path, as: ann, json: API.body(["role": "admin"])).status == .created)
            #expect(try await api.call(.post, path, as: ann, json: API.body(["expiresInHours": 0])).status == .unprocessableContent)
            #expect(try await api.call(.post, path, as: ann, json: API.body(["maxUses": -3])).status == .unprocessableContent)
            #expect(try await api.call(.post, path, as: ann, json: API.body(["role": "owner"])).status == .badRequest)
        }
    }

    @Test("an invitation with approval files a request that an admin decides", arguments: Engine.all)
    func approval(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let ann = try await api.signUp("Ann"), bob = try await api.signUp("Bob"), cat = try await api.signUp("Cat")
            let org = try await api.createOrg(ann)
            let invitation = try await api.call(.post, "/api/v1/orgs/\(org.id)/invitations", as: ann, json: API.body(["requiresApproval": true]))
            let code = invitation.json["code"].string!
            let pending = try await api.call(.post, "/api/v1/invitations/\(code)/accept", as: bob)
            #expect(pending.json["status"].string == "pending")
            #expect(try await api.call(.post, "/api/v1/invitations/\(code)/accept", as: bob).json["joinRequest"]["id"] == pending.json["joinRequest"]["id"],
                    "asking twice files one request")
            #expect(try await api.call(.get, "/api/v1/orgs/\(org.id)", as: bob).status == .notFound, "not a member yet")
            let waiting = try await api.call(.get, "/api/v1/me", as: bob).json["pendingJoinRequests"].array
            #expect(waiting.count == 1)
            #expect(waiting.first?["organizationName"].string == "Acme")
            let catRequest = try await api.call(.post, "/api/v1/invitations/\(code)/accept", as: cat).json["joinRequest"]["id"].string!
            let requests = try await api.call(.get, "/api/v1/orgs/\(org.id)/join-requests?status=pending", as: ann).json["items"].array
            #expect(requests.compactMap { $0["name"].string } == ["Bob", "Cat"])
            let bobRequest = pending.json["joinRequest"]["id"].string!
            #expect(try await api.call(.post, "/api/v1/orgs/\(org.id)/join-requests/\(bobRequest)/approve", as: ann).json["status"].string == "approved")
            #expect(try await api.call(.post, "/api/v1/orgs/\(org.id)/join-requests/\(bobRequest)/reject", as: ann).code == "already_decided")
            #expect(try await api.call(.post, "/api/v1/orgs/\(org.id)/join-requests/\(catRequest)/reject", as: ann).json["status"].string == "rejected")
            #expect(try await api.call(.get, "/api/v1/orgs/\(org.id)", as: bob).status == .ok)
            #expect(try await api.call(.get, "/api/v1/me", as: bob).json["pendingJoinRequests"].array.isEmpty)
            #expect(try await api.call(.get, "/api/v1/orgs/\(org.id)", as: cat).status == .notFound)
            #expect(try await api.call(.post, "/api/v1/orgs/\(org.id)/join-requests/\(catRequest)/approve", as: bob).status == .forbidden)
        }
    }
}

@Suite("Member import")
struct MemberImportTests {
    @Test func checksEveryRowBeforeAnything() {
        let csv = """
            姓名,email,phone,department,role
            Ann,ann@example.com,,Grade 8/Class 2,teacher;admin
            ,nobody@example.com,,,
            Bob,not-an-email,,,
            Cat,,12,,
            Dan,ann@example.com,,,
            Eve,eve@example.com,,Grade 8//x,
            Fay,fay@example.com,,,wizard
            Gus,,,,
            """
        do {
            _ = try MemberImportFile.parse(csv)
            Issue.record("a bad file was accepted")
        } catch let error as AppError {
            #expect(error.code == "import_invalid")
            #expect(error.errors.map(\.row) == [3, 4, 5, 6, 7, 8, 9])
            #expect(error.errors.map(\.code) == ["empty", "invalid_email", "invalid_phone", "duplicate", "invalid_department", "invalid_role", "missing_login"])
        } catch {
            Issue.record("unexpected \(error)")
        }
        let good = try? MemberImportFile.parse("name,phone,role\r\n王芳,+86 138 0000 0002,学生\r\n")
        #expect(good?.rows.first?.phone == "+8613800000002")
        #expect(good?.rows.first?.capabilities == [.student])
        #expect(throws: AppError.self) { try MemberImportFile.parse("name,email,colour\nA,a@x.com,red\n") }
        #expect(throws: AppError.self) { try MemberImportFile.parse("name\nA\n") }
        #expect(throws: AppError.self) { try MemberImportFile.parse("") }
    }

    @Test("a bad file imports nothing; a good one imports everyone, creating departments", arguments: Engine.all)
    func importFile(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let ann = try await api.signUp("Ann")
            let existing = try await api.signUp("Existing", login: "existing@example.com")
            let org = try await api.createOrg(ann, kind: "school")
            let path = "/api/v1/orgs/\(org.id)/members/import"
            let csvHeaders: HTTPFields = [.contentType: "text/csv"]
            let bad = "name,email,department\nZed,zed@example.com,Grade 9/Class 1\nBroken,broken,\n"
            let refused = try await api.call(.post, path, as: ann, body: bad, headers: csvHeaders)
            #expect(refused.status == .unprocessableContent)
            #expect(refused.code == "import_invalid")
            #expect(refused.json["errors"][0]["row"].int == 3)
            #expect(try await api.memberCount(org, as: ann) == 1)
            #expect(try await api.call(.get, "/api/v1/orgs/\(org.id)/departments", as: ann).json["items"].array.count == 1, "no department was created")

            let good = """
                name,email,phone,department,title,role
                Zed,zed@example.com,,Grade 9/Class 1,Class monitor,student
                Yan,,+86 139 0000 0003,Grade 9/Class 2,,student
                Existing,existing@example.com,,Grade 9,Teacher,teacher
                """
            let dry = try await api.call(.post, path + "?dryRun=true", as: ann, body: good, headers: csvHeaders)
            #expect(dry.json["created"].int == 3)
            #expect(dry.json["departmentsCreated"].int == 3)
            #expect(dry.json["dryRun"].bool == true)
            #expect(try await api.memberCount(org, as: ann) == 1, "a dry run writes nothing")
            let done = try await api.call(.post, path, as: ann, body: good, headers: csvHeaders)
            #expect(done.status == .ok, "\(done.text)")
            #expect(done.json["created"].int == 3)
            #expect(try await api.memberCount(org, as: ann) == 4)
            #expect(try await api.call(.get, "/api/v1/orgs/\(org.id)", as: existing).status == .ok, "an existing account joins at once")
            let zed = try await api.call(.get, "/api/v1/orgs/\(org.id)/members?q=zed", as: ann).json["items"][0]
            #expect(zed["title"].string == "Class monitor")
            #expect(zed["claimed"].bool == false)
            #expect(zed["capabilities"].array.compactMap(\.string) == ["student"])

            // Re-importing updates instead of duplicating.
            let again = try await api.call(.post, path, as: ann, body: "name,email,title\nZed,zed@example.com,Deputy\n", headers: csvHeaders)
            #expect(again.json["created"].int == 0)
            #expect(again.json["updated"].int == 1)
            #expect(try await api.memberCount(org, as: ann) == 4)

            // The imported person claims their account by signing up.
            let claim = try await api.call(.post, "/api/v1/auth/signup", json: API.body(["name": "Zed Z", "login": "zed@example.com", "password": "correct horse", "mode": "token"]))
            #expect(claim.status == .created)
            let zedPerson = Person(token: claim.json["token"].string!, userID: claim.json["user"]["id"].string!, login: "zed@example.com", name: "Zed Z")
            let memberships = try await api.call(.get, "/api/v1/me", as: zedPerson).json["memberships"].array
            #expect(memberships.count == 1)
            #expect(memberships[0]["member"]["title"].string == "Deputy")
        }
    }

    @Test("importing admins needs the owner; members cannot import", arguments: [Engine.sqlite])
    func importPermissions(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let ann = try await api.signUp("Ann"), bob = try await api.signUp("Bob")
            let org = try await api.createOrg(ann)
            let bobID = try await api.join(bob, org, owner: ann)
            let path = "/api/v1/orgs/\(org.id)/members/import"
            let csv = "name,email,role\nNew,new@example.com,admin\n"
            #expect(try await api.call(.post, path, as: bob, body: csv, headers: [.contentType: "text/csv"]).status == .forbidden)
            _ = try await api.call(.patch, "/api/v1/orgs/\(org.id)/members/\(bobID)", as: ann, json: API.body(["role": "admin"]))
            let byAdmin = try await api.call(.post, path, as: bob, body: csv, headers: [.contentType: "text/csv"])
            #expect(byAdmin.status == .unprocessableContent)
            #expect(byAdmin.json["errors"][0]["code"].string == "forbidden_role")
        }
    }
}
