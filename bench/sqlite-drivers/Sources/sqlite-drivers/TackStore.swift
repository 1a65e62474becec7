import Foundation
import Logging
import SQLKit
@testable import TackServer

/// Tack's own adapter: `SQLiteDriver` (statements inline on the calling task, one writer
/// connection behind an async lock, prepared-statement cache), queries built with SQLKit as the
/// stores do.
final class TackStore: MessageStore {
    let driver: SQLiteDriver

    init(path: String) async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        driver = try SQLiteDriver(path: path, readers: 1, synchronousFull: false, logger: logger)
        try await driver.transaction { db in
            for ddl in Workload.schema { try await db.raw("\(unsafeRaw: ddl)").run() }
        }
    }

    func settings() async throws -> String {
        try await driver.transaction { db in
            let j = try await db.raw("PRAGMA journal_mode").first()!.decode(column: "journal_mode", as: String.self)
            let s = try await db.raw("PRAGMA synchronous").first()!.decode(column: "synchronous", as: Int.self)
            let v = try await db.raw("SELECT sqlite_version() AS v").first()!.decode(column: "v", as: String.self)
            return "journal_mode=\(j) synchronous=\(s) sqlite=\(v)"
        }
    }

    func insert(_ messages: [NewMessage]) async throws {
        try await driver.transaction { db in
            for m in messages {
                let seq = try await db.raw("""
                    INSERT INTO conversations (id, last_seq) VALUES (\(bind: m.conversation), 1) \
                    ON CONFLICT (id) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq
                    """).first()!.decode(column: "last_seq", as: Int64.self)
                let row = try await db.raw("""
                    INSERT INTO messages (id, conversation_id, seq, author_id, body, created_at) \
                    VALUES (\(bind: UUID().uuidString), \(bind: m.conversation), \(bind: seq), \(bind: m.author), \
                    \(bind: m.body), \(bind: m.createdAt)) RETURNING id, seq, created_at
                    """).first()!
                let stored = try row.decode(column: "seq", as: Int64.self)
                precondition(stored == seq)
            }
        }
    }

    func close() async throws {}
}
