import Foundation
import TackAPI

// How announcements look in the API and in events: the schemas of `openapi.yaml`.

extension AnnouncementView {
    /// `full`: with the body (one announcement); lists and events carry the excerpt only.
    func api(full: Bool) -> Components.Schemas.Announcement {
        let a = announcement
        return .init(
            id: a.id.string, orgId: a.orgID.string, author: a.author.api, title: a.title,
            body: full ? a.bodyHTML : nil, text: full ? a.bodyText : nil, excerpt: String(a.bodyText.prefix(200)),
            status: .init(rawValue: a.status.rawValue)!, wholeOrganization: a.wholeOrganization, departmentIds: a.departmentIDs.map(\.string),
            requireConfirmation: a.requiresConfirmation, pinned: a.pinnedAt != nil, pinnedAt: a.pinnedAt, scheduledAt: a.scheduledAt,
            publishedAt: a.publishedAt, cancelledAt: a.cancelledAt, lastDingedAt: a.lastDingedAt, createdAt: a.createdAt, updatedAt: a.updatedAt,
            attachments: attachments.map(\.api), isRecipient: isRecipient, myReadAt: myReadAt, myConfirmedAt: myConfirmedAt,
            canManage: canManage, stats: counts?.api)
    }
}

extension AnnouncementAttachment {
    var api: Components.Schemas.AnnouncementAttachment { .init(id: id.string, name: name, contentType: contentType, size: size) }
}

extension AnnouncementCounts {
    var api: Components.Schemas.AnnouncementStats { .init(recipientCount: recipients, readCount: read, confirmedCount: confirmed) }
}
