import Foundation
import Logging

/// Everything `tack serve` can be told, from flags or `TACK_*` environment variables.
public struct TackConfiguration: Sendable {
    /// Address to listen on (`TACK_HOST`).
    public var host = "127.0.0.1"
    /// Port to listen on (`TACK_PORT`); 0 picks a free one.
    public var port = 8080
    /// Where the SQLite database and files live (`TACK_DATA_DIR`).
    public var dataDirectory = "./tack-data"
    /// `postgres://…` to use PostgreSQL instead of SQLite (`TACK_DATABASE_URL`).
    public var databaseURL: String?
    /// The web app's folder (`TACK_PUBLIC_DIR`); by default the `Public` folder of the source tree.
    public var publicDirectory: String?
    /// Largest request body in bytes (`TACK_MAX_BODY_BYTES`).
    public var maxBodyBytes = 8 * 1024 * 1024
    /// bcrypt cost (`TACK_BCRYPT_COST`).
    public var bcryptCost: UInt8 = 10
    /// Mark cookies Secure: set when Tack is served over HTTPS (`TACK_SECURE_COOKIES=1`).
    public var secureCookies = false
    /// SQLite `synchronous=FULL`, surviving power loss, not only crashes (`TACK_SQLITE_SYNC=full`).
    public var sqliteSynchronousFull = false
    /// Log level (`TACK_LOG_LEVEL`): trace, debug, info, notice, warning, error.
    public var logLevel: Logger.Level = .info
    /// Where attachments are stored (`TACK_ATTACHMENTS_DIR`); by default `attachments` in the data folder.
    public var attachmentsDirectory: String?
    /// Largest attachment in bytes (`TACK_MAX_ATTACHMENT_BYTES`).
    public var maxAttachmentBytes = 20 << 20
    /// Members a group may have (`TACK_GROUP_MAX_MEMBERS`, at most 10,000).
    public var groupMaxMembers = 1000
    /// Bytes of directory list answers kept in memory (`TACK_DIRECTORY_CACHE_MB`; 0 turns it off).
    public var directoryCacheBytes = 64 << 20
    /// Threads reading and writing connections (`TACK_EVENT_LOOPS`); nil: one per core. Fewer
    /// threads than cores leaves more of them to the handlers: on 2 cores one loop answers
    /// plain requests (the health surge, sends) 6–9 % faster, but a large group's WebSocket
    /// fan-out slows (docs/operations.md, docs/benchmarks.md).
    public var eventLoops: Int?
    /// API requests handled at once (`TACK_MAX_CONCURRENT_REQUESTS`); more wait in a queue.
    /// 0 turns admission control off.
    public var maxConcurrentRequests = 256
    /// API requests that may wait for their turn (`TACK_MAX_QUEUED_REQUESTS`); more are refused
    /// with 503 `overloaded` at once.
    public var maxQueuedRequests = 4096
    /// Seconds a request may wait for its turn before it is refused with 503 (`TACK_MAX_QUEUE_WAIT`).
    public var maxQueueWait: TimeInterval = 3
    /// Messages queued for one WebSocket before its client counts as too slow (closed with 4008).
    public var socketQueueLimit = 1024
    /// How long read receipts are gathered before the senders hear of them (tests lengthen it).
    public var receiptInterval: Duration = .milliseconds(250)
    /// Whether this node runs due jobs (`TACK_RUN_JOBS=0` turns it off, e.g. for a node that only
    /// answers requests; tests run jobs by hand).
    public var runJobs = true
    /// Jobs a node claims (and runs concurrently) at a time (`TACK_JOB_BATCH`).
    public var jobBatch = 128
    /// The Janus media server for live classes (`TACK_JANUS_DIR` or `TACK_JANUS_…`; nil: live
    /// classes run without video).
    public var janus: JanusSettings?
    /// The SMS and voice gateway (`TACK_GATEWAY_URL`, `TACK_GATEWAY_SECRET`; docs/gateway.md).
    public var gatewayURL: String?
    public var gatewaySecret: String?
    /// Seconds to wait for the gateway's answer (`TACK_GATEWAY_TIMEOUT`).
    public var gatewayTimeout: TimeInterval = 10
    /// Extra certificate authorities (a PEM file) trusted for SMTP servers (`TACK_SMTP_CA_FILE`),
    /// for a mail server with a private CA; the system's are trusted as well.
    public var smtpCAFile: String?
    /// Seconds to wait for an SMTP server's answer (`TACK_SMTP_TIMEOUT`).
    public var smtpTimeout: TimeInterval = 30
    /// A mention still unread this many seconds after it was sent is e-mailed to those who want
    /// it (`TACK_MENTION_EMAIL_DELAY`).
    public var mentionEmailDelay: TimeInterval = 600
    /// Days a live class's raw Janus recordings are kept once its replay is made
    /// (`TACK_LIVE_RECORDINGS_DAYS`; 0: deleted as soon as the replay is made).
    public var liveRecordingsDays: Int = 7
    /// Tack's address as others reach it (`TACK_PUBLIC_URL`), for the gateway's callbacks; by
    /// default http://HOST:PORT.
    public var publicURL: String?

    public init() {}

    /// Reads the `TACK_*` variables over the defaults.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> TackConfiguration {
        var c = TackConfiguration()
        if let v = environment["TACK_HOST"], !v.isEmpty { c.host = v }
        if let v = environment["TACK_PORT"], !v.isEmpty {
            guard let port = Int(v), (0...65535).contains(port) else { throw ConfigurationError("TACK_PORT must be a port number") }
            c.port = port
        }
        if let v = environment["TACK_DATA_DIR"], !v.isEmpty { c.dataDirectory = v }
        if let v = environment["TACK_DATABASE_URL"], !v.isEmpty { c.databaseURL = v }
        if let v = environment["TACK_PUBLIC_DIR"], !v.isEmpty { c.publicDirectory = v }
        if let v = environment["TACK_MAX_BODY_BYTES"], !v.isEmpty {
            guard let n = Int(v), n > 0 else { throw ConfigurationError("TACK_MAX_BODY_BYTES must be a positive number") }
            c.maxBodyBytes = n
        }
        if let v = environment["TACK_BCRYPT_COST"], !v.isEmpty {
            guard let n = UInt8(v), (4...31).contains(n) else { throw ConfigurationError("TACK_BCRYPT_COST must be 4 to 31") }
            c.bcryptCost = n
        }
        if let v = environment["TACK_ATTACHMENTS_DIR"], !v.isEmpty { c.attachmentsDirectory = v }
        if let v = environment["TACK_MAX_ATTACHMENT_BYTES"], !v.isEmpty {
            guard let n = Int(v), n > 0 else { throw ConfigurationError("TACK_MAX_ATTACHMENT_BYTES must be a positive number") }
            c.maxAttachmentBytes = n
        }
        if let v = environment["TACK_GROUP_MAX_MEMBERS"], !v.isEmpty {
            guard let n = Int(v), (2...10_000).contains(n) else { throw ConfigurationError("TACK_GROUP_MAX_MEMBERS must be 2 to 10000") }
            c.groupMaxMembers = n
        }
        if let v = environment["TACK_DIRECTORY_CACHE_MB"], !v.isEmpty {
            guard let n = Int(v), n >= 0 else { throw ConfigurationError("TACK_DIRECTORY_CACHE_MB must be 0 or more") }
            c.directoryCacheBytes = n << 20
        }
        if let v = environment["TACK_EVENT_LOOPS"], !v.isEmpty {
            guard let n = Int(v), (1...256).contains(n) else { throw ConfigurationError("TACK_EVENT_LOOPS must be 1 to 256") }
            c.eventLoops = n
        }
        if let v = environment["TACK_MAX_CONCURRENT_REQUESTS"], !v.isEmpty {
            guard let n = Int(v), (0...100_000).contains(n) else { throw ConfigurationError("TACK_MAX_CONCURRENT_REQUESTS must be 0 (off) to 100000") }
            c.maxConcurrentRequests = n
        }
        if let v = environment["TACK_MAX_QUEUED_REQUESTS"], !v.isEmpty {
            guard let n = Int(v), (0...1_000_000).contains(n) else { throw ConfigurationError("TACK_MAX_QUEUED_REQUESTS must be 0 to 1000000") }
            c.maxQueuedRequests = n
        }
        if let v = environment["TACK_MAX_QUEUE_WAIT"], !v.isEmpty {
            guard let n = Double(v), n > 0, n <= 60 else { throw ConfigurationError("TACK_MAX_QUEUE_WAIT must be more than 0 and at most 60 seconds") }
            c.maxQueueWait = n
        }
        if let v = environment["TACK_SECURE_COOKIES"] { c.secureCookies = ["1", "true", "yes"].contains(v.lowercased()) }
        c.janus = try JanusSettings.from(environment)
        if let v = environment["TACK_GATEWAY_URL"], !v.isEmpty {
            guard let url = URL(string: v), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw ConfigurationError("TACK_GATEWAY_URL must be an http:// or https:// URL")
            }
            c.gatewayURL = v
        }
        if let v = environment["TACK_GATEWAY_SECRET"], !v.isEmpty {
            guard v.utf8.count >= 16 else { throw ConfigurationError("TACK_GATEWAY_SECRET must be at least 16 characters") }
            c.gatewaySecret = v
        }
        if let v = environment["TACK_GATEWAY_TIMEOUT"], !v.isEmpty {
            guard let n = Double(v), n > 0, n <= 120 else { throw ConfigurationError("TACK_GATEWAY_TIMEOUT must be 0 to 120 seconds") }
            c.gatewayTimeout = n
        }
        if let v = environment["TACK_SMTP_CA_FILE"], !v.isEmpty {
            guard FileManager.default.isReadableFile(atPath: v) else { throw ConfigurationError("TACK_SMTP_CA_FILE \(v) cannot be read") }
            c.smtpCAFile = v
        }
        if let v = environment["TACK_SMTP_TIMEOUT"], !v.isEmpty {
            guard let n = Double(v), n > 0, n <= 300 else { throw ConfigurationError("TACK_SMTP_TIMEOUT must be 0 to 300 seconds") }
            c.smtpTimeout = n
        }
        if let v = environment["TACK_MENTION_EMAIL_DELAY"], !v.isEmpty {
            guard let n = Double(v), n >= 0, n <= 86_400 else { throw ConfigurationError("TACK_MENTION_EMAIL_DELAY must be 0 to 86400 seconds") }
            c.mentionEmailDelay = n
        }
        if let v = environment["TACK_LIVE_RECORDINGS_DAYS"], !v.isEmpty {
            guard let n = Int(v), (0...3650).contains(n) else { throw ConfigurationError("TACK_LIVE_RECORDINGS_DAYS must be 0 to 3650 days") }
            c.liveRecordingsDays = n
        }
        if let v = environment["TACK_PUBLIC_URL"], !v.isEmpty { c.publicURL = v.hasSuffix("/") ? String(v.dropLast()) : v }
        if let v = environment["TACK_JOB_BATCH"], !v.isEmpty {
            guard let n = Int(v), (1...1000).contains(n) else { throw ConfigurationError("TACK_JOB_BATCH must be 1 to 1000") }
            c.jobBatch = n
        }
        if let v = environment["TACK_RUN_JOBS"] { c.runJobs = !["0", "false", "no", "off"].contains(v.lowercased()) }
        if let v = environment["TACK_SQLITE_SYNC"] { c.sqliteSynchronousFull = v.lowercased() == "full" }
        if let v = environment["TACK_LOG_LEVEL"], !v.isEmpty {
            guard let level = Logger.Level(rawValue: v.lowercased()) else { throw ConfigurationError("TACK_LOG_LEVEL must be trace, debug, info, notice, warning or error") }
            c.logLevel = level
        }
        return c
    }

    /// The web app's folder to serve.
    var resolvedPublicDirectory: String {
        if let publicDirectory { return publicDirectory }
        if FileManager.default.fileExists(atPath: "Public/index.html") { return "Public" }
        // Sources/TackServer/Configuration.swift → the repository's Public folder.
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Public").path
    }

    var resolvedAttachmentsDirectory: String {
        attachmentsDirectory ?? URL(fileURLWithPath: dataDirectory).appendingPathComponent("attachments").path
    }

    /// Where the gateway posts delivery statuses.
    var gatewayCallbackURL: String { (publicURL ?? "http://\(host):\(port)") + "/api/v1/gateway/status" }

    /// Admission control's bounds, or nil when it is off (`TACK_MAX_CONCURRENT_REQUESTS=0`).
    var admissionOptions: AdmissionLimiter.Options? {
        guard maxConcurrentRequests > 0 else { return nil }
        return .init(maxConcurrent: maxConcurrentRequests, maxQueued: maxQueuedRequests,
                     maxWait: .milliseconds(Int64((maxQueueWait * 1000).rounded())))
    }

    /// The SQLite database file.
    var sqlitePath: String { URL(fileURLWithPath: dataDirectory).appendingPathComponent("tack.sqlite").path }
}
