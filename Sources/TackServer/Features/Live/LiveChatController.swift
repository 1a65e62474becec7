import Foundation
import OpenAPIRuntime
import TackAPI

/// A live class's chat over HTTP: comments, questions, answered marks and likes.
extension APIHandler {
    /// The chat's service: built from the live service's parts (a value with no state of its own).
    var liveChat: LiveChatService { LiveChatService(transactor: live.transactor, clock: live.clock, likeAnnouncements: live.likeAnnouncements) }

    func listLiveComments(_ input: Operations.ListLiveComments.Input) async throws -> Operations.ListLiveComments.Output {
        let page = try await liveChat.comments(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.liveClassId, "liveClassId"),
                                               questionsOnly: input.query.questions ?? false, cursor: input.query.cursor, limit: input.query.limit ?? 50)
        return .ok(.init(body: .json(.init(items: page.comments.map(\.api), nextCursor: page.nextCursor, likes: page.likes))))
    }

    func postLiveComment(_ input: Operations.PostLiveComment.Input) async throws -> Operations.PostLiveComment.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let comment = try await liveChat.post(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.liveClassId, "liveClassId"),
                                              kind: body.kind == .question ? .question : .comment, text: body.text,
                                              idempotencyKey: input.headers.idempotencyKey)
        return .created(.init(body: .json(comment.api)))
    }

    func markLiveQuestionAnswered(_ input: Operations.MarkLiveQuestionAnswered.Input) async throws -> Operations.MarkLiveQuestionAnswered.Output {
        .ok(.init(body: .json(try await liveChat.setAnswered(try identity(), try parseID(input.path.orgId, "orgId"),
                                                             try parseID(input.path.liveClassId, "liveClassId"),
                                                             commentID: try parseID(input.path.liveCommentId, "liveCommentId"), answered: true).api)))
    }

    func unmarkLiveQuestionAnswered(_ input: Operations.UnmarkLiveQuestionAnswered.Input) async throws -> Operations.UnmarkLiveQuestionAnswered.Output {
        .ok(.init(body: .json(try await liveChat.setAnswered(try identity(), try parseID(input.path.orgId, "orgId"),
                                                             try parseID(input.path.liveClassId, "liveClassId"),
                                                             commentID: try parseID(input.path.liveCommentId, "liveCommentId"), answered: false).api)))
    }

    func likeLiveClass(_ input: Operations.LikeLiveClass.Input) async throws -> Operations.LikeLiveClass.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let result = try await liveChat.like(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.liveClassId, "liveClassId"),
                                             count: body.count)
        return .ok(.init(body: .json(.init(likes: result.likes, accepted: result.accepted))))
    }
}

extension LiveComment {
    var api: Components.Schemas.LiveComment {
        .init(id: id.string, liveClassId: classID.string, seq: seq, author: author.api, kind: .init(rawValue: kind.rawValue)!, text: text,
              createdAt: createdAt, answered: answered, answeredAt: answeredAt, answeredBy: answeredBy?.api)
    }
}
