import Foundation
import HTTPTypes
import Testing
@testable import TackServer

/// Every organisation's data is invisible to every other: a member of organisation B gets 404
/// for each of organisation A's resources, through every operation of the API, and nothing of A
/// changes.
@Suite("Tenant isolation")
struct TenantIsolationTests {
    /// Operations outside any organisation; each is listed with why it needs no isolation check.
    static let notOrganisationScoped: Set<String> = [
        "getHealth", "getReadiness", "getMetrics",  // no data
        "signUp", "signIn", "signOut", "getMe", "updateMe", "changePassword",  // the caller's own account
        "createOrganization",  // creates the caller's own
        "previewInvitation", "acceptInvitation",  // a code is the secret that grants access, by design
        "openEventStream",  // covered by the real-time suite (foreign cursors are ignored)
        "reportGatewayStatus",  // the gateway's, signed with the installation's secret (DING tests)
    ]

    /// The operations of `openapi.yaml` as (method, path, operationId).
    static func specOperations() throws -> [(method: String, path: String, id: String)] {
        let url = try #require(TackAPIResourcesSpec.url)
        let text = try String(contentsOf: url, encoding: .utf8)
        var result: [(String, String, String)] = []
        var path = "", method = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  /"), line.hasSuffix(":") { path = String(line.dropFirst(2).dropLast()) }
            else if let m = ["get", "post", "patch", "put", "delete"].first(where: { line == "    \($0):" }) { method = m }
            else if line.hasPrefix("      operationId: ") { result.append((method, path, String(line.dropFirst("      operationId: ".count)))) }
        }
        return result
    }

    @Test("a member of another organisation gets 404 from every operation", arguments: Engine.all)
    func everyOperation(engine: Engine) async throws {
        try await withAPI(engine) { api in
            // Organisation A with one of everything.
            let ann = try await api.signUp("Ann"), amy = try await api.signUp("Amy")
            let a = try await api.createOrg(ann, name: "A")
            let amyMember = try await api.join(amy, a, owner: ann)
            let department = try await api.createDepartment(a, as: ann, name: "Secret department")
            let invitation = try await api.call(.post, "/api/v1/orgs/\(a.id)/invitations", as: ann, json: API.body(["requiresApproval": true])).json
            let mallory = try await api.signUp("Mallory")
            let request = try await api.call(.post, "/api/v1/invitations/\(invitation["code"].string!)/accept", as: mallory).json["joinRequest"]["id"].string!
            let group = try await api.call(.post, "/api/v1/orgs/\(a.id)/conversations", as: ann,
                                           json: API.body(["name": "Secret group", "memberIds": [amyMember]])).json["id"].string!
            let sent = try await api.call(.post, "/api/v1/orgs/\(a.id)/conversations/\(group)/messages", as: ann,
                                          json: API.body(["clientKey": "k1", "text": "Secret message"])).json
            let attachment = try await api.call(.post, "/api/v1/orgs/\(a.id)/conversations/\(group)/attachments?name=secret.txt", as: ann,
                                                body: "Secret file", headers: [.contentType: "application/octet-stream"]).json["id"].string!
            let ding = try await api.call(.post, "/api/v1/orgs/\(a.id)/dings", as: ann,
                                          json: API.body(["memberIds": [amyMember], "text": "Secret DING"])).json["id"].string!
            _ = try await api.call(.put, "/api/v1/orgs/\(a.id)/mail-settings", as: ann,
                                   json: API.body(["host": "127.0.0.1", "port": 25, "security": "none", "fromAddress": "secret@example.com",
                                                   "fromName": "Secret sender"]))
            let announcement = try await api.call(.post, "/api/v1/orgs/\(a.id)/announcements", as: ann,
                                                  json: API.body(["title": "Secret announcement", "body": "<p>Secret</p>", "wholeOrganization": true,
                                                                  "requireConfirmation": true])).json["id"].string!
            // Bob is the owner of organisation B: the strongest outsider.
            let bob = try await api.signUp("Bob")
            _ = try await api.createOrg(bob, name: "B")
            let before = try await api.call(.get, "/api/v1/orgs/\(a.id)/events?after=0", as: ann).json["latestSeq"].int

            let ids = ["orgId": a.id, "departmentId": department, "memberId": amyMember,
                       "invitationId": invitation["id"].string!, "requestId": request, "conversationId": group,
                       "seq": String(sent["seq"].int!), "userId": amy.userID, "attachmentId": attachment, "dingId": ding,
                       "announcementId": announcement]
            let bodies: [String: String] = [
                "updateOrganization": API.body(["name": "Pwned"]),
                "createDepartment": API.body(["name": "Pwned", "parentId": a.rootDepartmentID]),
                "updateDepartment": API.body(["name": "Pwned"]),
                "updateMember": API.body(["title": "Pwned"]),
                "createInvitation": API.body([:]),
                "importMembers": "name,email\nPwned,pwned@example.com\n",
                "createGroup": API.body(["name": "Pwned", "memberIds": [amyMember]]),
                "openDirectConversation": API.body(["memberId": amyMember]),
                "updateGroup": API.body(["name": "Pwned"]),
                "addConversationMembers": API.body(["memberIds": [amyMember]]),
                "updateConversationMember": API.body(["role": "admin"]),
                "sendMessage": API.body(["clientKey": "pwned", "text": "Pwned"]),
                "forwardMessage": API.body(["conversationIds": [group]]),
                "markRead": API.body(["seq": 1]),
                "uploadAttachment": "pwned",
                "createDing": API.body(["memberIds": [amyMember], "text": "Pwned"]),
                "setDingPolicy": API.body(["callFallbackSms": false, "callsPer8Minutes": 0, "callsPerDay": 0]),
                "setMailSettings": API.body(["host": "evil.example", "port": 25, "security": "none", "fromAddress": "pwned@example.com"]),
                "setEmailPreferences": API.body(["dings": false, "mentions": false, "announcements": false]),
                "createAnnouncement": API.body(["title": "Pwned", "body": "Pwned", "wholeOrganization": true]),
                "updateAnnouncement": API.body(["title": "Pwned", "body": "Pwned", "wholeOrganization": true]),
                "uploadAnnouncementAttachment": "pwned",
            ]
            let queries = ["listOrganizationEvents": "?after=0", "listReceipts": "?from=1&to=10", "searchMessages": "?q=secret",
                           "uploadAttachment": "?name=pwned.txt", "uploadAnnouncementAttachment": "?name=pwned.txt"]
            var checked: Set<String> = []
            for op in try Self.specOperations() where !Self.notOrganisationScoped.contains(op.id) {
                var path = op.path
                for (name, value) in ids { path = path.replacingOccurrences(of: "{\(name)}", with: value) }
                path += queries[op.id] ?? ""
                let method = HTTPRequest.Method(rawValue: op.method.uppercased())!
                let body = bodies[op.id]
                let reply = switch op.id {
                case "importMembers": try await api.call(method, path, as: bob, body: body, headers: [.contentType: "text/csv"])
                case "uploadAttachment", "uploadAnnouncementAttachment": try await api.call(method, path, as: bob, body: body, headers: [.contentType: "application/octet-stream"])
                default: try await api.call(method, path, as: bob, json: body ?? (method == .get || method == .delete ? nil : "{}"))
                }
                #expect(reply.status == .notFound, "\(op.id) \(path) → \(reply.status.code) \(reply.text)")
                #expect(!reply.text.contains("Secret") && !reply.text.contains("Amy"), "\(op.id) leaks data")
                checked.insert(op.id)
            }
            // Every organisation-scoped operation was walked; a new one must be added here.
            let all = Set(try Self.specOperations().map(\.id))
            #expect(checked == all.subtracting(Self.notOrganisationScoped))
            #expect(checked.count >= 45)
            let after = try await api.call(.get, "/api/v1/orgs/\(a.id)/events?after=0", as: ann).json["latestSeq"].int
            #expect(before == after, "nothing of A changed")
            #expect(try await api.memberCount(a, as: ann) == 2)
            #expect(try await api.call(.get, "/api/v1/orgs/\(a.id)/mail-settings", as: ann).json["host"].string == "127.0.0.1")
        }
    }
}

/// Where the test finds the OpenAPI document.
enum TackAPIResourcesSpec {
    static var url: URL? {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/TackAPI/openapi.yaml")
    }
}
