@preconcurrency import AsyncKit
import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import SQLiteNIO

/// sqlite-kit 4.5.2 as STORAGE.md wires it: an AsyncKit pool of ONE connection (one event loop,
/// one connection per loop) serialises writers; its connection source wrapped to run the PRAGMAs;
/// statements run on NIO's thread pool (sqlite-nio), queries built with SQLKit.
final class KitStore: MessageStore, @unchecked Sendable {
    struct PragmaSource: ConnectionPoolSource {
        let base: SQLiteConnectionSource
        static let pragmas = ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL", "PRAGMA busy_timeout = 5000"]
        func makeConnection(logger: Logger, on eventLoop: any EventLoop) -> EventLoopFuture<SQLiteNIO.SQLiteConnection> {
            base.makeConnection(logger: logger, on: eventLoop).flatMap { conn in
                Self.pragmas.reduce(eventLoop.makeSucceededVoidFuture()) { f, p in
                    f.flatMap { conn.query(p).map { _ in } }
                }.map { conn }
            }
        }
    }

    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let pool: EventLoopGroupConnectionPool<PragmaSource>

    init(path: String) async throws {
        var logger = Logger(label: "bench.pool")
        logger.logLevel = .warning
        pool = EventLoopGroupConnectionPool(
            source: PragmaSource(base: SQLiteConnectionSource(configuration: .init(storage: .file(path: path)))),
            maxConnectionsPerEventLoop: 1, requestTimeout: .seconds(60), logger: logger, on: group)
        try await transaction { db in
            for ddl in Workload.schema { try await db.raw("\(unsafeRaw: ddl)").run() }
        }
    }

    private func transaction<R>(_ body: (any SQLDatabase) async throws -> R) async throws -> R {
        let conn = try await pool.requestConnection().get()
        defer { pool.releaseConnection(conn) }
        let db = conn.sql()
        try await db.raw("BEGIN IMMEDIATE").run()
        do {
            let r = try await body(db)
            try await db.raw("COMMIT").run()
            return r
        } catch {
            try? await db.raw("ROLLBACK").run()
            throw error
        }
    }

    func settings() async throws -> String {
        let conn = try await pool.requestConnection().get()
        defer { pool.releaseConnection(conn) }
        let db = conn.sql()
        let j = try await db.raw("PRAGMA journal_mode").first()!.decode(column: "journal_mode", as: String.self)
        let s = try await db.raw("PRAGMA synchronous").first()!.decode(column: "synchronous", as: Int.self)
        let v = try await db.raw("SELECT sqlite_version() AS v").first()!.decode(column: "v", as: String.self)
        return "journal_mode=\(j) synchronous=\(s) sqlite=\(v)"
    }

    func insert(_ messages: [NewMessage]) async throws {
        try await transaction { db in
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

    func close() async throws {
        try await pool.shutdownAsync()
        try await group.shutdownGracefully()
    }
}
