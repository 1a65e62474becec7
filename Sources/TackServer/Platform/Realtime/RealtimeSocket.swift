import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import Metrics
import NIOWebSocket
import ServiceLifecycle

/// Authenticates a WebSocket upgrade: only signed-in people from this site get a socket. A
/// refused upgrade falls through to the HTTP router, which answers 401 or 426.
struct SocketAuthMiddleware: RouterMiddleware {
    typealias Context = SocketRequestContext
    let auth: AuthService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let (identity, viaCookie) = try? await AuthMiddleware.authenticate(request, auth: auth), let identity else {
            return Response(status: .unauthorized)
        }
        if viaCookie {
            // Browsers send cookies with cross-site WebSocket handshakes; only our own pages may use them.
            do { try AuthMiddleware.checkOrigin(request) } catch { return Response(status: .forbidden) }
        }
        var context = context
        context.identity = identity
        return try await next(request, context)
    }
}

/// Runs one client's WebSocket session: hello, resume from the log, then live events, with a
/// bounded send queue (see `docs/events.md`).
///
/// Memory per idle connection is what limits how many clients one server holds, and in Swift it
/// is mostly task stacks: so the session reads in the socket handler's own task, writes from a
/// task that exists only while something is queued, does its database work in short-lived child
/// tasks, and leaves pings and timeouts to one `RealtimeKeepalive` for all connections.
struct RealtimeSocket: Sendable {
    let hub: any Hub
    let database: Database
    let log: EventLogStore
    /// What a person's connection receives: their organisations (and whether they administer
    /// each) and their conversations.
    let subscriptions: @Sendable (User.ID) async throws -> RealtimeSubscriptions
    var queueLimit = 1024
    var replayLimit = 5000

    static let openConnections = Gauge(label: "tack_websocket_connections")

    func run(identity: Identity, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, logger: Logger) async throws {
        let subscribed = try await Task { try await subscriptions(identity.userID) }.value
        // "hello" promises the events of every node from now on.
        await hub.receiving()
        let connection = RealtimeConnection(
            state: RealtimeSessionState(userID: identity.userID, sessionHash: identity.sessionHash, memberships: subscribed.organizations,
                                        limit: queueLimit)
        ) { payload in
            switch payload {
            case .event(let json):
                try await outbound.write(.text(json))
            case .close(let code, let reason):
                if code == 4008 { logger.info("closing a WebSocket whose client does not keep up") }
                try await outbound.close(WebSocketErrorCode(codeNumber: Int(code)), reason: reason)
            }
        }
        hub.register(connection, conversations: subscribed.conversations)
        Self.openConnections.record(hub.connectionCount)
        defer {
            hub.unregister(connection)
            connection.finish()
            Self.openConnections.record(hub.connectionCount)
        }
        connection.send(.event(json: #"{"type":"hello","data":{"userId":"\#(identity.userID.string)","connectionId":"\#(UUIDText.format(UUID()))","pingInterval":\#(RealtimeKeepalive.pingInterval)}}"#))
        for try await message in inbound.messages(maxSize: 1 << 16) {
            connection.heard()
            guard case .text(let text) = message, let request = ClientMessage(text) else {
                try await outbound.close(WebSocketErrorCode(codeNumber: 4400), reason: "unknown message")
                return
            }
            switch request {
            case .ping: connection.send(.event(json: #"{"type":"pong"}"#))
            case .resume(let cursors): try await Task { try await resume(connection, cursors: cursors) }.value
            }
        }
    }

    /// Answers a `resume`: the events after each cursor from the log (or `resync`), then
    /// `resumed`, then the live events held meanwhile.
    private func resume(_ connection: RealtimeConnection, cursors: [String: Int64]) async throws {
        connection.beginResume()
        var replayed: [Organization.ID: Int64] = [:]
        for (key, cursor) in cursors {
            guard let org = Organization.ID(string: key), cursor >= 0 else { continue }
            let access = connection.access(to: org)
            guard access.member else { continue }
            let replay = try await database.read { db in
                try await log.fetchEvents(db, org: org, after: cursor, limit: replayLimit, isAdmin: access.admin)
            }
            switch replay {
            case .events(let events, let latest):
                for event in events { connection.send(.event(json: event.envelope)) }
                replayed[org] = max(latest, events.last?.seq ?? 0)
            case .resync(let latest):
                connection.send(.event(json: #"{"type":"resync","org":"\#(org.string)","data":{"latestSeq":\#(latest)}}"#))
                replayed[org] = latest
            }
        }
        let summary = replayed.map { #""\#($0.key.string)":\#($0.value)"# }.sorted().joined(separator: ",")
        connection.send(.event(json: #"{"type":"resumed","data":{"cursors":{\#(summary)}}}"#))
        connection.finishResume(replayedUpTo: replayed)
    }
}

/// What one person's connections receive.
struct RealtimeSubscriptions: Sendable {
    /// Organisations, and whether the person is an admin in each.
    var organizations: [Organization.ID: Bool]
    var conversations: [Conversation.ID]
}

/// What a client may send.
enum ClientMessage: Equatable {
    case ping
    case resume(cursors: [String: Int64])

    init?(_ text: String) {
        struct Envelope: Decodable {
            var type: String
            var cursors: [String: Int64]?
        }
        guard let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(text.utf8)) else { return nil }
        switch envelope.type {
        case "ping": self = .ping
        case "resume": self = .resume(cursors: envelope.cursors ?? [:])
        default: return nil
        }
    }
}

/// Keeps every connection of this node honest from one task: clients ping with
/// `{"type":"ping"}` every `pingInterval` seconds; a connection silent for 2.5 intervals is closed
/// with 4002, and one that never asked to resume gets live events after 10 seconds.
struct RealtimeKeepalive: Service {
    static let pingInterval = 30
    let hub: any Hub
    var tick: Duration = .seconds(5)
    var silenceLimit = Double(pingInterval) * 2.5
    var resumeWait = 10.0

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while true {
                try await Task.sleep(for: tick)
                sweepOnce()
            }
        }
    }

    func sweepOnce(now: UInt64 = DispatchTime.now().uptimeNanoseconds) {
        for connection in hub.connections {
            if connection.silence(now: now) > silenceLimit {
                connection.close(code: 4002, reason: "no ping")
            } else if now > connection.openedAt, Double(now - connection.openedAt) / 1e9 > resumeWait {
                connection.stopWaitingForResume()
            }
        }
    }
}
