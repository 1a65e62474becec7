import Foundation
import AsyncHTTPClient
import Hummingbird
import HummingbirdWebSocket
import Logging
import Metrics
import NIOCore
import Synchronization
import NIOPosix
import OpenAPIHummingbird
import PostgresNIO
import Prometheus
import SQLKit
import ServiceLifecycle
import TackAPI

/// The running parts of Tack, wired from a configuration: database → stores → services →
/// routers. Tests build it with a test clock and run it in-process.
public struct TackServerParts: Sendable {
    public let database: Database
    public let hub: any Hub
    let auth: AuthService
    let directory: DirectoryService
    let invitations: InvitationService
    let chat: ChatService
    /// The durable job queue and this node's worker.
    let jobs: JobScheduler
    let ding: DingService
    let mail: MailService
    let announcements: AnnouncementService
    let health: HealthService
    let live: LiveService
    let migrator: Migrator
    /// Services to run alongside the HTTP server (the PostgreSQL pool, maintenance).
    let services: [any Service]
    /// Bounds the API requests handled at once (nil when admission control is off).
    let admission: AdmissionLimiter?
}

/// Prometheus metrics for the whole process (swift-metrics allows one bootstrap per process).
enum Observability {
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()
}

/// Opens the database and builds the services, without starting anything.
public func buildParts(_ configuration: TackConfiguration, clock: WallClock = .live, logger: Logger) throws -> TackServerParts {
    // Metrics objects bind to the factory that exists when they are first used: bootstrap first.
    _ = Observability.registry
    let driver: any DatabaseDriver
    var services: [any Service] = []
    let hub: any Hub
    // Every node's hub forgets the sessions that end, wherever they were ended.
    let sessions = SessionCache()
    if let url = configuration.databaseURL {
        let client = PostgresClient(configuration: try PostgresDriver.configuration(from: url), backgroundLogger: logger)
        services.append(client)
        driver = PostgresDriver(client: client, logger: logger)
        // Nodes sharing the database deliver each other's events.
        let shared = PostgresHub(local: LocalHub(sessionEnded: sessions.forget), client: client, logger: logger)
        services.append(shared)
        hub = shared
    } else {
        hub = LocalHub(sessionEnded: sessions.forget)
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        driver = try SQLiteDriver(path: configuration.sqlitePath, synchronousFull: configuration.sqliteSynchronousFull, logger: logger)
    }
    let database = Database(driver: MeasuredDriver(base: driver))
    let transactor = Transactor(database: database, hub: hub, clock: clock)
    let log = EventLogStore()
    let migrator = Migrator(database: database, migrations: Schema.migrations, logger: logger)
    let jobs = JobScheduler(transactor: transactor, clock: clock, options: .init(batch: configuration.jobBatch, singleNode: configuration.databaseURL == nil),
                            ready: migrator.migrated, logger: logger)
    let mail = MailService(transactor: transactor, clock: clock, jobs: jobs.queue,
                           smtp: SMTPClient(caFile: configuration.smtpCAFile, timeout: .milliseconds(Int64(configuration.smtpTimeout * 1000))),
                           publicURL: configuration.publicURL, mentionDelay: configuration.mentionEmailDelay, logger: logger)
    let chat = ChatService(
        transactor: transactor, clock: clock, files: FileStore(root: configuration.resolvedAttachmentsDirectory),
        limits: .init(groupMembers: configuration.groupMaxMembers, attachmentBytes: configuration.maxAttachmentBytes,
                      receiptInterval: configuration.receiptInterval), logger: logger,
        mentioned: { db, outbox, org, conversation, seq, users in
            try await mail.mentioned(db, outbox, orgID: org, conversationID: conversation, seq: seq, users: users)
        })
    let directory = DirectoryService(transactor: transactor, log: log, clock: clock,
                                     directoryChanged: { db, outbox, org, change in try await chat.followDirectory(db, outbox, org: org, change: change) })
    let auth = AuthService(transactor: transactor, hasher: PasswordHasher(cost: configuration.bcryptCost), clock: clock, sessions: sessions,
                           profileChanged: { db, outbox, user in try await directory.announceProfileChange(db, outbox, user) })
    let invitations = InvitationService(directory: directory, clock: clock)
    let gateway = { (channel: DeliveryChannel) in
        GatewayNotifier(channel: channel, url: configuration.gatewayURL, secret: configuration.gatewaySecret,
                        callbackURL: configuration.gatewayCallbackURL, client: HTTPClient.shared,
                        timeout: .milliseconds(Int64(configuration.gatewayTimeout * 1000)))
    }
    let notifiers = Notifiers(providers: [.app: InAppNotifier(hub: hub), .sms: gateway(.sms), .call: gateway(.call), .email: mail.notifier])
    let ding = DingService(transactor: transactor, clock: clock, jobs: jobs.queue, notifiers: notifiers, logger: logger)
    let announcementNotifier = AnnouncementNotifier(database: database, hub: hub, logger: logger)
    let announcements = AnnouncementService(
        transactor: transactor, clock: clock, jobs: jobs.queue, files: FileStore(root: configuration.resolvedAttachmentsDirectory), ding: ding,
        notifier: announcementNotifier, attachmentBytes: configuration.maxAttachmentBytes,
        published: { db, outbox, org, announcement, recipients in
            try await mail.announced(db, outbox, orgID: org, announcement: announcement.id, recipients: recipients)
        })
    let health = HealthService(transactor: transactor, clock: clock, jobs: jobs.queue,
                               files: FileStore(root: configuration.resolvedAttachmentsDirectory), ding: ding,
                               photoBytes: min(configuration.maxAttachmentBytes, 10 << 20), logger: logger)
    let live = LiveService(transactor: transactor, clock: clock, messages: chat,
                           media: configuration.janus.map { JanusControl(settings: $0, client: HTTPClient.shared) }, jobs: jobs.queue,
                           replayDirectory: URL(fileURLWithPath: configuration.dataDirectory).appendingPathComponent("live", isDirectory: true),
                           recordingsKeptFor: TimeInterval(configuration.liveRecordingsDays) * 86_400, logger: logger)
    let handlers: [[any JobHandler]] = [ding.jobHandlers, mail.jobHandlers, announcements.jobHandlers, health.jobHandlers, live.jobHandlers()]
    for handler in handlers.joined() { jobs.register(handler) }
    services.append(MaintenanceService(database: database, auth: auth, log: log, clock: clock, logger: logger))
    services.append(SocketSessionSweeper(hub: hub, auth: auth, logger: logger))
    services.append(RealtimeKeepalive(hub: hub))
    services.append(chat.receipts)
    services.append(announcementNotifier)
    if configuration.runJobs { services.append(jobs) }
    let admission = configuration.admissionOptions.map { options in
        let delay = SchedulingDelay()
        services.append(delay)
        return AdmissionLimiter(options, schedulingDelay: delay)
    }
    return TackServerParts(database: database, hub: hub, auth: auth, directory: directory, invitations: invitations, chat: chat, jobs: jobs, ding: ding,
                           mail: mail, announcements: announcements, health: health, live: live, migrator: migrator, services: services,
                           admission: admission)
}

/// Builds the HTTP application: the OpenAPI handlers behind the platform middleware, the web
/// app's files, and the WebSocket channel.
public func buildApplication(_ configuration: TackConfiguration, parts: TackServerParts, logger: Logger,
                             onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) throws -> some ApplicationProtocol {
    let router = Router(context: AppRequestContext.self)
    // Live classes' pages talk to the media server's WebSocket directly.
    let mediaSources = configuration.janus.flatMap { SecurityPolicy.source(of: $0.webSocketURL) }.map { [$0] } ?? []
    router.add(middleware: SecurityHeadersMiddleware(secureCookies: configuration.secureCookies, connectSources: mediaSources))
    router.add(middleware: LogRequestsMiddleware(.info))
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: ProblemMiddleware())
    let spec = TackAPIResources.specURL.flatMap { try? String(contentsOf: $0, encoding: .utf8) } ?? ""
    router.add(middleware: MethodNotAllowedMiddleware(table: APIRouteTable(spec: spec)))
    router.add(middleware: FileMiddleware(configuration.resolvedPublicDirectory, cacheControl: .init([(MediaType(type: .any), [.noCache])]),
                                          searchForIndexHtml: true, logger: logger))
    // Admission control before any work a request causes: reading its body, the session lookup
    // of AuthMiddleware, the handler. After ProblemMiddleware, which renders its 503.
    if let admission = parts.admission { router.add(middleware: AdmissionControlMiddleware(limiter: admission)) }
    router.add(middleware: BodyLimitMiddleware(limit: configuration.maxBodyBytes, attachmentLimit: configuration.maxAttachmentBytes))
    router.add(middleware: NulCharacterGuard(limit: configuration.maxBodyBytes))
    router.add(middleware: AuthMiddleware(auth: parts.auth, secureCookies: configuration.secureCookies))
    router.add(middleware: DirectoryReadCache(store: DirectoryResponseStore(budget: configuration.directoryCacheBytes), database: parts.database))
    router.get("/openapi.yaml") { _, _ -> Response in
        guard let url = TackAPIResources.specURL, let data = FileManager.default.contents(atPath: url.path) else {
            throw AppError.notFound("OpenAPI document")
        }
        return Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
    let handler = APIHandler(auth: parts.auth, directory: parts.directory, invitations: parts.invitations, chat: parts.chat,
                             ding: parts.ding, mail: parts.mail, announcements: parts.announcements, health: parts.health, live: parts.live,
                             gatewaySecret: configuration.gatewaySecret,
                             database: parts.database, prometheus: Observability.registry,
                             secureCookies: configuration.secureCookies)
    try handler.registerHandlers(on: router, configuration: .init(dateTranscoder: FastDateTranscoder(), jsonEncodingOptions: []))

    let socket = RealtimeSocket(hub: parts.hub, database: parts.database, log: EventLogStore(),
                                subscriptions: { [directory = parts.directory, chat = parts.chat] user in
                                    RealtimeSubscriptions(organizations: try await directory.membershipRoles(user),
                                                          conversations: try await chat.conversationIDs(user))
                                },
                                queueLimit: configuration.socketQueueLimit)
    RealtimeSocket.openConnections.record(parts.hub.connectionCount)
    let socketRouter = Router(context: SocketRequestContext.self)
    socketRouter.add(middleware: SocketAuthMiddleware(auth: parts.auth))
    socketRouter.ws("/api/v1/events") { inbound, outbound, context in
        guard let identity = context.requestContext.identity else { return }
        try await socket.run(identity: identity, inbound: inbound, outbound: outbound, logger: context.logger)
    }

    var app = Application(
        router: router,
        server: .http1WebSocketUpgrade(
            webSocketRouter: socketRouter,
            // Pings are the clients' job, watched by RealtimeKeepalive: no ping task per socket.
            configuration: .init(ws: .init(maxFrameSize: 1 << 16, autoPing: .disabled))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        services: parts.services,
        onServerRunning: onServerRunning,
        eventLoopGroupProvider: configuration.eventLoops.map { .shared(EventLoops.group(threads: $0)) } ?? .singleton,
        logger: logger)
    let migrator = parts.migrator
    app.beforeServerStarts { try await migrator.migrate() }
    return app
}

/// Closes every WebSocket with 1001 ("going away") when the server is asked to stop, before the
/// HTTP server drains.
struct RealtimeShutdownService: Service {
    let hub: any Hub

    func run() async throws {
        try? await gracefulShutdown()
        hub.closeAll(code: 1001, reason: "server shutting down")
    }
}

/// Periodic clean-up: expired sessions, idempotency keys and old events.
struct MaintenanceService: Service {
    let database: Database
    let auth: AuthService
    let log: EventLogStore
    let clock: WallClock
    let logger: Logger
    var interval: Duration = .seconds(3600)

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            // Wait one interval first: migrations run as the server starts.
            while true {
                try await Task.sleep(for: interval)
                await runOnce()
            }
        }
    }

    func runOnce() async {
            do {
                try await auth.deleteExpiredSessions()
                let now = clock.now()
                try await database.write { db in
                    try await IdempotencyStore().deleteExpired(db, now: now)
                    try await log.deleteExpired(db, now: now)
                    try await JobStore().deleteFinished(db, before: now.addingTimeInterval(-7 * 86_400))
                }
            } catch {
                logger.error("maintenance failed", metadata: ["error": "\(error)"])
            }
    }
}

/// Closes WebSockets whose session ended somewhere this node did not see — another node, or
/// `tack admin reset-password` run as its own process — once a minute, with one query per 500
/// sessions. (Sessions ended through this node close their sockets at once via the hub.)
struct SocketSessionSweeper: Service {
    let hub: any Hub
    let auth: AuthService
    let logger: Logger
    var interval: Duration = .seconds(60)

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while true {
                try await Task.sleep(for: interval)
                await sweepOnce()
            }
        }
    }

    func sweepOnce() async {
        do {
            let ended = try await auth.endedSessions(among: hub.sessionHashes)
            if !ended.isEmpty { await hub.publish(HubMessage.endSessions(Array(ended))) }
        } catch {
            logger.error("checking the sessions of open sockets failed", metadata: ["error": "\(error)"])
        }
    }
}

/// Records how long database work waits and runs (`tack_db_*` metrics).
struct MeasuredDriver: DatabaseDriver {
    let base: any DatabaseDriver
    var engine: SQLEngine { base.engine }
    private static let reads = Timer(label: "tack_db_read_seconds")
    private static let writes = Timer(label: "tack_db_transaction_seconds")
    private static let failures = Counter(label: "tack_db_transaction_failures_total")

    func read<R>(_ body: (any SQLDatabase) async throws -> R) async throws -> R {
        let start = ContinuousClock.now
        defer { Self.reads.recordInterval(since: start) }
        return try await base.read(body)
    }

    func transaction<R>(_ body: (any SQLDatabase) async throws -> R) async throws -> R {
        let start = ContinuousClock.now
        defer { Self.writes.recordInterval(since: start) }
        do { return try await base.transaction(body) } catch {
            Self.failures.increment()
            throw error
        }
    }

    func ping() async throws { try await base.ping() }
}

extension Timer {
    func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        recordNanoseconds(Int64(elapsed.components.seconds) * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}

/// Event loop groups of a set size (`TACK_EVENT_LOOPS`), made once per size and kept for the
/// life of the process, like NIO's singleton group of one loop per core.
enum EventLoops {
    private static let groups = Mutex<[Int: MultiThreadedEventLoopGroup]>([:])

    static func group(threads: Int) -> MultiThreadedEventLoopGroup {
        groups.withLock { groups in
            if let group = groups[threads] { return group }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
            groups[threads] = group
            return group
        }
    }
}
