import Foundation
import SQLKit
import Testing
@testable import TackServer

/// The SQL layer itself, on both engines: value round trips, transactions, errors, migrations.
@Suite("Database")
struct DatabaseTests {
    @Test("values round-trip", arguments: Engine.all)
    func roundTrip(engine: Engine) async throws {
        try await withParts(engine) { parts, _ in
            let db = parts.database
            let user = User(id: .random(), name: "王小明 O'Brien", email: nil, phone: "+8613800000000", locale: "zh-CN",
                            claimed: false, createdAt: Date(timeIntervalSince1970: 1_800_000_000.25))
            try await db.write { tx in try await AccountStore().insertUser(tx, user, passwordHash: nil) }
            let (read, hash) = try #require(try await db.read { tx in try await AccountStore().fetchUser(tx, id: user.id) })
            #expect(hash == nil)
            #expect(read.id == user.id)
            #expect(read.name == user.name)
            #expect(read.email == nil)
            #expect(read.phone == user.phone)
            #expect(abs(read.createdAt.timeIntervalSince(user.createdAt)) < 0.001)
        }
    }

    @Test("PostgreSQL runs Tack's queries without parallel workers (many short queries at once: a parallel plan took the cores of the others)",
          arguments: Engine.all.filter { $0 == .postgres })
    func noParallelWorkers(engine: Engine) async throws {
        try await withParts(engine) { parts, _ in
            let setting = try await parts.database.read { db in
                try await db.raw("SHOW max_parallel_workers_per_gather").first(decodingColumn: "max_parallel_workers_per_gather", as: String.self)
            }
            #expect(setting == "0")
        }
    }

    @Test("a transaction that throws changes nothing", arguments: Engine.all)
    func rollback(engine: Engine) async throws {
        try await withParts(engine) { parts, _ in
            struct Boom: Error {}
            let user = User(id: .random(), name: "A", email: "a@example.com", phone: nil, locale: nil, claimed: true, createdAt: Date())
            await #expect(throws: Boom.self) {
                try await parts.database.write { tx in
                    try await AccountStore().insertUser(tx, user, passwordHash: "x")
                    throw Boom()
                }
            }
            let found = try await parts.database.read { tx in try await AccountStore().fetchUser(tx, id: user.id) }
            #expect(found == nil)
        }
    }

    @Test("unique violations are recognised on both engines", arguments: Engine.all)
    func uniqueViolation(engine: Engine) async throws {
        try await withParts(engine) { parts, _ in
            let a = User(id: .random(), name: "A", email: "same@example.com", phone: nil, locale: nil, claimed: true, createdAt: Date())
            var b = a
            b.id = .random()
            try await parts.database.write { tx in try await AccountStore().insertUser(tx, a, passwordHash: nil) }
            do {
                try await parts.database.write { tx in try await AccountStore().insertUser(tx, b, passwordHash: nil) }
                Issue.record("a duplicate e-mail address was accepted")
            } catch {
                #expect(DatabaseErrors.isUniqueViolation(error))
            }
        }
    }

    @Test("concurrent transactions never lose an update", arguments: Engine.all)
    func concurrentWrites(engine: Engine) async throws {
        try await withParts(engine) { parts, _ in
            let owner = User(id: .random(), name: "O", email: "o@example.com", phone: nil, locale: nil, claimed: true, createdAt: Date())
            let org = Organization(id: .random(), name: "Org", kind: .company, timeZone: "UTC", createdAt: Date(), memberCount: 0, eventSeq: 0)
            try await parts.database.write { tx in
                try await AccountStore().insertUser(tx, owner, passwordHash: nil)
                try await DirectoryStore().insertOrganization(tx, org, createdBy: owner.id)
            }
            let log = EventLogStore()
            let seqs = try await withThrowingTaskGroup(of: Int64.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        try await parts.database.write { tx in
                            try await log.append(tx, org: org.id, type: "test", adminsOnly: false, data: "{}", at: Date()).seq
                        }
                    }
                }
                return try await group.reduce(into: [Int64]()) { $0.append($1) }
            }
            #expect(seqs.sorted() == Array(1...40))
        }
    }

    @Test("migrations apply once and are recorded", arguments: Engine.all)
    func migrations(engine: Engine) async throws {
        try await withParts(engine) { parts, _ in
            let again = try await parts.migrator.migrate()
            let version = try await parts.migrator.currentVersion()
            #expect(again.isEmpty)
            #expect(version == Schema.migrations.last?.version)
        }
    }
}

/// Migrations that move data.
@Suite("Data migrations")
struct DataMigrationTests {
    @Test("14 keeps every health submission and stores them in key order (SQLite)")
    func healthSubmissionsClustered() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("migrate-\(UUID()).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let driver = try SQLiteDriver(path: path, readers: 1, logger: ScratchDatabase.logger)
        let database = Database(driver: driver)
        let before = Array(Schema.migrations.dropLast())
        #expect(Schema.migrations.last?.version == 14)
        try await Migrator(database: database, migrations: before, logger: ScratchDatabase.logger).migrate()
        // Two submissions as version 13 stored them (the rows they refer to are not needed here).
        try await driver.withWriter { writer in
            try writer.execute("PRAGMA foreign_keys = OFF")
            try writer.execute("""
                INSERT INTO health_submissions (org_id, report_id, day, user_id, answers, temperature, colour, revision, submitted_by, submitted_at)
                VALUES ('o', 'r', '2026-12-01', 'u2', '{"t":37.5}', 37.5, 'yellow', 2, 'u2', 1.5),
                       ('o', 'r', '2026-12-01', 'u1', NULL, NULL, 'green', 1, 'g', 2.5)
                """)
        }
        #expect(try await Migrator(database: database, migrations: Schema.migrations, logger: ScratchDatabase.logger).migrate() == [14])
        try await driver.withWriter { writer in try writer.execute("PRAGMA foreign_keys = ON") }
        let rows = try await database.read { db in
            try await db.raw("SELECT user_id, answers, temperature, colour, revision, submitted_by, submitted_at FROM health_submissions").all()
        }
        #expect(try rows.map { try $0.decode(column: "user_id", as: String.self) } == ["u1", "u2"], "in key order")
        #expect(try rows[1].decode(column: "answers", as: String?.self) == #"{"t":37.5}"#)
        #expect(try rows[1].decode(column: "temperature", as: Double?.self) == 37.5)
        #expect(try rows[1].decode(column: "colour", as: String.self) == "yellow")
        #expect(try rows[1].decode(column: "revision", as: Int.self) == 2)
        #expect(try rows[0].decode(column: "submitted_by", as: String.self) == "g")
        #expect(try rows[0].decode(column: "submitted_at", as: Double.self) == 2.5)
        let ddl = try await database.read { db in
            try await db.raw("SELECT sql FROM sqlite_master WHERE name = 'health_submissions'").first(decodingColumn: "sql", as: String.self)
        }
        #expect(ddl?.contains("WITHOUT ROWID") == true)
    }
}

/// What only the SQLite adapter does: its own value encoding and the writer/reader split.
@Suite("SQLite adapter")
struct SQLiteAdapterTests {
    @Test func encodesValuesAsDocumented() throws {
        let id = User.ID.random()
        #expect(try SQLiteValueEncoding.value(of: id) == .text(id.rawValue.uuidString))
        #expect(try SQLiteValueEncoding.value(of: true) == .integer(1))
        #expect(try SQLiteValueEncoding.value(of: Date(timeIntervalSince1970: 2.5)) == .real(2.5))
        #expect(try SQLiteValueEncoding.value(of: String?.none) == .null)
        #expect(try SQLiteValueEncoding.value(of: Role.admin) == .text("admin"))
        #expect(try SQLiteValueDecoding.decode(User.ID.self, from: .text(id.rawValue.uuidString.lowercased()), codingPath: []) == id)
        #expect(try SQLiteValueDecoding.decode(Int?.self, from: .null, codingPath: []) == nil)
        #expect(try SQLiteValueDecoding.decode(Bool.self, from: .integer(0), codingPath: []) == false)
        #expect(throws: DecodingError.self) { try SQLiteValueDecoding.decode(Int.self, from: .text("x"), codingPath: []) }
    }

    @Test func readersSeeCommittedWritesAndCannotWrite() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("adapter-\(UUID()).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let driver = try SQLiteDriver(path: path, readers: 2, logger: ScratchDatabase.logger)
        try await driver.transaction { db in
            try await db.raw("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)").run()
            try await db.raw("INSERT INTO t (v) VALUES (\(bind: "one"))").run()
        }
        let value = try await driver.read { db in try await db.raw("SELECT v FROM t").first(decodingColumn: "v", as: String.self) }
        #expect(value == "one")
        await #expect(throws: SQLiteError.self) {
            try await driver.read { db in try await db.raw("INSERT INTO t (v) VALUES ('two')").run() }
        }
        let mode = try await driver.read { db in try await db.raw("PRAGMA journal_mode").first(decodingColumn: "journal_mode", as: String.self) }
        #expect(mode == "wal")
        let checkpoint = try await driver.transaction { db in
            try await db.raw("PRAGMA wal_autocheckpoint").first(decodingColumn: "wal_autocheckpoint", as: Int.self)
        }
        #expect(checkpoint == 8000, "the writer checkpoints every 8,000 pages")
    }

    @Test("the checkpoint thread copies what the writer committed into the database file, and stops with the driver")
    func checkpointsBesideTheWriter() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("adapter-\(UUID()).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        var driver: SQLiteDriver? = try SQLiteDriver(path: path, readers: 1, logger: ScratchDatabase.logger)
        let checkpointer = try #require(driver?.checkpointer)
        try await driver?.transaction { db in try await db.raw("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)").run() }
        for i in 0..<20 {
            try await driver?.transaction { db in try await db.raw("INSERT INTO t (v) VALUES (\(bind: String(repeating: "x", count: 3000) + String(i)))").run() }
        }
        #expect(checkpointer.hasPendingCommits, "each commit asks for a checkpoint at the thread's next turn")
        let pass = try #require(await checkpointer.checkpointNow())
        #expect(pass.logFrames >= 20, "the log holds the commits")
        #expect(pass.checkpointed == pass.logFrames, "and all of it is copied, the writer idle")
        #expect(!checkpointer.hasPendingCommits)
        // What the log held is in the database file: a copy of the file alone (no log) has it.
        let copy = path + ".copy"
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        let alone = try SQLiteConnection(path: copy, readOnly: true, pragmas: [])
        var count = 0
        try alone.query("SELECT COUNT(*) AS n FROM t", []) { row in if case .integer(let n) = try row.value("n") { count = Int(n) } }
        #expect(count == 20)
        driver = nil
        #expect(await checkpointer.checkpointNow() == nil, "the thread ended with its driver")
    }
}
