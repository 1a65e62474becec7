import Foundation
import Tagged

/// A notice from the organisation's admins to departments or everyone: rich text, attachments,
/// optionally pinned, scheduled, and to be confirmed as read.
struct Announcement: Sendable, Equatable {
    typealias ID = Tagged<Announcement, UUID>
    enum Status: String, Sendable { case scheduled, published, cancelled }

    var id: ID
    var orgID: Organization.ID
    var author: PersonRef
    var title: String
    /// Sanitised HTML (`RichText`).
    var bodyHTML: String
    /// The body's plain text.
    var bodyText: String
    /// Everyone in the organisation, or the members of `departmentIDs` and their sub-departments.
    var wholeOrganization: Bool
    var departmentIDs: [Department.ID]
    var requiresConfirmation: Bool
    var pinnedAt: Date?
    var scheduledAt: Date?
    var publishedAt: Date?
    var cancelledAt: Date?
    var lastDingedAt: Date?
    var recipientCount: Int
    var createdAt: Date
    var updatedAt: Date

    var status: Status { publishedAt != nil ? .published : cancelledAt != nil ? .cancelled : .scheduled }
}

/// A file attached to an announcement (or uploaded for one that is being written).
struct AnnouncementAttachment: Sendable, Equatable, Codable {
    typealias ID = Tagged<AnnouncementAttachment, UUID>
    var id: ID
    var orgID: Organization.ID
    var announcementID: Announcement.ID?
    var uploaderID: User.ID
    var name: String
    var contentType: String
    var size: Int64
    var sha256: String
    var createdAt: Date

    var isImage: Bool { ["image/png", "image/jpeg", "image/gif", "image/webp"].contains(contentType) }
}

/// One recipient, and whether they read and confirmed.
struct AnnouncementRecipient: Sendable, Equatable {
    var person: PersonRef
    var readAt: Date?
    var confirmedAt: Date?
}

/// How many recipients read and confirmed.
struct AnnouncementCounts: Sendable, Equatable, Codable {
    var recipients: Int
    var read: Int
    var confirmed: Int

    static let zero = AnnouncementCounts(recipients: 0, read: 0, confirmed: 0)
}

/// An announcement as one person sees it: a recipient sees their own read and confirmation;
/// admins and the author also see the counts.
struct AnnouncementView: Sendable {
    var announcement: Announcement
    var attachments: [AnnouncementAttachment]
    var isRecipient: Bool
    var myReadAt: Date?
    var myConfirmedAt: Date?
    /// For admins and the author.
    var counts: AnnouncementCounts?
    /// Whether the viewer may edit, cancel, pin and see the statistics.
    var canManage: Bool
}
