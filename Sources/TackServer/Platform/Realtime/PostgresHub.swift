import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The hub of a node that shares a PostgreSQL database with other nodes: messages are delivered
/// to this node's connections at once (through its `LocalHub`) and sent to the other nodes with
/// `NOTIFY tack_hub`, whose listeners deliver them to theirs — so a DING sent by a job on one node
/// reaches the recipient's socket on another.
///
/// Messages leave in publish order: one sender task takes everything published since its last
/// send and notifies in one statement. A notification carries at most ~7,900 bytes (PostgreSQL
/// allows 8,000), so bigger batches are split and a single bigger message is sent in numbered
/// parts that the receivers put back together. Listening reconnects after a lost connection;
/// what was published meanwhile is not replayed to this node's sockets (clients resume
/// organisation events from their cursors when they reconnect).
final class PostgresHub: Hub, Service {
    static let channel = "tack_hub"
    /// Payload bytes per notification, under PostgreSQL's 8,000.
    static let maxPayload = 7_900

    let local: LocalHub
    private let client: PostgresClient
    private let logger: Logger
    /// This process, so that it ignores its own notifications.
    let nodeID = UUID().uuidString.lowercased().prefix(12)
    /// Published here, not yet sent to the other nodes.
    private let outgoing = Mutex<[HubMessage]>([])
    private let wake = WakeSignal()
    /// Parts of large messages from other nodes, by "node:message".
    private let parts = Mutex<[String: [Int: String]]>([:])
    /// Whether the listener is connected (tests wait for it).
    let listening = ReadyGate()

    init(local: LocalHub = LocalHub(), client: PostgresClient, logger: Logger) {
        self.local = local
        self.client = client
        self.logger = logger
    }

    // MARK: Hub

    func publish(_ messages: [HubMessage]) async {
        guard !messages.isEmpty else { return }
        await local.publish(messages)
        outgoing.withLock { $0 += messages }
        wake.signal()
    }

    func register(_ connection: RealtimeConnection, conversations: [Conversation.ID]) { local.register(connection, conversations: conversations) }
    func unregister(_ connection: RealtimeConnection) { local.unregister(connection) }
    func closeAll(code: UInt16, reason: String) { local.closeAll(code: code, reason: reason) }
    var connectionCount: Int { local.connectionCount }
    var sessionHashes: Set<String> { local.sessionHashes }
    var connections: [RealtimeConnection] { local.connections }

    /// Waits (at most 5 s) until this node listens for the other nodes' events: a socket greeted
    /// before that could miss what they publish.
    func receiving() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.listening.wait() }
            group.addTask { try? await Task.sleep(for: .seconds(5)) }
            await group.next()
            group.cancelAll()
        }
    }

    // MARK: Running

    func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { try? await cancelWhenGracefulShutdown { await self.send() } }
            group.addTask { try? await cancelWhenGracefulShutdown { await self.listen() } }
        }
    }

    /// Sends what was published, in order, batching whatever piled up during the last send.
    private func send() async {
        while !Task.isCancelled {
            await wake.wait(timeout: .seconds(60))
            while true {
                let pending = outgoing.withLock { o -> [HubMessage] in
                    defer { o = [] }
                    return o
                }
                if pending.isEmpty { break }
                var attempt = 0
                while true {
                    do {
                        try await notify(Self.payloads(for: pending, node: String(nodeID)))
                        break
                    } catch {
                        attempt += 1
                        logger.warning("sending events to the other nodes failed",
                                       metadata: ["error": "\(String(reflecting: error))", "attempt": "\(attempt)"])
                        if attempt >= 3 || Task.isCancelled { break }
                        try? await Task.sleep(for: .milliseconds(100 * attempt))
                    }
                }
            }
        }
    }

    private func notify(_ payloads: [String]) async throws {
        // Up to 16 notifications per statement (one round trip).
        for chunk in payloads.chunked(16) {
            var bindings = PostgresBindings(capacity: chunk.count)
            var sql = "SELECT "
            for (i, payload) in chunk.enumerated() {
                sql += (i == 0 ? "" : ", ") + "pg_notify('\(Self.channel)', $\(i + 1))"
                bindings.append(payload)
            }
            _ = try await client.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger).collect()
        }
    }

    private func listen() async {
        var delay: Duration = .milliseconds(100)
        while !Task.isCancelledOrShuttingDown {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.channel) { notifications in
                        self.listening.open()
                        delay = .milliseconds(100)
                        for try await notification in notifications {
                            await self.received(notification.payload)
                        }
                    }
                }
            } catch {
                if Task.isCancelledOrShuttingDown { return }
                logger.warning("listening for other nodes' events failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
    }

    // MARK: Wire format

    /// `<node> <kind> <body>`: kind `m` is a JSON array of messages; `p<message>.<index>.<count>`
    /// is one part of a large one.
    static func payloads(for messages: [HubMessage], node: String) -> [String] {
        var result: [String] = []
        var batch: [String] = []
        var size = 0
        func flush() {
            if !batch.isEmpty { result.append("\(node) m [\(batch.joined(separator: ","))]") }
            batch = []
            size = 0
        }
        for message in messages {
            let json = HubWire(message).json
            let limit = maxPayload - node.utf8.count - 8
            if json.utf8.count > limit {
                flush()
                let id = UUID().uuidString.prefix(8)
                // Base64 makes 4 characters of every 3 bytes.
                let chunks = Array(json.utf8).chunked((limit - 40) / 4 * 3)
                for (i, chunk) in chunks.enumerated() {
                    // Split on UTF-8 bytes; base64 keeps each part valid text.
                    result.append("\(node) p\(id).\(i).\(chunks.count) \(Data(chunk).base64EncodedString())")
                }
                continue
            }
            if size + json.utf8.count + 1 > limit { flush() }
            batch.append(json)
            size += json.utf8.count + 1
        }
        flush()
        return result
    }

    func received(_ payload: String) async {
        let fields = payload.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count == 3, fields[0] != nodeID else { return }
        let kind = fields[1], body = String(fields[2])
        var json: String?
        if kind == "m" {
            json = body
        } else if kind.hasPrefix("p") {
            let part = kind.dropFirst().split(separator: ".")
            guard part.count == 3, let index = Int(part[1]), let count = Int(part[2]), count > 0, count < 10_000 else { return }
            let key = "\(fields[0]):\(part[0])"
            json = parts.withLock { parts -> String? in
                parts[key, default: [:]][index] = body
                guard let got = parts[key], got.count == count else { return nil }
                parts[key] = nil
                var bytes = Data()
                for i in 0..<count {
                    guard let chunk = got[i].flatMap({ Data(base64Encoded: $0) }) else { return nil }
                    bytes.append(chunk)
                }
                return "[" + String(decoding: bytes, as: UTF8.self) + "]"
            }
        }
        guard let json else { return }
        do {
            let wires = try JSONDecoder().decode([HubWire].self, from: Data(json.utf8))
            await local.publish(wires.compactMap(\.message))
        } catch {
            logger.warning("an event from another node could not be read", metadata: ["error": "\(error)"])
        }
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool { Task.isCancelled || Task.isShuttingDownGracefully }
}

/// A `HubMessage` as it travels between nodes.
struct HubWire: Codable {
    /// "o" organisation, "a" its admins, "u" user, "s" session, "c" conversation.
    var to: String
    var id: String
    var seq: Int64?
    /// The event's JSON, or nil for a close.
    var event: String?
    var closeCode: UInt16?
    var closeReason: String?
    var member: Member?
    var conversations: [Conversation]?

    struct Member: Codable { var user: String; var org: String; var admin: Bool? }
    struct Conversation: Codable { var user: String; var conversation: String; var joined: Bool }

    init(_ message: HubMessage) {
        switch message.audience {
        case .organization(let o): (to, id) = ("o", o.string)
        case .organizationAdmins(let o): (to, id) = ("a", o.string)
        case .user(let u): (to, id) = ("u", u.string)
        case .session(let hash): (to, id) = ("s", hash)
        case .conversation(let c): (to, id) = ("c", c.string)
        }
        seq = message.seq
        switch message.payload {
        case .event(let json): event = json
        case .close(let code, let reason): (closeCode, closeReason) = (code, reason)
        }
        member = message.membershipChange.map { Member(user: $0.userID.string, org: $0.orgID.string, admin: $0.isAdmin) }
        conversations = message.conversationChanges.isEmpty ? nil
            : message.conversationChanges.map { Conversation(user: $0.userID.string, conversation: $0.conversationID.string, joined: $0.joined) }
    }

    var json: String { String(decoding: (try? JSONEncoder().encode(self)) ?? Data("{}".utf8), as: UTF8.self) }

    var message: HubMessage? {
        let audience: Audience
        switch to {
        case "o": guard let o = Organization.ID(string: id) else { return nil }; audience = .organization(o)
        case "a": guard let o = Organization.ID(string: id) else { return nil }; audience = .organizationAdmins(o)
        case "u": guard let u = User.ID(string: id) else { return nil }; audience = .user(u)
        case "s": audience = .session(tokenHash: id)
        case "c": guard let c = TackServer.Conversation.ID(string: id) else { return nil }; audience = .conversation(c)
        default: return nil
        }
        let payload: HubMessage.Payload
        if let event { payload = .event(json: event) } else { payload = .close(code: closeCode ?? 1000, reason: closeReason ?? "") }
        var change: MembershipChange?
        if let member {
            guard let user = User.ID(string: member.user), let org = Organization.ID(string: member.org) else { return nil }
            change = MembershipChange(userID: user, orgID: org, isAdmin: member.admin)
        }
        let changes = (conversations ?? []).compactMap { c -> ConversationChange? in
            guard let user = User.ID(string: c.user), let conversation = TackServer.Conversation.ID(string: c.conversation) else { return nil }
            return ConversationChange(userID: user, conversationID: conversation, joined: c.joined)
        }
        return HubMessage(audience: audience, seq: seq, payload: payload, membershipChange: change, conversationChanges: changes)
    }
}
