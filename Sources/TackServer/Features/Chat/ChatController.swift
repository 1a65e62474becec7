import Foundation
import HTTPTypes
import OpenAPIRuntime
import TackAPI

/// Chat over HTTP.
extension APIHandler {
    func listConversations(_ input: Operations.ListConversations.Input) async throws -> Operations.ListConversations.Output {
        let views = try await chat.conversations(try identity(), try parseID(input.path.orgId, "orgId"))
        return .ok(.init(body: .json(.init(items: views.map(\.api)))))
    }

    func createGroup(_ input: Operations.CreateGroup.Input) async throws -> Operations.CreateGroup.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let view = try await chat.createGroup(try identity(), try parseID(input.path.orgId, "orgId"), name: body.name,
                                              memberIDs: try body.memberIds.map { try parseID($0, "memberIds") },
                                              idempotencyKey: input.headers.idempotencyKey)
        return .created(.init(body: .json(view.api)))
    }

    func openDirectConversation(_ input: Operations.OpenDirectConversation.Input) async throws -> Operations.OpenDirectConversation.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let view = try await chat.openDirect(try identity(), try parseID(input.path.orgId, "orgId"), with: try parseID(body.memberId, "memberId"))
        return .ok(.init(body: .json(view.api)))
    }

    func getConversation(_ input: Operations.GetConversation.Input) async throws -> Operations.GetConversation.Output {
        let view = try await chat.conversation(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.conversationId, "conversationId"))
        return .ok(.init(body: .json(view.api)))
    }

    func updateGroup(_ input: Operations.UpdateGroup.Input) async throws -> Operations.UpdateGroup.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let view = try await chat.renameGroup(try identity(), try parseID(input.path.orgId, "orgId"),
                                              try parseID(input.path.conversationId, "conversationId"), name: body.name)
        return .ok(.init(body: .json(view.api)))
    }

    func listConversationMembers(_ input: Operations.ListConversationMembers.Input) async throws -> Operations.ListConversationMembers.Output {
        let people = try await chat.participants(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.conversationId, "conversationId"))
        return .ok(.init(body: .json(.init(items: people.compactMap(Self.member)))))
    }

    static func member(_ entry: (Participant, PersonRef)) -> Components.Schemas.ConversationMember? {
        let (p, person) = entry
        guard let memberID = person.memberID else { return nil }  // no longer in the organisation
        return .init(userId: p.userID.string, memberId: memberID.string, name: person.name, role: .init(rawValue: p.role.rawValue)!,
                     readSeq: p.readSeq, joinedSeq: p.joinedSeq)
    }

    func addConversationMembers(_ input: Operations.AddConversationMembers.Input) async throws -> Operations.AddConversationMembers.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        guard !body.memberIds.isEmpty else { throw AppError.invalid("memberIds", "Name at least one member.", code: "empty") }
        let view = try await chat.addParticipants(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.conversationId, "conversationId"),
                                                  memberIDs: try body.memberIds.map { try parseID($0, "memberIds") })
        return .ok(.init(body: .json(view.api)))
    }

    func updateConversationMember(_ input: Operations.UpdateConversationMember.Input) async throws -> Operations.UpdateConversationMember.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let entry = try await chat.setParticipantRole(try identity(), try parseID(input.path.orgId, "orgId"),
                                                      try parseID(input.path.conversationId, "conversationId"), userID: try parseID(input.path.userId, "userId"),
                                                      role: body.role == .admin ? .admin : .member)
        guard let member = Self.member(entry) else { throw AppError.notFound("Participant") }
        return .ok(.init(body: .json(member)))
    }

    func removeConversationMember(_ input: Operations.RemoveConversationMember.Input) async throws -> Operations.RemoveConversationMember.Output {
        try await chat.removeParticipant(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.conversationId, "conversationId"),
                                         userID: try parseID(input.path.userId, "userId"))
        return .noContent(.init())
    }

    func listMessages(_ input: Operations.ListMessages.Input) async throws -> Operations.ListMessages.Output {
        let identity = try identity()
        let page = try await chat.messages(identity, try parseID(input.path.orgId, "orgId"), try parseID(input.path.conversationId, "conversationId"),
                                           after: input.query.after, before: input.query.before, limit: input.query.limit ?? 50)
        let items = page.messages.map { $0.api(viewer: identity.userID, unread: page.unread[$0.seq]) }
        return .ok(.init(body: .json(.init(items: items, lastSeq: page.lastSeq, hasMore: page.hasMore))))
    }

    func sendMessage(_ input: Operations.SendMessage.Input) async throws -> Operations.SendMessage.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let identity = try identity()
        let outgoing = OutgoingMessage(
            clientKey: body.clientKey, text: body.text, attachmentID: try body.attachmentId.map { try parseID($0, "attachmentId") },
            mentions: try (body.mentions ?? []).map { try parseID($0, "mentions") }, mentionAll: body.mentionAll ?? false,
            replyToSeq: body.replyToSeq, forwardedFrom: nil, forwardedAttachment: nil)
        let (message, unread) = try await chat.send(identity, try parseID(input.path.orgId, "orgId"),
                                                    try parseID(input.path.conversationId, "conversationId"), outgoing)
        return .created(.init(body: .json(message.api(viewer: identity.userID, unread: unread))))
    }

    func recallMessage(_ input: Operations.RecallMessage.Input) async throws -> Operations.RecallMessage.Output {
        let identity = try identity()
        let message = try await chat.recall(identity, try parseID(input.path.orgId, "orgId"), try parseID(input.path.conversationId, "conversationId"),
                                            seq: input.path.seq)
        return .ok(.init(body: .json(message.api(viewer: identity.userID))))
    }

    func pinMessage(_ input: Operations.PinMessage.Input) async throws -> Operations.PinMessage.Output {
        let identity = try identity()
        let message = try await chat.setPinned(identity, try parseID(input.path.orgId, "orgId"), try parseID(input.path.conversationId, "conversationId"),
                                               seq: input.path.seq, pinned: true)
        return .ok(.init(body: .json(message.api(viewer: identity.userID))))
    }

    func unpinMessage(_ input: Operations.UnpinMessage.Input) async throws -> Operations.UnpinMessage.Output {
        let identity = try identity()
        let message = try await chat.setPinned(identity, try parseID(input.path.orgId, "orgId"), try parseID(input.path.conversationId, "conversationId"),
                                               seq: input.path.seq, pinned: false)
        return .ok(.init(body: .json(message.api(viewer: identity.userID))))
    }

    func listPinnedMessages(_ input: Operations.ListPinnedMessages.Input) async throws -> Operations.ListPinnedMessages.Output {
        let identity = try identity()
        let messages = try await chat.pinned(identity, try parseID(input.path.orgId, "orgId"), try parseID(input.path.conversationId, "conversationId"))
        return .ok(.init(body: .json(.init(items: messages.map { $0.api(viewer: identity.userID) }))))
    }

    func forwardMessage(_ input: Operations.ForwardMessage.Input) async throws -> Operations.ForwardMessage.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let identity = try identity()
        let copies = try await chat.forward(identity, try parseID(input.path.orgId, "orgId"), try parseID(input.path.conversationId, "conversationId"),
                                            seq: input.path.seq, to: try body.conversationIds.map { try parseID($0, "conversationIds") })
        return .ok(.init(body: .json(.init(items: copies.map { $0.api(viewer: identity.userID) }))))
    }

    func listMessageReaders(_ input: Operations.ListMessageReaders.Input) async throws -> Operations.ListMessageReaders.Output {
        let (read, unread) = try await chat.readers(try identity(), try parseID(input.path.orgId, "orgId"),
                                                    try parseID(input.path.conversationId, "conversationId"), seq: input.path.seq)
        func entry(_ p: PersonRef) -> Components.Schemas.ReaderEntry { .init(userId: p.userID.string, memberId: p.memberID?.string, name: p.name) }
        return .ok(.init(body: .json(.init(seq: input.path.seq, read: read.map(entry), unread: unread.map(entry)))))
    }

    func listReceipts(_ input: Operations.ListReceipts.Input) async throws -> Operations.ListReceipts.Output {
        let id: Conversation.ID = try parseID(input.path.conversationId, "conversationId")
        let counts = try await chat.receiptCounts(try identity(), try parseID(input.path.orgId, "orgId"), id, from: input.query.from, to: input.query.to)
        return .ok(.init(body: .json(.init(conversationId: id.string,
                                           counts: counts.sorted { $0.key < $1.key }.map { .init(seq: $0.key, unread: $0.value) }))))
    }

    func markRead(_ input: Operations.MarkRead.Input) async throws -> Operations.MarkRead.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let id: Conversation.ID = try parseID(input.path.conversationId, "conversationId")
        let readSeq = try await chat.markRead(try identity(), try parseID(input.path.orgId, "orgId"), id, seq: body.seq)
        return .ok(.init(body: .json(.init(conversationId: id.string, readSeq: readSeq))))
    }

    func uploadAttachment(_ input: Operations.UploadAttachment.Input) async throws -> Operations.UploadAttachment.Output {
        guard case .binary(let body) = input.body else { throw AppError(.unsupportedMediaType, "unsupported_media_type", "Send the file as application/octet-stream.") }
        let identity = try identity()
        // The body limit middleware allows attachments up to their own limit on this route.
        let bytes = try await [UInt8](collecting: body, upTo: .max)
        let attachment = try await chat.upload(identity, try parseID(input.path.orgId, "orgId"), try parseID(input.path.conversationId, "conversationId"),
                                               name: input.query.name, bytes: bytes)
        return .created(.init(body: .json(attachment.api)))
    }

    func downloadAttachment(_ input: Operations.DownloadAttachment.Input) async throws -> Operations.DownloadAttachment.Output {
        let (attachment, data) = try await chat.download(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.attachmentId, "attachmentId"))
        Self.setDownloadHeaders(name: attachment.name, inline: attachment.isImage)
        let body = HTTPBody(data)
        let content: Operations.DownloadAttachment.Output.Ok.Body = switch attachment.contentType {
        case "image/png": .png(body)
        case "image/jpeg": .jpeg(body)
        case "image/gif": .imageGif(body)
        case "image/webp": .imageWebp(body)
        default: .binary(body)
        }
        return .ok(.init(body: content))
    }

    func searchMessages(_ input: Operations.SearchMessages.Input) async throws -> Operations.SearchMessages.Output {
        let identity = try identity()
        let hits = try await chat.search(identity, try parseID(input.path.orgId, "orgId"), query: input.query.q,
                                         in: try input.query.conversationId.map { try parseID($0, "conversationId") }, limit: input.query.limit ?? 30)
        return .ok(.init(body: .json(.init(items: hits.map { message, name in
            .init(conversationId: message.conversationID.string, conversationName: name, message: message.api(viewer: identity.userID))
        }))))
    }

    /// The headers of a stored file's download: images show inline, anything else is a
    /// download, never rendered by the browser; a sandboxing CSP either way.
    static func setDownloadHeaders(name: String, inline: Bool) {
        let headers = RequestScope.current.responseHeaders
        let disposition = inline ? "inline" : "attachment"
        headers.set(.contentDisposition, "\(disposition); filename=\"\(asciiFallback(name))\"; filename*=UTF-8''\(percentEncoded(name))")
        headers.set(.contentSecurityPolicy, "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox")
        headers.set(.cacheControl, "private, max-age=86400")
    }

    /// A file name safe inside a quoted header parameter.
    static func asciiFallback(_ name: String) -> String {
        String(name.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" ? Character($0) : "_" })
    }

    /// RFC 5987 percent-encoding of a UTF-8 file name.
    static func percentEncoded(_ name: String) -> String {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&+-.^_`|~")
        return name.addingPercentEncoding(withAllowedCharacters: allowed) ?? "file"
    }
}
