import Foundation
import Tagged

/// How a DING reaches someone. In-app always; SMS and calls through the gateway; e-mail over SMTP.
enum DeliveryChannel: String, Sendable, Codable, CaseIterable, Comparable {
    case app, sms, call, email

    /// Escalation order: app < sms < call.
    private var rank: Int { [.app: 0, .email: 0, .sms: 1, .call: 2][self]! }
    static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }
}

/// An urgent reminder that its recipients must confirm.
struct Ding: Sendable, Equatable {
    typealias ID = Tagged<Ding, UUID>
    struct Source: Sendable, Equatable, Codable {
        var conversationID: Conversation.ID
        var seq: Int64
    }

    var id: ID
    var orgID: Organization.ID
    var sender: PersonRef
    var text: String
    /// The channel chosen by the sender: in-app always, plus SMS or a call.
    var channel: DeliveryChannel
    var scheduledAt: Date?
    var sentAt: Date?
    var cancelledAt: Date?
    var lastRemindedAt: Date?
    var source: Source?
    /// The announcement this DING reminds about (its unconfirmed or unread recipients).
    var announcementID: Announcement.ID?
    var recipientCount: Int
    var confirmedCount: Int
    var createdAt: Date
}

/// One recipient of a DING and whether they confirmed.
struct DingRecipient: Sendable, Equatable {
    var person: PersonRef
    var confirmedAt: Date?
}

/// One try at reaching one recipient on one channel, and what came of it.
struct DeliveryAttempt: Sendable, Equatable {
    typealias ID = Tagged<DeliveryAttempt, UUID>
    enum Status: String, Sendable, Codable {
        /// Handed to the provider (the gateway accepted it); the outcome follows by callback.
        case sent
        /// Shown in the app, or reported delivered by the gateway.
        case delivered
        /// A call that was answered.
        case answered
        /// A call that rang out.
        case notAnswered = "not_answered"
        case failed
        /// Not tried: the provider is not configured, no phone number, or a limit was reached.
        case skipped
        /// Being tried (or retried after a temporary failure).
        case pending
    }
    /// Why the attempt was made.
    enum Reason: String, Sendable, Codable {
        case initial, escalation, reminder, fallback
    }

    var id: ID
    var dingID: Ding.ID
    var userID: User.ID
    var channel: DeliveryChannel
    var reason: Reason
    var status: Status
    var detail: String?
    var createdAt: Date
    var updatedAt: Date
}

/// An organisation's escalation policy and per-recipient call limits.
struct DingPolicy: Sendable, Equatable, Codable {
    /// Unconfirmed this many minutes after sending → SMS (nil: never).
    var smsAfterMinutes: Int?
    /// Unconfirmed this many minutes after sending → a phone call (nil: never).
    var callAfterMinutes: Int?
    /// A call that was not answered (or failed) is followed by an SMS.
    var callFallbackSMS: Bool
    /// Calls to one person: at most this many in 8 minutes…
    var callsPer8Minutes: Int
    /// …and this many in 24 hours.
    var callsPerDay: Int

    static let standard = DingPolicy(smsAfterMinutes: nil, callAfterMinutes: nil, callFallbackSMS: true, callsPer8Minutes: 3, callsPerDay: 8)
}

/// A DING with what its viewer may see: the sender sees every recipient and attempt; a
/// recipient sees their own confirmation.
struct DingView: Sendable {
    var ding: Ding
    /// The viewer's own confirmation, if they are a recipient.
    var myConfirmedAt: Date?
    var isRecipient: Bool
    /// For the sender: everyone, with their attempts.
    var recipients: [(DingRecipient, [DeliveryAttempt])]?
}
