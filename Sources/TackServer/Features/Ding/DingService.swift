import Foundation
import Logging
import SQLKit

/// DING: urgent reminders that recipients confirm, delivered in-app and — by the sender's choice
/// or the organisation's escalation policy — by SMS and phone call.
///
/// Every delivery is a job on the durable queue (`ding.send` when a DING goes out, one
/// `ding.notify` per recipient and channel, `ding.escalate` when a step of the policy comes due),
/// so a scheduled DING fires once after restarts and every attempt is recorded with its outcome.
struct DingService: Sendable {
    static let sendKind = "ding.send"
    static let notifyKind = "ding.notify"
    static let escalateKind = "ding.escalate"
    /// "Remind again" at most this often.
    static let remindInterval: TimeInterval = 300
    static let maxRecipients = 1000
    static let maxText = 2000

    let transactor: Transactor
    let clock: WallClock
    let jobs: JobQueue
    let notifiers: Notifiers
    let logger: Logger
    let store = DingStore()
    let directory = DirectoryStore()
    let chat = ChatStore()
    let mailStore = MailStore()

    private var database: Database { transactor.database }
    var inApp: InAppNotifier { InAppNotifier(hub: transactor.hub) }

    struct NewDing: Sendable, Codable {
        var memberIDs: [Member.ID]
        var text: String
        var channel: DeliveryChannel
        var scheduledAt: Date?
        var source: Ding.Source?
    }

    enum Box: String, Sendable { case received, sent }

    // MARK: Sending

    func create(_ identity: Identity, _ orgID: Organization.ID, _ new: NewDing, idempotencyKey: String?) async throws -> DingView {
        let now = clock.now()
        guard [.app, .sms, .call].contains(new.channel) else {
            throw AppError.invalid("channel", "Choose app, sms or call.", code: "invalid_channel")
        }
        if new.channel != .app, let reason = notifiers.unavailableReason(new.channel) {
            throw AppError.invalid("channel", reason, code: "channel_unavailable")
        }
        let scheduledAt = try new.scheduledAt?.scheduledMinute(after: now)
        let members = Array(Set(new.memberIDs))
        guard !members.isEmpty else { throw AppError.invalid("memberIds", "Choose at least one recipient.", code: "empty") }
        guard members.count <= Self.maxRecipients else {
            throw AppError.invalid("memberIds", "A DING reaches at most \(Self.maxRecipients) people.", code: "too_many")
        }
        var text = new.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.count <= Self.maxText else { throw AppError.invalid("text", "At most \(Self.maxText) characters.", code: "too_long") }
        let fingerprint = String(decoding: try JSONEncoder.tack.encode(new), as: UTF8.self)
        let id = try await transactor.runIdempotent(scope: "ding:\(identity.userID.string)", key: idempotencyKey,
                                                    operation: "createDing", fingerprint: fingerprint) { db, outbox -> Ding.ID in
            let me = try await directory.accessMember(db, identity, orgID)
            var recipients: [User.ID] = []
            for memberID in members {
                guard let member = try await directory.fetchMember(db, orgID: orgID, id: memberID) else {
                    throw AppError.invalid("memberIds", "There is no such member in this organisation.", code: "unknown_member")
                }
                guard member.userID != identity.userID else {
                    throw AppError.invalid("memberIds", "A DING is for other people.", code: "self")
                }
                recipients.append(member.userID)
            }
            if let source = new.source {
                guard let (_, person) = try await chat.fetchParticipant(db, conversationID: source.conversationID, userID: identity.userID),
                      person.memberID != nil,
                      let message = try await chat.fetchMessage(db, orgID: orgID, conversationID: source.conversationID, seq: source.seq),
                      message.kind != .system, !message.recalled
                else { throw AppError.invalid("source", "There is no such message in your conversations.", code: "unknown_message") }
                if text.isEmpty { text = String((message.text ?? message.attachment?.name ?? "").prefix(Self.maxText)) }
            }
            guard !text.isEmpty else { throw AppError.invalid("text", "Say what the DING is about.", code: "empty") }
            return try await insert(db, outbox, orgID: orgID, sender: PersonRef(userID: identity.userID, memberID: me.id, name: me.name),
                                    text: text, channel: new.channel, scheduledAt: scheduledAt, source: new.source, announcementID: nil,
                                    recipients: recipients, now: now)
        }
        return try await view(identity, orgID, id)
    }

    /// Stores a DING and queues its `ding.send` job (now or at `scheduledAt`), in the caller's
    /// transaction: the create path of every DING, whether from the DING page or from another
    /// feature (an announcement's unconfirmed). The recipients are members of the organisation.
    func insert(_ db: any SQLDatabase, _ outbox: Outbox, orgID: Organization.ID, sender: PersonRef, text: String, channel: DeliveryChannel,
                scheduledAt: Date?, source: Ding.Source?, announcementID: Announcement.ID?, recipients: [User.ID], now: Date) async throws -> Ding.ID {
        let ding = Ding(id: .random(), orgID: orgID, sender: sender, text: text, channel: channel, scheduledAt: scheduledAt, sentAt: nil,
                        cancelledAt: nil, lastRemindedAt: nil, source: source, announcementID: announcementID, recipientCount: recipients.count,
                        confirmedCount: 0, createdAt: now)
        try await store.insert(db, ding, recipients: recipients)
        try await jobs.enqueue(db, outbox, kind: Self.sendKind, payload: DingJob(dingID: ding.id, orgID: orgID),
                               due: scheduledAt ?? now, orgID: orgID, dedupeKey: "ding:\(ding.id.string):send")
        return ding.id
    }

    /// Cancels a scheduled DING that has not gone out.
    func cancel(_ identity: Identity, _ orgID: Organization.ID, _ id: Ding.ID) async throws -> DingView {
        try await transactor.run { db, _ in
            let ding = try await ownDing(db, identity, orgID, id)
            guard ding.sentAt == nil else { throw AppError.conflict("already_sent", "This DING has gone out; it cannot be cancelled.") }
            _ = try await store.markCancelled(db, id: id, at: clock.now())
            try await jobs.cancel(db, dedupeKey: "ding:\(id.string):send")
        }
        return try await view(identity, orgID, id)
    }

    /// Reminds the recipients who have not confirmed, again on the DING's channels; at most once
    /// every 5 minutes (the first reminder may come at once).
    func remind(_ identity: Identity, _ orgID: Organization.ID, _ id: Ding.ID) async throws -> DingView {
        let now = clock.now()
        try await transactor.run { db, outbox in
            let ding = try await ownDing(db, identity, orgID, id)
            guard ding.sentAt != nil, ding.cancelledAt == nil else {
                throw AppError.conflict("not_sent", "This DING has not gone out yet.")
            }
            // The first reminder may follow the DING at once; the next ones wait 5 minutes each.
            // (A millisecond of slack: stored times are rounded.)
            if let last = ding.lastRemindedAt, now.timeIntervalSince(last) < Self.remindInterval - 0.001 {
                throw AppError.rateLimited(retryAfter: Int((Self.remindInterval - now.timeIntervalSince(last) - 0.001).rounded(.up)),
                                           "Remind again at most once every 5 minutes.")
            }
            let unconfirmed = try await store.fetchUnconfirmed(db, dingID: id)
            guard !unconfirmed.isEmpty else { throw AppError.conflict("all_confirmed", "Everyone has confirmed this DING.") }
            try await store.markReminded(db, id: id, at: now)
            for user in unconfirmed {
                for channel in Set([DeliveryChannel.app, ding.channel]) {
                    try await enqueueNotify(db, outbox, ding, user: user, channel: channel, reason: .reminder)
                }
            }
        }
        return try await view(identity, orgID, id)
    }

    // MARK: Receiving

    func confirm(_ identity: Identity, _ orgID: Organization.ID, _ id: Ding.ID) async throws -> DingView {
        let now = clock.now()
        try await transactor.run { db, outbox in
            _ = try await directory.accessMember(db, identity, orgID)
            guard let ding = try await store.fetch(db, orgID: orgID, id: id), ding.sentAt != nil, ding.cancelledAt == nil,
                  try await store.fetchRecipient(db, dingID: id, userID: identity.userID).isRecipient
            else { throw AppError.notFound("DING") }
            guard try await store.confirm(db, dingID: id, userID: identity.userID, at: now) else { return }
            let me = try await directory.fetchMember(db, orgID: orgID, userID: identity.userID)
            let event = DingConfirmedEvent(dingId: id.string, userId: identity.userID.string, memberId: me?.id.string, name: me?.name ?? "",
                                           confirmedAt: now, confirmedCount: ding.confirmedCount + 1, recipientCount: ding.recipientCount)
            let data = try EventJSON.encode(event)
            outbox.add(.personal(ding.sender.userID, type: DingEvent.confirmed, data: data))
            outbox.add(.personal(identity.userID, type: DingEvent.confirmed, data: data))
            if ding.confirmedCount + 1 >= ding.recipientCount {
                // Everyone confirmed: the escalation steps have nothing left to do.
                for channel in [DeliveryChannel.sms, .call] { try await jobs.cancel(db, dedupeKey: "ding:\(id.string):escalate:\(channel.rawValue)") }
            }
        }
        return try await view(identity, orgID, id)
    }

    // MARK: Reading

    func list(_ identity: Identity, _ orgID: Organization.ID, box: Box, unconfirmedOnly: Bool, limit: Int) async throws -> [DingView] {
        guard (1...200).contains(limit) else { throw AppError.invalidParameter("limit", "Must be between 1 and 200.") }
        return try await database.read { db in
            _ = try await directory.accessMember(db, identity, orgID)
            switch box {
            case .sent:
                return try await store.fetchSent(db, orgID: orgID, sender: identity.userID, limit: limit)
                    .map { DingView(ding: $0, myConfirmedAt: nil, isRecipient: false, recipients: nil) }
            case .received:
                return try await store.fetchReceived(db, orgID: orgID, userID: identity.userID, unconfirmedOnly: unconfirmedOnly, limit: limit)
                    .map { DingView(ding: $0.0, myConfirmedAt: $0.1, isRecipient: true, recipients: nil) }
            }
        }
    }

    /// A DING as its sender (every recipient and attempt) or a recipient (their confirmation) sees it.
    func view(_ identity: Identity, _ orgID: Organization.ID, _ id: Ding.ID) async throws -> DingView {
        try await database.read { db in
            _ = try await directory.accessMember(db, identity, orgID)
            return try await view(db, identity.userID, orgID, id)
        }
    }

    private func view(_ db: any SQLDatabase, _ viewer: User.ID, _ orgID: Organization.ID, _ id: Ding.ID) async throws -> DingView {
        guard let ding = try await store.fetch(db, orgID: orgID, id: id) else { throw AppError.notFound("DING") }
        let me = try await store.fetchRecipient(db, dingID: id, userID: viewer)
        if ding.sender.userID == viewer {
            let attempts = Dictionary(grouping: try await store.fetchAttempts(db, dingID: id), by: \.userID)
            let recipients = try await store.fetchRecipients(db, orgID: orgID, dingID: id).map { ($0, attempts[$0.person.userID] ?? []) }
            return DingView(ding: ding, myConfirmedAt: me.confirmedAt, isRecipient: me.isRecipient, recipients: recipients)
        }
        // Recipients see a DING once it has gone out.
        guard me.isRecipient, ding.sentAt != nil, ding.cancelledAt == nil else { throw AppError.notFound("DING") }
        return DingView(ding: ding, myConfirmedAt: me.confirmedAt, isRecipient: true, recipients: nil)
    }

    // MARK: Policy

    struct PolicyView: Sendable {
        var policy: DingPolicy
        /// Channel → why it cannot be used (nil: available).
        var providers: [(DeliveryChannel, String?)]
    }

    func policy(_ identity: Identity, _ orgID: Organization.ID) async throws -> PolicyView {
        let policy = try await database.read { db in
            _ = try await directory.accessMember(db, identity, orgID)
            return try await store.fetchPolicy(db, orgID: orgID)
        }
        return try await policyView(policy, orgID: orgID)
    }

    func setPolicy(_ identity: Identity, _ orgID: Organization.ID, _ policy: DingPolicy) async throws -> PolicyView {
        for (field, minutes) in [("smsAfterMinutes", policy.smsAfterMinutes), ("callAfterMinutes", policy.callAfterMinutes)] {
            if let minutes, !(1...1440).contains(minutes) {
                throw AppError.invalid(field, "Between 1 and 1440 minutes, or null for never.", code: "out_of_range")
            }
        }
        if let sms = policy.smsAfterMinutes, let call = policy.callAfterMinutes, call < sms {
            throw AppError.invalid("callAfterMinutes", "The call comes after the SMS.", code: "out_of_order")
        }
        guard (0...20).contains(policy.callsPer8Minutes) else {
            throw AppError.invalid("callsPer8Minutes", "Between 0 and 20.", code: "out_of_range")
        }
        guard (0...100).contains(policy.callsPerDay), policy.callsPerDay >= policy.callsPer8Minutes else {
            throw AppError.invalid("callsPerDay", "Between callsPer8Minutes and 100.", code: "out_of_range")
        }
        try await transactor.run { db, _ in
            let me = try await directory.accessMember(db, identity, orgID)
            guard me.role.isAdmin else { throw AppError.forbidden("Only owners and admins set the escalation policy.") }
            try await store.savePolicy(db, orgID: orgID, policy, now: clock.now())
        }
        return try await policyView(policy, orgID: orgID)
    }

    private func policyView(_ policy: DingPolicy, orgID: Organization.ID) async throws -> PolicyView {
        var providers: [(DeliveryChannel, String?)] = []
        for channel in [DeliveryChannel.app, .sms, .call, .email] {
            providers.append((channel, try await notifiers.unavailableReason(channel, orgID: orgID)))
        }
        return PolicyView(policy: policy, providers: providers)
    }

    // MARK: Gateway callbacks

    /// A delivery status from the SMS/voice gateway. An unanswered or failed call falls back to
    /// an SMS when the policy says so.
    func gatewayStatus(attemptID: DeliveryAttempt.ID, status: DeliveryAttempt.Status, detail: String?) async throws {
        let now = clock.now()
        try await transactor.run { db, outbox in
            guard let attempt = try await store.fetchAttempt(db, id: attemptID), attempt.channel == .sms || attempt.channel == .call else {
                throw AppError.notFound("Attempt")
            }
            guard [.delivered, .failed, .answered, .notAnswered].contains(status) else {
                throw AppError.invalid("status", "One of delivered, failed, answered, not_answered.", code: "invalid_status")
            }
            try await store.updateAttempt(db, id: attemptID, status: status, detail: detail, at: now)
            var updated = attempt
            updated.status = status
            updated.detail = detail
            updated.updatedAt = now
            let orgID = try await dingOrg(db, attempt.dingID)
            guard let ding = try await store.fetch(db, orgID: orgID, id: attempt.dingID) else { return }
            outbox.add(.personal(ding.sender.userID, type: DingEvent.attempt, data: try EventJSON.encode(updated.api(dingID: ding.id))))
            if attempt.channel == .call, status == .notAnswered || status == .failed,
               try await store.fetchPolicy(db, orgID: orgID).callFallbackSMS,
               try await store.fetchRecipient(db, dingID: ding.id, userID: attempt.userID).confirmedAt == nil {
                try await enqueueNotify(db, outbox, ding, user: attempt.userID, channel: .sms, reason: .fallback,
                                        dedupeKey: "ding:\(ding.id.string):\(attempt.userID.string):fallback:\(attempt.id.string)")
            }
        }
    }

    // MARK: Helpers


    private func ownDing(_ db: any SQLDatabase, _ identity: Identity, _ orgID: Organization.ID, _ id: Ding.ID) async throws -> Ding {
        _ = try await directory.accessMember(db, identity, orgID)
        guard let ding = try await store.fetch(db, orgID: orgID, id: id) else { throw AppError.notFound("DING") }
        guard ding.sender.userID == identity.userID else {
            if try await store.fetchRecipient(db, dingID: id, userID: identity.userID).isRecipient, ding.sentAt != nil {
                throw AppError.forbidden("Only the sender may do this.")
            }
            throw AppError.notFound("DING")
        }
        return ding
    }

    private func dingOrg(_ db: any SQLDatabase, _ id: Ding.ID) async throws -> Organization.ID {
        guard let row = try await db.select().column("org_id").from("dings").where("id", .equal, id).first() else {
            throw AppError.notFound("DING")
        }
        return try row.decode(column: "org_id", as: Organization.ID.self)
    }

    func enqueueNotify(_ db: any SQLDatabase, _ outbox: Outbox, _ ding: Ding, user: User.ID, channel: DeliveryChannel,
                       reason: DeliveryAttempt.Reason, dedupeKey: String? = nil) async throws {
        try await jobs.enqueue(db, outbox, kind: Self.notifyKind,
                               payload: NotifyJob(dingID: ding.id, orgID: ding.orgID, userID: user, channel: channel, reason: reason),
                               orgID: ding.orgID, dedupeKey: dedupeKey, maxAttempts: 5)
    }
}

/// Event types of DING (`docs/events.md`).
enum DingEvent {
    /// To a recipient: a DING for them (the DING as they see it).
    static let received = "ding.received"
    /// To the sender and the recipient: a recipient confirmed.
    static let confirmed = "ding.confirmed"
    /// To the sender: a delivery attempt was made or its outcome came in.
    static let attempt = "ding.attempt"
}

struct DingConfirmedEvent: Codable, Sendable {
    var dingId: String
    var userId: String
    var memberId: String?
    var name: String
    var confirmedAt: Date
    var confirmedCount: Int
    var recipientCount: Int
}

/// Payloads of DING's jobs.
struct DingJob: Codable, Sendable {
    var dingID: Ding.ID
    var orgID: Organization.ID
}

struct NotifyJob: Codable, Sendable {
    var dingID: Ding.ID
    var orgID: Organization.ID
    var userID: User.ID
    var channel: DeliveryChannel
    var reason: DeliveryAttempt.Reason
}

struct EscalateJob: Codable, Sendable {
    var dingID: Ding.ID
    var orgID: Organization.ID
    var channel: DeliveryChannel
}
