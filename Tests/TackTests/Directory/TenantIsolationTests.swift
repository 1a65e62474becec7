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
        "receiveJanusEvents",  // Janus's, with its API secret; a room's publishers are checked against its own class (live media tests)
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
            let healthReport = try await api.call(.post, "/api/v1/orgs/\(a.id)/health/reports", as: ann, json: API.body([
                "title": "Secret report", "wholeOrganization": true, "opensAt": "00:00", "closesAt": "24:00", "skipWeekends": false,
                "questions": [["id": "temp", "kind": "temperature", "title": "Secret temperature", "required": true]]])).json
            let healthDay = try await api.call(.get, "/api/v1/orgs/\(a.id)/health/today", as: amy).json["items"][0]["day"].string!
            let submitted = try await api.call(.put, "/api/v1/orgs/\(a.id)/health/reports/\(healthReport["id"].string!)/submission", as: amy,
                                               json: API.body(["day": healthDay, "answers": [["questionId": "temp", "temperature": 38.2]]])).json
            let cardCode = submitted["card"]["code"].string!
            let photo = try await api.parts.health.upload(Identity(userID: User.ID(string: ann.userID)!, sessionHash: "", kind: .token),
                                                          Organization.ID(string: a.id)!, bytes: Self.png).id.string
            let liveClass = try await api.call(.post, "/api/v1/orgs/\(a.id)/live", as: ann,
                                               json: API.body(["title": "Secret class", "groupIds": [group], "startNow": true])).json["id"].string!
            _ = try await api.call(.put, "/api/v1/orgs/\(a.id)/live/\(liveClass)/hands", as: amy)
            let liveComment = try await api.call(.post, "/api/v1/orgs/\(a.id)/live/\(liveClass)/comments", as: amy,
                                                 json: API.body(["text": "Secret question", "kind": "question"])).json["id"].string!
            // Bob is the owner of organisation B: the strongest outsider.
            let bob = try await api.signUp("Bob")
            _ = try await api.createOrg(bob, name: "B")
            let before = try await api.call(.get, "/api/v1/orgs/\(a.id)/events?after=0", as: ann).json["latestSeq"].int

            let ids = ["orgId": a.id, "departmentId": department, "memberId": amyMember,
                       "invitationId": invitation["id"].string!, "requestId": request, "conversationId": group,
                       "seq": String(sent["seq"].int!), "userId": amy.userID, "attachmentId": attachment, "dingId": ding,
                       "announcementId": announcement, "reportId": healthReport["id"].string!, "photoId": photo,
                       "liveClassId": liveClass, "liveCommentId": liveComment]
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
                "createHealthReport": API.body(["title": "Pwned", "wholeOrganization": true, "opensAt": "00:00", "closesAt": "24:00",
                                                "questions": [["id": "t", "kind": "text", "title": "Pwned", "required": false]]]),
                "updateHealthReport": API.body(["title": "Pwned", "wholeOrganization": true, "opensAt": "00:00", "closesAt": "24:00",
                                                "questions": [["id": "t", "kind": "text", "title": "Pwned", "required": false]]]),
                "submitHealthReport": API.body(["day": healthDay, "answers": [["questionId": "temp", "temperature": 36.6]]]),
                "setGuardians": API.body(["memberIds": []]),
                "uploadHealthPhoto": "pwned",
                "createLiveClass": API.body(["title": "Pwned", "groupIds": [group], "startNow": true]),
                "transitionLiveClass": API.body(["action": "end"]),
                "setLiveControls": API.body(["locked": true, "paused": true]),
                "openLiveVideo": API.body(["mode": "live"]),
                "sendLiveHeartbeat": API.body(["mode": "live"]),
                "setLiveOnAir": API.body(["onAir": true]),
                "postLiveComment": API.body(["text": "Pwned", "kind": "question"]),
                "likeLiveClass": API.body(["count": 50]),
            ]
            let queries = ["listOrganizationEvents": "?after=0", "listReceipts": "?from=1&to=10", "searchMessages": "?q=secret",
                           "uploadAttachment": "?name=pwned.txt", "uploadAnnouncementAttachment": "?name=pwned.txt",
                           "verifyHealthCard": "?code=\(cardCode)", "getHealthHistory": "?memberId=\(amyMember)", "getHealthCard": "?memberId=\(amyMember)",
                           "listLiveClasses": "?groupId=\(group)"]
            var checked: Set<String> = []
            for op in try Self.specOperations() where !Self.notOrganisationScoped.contains(op.id) {
                var path = op.path
                for (name, value) in ids { path = path.replacingOccurrences(of: "{\(name)}", with: value) }
                path += queries[op.id] ?? ""
                let method = HTTPRequest.Method(rawValue: op.method.uppercased())!
                let body = bodies[op.id]
                let reply = switch op.id {
                case "importMembers": try await api.call(method, path, as: bob, body: body, headers: [.contentType: "text/csv"])
                case "uploadAttachment", "uploadAnnouncementAttachment", "uploadHealthPhoto": try await api.call(method, path, as: bob, body: body, headers: [.contentType: "application/octet-stream"])
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
            let live = try await api.call(.get, "/api/v1/orgs/\(a.id)/live/\(liveClass)", as: ann).json
            #expect(live["state"].string == "live" && live["locked"].bool == false && live["paused"].bool == false)
            #expect(try await api.call(.get, "/api/v1/orgs/\(a.id)/live/\(liveClass)/hands", as: ann).json["items"].array.count == 1)
            let chat = try await api.call(.get, "/api/v1/orgs/\(a.id)/live/\(liveClass)/comments", as: ann).json
            #expect(chat["items"].array.count == 1 && chat["items"][0]["answered"].bool == false && chat["likes"].int == 0)
            #expect(try await api.memberCount(a, as: ann) == 2)
            #expect(try await api.call(.get, "/api/v1/orgs/\(a.id)/mail-settings", as: ann).json["host"].string == "127.0.0.1")
            let report = try await api.call(.get, "/api/v1/orgs/\(a.id)/health/reports/\(healthReport["id"].string!)", as: ann).json
            #expect(report["title"].string == "Secret report")
            let history = try await api.call(.get, "/api/v1/orgs/\(a.id)/health/reports/\(healthReport["id"].string!)/history", as: amy).json
            #expect(history["days"][0]["submission"]["temperature"].double == 38.2, "Amy's report is untouched")
            #expect(history["days"][0]["submission"]["revision"].int == 1)
        }
    }
}

extension TenantIsolationTests {
    /// A 1×1 PNG.
    static let png: [UInt8] = [
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
        0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
        0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ]
}

/// Where the test finds the OpenAPI document.
enum TackAPIResourcesSpec {
    static var url: URL? {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/TackAPI/openapi.yaml")
    }
}
