import Foundation
import SQLKit

/// SQL for the mail tables.
struct MailStore: Sendable {
    func fetchSettings(_ db: any SQLDatabase, orgID: Organization.ID) async throws -> MailSettings? {
        guard let row = try await db.raw("""
            SELECT host, port, security, username, password, from_address, from_name, updated_at
            FROM mail_settings WHERE org_id = \(bind: orgID)
            """).first() else { return nil }
        let security = SMTPSettings.Security(rawValue: try row.decode(column: "security", as: String.self)) ?? .starttls
        return MailSettings(
            smtp: SMTPSettings(host: try row.decode(column: "host", as: String.self), port: try row.decode(column: "port", as: Int.self),
                               security: security, username: try row.decode(column: "username", as: String?.self),
                               password: try row.decode(column: "password", as: String?.self),
                               fromAddress: try row.decode(column: "from_address", as: String.self),
                               fromName: try row.decode(column: "from_name", as: String?.self)),
            updatedAt: try row.decode(column: "updated_at", as: Date.self))
    }

    func saveSettings(_ db: any SQLDatabase, orgID: Organization.ID, _ s: SMTPSettings, now: Date) async throws {
        try await deleteSettings(db, orgID: orgID)
        try await db.insert(into: "mail_settings")
            .columns("org_id", "host", "port", "security", "username", "password", "from_address", "from_name", "updated_at")
            .values(SQLBind(orgID), SQLBind(s.host), SQLBind(s.port), SQLBind(s.security.rawValue), SQLBind(s.username), SQLBind(s.password),
                    SQLBind(s.fromAddress), SQLBind(s.fromName), SQLBind(now))
            .run()
    }

    func deleteSettings(_ db: any SQLDatabase, orgID: Organization.ID) async throws {
        try await db.delete(from: "mail_settings").where("org_id", .equal, orgID).run()
    }

    func fetchPreferences(_ db: any SQLDatabase, orgID: Organization.ID, userID: User.ID) async throws -> EmailPreferences {
        guard let row = try await db.raw("""
            SELECT dings, mentions, announcements FROM mail_preferences WHERE org_id = \(bind: orgID) AND user_id = \(bind: userID)
            """).first() else { return .standard }
        return EmailPreferences(dings: try row.decode(column: "dings", as: Bool.self), mentions: try row.decode(column: "mentions", as: Bool.self),
                                announcements: try row.decode(column: "announcements", as: Bool.self))
    }

    func savePreferences(_ db: any SQLDatabase, orgID: Organization.ID, userID: User.ID, _ p: EmailPreferences, now: Date) async throws {
        try await db.delete(from: "mail_preferences").where("org_id", .equal, orgID).where("user_id", .equal, userID).run()
        try await db.insert(into: "mail_preferences")
            .columns("org_id", "user_id", "dings", "mentions", "announcements", "updated_at")
            .values(SQLBind(orgID), SQLBind(userID), SQLBind(p.dings), SQLBind(p.mentions), SQLBind(p.announcements), SQLBind(now))
            .run()
    }
}

extension MailStore {
    func hasSettings(_ db: any SQLDatabase, orgID: Organization.ID) async throws -> Bool {
        try await db.raw("SELECT 1 AS one FROM mail_settings WHERE org_id = \(bind: orgID)").first() != nil
    }

    /// Of `users`, those with an e-mail address who did not turn e-mail of `kind` off.
    func fetchReachable(_ db: any SQLDatabase, orgID: Organization.ID, users: [User.ID], kind: EmailPreferences.Kind) async throws -> [User.ID] {
        var reachable: [User.ID] = []
        for chunk in users.chunked(500) {
            let rows = try await db.raw("""
                SELECT u.id FROM users u
                WHERE u.id IN \(SQLBind.group(Array(chunk))) AND u.email IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM mail_preferences p WHERE p.org_id = \(bind: orgID) AND p.user_id = u.id
                                AND p.\(unsafeRaw: kind.rawValue) = \(SQLBind(false)))
                """).all()
            for row in rows { reachable.append(try row.decode(column: "id", as: User.ID.self)) }
        }
        return reachable
    }
}
