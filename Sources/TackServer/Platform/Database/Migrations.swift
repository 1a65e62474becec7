import Foundation
import Logging
import SQLKit

/// One numbered, forward-only schema change, written once per dialect. Never edit a migration
/// that has been merged: add the next number instead.
struct Migration: Sendable {
    let version: Int
    let name: String
    let sqlite: String
    let postgres: String

    func sql(for engine: SQLEngine) -> String { engine == .sqlite ? sqlite : postgres }

    /// The statements of this migration, split at semicolons that end a line.
    func statements(for engine: SQLEngine) -> [String] {
        sql(for: engine).components(separatedBy: ";\n")
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty }
    }
}

/// Applies the migrations a database has not seen yet, each in its own transaction, recording
/// each in `schema_migrations`.
struct Migrator: Sendable {
    let database: Database
    let migrations: [Migration]
    let logger: Logger
    /// Opens once the schema is up to date: background services that use the database wait for it.
    let migrated = ReadyGate()

    /// Applies what is missing and returns the versions applied.
    @discardableResult
    func migrate() async throws -> [Int] {
        // Numbered in increasing order. A gap is allowed while two branches each add one (each
        // version is applied when missing, so the lower one merged later still runs).
        precondition(zip(migrations, migrations.dropFirst()).allSatisfy { $0.version < $1.version }, "migrations must be numbered in increasing order")
        let engine = database.engine
        try await database.write { db in
            try await db.raw(SQLQueryString(engine == .sqlite
                ? "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
                : "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
            )).run()
        }
        var applied: [Int] = []
        for migration in migrations {
            let didApply = try await database.write { db -> Bool in
                if engine == .postgres {
                    // Several nodes may start at once: one applies, the others wait and skip.
                    try await db.raw("SELECT pg_advisory_xact_lock(7420001)").run()
                }
                let done = try await db.select().column("version").from("schema_migrations")
                    .where("version", .equal, migration.version).first()
                if done != nil { return false }
                for statement in migration.statements(for: engine) {
                    try await db.raw(SQLQueryString(statement)).run()
                }
                try await db.insert(into: "schema_migrations")
                    .columns("version", "name", "applied_at")
                    .values(SQLBind(migration.version), SQLBind(migration.name), SQLBind(Date()))
                    .run()
                return true
            }
            if didApply {
                logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                applied.append(migration.version)
            }
        }
        migrated.open()
        return applied
    }

    /// The highest version applied.
    func currentVersion() async throws -> Int {
        try await database.read { db in
            try await db.raw("SELECT MAX(version) AS v FROM schema_migrations").first()?.decode(column: "v", as: Int?.self) ?? 0
        }
    }
}

extension String {
    /// DDL written once with type placeholders — `{ID}`, `{BOOL}`, `{TIME}`, `{DOUBLE}`, `{BIG}` —
    /// filled for one dialect.
    func dialect(id: String, bool: String, time: String, double: String, big: String) -> String {
        replacingOccurrences(of: "{ID}", with: id).replacingOccurrences(of: "{BOOL}", with: bool).replacingOccurrences(of: "{TIME}", with: time)
            .replacingOccurrences(of: "{DOUBLE}", with: double).replacingOccurrences(of: "{BIG}", with: big)
    }
}
