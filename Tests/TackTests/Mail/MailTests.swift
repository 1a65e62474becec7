import Foundation
import SQLKit
import Testing
@testable import TackServer

/// E-mail: the message Tack writes (MIME), the admins' SMTP settings, members' choices, and who
/// gets which e-mail. Delivery over real SMTP servers (STARTTLS, TLS, AUTH PLAIN/LOGIN) is in
/// e2e/test_mail.py, against aiosmtpd.
@Suite("Mail")
struct MailTests {
    static let date = Date(timeIntervalSince1970: 1_790_000_000)

    @Test("a message: headers cannot be injected, non-ASCII is encoded, bodies are base64, lines starting with '.' are stuffed")
    func rendering() throws {
        var message = MailMessage(to: "mia@example.com", toName: "Mia 米娅", subject: "Hello\r\nBcc: victim@example.com",
                                  text: "first line\n.starts with a dot\n请确认", html: nil, messageID: "abc-123")
        message.headers = [("Auto-Submitted", "auto-generated\r\nX-Evil: 1")]
        let text = message.rendered(from: "tack@example.com", fromName: "Tack \"HQ\"", domain: "example.com", date: Self.date)
        let lines = text.components(separatedBy: "\r\n")
        #expect(!lines.contains { $0.hasPrefix("Bcc:") || $0.hasPrefix("X-Evil:") }, "no injected header")
        #expect(lines.contains("Subject: HelloBcc: victim@example.com"))
        #expect(lines.contains("From: \"Tack \\\"HQ\\\"\" <tack@example.com>"))
        let to = try #require(lines.first { $0.hasPrefix("To: ") })
        #expect(to.hasPrefix("To: =?UTF-8?B?") && to.hasSuffix(" <mia@example.com>"))
        #expect(lines.contains("Message-ID: <abc-123@example.com>"))
        #expect(lines.contains("Date: Mon, 21 Sep 2026 14:13:20 +0000"))
        #expect(lines.contains("Content-Transfer-Encoding: base64"))
        let body = lines.drop { !$0.isEmpty }.dropFirst().joined()
        #expect(String(decoding: try #require(Data(base64Encoded: body)), as: UTF8.self) == "first line\n.starts with a dot\n请确认")
        #expect(text.hasSuffix("\r\n") && !text.contains("\n.starts"))
        // A plain-text line that does start with "." (HTML bodies are base64 too, so only headers could) is stuffed.
        var dotted = message
        dotted.headers = [(".X-Dot", "1")]
        #expect(dotted.rendered(from: "a@b.c", fromName: nil, domain: "b.c", date: Self.date).contains("\r\n..X-Dot: 1\r\n"))
        // Long non-ASCII subjects become several encoded words, each within the 75-character limit.
        let long = MIME.encodedWord(String(repeating: "通知", count: 40))
        #expect(long.components(separatedBy: "\r\n ").allSatisfy { $0.count <= 75 && $0.hasPrefix("=?UTF-8?B?") })
    }

    @Test("settings never show the password, not even in their description")
    func redacted() {
        let settings = SMTPSettings(host: "smtp.example.com", port: 587, security: .starttls, username: "u", password: "hunter22",
                                    fromAddress: "a@example.com", fromName: nil)
        #expect(!"\(settings)".contains("hunter22") && !String(reflecting: settings).contains("hunter22"))
    }

    @Test("admins set the SMTP server; bad settings are refused and change nothing; the password is kept or dropped, never shown",
          arguments: Engine.all)
    func settings(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let ann = try await api.signUp("Ann"), bob = try await api.signUp("Bob")
            let org = try await api.createOrg(ann)
            _ = try await api.join(bob, org, owner: ann)
            let path = "/api/v1/orgs/\(org.id)/mail-settings"
            func put(_ body: [String: Any?], as person: Person? = nil) async throws -> Reply {
                try await api.call(.put, path, as: person ?? ann, json: API.body(body))
            }
            #expect(try await api.call(.get, path, as: ann).json["configured"].bool == false)
            let good: [String: Any?] = ["host": "smtp.example.com", "port": 587, "security": "starttls", "username": "mailer",
                                        "password": "hunter22", "fromAddress": "tack@example.com", "fromName": "Tack"]
            let saved = try await put(good)
            #expect(saved.status == .ok, "\(saved.text)")
            #expect(saved.json["passwordSet"].bool == true && !saved.text.contains("hunter22"))
            for (change, code) in [(["host": "smtp example.com"], "invalid_host"), (["port": 0], "out_of_range"),
                                   (["fromAddress": "not-an-address"], "invalid_email"), (["security": "none"], "insecure_auth")] as [([String: Any], String)] {
                let reply = try await put(good.merging(change) { $1 })
                #expect(reply.status == .unprocessableContent && reply.json["errors"][0]["code"].string == code, "\(change): \(reply.text)")
            }
            #expect(try await put(good.merging(["security": "ssl"]) { $1 }).status == .badRequest)
            #expect(try await put(good, as: bob).status == .forbidden, "members do not set it")
            #expect(try await api.call(.get, path, as: bob).status == .forbidden, "nor read it")
            #expect(try await api.call(.delete, path, as: bob).status == .forbidden)
            let stored = try await api.parts.database.read { db in try await MailStore().fetchSettings(db, orgID: .init(string: org.id)!) }
            #expect(stored?.smtp == SMTPSettings(host: "smtp.example.com", port: 587, security: .starttls, username: "mailer",
                                                 password: "hunter22", fromAddress: "tack@example.com", fromName: "Tack"))
            // No password given: the stored one stays; no username: no password either.
            _ = try await put(good.merging(["port": 2587, "password": nil]) { $1 })
            var now = try await api.parts.database.read { db in try await MailStore().fetchSettings(db, orgID: .init(string: org.id)!) }
            #expect(now?.smtp.password == "hunter22" && now?.smtp.port == 2587)
            _ = try await put(good.merging(["username": "", "security": "none", "port": 25]) { $1 })
            now = try await api.parts.database.read { db in try await MailStore().fetchSettings(db, orgID: .init(string: org.id)!) }
            #expect(now?.smtp.username == nil && now?.smtp.password == nil)
            #expect(try await api.call(.delete, path, as: ann).status == .noContent)
            #expect(try await api.call(.get, path, as: ann).json["configured"].bool == false)
            let test = try await api.call(.post, path + "/test", as: ann)
            #expect(test.status == .conflict && test.json["code"].string == "mail_not_configured")
        }
    }

    @Test("who gets e-mail: only with an SMTP server, an address, and that kind left on; mentions wait as jobs", arguments: Engine.all)
    func recipients(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let ann = try await api.signUp("Ann"), bob = try await api.signUp("Bob"), cat = try await api.signUp("Cat")
            let org = try await api.createOrg(ann)
            let bobMember = try await api.join(bob, org, owner: ann), catMember = try await api.join(cat, org, owner: ann)
            let orgID = Organization.ID(string: org.id)!
            let users = [bob, cat].map { User.ID(string: $0.userID)! }
            let prefsPath = "/api/v1/orgs/\(org.id)/me/email-preferences"
            let initial = try await api.call(.get, prefsPath, as: bob).json
            #expect(initial["dings"].bool == true && initial["mentions"].bool == true && initial["announcements"].bool == true)
            #expect(initial["available"].bool == false && initial["address"].string == bob.login)
            func reachable(_ kind: EmailPreferences.Kind) async throws -> Set<User.ID> {
                Set(try await api.parts.database.read { db in try await api.parts.mail.recipients(db, orgID: orgID, users: users, kind: kind) })
            }
            #expect(try await reachable(.dings).isEmpty, "no SMTP server: no e-mail")
            _ = try await api.call(.put, "/api/v1/orgs/\(org.id)/mail-settings", as: ann,
                                   json: API.body(["host": "127.0.0.1", "port": 25, "security": "none", "fromAddress": "t@example.com"]))
            #expect(try await reachable(.dings) == Set(users))
            let off = try await api.call(.put, prefsPath, as: cat, json: API.body(["dings": false, "mentions": false, "announcements": true]))
            #expect(off.status == .ok && off.json["available"].bool == true)
            #expect(try await api.call(.put, prefsPath, as: cat, json: API.body(["dings": false])).status == .badRequest)
            #expect(try await api.call(.get, prefsPath, as: cat).json["dings"].bool == false, "a bad change changed nothing")
            #expect(try await reachable(.dings) == [users[0]])
            #expect(try await reachable(.announcements) == Set(users))
            // Preferences are per organisation: Cat's choices elsewhere do not count here.
            let other = try await api.createOrg(cat, name: "Cat's own")
            _ = try await api.call(.put, "/api/v1/orgs/\(other.id)/me/email-preferences", as: cat,
                                   json: API.body(["dings": true, "mentions": true, "announcements": false]))
            #expect(try await reachable(.announcements) == Set(users))

            // A message mentioning both: a mention e-mail job waits for Bob only (Cat turned mentions off).
            let group = try await api.call(.post, "/api/v1/orgs/\(org.id)/conversations", as: ann,
                                           json: API.body(["name": "G", "memberIds": [bobMember, catMember]])).json["id"].string!
            let sent = try await api.call(.post, "/api/v1/orgs/\(org.id)/conversations/\(group)/messages", as: ann,
                                          json: API.body(["clientKey": "m1", "text": "@Bob @Cat look", "mentions": [bob.userID, cat.userID]]))
            #expect(sent.status == .created, "\(sent.text)")
            let jobs = try await api.parts.database.read { db in
                try await db.raw("SELECT payload FROM jobs WHERE kind = \(bind: MailService.mentionKind)").all()
                    .map { try JSONDecoder.tack.decode(MentionMailJob.self, from: Data(try $0.decode(column: "payload", as: String.self).utf8)) }
            }
            #expect(jobs.map(\.userID) == [users[0]] && jobs.first?.seq == sent.json["seq"].int.map(Int64.init))
        }
    }
}
