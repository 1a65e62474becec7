import Foundation
import HTTPTypes
import Testing
@testable import TackServer

@Suite("Directory API")
struct DirectoryAPITests {
    @Test("an organisation is created once per idempotency key, with its creator as owner", arguments: Engine.all)
    func createOrganisation(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let ann = try await api.signUp("Ann")
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "create-1"]
            let first = try await api.call(.post, "/api/v1/orgs", as: ann, json: API.body(["name": "实验学校", "kind": "school"]), headers: key)
            let retry = try await api.call(.post, "/api/v1/orgs", as: ann, json: API.body(["name": "实验学校", "kind": "school"]), headers: key)
            #expect(first.status == .created)
            #expect(first.json == retry.json)
            #expect(first.json["member"]["role"].string == "owner")
            #expect(first.json["organization"]["kind"].string == "school")
            let reused = try await api.call(.post, "/api/v1/orgs", as: ann, json: API.body(["name": "Other"]), headers: key)
            #expect(reused.status == .unprocessableContent)
            #expect(reused.code == "idempotency_key_reused")
            #expect(try await api.call(.get, "/api/v1/me", as: ann).json["memberships"].array.count == 1)
            let id = first.json["organization"]["id"].string!
            let departments = try await api.call(.get, "/api/v1/orgs/\(id)/departments", as: ann).json["items"].array
            #expect(departments.count == 1)
            #expect(departments[0]["parentId"].isNull)
            #expect(try await api.call(.post, "/api/v1/orgs", as: ann, json: API.body(["name": ""])).status == .unprocessableContent)
        }
    }

    @Test("admins build the department tree; cycles, duplicates and non-empty deletes are refused", arguments: Engine.all)
    func departments(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let ann = try await api.signUp("Ann"), bob = try await api.signUp("Bob")
            let org = try await api.createOrg(ann)
            _ = try await api.join(bob, org, owner: ann)
            let grade = try await api.createDepartment(org, as: ann, name: "Grade 8")
            let klass = try await api.createDepartment(org, as: ann, name: "Class 2", parent: grade, kind: "class")
            let base = "/api/v1/orgs/\(org.id)/departments"
            #expect(try await api.call(.post, base, as: bob, json: API.body(["name": "X", "parentId": org.rootDepartmentID])).status == .forbidden)
            let duplicate = try await api.call(.post, base, as: ann, json: API.body(["name": "Grade 8", "parentId": org.rootDepartmentID]))
            #expect(duplicate.status == .conflict)
            #expect(duplicate.code == "department_exists")
            let unknownParent = try await api.call(.post, base, as: ann, json: API.body(["name": "Y", "parentId": UUID().uuidString]))
            #expect(unknownParent.status == .unprocessableContent)
            let cycle = try await api.call(.patch, "\(base)/\(grade)", as: ann, json: API.body(["parentId": klass]))
            #expect(cycle.status == .conflict)
            #expect(cycle.code == "department_cycle")
            let rename = try await api.call(.patch, "\(base)/\(klass)", as: ann, json: API.body(["name": "Class 2B"]))
            #expect(rename.json["name"].string == "Class 2B")
            #expect(rename.json["kind"].string == "class")
            #expect(try await api.call(.delete, "\(base)/\(grade)", as: ann).code == "department_not_empty")
            #expect(try await api.call(.delete, "\(base)/\(org.rootDepartmentID)", as: ann).code == "root_department")
            #expect(try await api.call(.delete, "\(base)/\(klass)", as: ann).status == .noContent)
            #expect(try await api.call(.delete, "\(base)/\(grade)", as: ann).status == .noContent)
            let names = try await api.call(.get, base, as: bob).json["items"].array.compactMap { $0["name"].string }
            #expect(names == ["Acme"])
        }
    }

    @Test("members are listed in pages, searched and filtered by department", arguments: Engine.all)
    func memberList(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let owner = try await api.signUp("Owner")
            let org = try await api.createOrg(owner)
            let sales = try await api.createDepartment(org, as: owner, name: "Sales")
            var csv = "name,email,department\n"
            for i in 0..<25 { csv += "Member \(String(format: "%02d", i)),m\(i)@example.com,\(i % 5 == 0 ? "Sales" : "")\n" }
            csv += "张伟,zhangwei@example.com,\n"
            let imported = try await api.call(.post, "/api/v1/orgs/\(org.id)/members/import", as: owner, body: csv, headers: [.contentType: "text/csv"])
            #expect(imported.status == .ok, "\(imported.text)")
            var names: [String] = []
            var cursor: String?
            repeat {
                let query = "limit=10" + (cursor.map { "&cursor=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" } ?? "")
                let page = try await api.call(.get, "/api/v1/orgs/\(org.id)/members?\(query)", as: owner).json
                names += page["items"].array.compactMap { $0["name"].string }
                cursor = page["nextCursor"].string
            } while cursor != nil
            #expect(names.count == 27)
            #expect(names == names.sorted { $0.lowercased() < $1.lowercased() })
            let found = try await api.call(.get, "/api/v1/orgs/\(org.id)/members?q=%E5%BC%A0", as: owner).json["items"].array
            #expect(found.compactMap { $0["name"].string } == ["张伟"])
            let inSales = try await api.call(.get, "/api/v1/orgs/\(org.id)/members?departmentId=\(sales)", as: owner).json["items"].array
            #expect(inSales.count == 5)
            #expect(try await api.call(.get, "/api/v1/orgs/\(org.id)/members?limit=0", as: owner).code == "invalid_parameter")
            #expect(try await api.call(.get, "/api/v1/orgs/\(org.id)/members?cursor=garbage", as: owner).code == "invalid_cursor")
        }
    }

    @Test("roles: admins manage members, only owners make admins, an organisation keeps an owner", arguments: Engine.all)
    func roles(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let ann = try await api.signUp("Ann"), bob = try await api.signUp("Bob"), cat = try await api.signUp("Cat")
            let org = try await api.createOrg(ann)
            let bobID = try await api.join(bob, org, owner: ann)
            let catID = try await api.join(cat, org, owner: ann)
            let members = "/api/v1/orgs/\(org.id)/members"
            #expect(try await api.call(.patch, "\(members)/\(catID)", as: bob, json: API.body(["title": "Boss"])).status == .forbidden)
            #expect(try await api.call(.patch, "\(members)/\(bobID)", as: bob, json: API.body(["title": "Engineer"])).json["title"].string == "Engineer",
                    "a member edits their own title")
            #expect(try await api.call(.patch, "\(members)/\(bobID)", as: bob, json: API.body(["role": "admin"])).status == .forbidden)
            let promoted = try await api.call(.patch, "\(members)/\(bobID)", as: ann, json: API.body(["role": "admin", "capabilities": ["teacher", "health_officer"]]))
            #expect(promoted.json["role"].string == "admin")
            #expect(Set(promoted.json["capabilities"].array.compactMap(\.string)) == ["teacher", "health_officer"])
            let sales = try await api.createDepartment(org, as: bob, name: "Sales")
            let moved = try await api.call(.patch, "\(members)/\(catID)", as: bob, json: API.body(["departmentIds": [sales], "capabilities": ["student"]]))
            #expect(moved.json["departmentIds"].array.compactMap(\.string) == [sales])
            #expect(try await api.call(.patch, "\(members)/\(catID)", as: bob, json: API.body(["role": "admin"])).status == .forbidden,
                    "an admin cannot make admins")
            #expect(try await api.call(.patch, "\(members)/\(org.ownerMemberID)", as: bob, json: API.body(["title": "x"])).status == .forbidden)
            let lastOwner = try await api.call(.patch, "\(members)/\(org.ownerMemberID)", as: ann, json: API.body(["role": "member"]))
            #expect(lastOwner.status == .conflict)
            #expect(lastOwner.code == "last_owner")
            let unknownDepartment = try await api.call(.patch, "\(members)/\(catID)", as: ann, json: API.body(["departmentIds": [UUID().uuidString]]))
            #expect(unknownDepartment.status == .unprocessableContent)
            #expect(try await api.call(.get, "\(members)/\(catID)", as: ann).json["departmentIds"].array.compactMap(\.string) == [sales],
                    "a refused change changes nothing")
            let badCapability = try await api.call(.patch, "\(members)/\(catID)", as: ann, json: API.body(["capabilities": ["wizard"]]))
            #expect(badCapability.status == .badRequest)
        }
    }

    @Test("members are removed by admins or leave; owners stay", arguments: Engine.all)
    func removal(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let ann = try await api.signUp("Ann"), bob = try await api.signUp("Bob"), cat = try await api.signUp("Cat")
            let org = try await api.createOrg(ann)
            let bobID = try await api.join(bob, org, owner: ann)
            let catID = try await api.join(cat, org, owner: ann)
            let members = "/api/v1/orgs/\(org.id)/members"
            #expect(try await api.call(.delete, "\(members)/\(catID)", as: bob).status == .forbidden)
            #expect(try await api.call(.delete, "\(members)/\(bobID)", as: bob).status == .noContent, "leaving")
            #expect(try await api.call(.get, "/api/v1/orgs/\(org.id)", as: bob).status == .notFound, "gone means gone")
            #expect(try await api.call(.delete, "\(members)/\(catID)", as: ann).status == .noContent)
            #expect(try await api.call(.delete, "\(members)/\(org.ownerMemberID)", as: ann).code == "last_owner")
            #expect(try await api.memberCount(org, as: ann) == 1)
        }
    }

    @Test("organisation settings and the event log over HTTP", arguments: Engine.all)
    func settingsAndEvents(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let ann = try await api.signUp("Ann"), bob = try await api.signUp("Bob")
            let org = try await api.createOrg(ann)
            _ = try await api.join(bob, org, owner: ann)
            #expect(try await api.call(.patch, "/api/v1/orgs/\(org.id)", as: bob, json: API.body(["name": "Mine"])).status == .forbidden)
            #expect(try await api.call(.patch, "/api/v1/orgs/\(org.id)", as: ann, json: API.body(["name": "Acme Ltd"])).json["name"].string == "Acme Ltd")
            let forAnn = try await api.call(.get, "/api/v1/orgs/\(org.id)/events?after=0", as: ann).json
            let forBob = try await api.call(.get, "/api/v1/orgs/\(org.id)/events?after=0", as: bob).json
            let annTypes = forAnn["items"].array.compactMap { $0["type"].string }
            #expect(annTypes == ["member.joined", "invitation.created", "member.joined", "org.updated"])
            #expect(forBob["items"].array.compactMap { $0["type"].string } == ["member.joined", "member.joined", "org.updated"],
                    "admins-only events are not shown to members")
            #expect(forAnn["latestSeq"].int == 4)
            #expect(forAnn["items"][3]["data"]["name"].string == "Acme Ltd")
            #expect(try await api.call(.get, "/api/v1/orgs/\(org.id)/events?after=-1", as: ann).status == .badRequest)
        }
    }
}

@Suite("Directory read cache")
struct DirectoryReadCacheTests {
    @Test("cached lists change as soon as the organisation does", arguments: Engine.all)
    func invalidation(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let ann = try await api.signUp("Ann"), bob = try await api.signUp("Bob")
            let org = try await api.createOrg(ann)
            _ = try await api.join(bob, org, owner: ann)
            let members = "/api/v1/orgs/\(org.id)/members"
            let first = try await api.call(.get, members, as: ann)
            #expect(try await api.call(.get, members, as: bob).text == first.text, "every member reads the same answer")
            _ = try await api.call(.patch, "/api/v1/me", as: bob, json: API.body(["name": "Robert"]))
            let names = try await api.call(.get, members, as: ann).json["items"].array.compactMap { $0["name"].string }
            #expect(names == ["Ann", "Robert"])
            let departments = "/api/v1/orgs/\(org.id)/departments"
            _ = try await api.call(.get, departments, as: ann)
            let sales = try await api.createDepartment(org, as: ann, name: "Sales")
            _ = try await api.call(.patch, "\(members)/\(org.ownerMemberID)", as: ann, json: API.body(["departmentIds": [sales]]))
            let listed = try await api.call(.get, departments, as: bob).json["items"].array
            #expect(listed.first { $0["id"].string == sales }?["memberCount"].int == 1)
            // An outsider still gets 404, cached answer or not.
            let eve = try await api.signUp("Eve")
            #expect(try await api.call(.get, members, as: eve).status == .notFound)
            #expect(try await api.call(.get, members).status == .unauthorized)
        }
    }
}
