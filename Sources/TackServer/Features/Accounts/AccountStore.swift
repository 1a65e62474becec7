import Foundation
import SQLKit

/// People and their sessions (`users`, `sessions`).
struct AccountStore: Sendable {
    static let userColumns = "u.id, u.name, u.email, u.phone, u.locale, u.password_hash, u.created_at"

    func insertUser(_ db: any SQLDatabase, _ user: User, passwordHash: String?) async throws {
        try await db.insert(into: "users")
            .columns("id", "name", "email", "phone", "locale", "password_hash", "created_at", "updated_at")
            .values(SQLBind(user.id), SQLBind(user.name), SQLBind(user.email), SQLBind(user.phone),
                    SQLBind(user.locale), SQLBind(passwordHash), SQLBind(user.createdAt), SQLBind(user.createdAt))
            .run()
    }

    /// A person and their password hash (nil if they never set a password).
    func fetchUser(_ db: any SQLDatabase, login: Login) async throws -> (User, passwordHash: String?)? {
        let column = login.email != nil ? "email" : "phone"
        let row = try await db.raw("SELECT \(unsafeRaw: Self.userColumns) FROM users u WHERE u.\(unsafeRaw: column) = \(bind: login.text)").first()
        return try row.map { (try Self.user($0), try $0.decode(column: "password_hash", as: String?.self)) }
    }

    func fetchUser(_ db: any SQLDatabase, id: User.ID) async throws -> (User, passwordHash: String?)? {
        let row = try await db.raw("SELECT \(unsafeRaw: Self.userColumns) FROM users u WHERE u.id = \(bind: id)").first()
        return try row.map { (try Self.user($0), try $0.decode(column: "password_hash", as: String?.self)) }
    }

    func updateUser(_ db: any SQLDatabase, id: User.ID, name: String?, locale: String?, now: Date) async throws {
        var update = db.update("users").set("updated_at", to: now)
        if let name { update = update.set("name", to: name) }
        if let locale { update = update.set("locale", to: locale) }
        try await update.where("id", .equal, id).run()
        if let name {
            // The directory orders and searches by this copy of the name.
            try await db.update("members").set("sort_name", to: name.lowercased()).where("user_id", .equal, id).run()
        }
    }

    func updatePasswordHash(_ db: any SQLDatabase, id: User.ID, hash: String, now: Date) async throws {
        try await db.update("users").set("password_hash", to: hash).set("updated_at", to: now).where("id", .equal, id).run()
    }

    /// Claims an imported account: sets the name and password of a person who had none.
    /// Returns false if someone set a password first.
    func claimUser(_ db: any SQLDatabase, id: User.ID, name: String, passwordHash: String, locale: String?, now: Date) async throws -> Bool {
        let rows = try await db.update("users")
            .set("password_hash", to: passwordHash).set("name", to: name).set("locale", to: locale).set("updated_at", to: now)
            .where("id", .equal, id).where("password_hash", .is, SQLLiteral.null)
            .returning("id").all()
        if !rows.isEmpty {
            try await db.update("members").set("sort_name", to: name.lowercased()).where("user_id", .equal, id).run()
        }
        return !rows.isEmpty
    }

    static func user(_ row: any SQLRow) throws -> User {
        User(
            id: try row.decode(column: "id", as: User.ID.self),
            name: try row.decode(column: "name", as: String.self),
            email: try row.decode(column: "email", as: String?.self),
            phone: try row.decode(column: "phone", as: String?.self),
            locale: try row.decode(column: "locale", as: String?.self),
            claimed: try row.decode(column: "password_hash", as: String?.self) != nil,
            createdAt: try row.decode(column: "created_at", as: Date.self))
    }

    // MARK: Sessions

    func insertSession(_ db: any SQLDatabase, _ session: Session, now: Date) async throws {
        try await db.insert(into: "sessions")
            .columns("token_hash", "user_id", "kind", "created_at", "expires_at", "last_seen_at")
            .values(SQLBind(session.tokenHash), SQLBind(session.userID), SQLBind(session.kind.rawValue),
                    SQLBind(now), SQLBind(session.expiresAt), SQLBind(now))
            .run()
    }

    func fetchSession(_ db: any SQLDatabase, tokenHash: String) async throws -> Session? {
        // Index: primary key.
        let row = try await db.select().columns("token_hash", "user_id", "kind", "expires_at").from("sessions")
            .where("token_hash", .equal, tokenHash).first()
        return try row.map {
            Session(
                tokenHash: try $0.decode(column: "token_hash", as: String.self),
                userID: try $0.decode(column: "user_id", as: User.ID.self),
                kind: SessionKind(rawValue: try $0.decode(column: "kind", as: String.self)) ?? .cookie,
                expiresAt: try $0.decode(column: "expires_at", as: Date.self))
        }
    }

    /// Slides a session's expiry forward.
    func extendSession(_ db: any SQLDatabase, tokenHash: String, expiresAt: Date, now: Date) async throws {
        try await db.update("sessions").set("expires_at", to: expiresAt).set("last_seen_at", to: now)
            .where("token_hash", .equal, tokenHash).run()
    }

    func deleteSession(_ db: any SQLDatabase, tokenHash: String) async throws {
        try await db.delete(from: "sessions").where("token_hash", .equal, tokenHash).run()
    }

    /// Ends every session of a person but `keeping` one; returns the hashes ended.
    func deleteSessions(_ db: any SQLDatabase, userID: User.ID, keeping: String?) async throws -> [String] {
        var delete = db.delete(from: "sessions").where("user_id", .equal, userID)
        if let keeping { delete = delete.where("token_hash", .notEqual, keeping) }
        return try await delete.returning("token_hash").all(decodingColumn: "token_hash", as: String.self)
    }

    /// Which of `tokenHashes` are sessions that still exist and have not expired.
    func fetchLiveSessionHashes(_ db: any SQLDatabase, among tokenHashes: [String], now: Date) async throws -> Set<String> {
        var live: Set<String> = []
        for chunk in tokenHashes.chunked(500) {
            let rows = try await db.select().column("token_hash").from("sessions")
                .where(SQLIdentifier("token_hash"), .in, SQLBind.group(Array(chunk))).where("expires_at", .greaterThan, now)
                .all(decodingColumn: "token_hash", as: String.self)
            live.formUnion(rows)
        }
        return live
    }

    func deleteExpiredSessions(_ db: any SQLDatabase, now: Date) async throws {
        try await db.delete(from: "sessions").where("expires_at", .lessThan, now).run()
    }
}
