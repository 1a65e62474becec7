import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// Entry points of the `tack` command, kept here so the executable is only argument parsing.
public enum Tack {
    /// Bootstraps logging once per process: one line per message with key=value metadata.
    public static func makeLogger(level: Logger.Level) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "tack")
        logger.logLevel = level
        return logger
    }

    /// Runs the server until SIGTERM or SIGINT; then closes WebSockets with 1001, stops accepting,
    /// finishes requests in flight and exits. `allocator` names the memory allocator the
    /// executable links (logged at start).
    public static func serve(_ configuration: TackConfiguration, allocator: String = "the C library's malloc") async throws {
        let logger = makeLogger(level: configuration.logLevel)
        raiseOpenFileLimit(logger: logger)
        let parts = try buildParts(configuration, logger: logger)
        let engine = configuration.databaseURL == nil ? "SQLite at \(configuration.sqlitePath)" : "PostgreSQL"
        let app = try buildApplication(configuration, parts: parts, logger: logger) { channel in
            let address = channel.localAddress
            let host = address?.ipAddress ?? configuration.host
            let port = address?.port ?? configuration.port
            let shown = host.contains(":") ? "[\(host)]" : host
            logger.notice("Tack is running", metadata: ["database": "\(engine)", "allocator": "\(allocator)"])
            // The line people look for, on standard output.
            FileHandle.standardOutput.write(Data("Tack is running at http://\(shown):\(port)/ (\(engine)). Press Ctrl-C to stop.\n".utf8))
        }
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: app), .init(service: RealtimeShutdownService(hub: parts.hub))],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }

    /// Applies missing migrations and reports the schema version.
    public static func migrate(_ configuration: TackConfiguration) async throws {
        let logger = makeLogger(level: configuration.logLevel)
        let parts = try buildParts(configuration, logger: logger)
        try await withDatabaseServices(parts) {
            let applied = try await parts.migrator.migrate()
            let version = try await parts.migrator.currentVersion()
            print(applied.isEmpty ? "The database is up to date (schema version \(version))."
                                  : "Applied migrations \(applied.map(String.init).joined(separator: ", ")); schema version \(version).")
        }
    }

    /// Sets a new password for a person and signs them out everywhere.
    public static func resetPassword(_ configuration: TackConfiguration, login: String, password: String) async throws {
        let logger = makeLogger(level: configuration.logLevel)
        let parts = try buildParts(configuration, logger: logger)
        try await withDatabaseServices(parts) {
            try await parts.migrator.migrate()
            let user = try await parts.auth.resetPassword(login: login, to: password)
            // Running servers are not told (this process is not on their hub): each trusts a
            // session it has read for `SessionCache.lifetime`. Wait that out, so that when the
            // command returns no server accepts the old sessions.
            try await Task.sleep(for: .seconds(parts.auth.sessions.lifetime))
            print("The password of \(user.name) (\(user.email ?? user.phone ?? login)) was changed; they were signed out everywhere.")
        }
    }

    /// Converts a live class's recording folder (the `.mjr` files Janus wrote for its room) into
    /// one WebM at `output`, as the server's `live.replay` job does; nil if the folder holds no
    /// recording with media.
    public static func convertReplay(recordings: String, output: String) async throws -> ReplayFile? {
        try await JanusRecordingConverter().convert(URL(fileURLWithPath: recordings, isDirectory: true), to: URL(fileURLWithPath: output))
    }

    /// Runs `body` while the database's own services (the PostgreSQL pool) run.
    static func withDatabaseServices<R: Sendable>(_ parts: TackServerParts, _ body: @Sendable () async throws -> R) async throws -> R {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in parts.services where !(service is MaintenanceService || service is JobScheduler) {
                group.addTask { try await service.run() }
            }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    /// Idle WebSockets each hold a file descriptor: lift the soft limit to the hard one.
    static func raiseOpenFileLimit(logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 { logger.warning("could not raise the open file limit") }
    }
}
