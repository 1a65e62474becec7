import Foundation
import Tagged

/// A chat: one-to-one, a group, or the group of a department or class (its members follow the
/// directory).
public struct Conversation: Sendable, Equatable, Codable {
    public typealias ID = Tagged<Conversation, UUID>
    public enum Kind: String, Sendable, Codable { case direct, group, department }
    public var id: ID
    public var orgID: Organization.ID
    public var kind: Kind
    public var name: String
    public var departmentID: Department.ID?
    public var lastSeq: Int64
    public var memberCount: Int
    public var maxMembers: Int
    public var updatedAt: Date
}

/// A person's place in a conversation: their role and read watermark.
public struct Participant: Sendable, Equatable, Codable {
    public enum Role: String, Sendable, Codable { case owner, admin, member }
    public var conversationID: Conversation.ID
    public var userID: User.ID
    public var role: Role
    /// Messages with a greater seq count for this person (they were a member then).
    public var joinedSeq: Int64
    /// Read up to and including this seq.
    public var readSeq: Int64

    var canManage: Bool { role != .member }
}

/// A conversation as one person sees it in their list.
struct ConversationView: Sendable, Equatable {
    var conversation: Conversation
    var me: Participant
    var unreadCount: Int
    var mentioned: Bool
    /// For direct chats: the other person.
    var peer: PersonRef?
    var lastMessage: Message?
}

/// Someone as chat shows them.
public struct PersonRef: Sendable, Equatable, Codable, Hashable {
    public var userID: User.ID
    public var memberID: Member.ID?
    public var name: String
}

/// A stored file sent in a conversation.
public struct Attachment: Sendable, Equatable, Codable {
    public typealias ID = Tagged<Attachment, UUID>
    public var id: ID
    public var orgID: Organization.ID
    public var conversationID: Conversation.ID
    public var uploaderID: User.ID
    public var name: String
    public var contentType: String
    public var size: Int64
    public var width: Int?
    public var height: Int?
    public var sha256: String
    public var createdAt: Date

    var isImage: Bool { ["image/png", "image/jpeg", "image/gif", "image/webp"].contains(contentType) }
}

/// One message of a conversation.
public struct Message: Sendable, Equatable, Codable {
    public typealias ID = Tagged<Message, UUID>
    public enum Kind: String, Sendable, Codable { case text, image, file, system }

    public struct Quote: Sendable, Equatable, Codable {
        public var seq: Int64
        public var sender: PersonRef
        public var excerpt: String
        public var recalled: Bool
    }

    public struct Forwarded: Sendable, Equatable, Codable {
        public var sender: PersonRef
        public var conversationName: String?
        public var sentAt: Date
    }

    public struct SystemEvent: Sendable, Equatable, Codable {
        public enum Event: String, Sendable, Codable {
            case created, joined, left, removed, renamed
            /// A live class for this group: scheduled, started, its replay ready (`name` is its title).
            case liveScheduled = "live_scheduled", liveStarting = "live_starting", liveStarted = "live_started", liveReplay = "live_replay"
        }
        public var event: Event
        public var actor: PersonRef?
        public var people: [PersonRef]
        public var name: String?
        /// The live class a `live_…` line is about, and when it is scheduled.
        public var liveClassID: UUID? = nil
        public var at: Date? = nil
    }

    public var conversationID: Conversation.ID
    public var seq: Int64
    public var id: ID
    public var sender: PersonRef
    public var kind: Kind
    public var text: String?
    public var mentions: [User.ID]
    public var mentionAll: Bool
    public var replyToSeq: Int64?
    public var replyTo: Quote?
    public var attachment: Attachment?
    public var forwardedFrom: Forwarded?
    public var system: SystemEvent?
    public var clientKey: String?
    public var createdAt: Date
    public var recalledAt: Date?
    public var pinnedAt: Date?
    public var pinnedBy: PersonRef?

    var recalled: Bool { recalledAt != nil }
}

/// What a person sends.
struct OutgoingMessage: Sendable {
    var clientKey: String
    var text: String?
    var attachmentID: Attachment.ID?
    var mentions: [User.ID]
    var mentionAll: Bool
    var replyToSeq: Int64?
    var forwardedFrom: Message.Forwarded?
    /// A forwarded attachment keeps the original's.
    var forwardedAttachment: Attachment?
}

/// A member of a conversation and whether they have read a message, for receipts.
struct ReceiptRow: Sendable, Equatable {
    var userID: User.ID
    var joinedSeq: Int64
    var readSeq: Int64
}

/// Unread counts derived from read watermarks: a member counts for a message if they joined
/// before it, are not its sender, and have not read up to it. Never stored per (message, reader).
///
/// A member's watermark starts at the conversation's last seq when they join and only moves
/// forward, so `joinedSeq <= readSeq` always: "has not read s" (`readSeq < s`) already implies
/// "joined before s", and one sorted array of watermarks answers every message.
enum Receipts {
    /// Members (other than `sender`) who have not read message `seq`.
    static func unread(_ seq: Int64, sender: User.ID, members: [ReceiptRow]) -> Int {
        members.reduce(0) { n, m in n + (m.userID != sender && m.readSeq < seq ? 1 : 0) }
    }

    /// Unread counts for several messages of one sender: O(members log members + messages log members).
    static func unreadCounts(_ seqs: [Int64], sender: User.ID, members: [ReceiptRow]) -> [Int64: Int] {
        let watermarks = members.filter { $0.userID != sender }.map(\.readSeq).sorted()
        var result: [Int64: Int] = [:]
        for s in seqs { result[s] = lowerBound(watermarks, s) }
        return result
    }

    /// The number of elements of a sorted array below `value`.
    static func lowerBound(_ sorted: [Int64], _ value: Int64) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] < value { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
