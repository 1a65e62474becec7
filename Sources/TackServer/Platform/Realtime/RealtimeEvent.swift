import Foundation
import Tagged

/// Who receives an event.
public enum Audience: Sendable, Equatable {
    /// Every member of an organisation.
    case organization(Organization.ID)
    /// Only owners and admins of an organisation.
    case organizationAdmins(Organization.ID)
    /// One person, on all their connections.
    case user(User.ID)
    /// The connections opened with one session (to close them when it ends).
    case session(tokenHash: String)
    /// The members of a conversation, on all their connections.
    case conversation(Conversation.ID)
}

/// A change of someone's membership that the fan-out must apply before delivering further
/// events: their connections start or stop receiving an organisation's events.
public struct MembershipChange: Sendable, Equatable {
    public var userID: User.ID
    public var orgID: Organization.ID
    /// The person's role after the change; nil when they left the organisation.
    public var isAdmin: Bool?
}

/// Someone joined or left a conversation: the fan-out starts or stops routing its messages to
/// their connections before delivering further messages.
public struct ConversationChange: Sendable, Equatable {
    public var userID: User.ID
    public var conversationID: Conversation.ID
    public var joined: Bool
}

/// One message for the hub to deliver.
public struct HubMessage: Sendable {
    public enum Payload: Sendable, Equatable {
        /// An already-encoded JSON envelope.
        case event(json: String)
        /// Close the connections with this WebSocket close code.
        case close(code: UInt16, reason: String)
    }
    public var audience: Audience
    /// The organisation sequence number (organisation events only).
    public var seq: Int64?
    public var payload: Payload
    /// Applied by the fan-out before delivery.
    public var membershipChange: MembershipChange?
    public var conversationChanges: [ConversationChange]

    public init(audience: Audience, seq: Int64? = nil, payload: Payload, membershipChange: MembershipChange? = nil,
                conversationChanges: [ConversationChange] = []) {
        self.audience = audience
        self.seq = seq
        self.payload = payload
        self.membershipChange = membershipChange
        self.conversationChanges = conversationChanges
    }

    /// The organisation this message belongs to, if any.
    var orgID: Organization.ID? {
        switch audience {
        case .organization(let o), .organizationAdmins(let o): o
        default: nil
        }
    }

    /// An organisation event from the log.
    static func orgEvent(_ event: StoredOrgEvent, change: MembershipChange? = nil) -> HubMessage {
        HubMessage(
            audience: event.adminsOnly ? .organizationAdmins(event.orgID) : .organization(event.orgID),
            seq: event.seq, payload: .event(json: event.envelope), membershipChange: change)
    }

    /// A personal event (no sequence number).
    static func personal(_ user: User.ID, type: String, data: String, change: MembershipChange? = nil,
                         conversationChanges: [ConversationChange] = []) -> HubMessage {
        HubMessage(audience: .user(user), payload: .event(json: #"{"type":"\#(type)","data":\#(data)}"#), membershipChange: change,
                   conversationChanges: conversationChanges)
    }

    /// An event for a conversation's members.
    static func conversation(_ id: Conversation.ID, org: Organization.ID, type: String, data: String,
                             changes: [ConversationChange] = []) -> HubMessage {
        HubMessage(audience: .conversation(id),
                   payload: .event(json: #"{"type":"\#(type)","org":"\#(org.string)","conversationId":"\#(id.string)","data":\#(data)}"#),
                   conversationChanges: changes)
    }

    /// Closes every connection of the sessions given (signed out, password changed).
    static func endSessions(_ tokenHashes: [String]) -> [HubMessage] {
        tokenHashes.map { HubMessage(audience: .session(tokenHash: $0), payload: .close(code: 4001, reason: "session ended")) }
    }
}

/// An event as kept in an organisation's ordered log.
public struct StoredOrgEvent: Sendable, Equatable {
    public var orgID: Organization.ID
    public var seq: Int64
    public var type: String
    public var adminsOnly: Bool
    /// The event's `data`, JSON text.
    public var data: String

    /// The JSON sent to clients. Built by concatenation: `type` is an identifier, the id a UUID
    /// and `data` already JSON, so nothing is encoded twice.
    var envelope: String {
        #"{"type":"\#(type)","org":"\#(orgID.string)","seq":\#(seq),"data":\#(data)}"#
    }
}

/// Encodes event payloads as the API does (RFC 3339 dates in UTC).
enum EventJSON {
    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(FastDateTranscoder.format(date))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// A string as a JSON string literal.
    static func string(_ text: String) -> String {
        (try? String(decoding: JSONEncoder().encode(text), as: UTF8.self)) ?? "\"\""
    }
}
