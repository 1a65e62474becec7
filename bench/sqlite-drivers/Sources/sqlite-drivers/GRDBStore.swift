import Foundation
import GRDB

/// GRDB 7.10.0, async API: a `DatabasePool` (WAL; GRDB sets synchronous=NORMAL itself), each
/// call one `write` (a transaction run on GRDB's writer queue), cached prepared statements.
final class GRDBStore: MessageStore {
    let pool: DatabasePool

    init(path: String) async throws {
        var config = Configuration()
        config.busyMode = .timeout(5)
        pool = try DatabasePool(path: path, configuration: config)
        try await pool.write { db in
            for ddl in Workload.schema { try db.execute(sql: ddl) }
        }
    }

    func settings() async throws -> String {
        try await pool.write { db in
            let j = try String.fetchOne(db, sql: "PRAGMA journal_mode")!
            let s = try Int.fetchOne(db, sql: "PRAGMA synchronous")!
            let v = try String.fetchOne(db, sql: "SELECT sqlite_version()")!
            return "journal_mode=\(j) synchronous=\(s) sqlite=\(v)"
        }
    }

    func insert(_ messages: [NewMessage]) async throws {
        try await pool.write { db in
            let upsert = try db.cachedStatement(sql: Workload.upsertSQL)
            let insert = try db.cachedStatement(sql: Workload.insertSQL)
            for m in messages {
                let seq = try Int64.fetchOne(upsert, arguments: [m.conversation])!
                let row = try Row.fetchOne(insert, arguments: [UUID().uuidString, m.conversation, seq, m.author, m.body, m.createdAt])!
                precondition(row["seq"] as Int64 == seq)
            }
        }
    }

    func close() async throws { try pool.close() }
}

/// Checks a finished database: the expected number of messages, and per conversation sequence
/// numbers 1…n without gaps or duplicates that agree with the counter row.
func verify(path: String, expected: Int) throws -> String? {
    let q = try DatabaseQueue(path: path)
    defer { try? q.close() }
    return try q.read { db in
        let n = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages")!
        if n != expected { return "\(n) messages, expected \(expected)" }
        let bad = try Int.fetchOne(db, sql: """
            SELECT COUNT(*) FROM (SELECT m.conversation_id, COUNT(*) AS n, MIN(seq) AS lo, MAX(seq) AS hi, c.last_seq
            FROM messages m JOIN conversations c ON c.id = m.conversation_id GROUP BY m.conversation_id)
            WHERE lo != 1 OR hi != n OR last_seq != n
            """)!
        return bad == 0 ? nil : "\(bad) conversations with gaps or a wrong counter"
    }
}
