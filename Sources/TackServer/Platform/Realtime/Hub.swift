import DequeModule
import Dispatch
import Foundation
import Synchronization

/// Delivers events to connected clients. Services publish only through a `Hub`, and only after
/// their transaction committed. `LocalHub` serves one node's connections; `PostgresHub` also
/// carries messages between nodes that share a PostgreSQL database.
public protocol Hub: Sendable {
    /// Delivers messages, in order, to every connection in their audience.
    func publish(_ messages: [HubMessage]) async
    /// Registers a connection and the conversations whose messages it receives.
    func register(_ connection: RealtimeConnection, conversations: [Conversation.ID])
    func unregister(_ connection: RealtimeConnection)
    /// Closes every connection (server shutdown).
    func closeAll(code: UInt16, reason: String)
    /// Open connections on this node.
    var connectionCount: Int { get }
    /// The sessions that have open connections on this node.
    var sessionHashes: Set<String> { get }
    /// This node's open connections.
    var connections: [RealtimeConnection] { get }
    /// Returns once events from other nodes arrive here (at once for a hub of one node).
    func receiving() async
}

extension Hub {
    public func receiving() async {}
}

/// Routes messages to this node's connections, indexed by person, organisation and session so a
/// message touches only the connections in its audience.
public final class LocalHub: Hub {
    private struct Registry: ~Copyable {
        var all: [ObjectIdentifier: RealtimeConnection] = [:]
        var byUser: [User.ID: [ObjectIdentifier: RealtimeConnection]] = [:]
        var byOrg: [Organization.ID: [ObjectIdentifier: RealtimeConnection]] = [:]
        var byConversation: [Conversation.ID: [ObjectIdentifier: RealtimeConnection]] = [:]
        var conversationsOf: [ObjectIdentifier: Set<Conversation.ID>] = [:]
    }
    private let registry = Mutex(Registry())
    /// Told of every session whose end this hub delivers, from this node or another (the
    /// session cache forgets it).
    private let sessionEnded: @Sendable (String) -> Void

    public init(sessionEnded: @escaping @Sendable (String) -> Void = { _ in }) {
        self.sessionEnded = sessionEnded
    }

    public var connectionCount: Int { registry.withLock { $0.all.count } }

    public var sessionHashes: Set<String> { registry.withLock { Set($0.all.values.map(\.sessionHash)) } }

    public var connections: [RealtimeConnection] { registry.withLock { Array($0.all.values) } }

    public func register(_ connection: RealtimeConnection, conversations: [Conversation.ID]) {
        let key = ObjectIdentifier(connection)
        registry.withLock { r in
            r.all[key] = connection
            r.byUser[connection.userID, default: [:]][key] = connection
            for org in connection.organizations { r.byOrg[org, default: [:]][key] = connection }
            if !conversations.isEmpty {
                r.conversationsOf[key] = Set(conversations)
                for c in conversations { r.byConversation[c, default: [:]][key] = connection }
            }
        }
    }

    public func unregister(_ connection: RealtimeConnection) {
        let key = ObjectIdentifier(connection)
        registry.withLock { r in
            r.all[key] = nil
            r.byUser[connection.userID]?[key] = nil
            if r.byUser[connection.userID]?.isEmpty == true { r.byUser[connection.userID] = nil }
            for org in connection.organizations {
                r.byOrg[org]?[key] = nil
                if r.byOrg[org]?.isEmpty == true { r.byOrg[org] = nil }
            }
            for c in r.conversationsOf.removeValue(forKey: key) ?? [] {
                r.byConversation[c]?[key] = nil
                if r.byConversation[c]?.isEmpty == true { r.byConversation[c] = nil }
            }
        }
    }

    public func publish(_ messages: [HubMessage]) async {
        for message in messages { deliver(message) }
    }

    private func deliver(_ message: HubMessage) {
        if case .session(let hash) = message.audience, case .close = message.payload { sessionEnded(hash) }
        let targets: [RealtimeConnection] = registry.withLock { r in
            if let change = message.membershipChange {
                // Start or stop routing the organisation's events to the person's connections.
                for (key, connection) in r.byUser[change.userID] ?? [:] {
                    connection.apply(change)
                    if change.isAdmin == nil {
                        r.byOrg[change.orgID]?[key] = nil
                    } else {
                        r.byOrg[change.orgID, default: [:]][key] = connection
                    }
                }
            }
            for change in message.conversationChanges {
                for (key, connection) in r.byUser[change.userID] ?? [:] {
                    if change.joined {
                        r.byConversation[change.conversationID, default: [:]][key] = connection
                        r.conversationsOf[key, default: []].insert(change.conversationID)
                    } else {
                        r.byConversation[change.conversationID]?[key] = nil
                        if r.byConversation[change.conversationID]?.isEmpty == true { r.byConversation[change.conversationID] = nil }
                        r.conversationsOf[key]?.remove(change.conversationID)
                    }
                }
            }
            switch message.audience {
            case .conversation(let conversation):
                return Array((r.byConversation[conversation] ?? [:]).values)
            case .organization(let org), .organizationAdmins(let org):
                var targets = Array((r.byOrg[org] ?? [:]).values)
                // A person who just left still gets the change applied to their connection state.
                if let change = message.membershipChange, change.isAdmin == nil {
                    targets += (r.byUser[change.userID] ?? [:]).values
                }
                return targets
            case .user(let user):
                return Array((r.byUser[user] ?? [:]).values)
            case .session(let hash):
                return r.all.values.filter { $0.sessionHash == hash }
            }
        }
        for connection in targets { connection.offer(message) }
    }

    public func closeAll(code: UInt16, reason: String) {
        let all = registry.withLock { Array($0.all.values) }
        for connection in all { connection.close(code: code, reason: reason) }
    }
}

/// One client's WebSocket as the hub sees it: its `RealtimeSessionState` and a bounded queue of
/// outgoing payloads.
///
/// An idle connection owns no task of its own beyond the socket's handler: a writer task is
/// started when something is queued and ends when the queue is empty, so 20,000 idle clients do
/// not keep 20,000 writer tasks (and their stacks) alive.
public final class RealtimeConnection: Sendable {
    let userID: User.ID
    let sessionHash: String
    private let state: Mutex<RealtimeSessionState>
    private let queue: Mutex<SendQueue>
    private let sink: @Sendable (HubMessage.Payload) async throws -> Void
    /// When the client last sent anything (`DispatchTime` nanoseconds).
    private let lastHeard: Atomic<UInt64>
    let openedAt: UInt64
    /// Payloads queued for a client before it counts as too slow.
    private let limit: Int

    private struct SendQueue {
        var items = Deque<HubMessage.Payload>()
        var writing = false
        /// A close is queued (or the socket is gone): nothing more is accepted.
        var finished = false
        var overflowed = false
    }

    /// - Parameter sink: writes one payload to the socket, in order; called by one task at a time.
    init(state: RealtimeSessionState, sink: @escaping @Sendable (HubMessage.Payload) async throws -> Void) {
        userID = state.userID
        sessionHash = state.sessionHash
        limit = state.limit
        self.state = Mutex(state)
        queue = Mutex(SendQueue())
        self.sink = sink
        let now = DispatchTime.now().uptimeNanoseconds
        openedAt = now
        lastHeard = Atomic(now)
    }

    /// The organisations whose events this connection receives.
    var organizations: [Organization.ID] { state.withLock { Array($0.memberships.keys) } }

    /// Whether the client fell too far behind and was closed with 4008.
    var didOverflow: Bool { queue.withLock { $0.overflowed } }

    /// Offers a message from the hub; never blocks.
    func offer(_ message: HubMessage) {
        state.withLock { s in
            switch s.offer(message) {
            case .drop, .buffer: break
            case .send(let payload): enqueue(payload)
            case .overflow: enqueue(.close(code: 4008, reason: "send queue overflow"))
            }
        }
    }

    /// Sends a message of the connection's own (hello, replay, resumed) ahead of held events.
    func send(_ payload: HubMessage.Payload) {
        enqueue(payload)
    }

    func beginResume() { state.withLock { $0.beginResume() } }

    func finishResume(replayedUpTo: [Organization.ID: Int64]) {
        state.withLock { s in
            for payload in s.finishResume(replayedUpTo: replayedUpTo) { enqueue(payload) }
        }
    }

    func apply(_ change: MembershipChange) { state.withLock { $0.apply(change) } }

    func stopWaitingForResume() {
        state.withLock { s in
            for payload in s.stopWaitingForResume() { enqueue(payload) }
        }
    }

    func access(to org: Organization.ID) -> (member: Bool, admin: Bool) { state.withLock { $0.access(to: org) } }

    func close(code: UInt16, reason: String) {
        enqueue(.close(code: code, reason: reason))
    }

    /// Records that the client sent something.
    func heard() { lastHeard.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed) }

    /// Seconds since the client last sent anything.
    func silence(now: UInt64 = DispatchTime.now().uptimeNanoseconds) -> Double {
        // The client may be heard after `now` was read (during a sweep): that is no silence.
        let heard = lastHeard.load(ordering: .relaxed)
        return heard >= now ? 0 : Double(now - heard) / 1e9
    }

    /// The socket is gone: drop what is queued and accept nothing more.
    func finish() {
        queue.withLock { q in
            q.items.removeAll()
            q.finished = true
        }
    }

    private func enqueue(_ payload: HubMessage.Payload) {
        let startWriter = queue.withLock { q -> Bool in
            guard !q.finished else { return false }
            if case .close = payload {
                q.finished = true
                q.items.append(payload)
            } else if q.items.count >= limit {
                // The client does not read: close it instead of growing memory.
                q.overflowed = true
                q.finished = true
                q.items.append(.close(code: 4008, reason: "send queue overflow"))
            } else {
                q.items.append(payload)
            }
            if q.writing { return false }
            q.writing = true
            return true
        }
        if startWriter { Task { await self.drain() } }
    }

    private func drain() async {
        while true {
            let next = queue.withLock { q -> HubMessage.Payload? in
                if let first = q.items.popFirst() { return first }
                q.writing = false
                return nil
            }
            guard let next else { return }
            do {
                try await sink(next)
            } catch {
                queue.withLock { q in
                    q.items.removeAll()
                    q.finished = true
                    q.writing = false
                }
                return
            }
        }
    }
}
