import Foundation
import Logging
import PostgresKit
import PostgresNIO
import SQLKit

/// The SQL engine behind a `Database`.
public enum SQLEngine: String, Sendable {
    case sqlite
    case postgres
}

/// What both engines provide: reads, write transactions, a liveness check.
protocol DatabaseDriver: Sendable {
    var engine: SQLEngine { get }
    func read<R>(_ body: (any SQLDatabase) async throws -> R) async throws -> R
    func transaction<R>(_ body: (any SQLDatabase) async throws -> R) async throws -> R
    func ping() async throws
}

/// The application's database. Stores receive the `SQLDatabase` of the current read or
/// transaction and are written once for both engines; a dialect difference is a branch on `engine`.
public struct Database: Sendable {
    let driver: any DatabaseDriver

    /// Which engine this is, for the few statements that differ.
    public var engine: SQLEngine { driver.engine }

    /// Runs `body` with a connection for reading. On SQLite that is one of the read-only
    /// connections, so reads never wait for the writer.
    public func read<R>(_ body: (any SQLDatabase) async throws -> R) async throws -> R {
        try await driver.read(body)
    }

    /// Runs `body` in one write transaction: committed if it returns, rolled back if it throws.
    /// On PostgreSQL a transaction that loses a deadlock or serialization race is retried (up to
    /// three times), so `body` must only touch the database.
    public func write<R>(_ body: (any SQLDatabase) async throws -> R) async throws -> R {
        try await driver.transaction(body)
    }

    /// Fails if the database cannot answer a trivial query.
    public func ping() async throws { try await driver.ping() }
}

/// Errors from either engine, classified for the stores.
enum DatabaseErrors {
    /// Whether `error` is a UNIQUE / PRIMARY KEY violation.
    static func isUniqueViolation(_ error: any Error) -> Bool {
        if let e = error as? SQLiteError { return e.isUniqueViolation }
        if let e = error as? PSQLError { return e.serverInfo?[.sqlState] == "23505" }
        return false
    }

    /// Whether PostgreSQL refused text it cannot store (a NUL character, an invalid byte sequence).
    static func isInvalidText(_ error: any Error) -> Bool {
        guard let e = error as? PSQLError, let state = e.serverInfo?[.sqlState] else { return false }
        return state == "22021" || state == "22P05"
    }

    /// Whether a PostgreSQL transaction failed only because of a concurrent one and may be retried.
    static func isRetryable(_ error: any Error) -> Bool {
        guard let e = error as? PSQLError, let state = e.serverInfo?[.sqlState] else { return false }
        return state == "40001" || state == "40P01"
    }
}

// MARK: - SQLite

/// SQLite in WAL mode: one writer connection handed to one transaction at a time, and a few
/// read-only connections that read concurrently with it.
final class SQLiteDriver: DatabaseDriver {
    var engine: SQLEngine { .sqlite }
    private let writer: SQLiteConnection
    private let writerLock = AsyncLock()
    private let readers: AsyncPool<SQLiteConnection>
    /// Copies the log into the database file beside the writer.
    let checkpointer: SQLiteCheckpointer
    private let logger: Logger

    /// - Parameters:
    ///   - path: the database file.
    ///   - synchronousFull: `synchronous=FULL` (survives power loss) instead of `NORMAL` (survives
    ///     a crash of the process, which is what `kill -9` tests; a power cut may lose the last
    ///     transactions).
    init(path: String, readers readerCount: Int = 4, synchronousFull: Bool = false, logger: Logger) throws {
        self.logger = logger
        let common = ["PRAGMA busy_timeout = 5000", "PRAGMA foreign_keys = ON"]
        let synchronous = "PRAGMA synchronous = \(synchronousFull ? "FULL" : "NORMAL")"
        writer = try SQLiteConnection(path: path, readOnly: false, pragmas: common + [
            "PRAGMA journal_mode = WAL",
            synchronous,
            "PRAGMA temp_store = MEMORY",
            // The writer keeps the hot pages of every index (a morning's reports, cards) in its
            // cache instead of reading them back for each batch.
            "PRAGMA cache_size = -65536",
            "PRAGMA mmap_size = 268435456",
            // Checkpoint every 8,000 pages (32 MiB of log) instead of 1,000: a page rewritten by
            // many commits (an index's inner pages, a busy conversation's leaf) is copied into the
            // database once per checkpoint, and checkpoints' flushes are fewer. Persisted sends
            // 2,210 → 2,550/s (docs/benchmarks.md). The pause this would cost the writer is
            // mostly taken off it by `checkpointer`, which copies the log as it grows.
            "PRAGMA wal_autocheckpoint = 8000",
        ])
        checkpointer = SQLiteCheckpointer(connection: try SQLiteConnection(path: path, readOnly: false, pragmas: common + [synchronous]))
        readers = AsyncPool(try (0..<max(1, readerCount)).map { _ in
            try SQLiteConnection(path: path, readOnly: true, pragmas: common + [
                "PRAGMA query_only = 1", "PRAGMA cache_size = -16384", "PRAGMA mmap_size = 268435456",
            ])
        })
    }

    deinit { checkpointer.stop() }

    func read<R>(_ body: (any SQLDatabase) async throws -> R) async throws -> R {
        try await readers.withResource { connection in
            try await body(SQLiteSQLDatabase(connection: connection, logger: logger))
        }
    }

    func transaction<R>(_ body: (any SQLDatabase) async throws -> R) async throws -> R {
        try await writerLock.withLock {
            // IMMEDIATE takes the write lock up front: no upgrade deadlocks with readers.
            try writer.execute("BEGIN IMMEDIATE")
            do {
                let result = try await body(SQLiteSQLDatabase(connection: writer, logger: logger))
                try writer.execute("COMMIT")
                checkpointer.committed()
                return result
            } catch {
                if writer.inTransaction { try? writer.execute("ROLLBACK") }
                throw error
            }
        }
    }

    /// Runs `body` on the writer outside a transaction (migrations manage their own).
    func withWriter<R>(_ body: (SQLiteConnection) async throws -> R) async throws -> R {
        try await writerLock.withLock { try await body(writer) }
    }

    func ping() async throws {
        try await read { db in _ = try await db.raw("SELECT 1 AS one").all() }
    }
}

// MARK: - PostgreSQL

/// PostgreSQL through postgres-nio's `PostgresClient` pool; `client.run()` must be running (it is
/// a service of the application's service group) before the first query.
final class PostgresDriver: DatabaseDriver {
    var engine: SQLEngine { .postgres }
    let client: PostgresClient
    private let logger: Logger

    init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Parses `postgres://user:password@host:port/database?sslmode=disable|prefer|require`.
    static func configuration(from url: String) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url),
              components.scheme == "postgres" || components.scheme == "postgresql",
              let host = components.host, !host.isEmpty
        else { throw ConfigurationError("TACK_DATABASE_URL must look like postgres://user:password@host:5432/database") }
        let database = components.path.split(separator: "/").first.map(String.init)
        let sslmode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        let tls: PostgresClient.Configuration.TLS
        switch sslmode {
        case "disable": tls = .disable
        case "require": tls = .require(.makeClientConfiguration())
        default: tls = .prefer(.makeClientConfiguration())
        }
        var config = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432,
            username: components.user ?? "postgres", password: components.password,
            database: database, tls: tls)
        config.options.maximumConnections = 16
        config.options.minimumConnections = 2
        // No parallel workers for Tack's queries: they are many, short and concurrent, and a
        // parallel plan takes cores from the requests running beside it. Measured on the health
        // dashboard's day count (45,000 members, bench/health-surge): PostgreSQL chose a parallel
        // scan of the whole submissions table, 164–172 ms, against 92 ms for the index plan it
        // picks without workers.
        config.options.additionalStartupParameters = [("max_parallel_workers_per_gather", "0")]
        return config
    }

    func read<R>(_ body: (any SQLDatabase) async throws -> R) async throws -> R {
        try await client.withConnection { connection in
            try await body(PostgresSQLDatabase(connection: connection, logger: logger))
        }
    }

    func transaction<R>(_ body: (any SQLDatabase) async throws -> R) async throws -> R {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await client.withConnection { connection in
                    try await connection.query("BEGIN", logger: logger)
                    do {
                        let result = try await body(PostgresSQLDatabase(connection: connection, logger: logger))
                        try await connection.query("COMMIT", logger: logger)
                        return result
                    } catch {
                        _ = try? await connection.query("ROLLBACK", logger: logger)
                        throw error
                    }
                }
            } catch where attempt < 3 && DatabaseErrors.isRetryable(error) {
                logger.debug("retrying transaction", metadata: ["attempt": "\(attempt)"])
            }
        }
    }

    func ping() async throws {
        try await client.withConnection { connection in _ = try await connection.query("SELECT 1", logger: logger) }
    }
}

/// A configuration value that cannot be used.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
