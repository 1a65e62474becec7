import Foundation
import TackAPI

// How chat's values look in the API and in events: the schemas of `openapi.yaml`.

extension PersonRef {
    var api: Components.Schemas.PersonRef { .init(userId: userID.string, memberId: memberID?.string, name: name) }
}

extension Attachment {
    var api: Components.Schemas.Attachment {
        .init(id: id.string, name: name, contentType: contentType, size: size, width: width, height: height)
    }
}

extension Message {
    /// The message as `viewer` sees it (nil: for everyone, in events). Only the sender sees their
    /// clientKey; a recalled message shows neither text nor attachment.
    func api(viewer: User.ID?, unread: Int? = nil) -> Components.Schemas.Message {
        .init(
            conversationId: conversationID.string, seq: seq, id: id.string,
            clientKey: viewer == sender.userID ? clientKey : nil,
            sender: sender.api, kind: .init(rawValue: kind.rawValue)!,
            text: recalled ? nil : text, mentions: mentions.map(\.string), mentionAll: mentionAll,
            replyTo: replyTo.map { .init(seq: $0.seq, sender: $0.sender.api, excerpt: $0.excerpt, recalled: $0.recalled) },
            attachment: recalled ? nil : attachment?.api,
            forwardedFrom: forwardedFrom.map { .init(sender: $0.sender.api, conversationName: $0.conversationName, sentAt: $0.sentAt) },
            system: system.map { .init(event: .init(rawValue: $0.event.rawValue)!, actor: $0.actor?.api, people: $0.people.map(\.api), name: $0.name,
                                       liveClassId: $0.liveClassID.map { UUIDText.format($0) }, at: $0.at) },
            createdAt: createdAt, recalled: recalled, recalledAt: recalledAt, pinned: pinnedAt != nil, pinnedBy: pinnedBy?.api,
            unreadCount: kind == .system ? nil : unread)
    }
}

extension ConversationView {
    var api: Components.Schemas.Conversation {
        .init(id: conversation.id.string, orgId: conversation.orgID.string, kind: .init(rawValue: conversation.kind.rawValue)!,
              name: ChatService.displayName(self), departmentId: conversation.departmentID?.string, peer: peer?.api,
              memberCount: conversation.memberCount, maxMembers: conversation.kind == .group ? conversation.maxMembers : nil,
              lastSeq: conversation.lastSeq, readSeq: me.readSeq, unreadCount: unreadCount, mentioned: mentioned,
              myRole: .init(rawValue: me.role.rawValue)!, lastMessage: lastMessage?.api(viewer: me.userID), updatedAt: conversation.updatedAt)
    }
}
