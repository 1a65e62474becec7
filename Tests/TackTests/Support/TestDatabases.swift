import Foundation
import Logging
import PostgresNIO
import Testing
@testable import TackServer

/// The engines every store and service suite runs on. PostgreSQL joins when `scripts/test` (or
/// you) sets `TACK_TEST_POSTGRES_URL` to a server where the user may create databases; with
/// `TACK_TEST_REQUIRE_POSTGRES=1` its absence is a failure, not a quiet skip.
enum Engine: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    static var postgresURL: String? {
        ProcessInfo.processInfo.environment["TACK_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The engines available to this run.
    static var all: [Engine] {
        if postgresURL == nil, ProcessInfo.processInfo.environment["TACK_TEST_REQUIRE_POSTGRES"] == "1" {
            fatalError("TACK_TEST_REQUIRE_POSTGRES=1 but TACK_TEST_POSTGRES_URL is not set")
        }
        return postgresURL == nil ? [.sqlite] : [.sqlite, .postgres]
    }
}

/// A fresh, empty database for one test: a temporary SQLite file, or a new PostgreSQL database
/// dropped afterwards.
struct ScratchDatabase: Sendable {
    let configuration: TackConfiguration
    private let dropName: String?

    static let logger: Logger = {
        var logger = Logger(label: "tack-test")
        logger.logLevel = ProcessInfo.processInfo.environment["TACK_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        return logger
    }()

    static func make(_ engine: Engine) async throws -> ScratchDatabase {
        var configuration = TackConfiguration()
        configuration.bcryptCost = 4
        configuration.logLevel = .critical
        configuration.port = 0
        // Off unless a test turns it on: the suites run side by side on two cores, and a busy
        // moment of the test process is not an overloaded server to shed (AdmissionControlTests).
        configuration.maxConcurrentRequests = 0
        configuration.dataDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tack-test-\(UUID().uuidString)").path
        switch engine {
        case .sqlite:
            return ScratchDatabase(configuration: configuration, dropName: nil)
        case .postgres:
            let name = "tack_test_\(UUID().uuidString.prefix(8).lowercased())"
            try await admin("CREATE DATABASE \(name)")
            var components = URLComponents(string: Engine.postgresURL!)!
            components.path = "/" + name
            configuration.databaseURL = components.string
            return ScratchDatabase(configuration: configuration, dropName: name)
        }
    }

    func drop() async {
        if let dropName {
            try? await Self.admin("DROP DATABASE IF EXISTS \(dropName) WITH (FORCE)")
        } else {
            try? FileManager.default.removeItem(atPath: configuration.dataDirectory)
        }
    }

    /// Runs one statement on the PostgreSQL server's maintenance database.
    private static func admin(_ sql: String) async throws {
        let url = URLComponents(string: Engine.postgresURL!)!
        let connection = try await PostgresConnection.connect(
            configuration: .init(host: url.host ?? "127.0.0.1", port: url.port ?? 5432, username: url.user ?? "postgres",
                                 password: url.password, database: "postgres", tls: .disable),
            id: 1, logger: logger)
        defer { Task { try? await connection.close() } }
        _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
    }
}

/// Runs `body` with the database parts of Tack (migrated) on a scratch database of `engine`.
func withParts<R: Sendable>(
    _ engine: Engine, clock: WallClock = .live, configure: (inout TackConfiguration) -> Void = { _ in },
    _ body: @Sendable (TackServerParts, TackConfiguration) async throws -> R
) async throws -> R {
    let scratch = try await ScratchDatabase.make(engine)
    var configured = scratch.configuration
    configure(&configured)
    let configuration = configured
    let parts = try buildParts(configuration, clock: clock, logger: ScratchDatabase.logger)
    do {
        let result = try await Tack.withDatabaseServices(parts) {
            try await parts.migrator.migrate()
            return try await body(parts, configuration)
        }
        await scratch.drop()
        return result
    } catch {
        await scratch.drop()
        throw error
    }
}
