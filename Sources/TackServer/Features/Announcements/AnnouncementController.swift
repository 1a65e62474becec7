import Foundation
import HTTPTypes
import OpenAPIRuntime
import TackAPI

/// Announcements over HTTP.
extension APIHandler {
    func listAnnouncements(_ input: Operations.ListAnnouncements.Input) async throws -> Operations.ListAnnouncements.Output {
        let views = try await announcements.list(try identity(), try parseID(input.path.orgId, "orgId"),
                                                 box: input.query.box == .all ? .all : .received, limit: input.query.limit ?? 50)
        return .ok(.init(body: .json(.init(items: views.map { $0.api(full: false) }))))
    }

    func createAnnouncement(_ input: Operations.CreateAnnouncement.Input) async throws -> Operations.CreateAnnouncement.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let view = try await announcements.create(try identity(), try parseID(input.path.orgId, "orgId"), try Self.draft(body),
                                                  idempotencyKey: input.headers.idempotencyKey)
        return .created(.init(body: .json(view.api(full: true))))
    }

    func getAnnouncement(_ input: Operations.GetAnnouncement.Input) async throws -> Operations.GetAnnouncement.Output {
        let view = try await announcements.view(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.announcementId, "announcementId"))
        return .ok(.init(body: .json(view.api(full: true))))
    }

    func updateAnnouncement(_ input: Operations.UpdateAnnouncement.Input) async throws -> Operations.UpdateAnnouncement.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let view = try await announcements.update(try identity(), try parseID(input.path.orgId, "orgId"),
                                                  try parseID(input.path.announcementId, "announcementId"), try Self.draft(body))
        return .ok(.init(body: .json(view.api(full: true))))
    }

    func cancelAnnouncement(_ input: Operations.CancelAnnouncement.Input) async throws -> Operations.CancelAnnouncement.Output {
        let view = try await announcements.cancel(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.announcementId, "announcementId"))
        return .ok(.init(body: .json(view.api(full: true))))
    }

    func pinAnnouncement(_ input: Operations.PinAnnouncement.Input) async throws -> Operations.PinAnnouncement.Output {
        let view = try await announcements.setPinned(try identity(), try parseID(input.path.orgId, "orgId"),
                                                     try parseID(input.path.announcementId, "announcementId"), pinned: true)
        return .ok(.init(body: .json(view.api(full: true))))
    }

    func unpinAnnouncement(_ input: Operations.UnpinAnnouncement.Input) async throws -> Operations.UnpinAnnouncement.Output {
        let view = try await announcements.setPinned(try identity(), try parseID(input.path.orgId, "orgId"),
                                                     try parseID(input.path.announcementId, "announcementId"), pinned: false)
        return .ok(.init(body: .json(view.api(full: true))))
    }

    func markAnnouncementRead(_ input: Operations.MarkAnnouncementRead.Input) async throws -> Operations.MarkAnnouncementRead.Output {
        let view = try await announcements.markRead(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.announcementId, "announcementId"))
        return .ok(.init(body: .json(view.api(full: true))))
    }

    func confirmAnnouncement(_ input: Operations.ConfirmAnnouncement.Input) async throws -> Operations.ConfirmAnnouncement.Output {
        let view = try await announcements.confirm(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.announcementId, "announcementId"))
        return .ok(.init(body: .json(view.api(full: true))))
    }

    func listAnnouncementRecipients(_ input: Operations.ListAnnouncementRecipients.Input) async throws -> Operations.ListAnnouncementRecipients.Output {
        let id: Announcement.ID = try parseID(input.path.announcementId, "announcementId")
        let (counts, recipients) = try await announcements.recipients(try identity(), try parseID(input.path.orgId, "orgId"), id)
        return .ok(.init(body: .json(.init(announcementId: id.string, stats: counts.api,
                                           items: recipients.map { .init(person: $0.person.api, readAt: $0.readAt, confirmedAt: $0.confirmedAt) }))))
    }

    func dingAnnouncementUnconfirmed(_ input: Operations.DingAnnouncementUnconfirmed.Input) async throws -> Operations.DingAnnouncementUnconfirmed.Output {
        let view = try await announcements.dingUnconfirmed(try identity(), try parseID(input.path.orgId, "orgId"),
                                                           try parseID(input.path.announcementId, "announcementId"),
                                                           idempotencyKey: input.headers.idempotencyKey)
        return .created(.init(body: .json(view.api)))
    }

    func uploadAnnouncementAttachment(_ input: Operations.UploadAnnouncementAttachment.Input) async throws -> Operations.UploadAnnouncementAttachment.Output {
        guard case .binary(let body) = input.body else {
            throw AppError(.unsupportedMediaType, "unsupported_media_type", "Send the file as application/octet-stream.")
        }
        let identity = try identity()
        // The body limit middleware allows attachments up to their own limit on this route.
        let bytes = try await [UInt8](collecting: body, upTo: .max)
        let attachment = try await announcements.upload(identity, try parseID(input.path.orgId, "orgId"), name: input.query.name, bytes: bytes)
        return .created(.init(body: .json(attachment.api)))
    }

    func downloadAnnouncementAttachment(_ input: Operations.DownloadAnnouncementAttachment.Input) async throws -> Operations.DownloadAnnouncementAttachment.Output {
        let (attachment, data) = try await announcements.download(try identity(), try parseID(input.path.orgId, "orgId"),
                                                                  try parseID(input.path.announcementId, "announcementId"),
                                                                  try parseID(input.path.attachmentId, "attachmentId"))
        Self.setDownloadHeaders(name: attachment.name, inline: attachment.isImage)
        let body = HTTPBody(data)
        let content: Operations.DownloadAnnouncementAttachment.Output.Ok.Body = switch attachment.contentType {
        case "image/png": .png(body)
        case "image/jpeg": .jpeg(body)
        case "image/gif": .imageGif(body)
        case "image/webp": .imageWebp(body)
        default: .binary(body)
        }
        return .ok(.init(body: content))
    }

    static func draft(_ body: Components.Schemas.AnnouncementInput) throws -> AnnouncementService.Draft {
        AnnouncementService.Draft(
            title: body.title, bodyHTML: body.body, wholeOrganization: body.wholeOrganization ?? false,
            departmentIDs: try (body.departmentIds ?? []).map { try parseID($0, "departmentIds") },
            requiresConfirmation: body.requireConfirmation ?? false, pinned: body.pinned ?? false, scheduledAt: body.scheduledAt,
            attachmentIDs: try (body.attachmentIds ?? []).map { try parseID($0, "attachmentIds") })
    }
}
