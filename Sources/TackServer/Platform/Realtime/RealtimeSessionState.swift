/// The lifecycle of one real-time connection as a plain state machine (no I/O), so that its
/// ordering rules are tested directly:
///
/// - It starts *holding*: live events are buffered until the client's `resume` has been answered
///   from the log, so a client never sees a live event before the older ones it missed.
/// - It then goes *live*: events pass straight through, except an organisation event whose
///   sequence number the client already got from the replay.
/// - A client that lets more than `limit` messages queue up is *overflowed* and gets closed.
struct RealtimeSessionState: Sendable {
    enum Mode: Sendable, Equatable { case holding, live, closed }

    /// What the connection must do with an offered message.
    enum Action: Sendable, Equatable {
        case drop
        case buffer
        case send(HubMessage.Payload)
        case overflow
    }

    let userID: User.ID
    let sessionHash: String
    /// The organisations the person belongs to, and whether they are an admin there.
    private(set) var memberships: [Organization.ID: Bool]
    private(set) var mode: Mode = .holding
    /// A `resume` is being answered from the log.
    private var resuming = false
    private var buffer: [HubMessage] = []
    /// The highest sequence number sent per organisation.
    private var sentSeq: [Organization.ID: Int64] = [:]
    let limit: Int

    init(userID: User.ID, sessionHash: String, memberships: [Organization.ID: Bool], limit: Int = 1024) {
        self.userID = userID
        self.sessionHash = sessionHash
        self.memberships = memberships
        self.limit = limit
    }

    /// Whether this connection is in the audience of `message` (after its membership change).
    func wants(_ message: HubMessage) -> Bool {
        switch message.audience {
        case .organization(let org): memberships[org] != nil
        case .organizationAdmins(let org): memberships[org] == true
        case .user(let user): user == userID
        case .session(let hash): hash == sessionHash
        // The hub routes a conversation's messages only to its members' connections.
        case .conversation: true
        }
    }

    /// Applies a membership change concerning this person.
    mutating func apply(_ change: MembershipChange) {
        guard change.userID == userID else { return }
        memberships[change.orgID] = change.isAdmin
    }

    /// Decides what to do with a message from the hub (whose membership change the hub has
    /// already applied).
    mutating func offer(_ message: HubMessage) -> Action {
        guard mode != .closed, wants(message) else { return .drop }
        if case .close = message.payload {
            mode = .closed
            return .send(message.payload)
        }
        switch mode {
        case .holding:
            if buffer.count >= limit {
                mode = .closed
                return .overflow
            }
            buffer.append(message)
            return .buffer
        case .live:
            return admit(message) ? .send(message.payload) : .drop
        case .closed:
            return .drop
        }
    }

    /// Records that an organisation event is being sent; false if the client already has it.
    private mutating func admit(_ message: HubMessage) -> Bool {
        guard let org = message.orgID, let seq = message.seq else { return true }
        if let sent = sentSeq[org], seq <= sent { return false }
        sentSeq[org] = seq
        return true
    }

    /// The client asked to resume: hold live events until the replay is done.
    mutating func beginResume() {
        if mode == .live { mode = .holding }
        resuming = true
    }

    /// The client did not ask to resume in time: go live with what was held.
    mutating func stopWaitingForResume() -> [HubMessage.Payload] {
        guard mode == .holding, !resuming else { return [] }
        return finishResume(replayedUpTo: [:])
    }

    /// Records the replayed events, leaves holding mode, and returns the held messages to send
    /// after the replay (those the replay did not already contain).
    mutating func finishResume(replayedUpTo: [Organization.ID: Int64]) -> [HubMessage.Payload] {
        guard mode == .holding else { return [] }
        resuming = false
        for (org, seq) in replayedUpTo where seq > (sentSeq[org] ?? -1) { sentSeq[org] = seq }
        mode = .live
        let held = buffer
        buffer = []
        return held.compactMap { admit($0) ? $0.payload : nil }
    }

    /// Whether the person may read `org`'s log, and as an admin.
    func access(to org: Organization.ID) -> (member: Bool, admin: Bool) {
        (memberships[org] != nil, memberships[org] == true)
    }
}
