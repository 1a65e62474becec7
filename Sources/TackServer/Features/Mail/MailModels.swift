import Foundation

/// An organisation's SMTP server, as stored.
struct MailSettings: Sendable, Equatable {
    var smtp: SMTPSettings
    var updatedAt: Date
}

/// What a member gets by e-mail in one organisation. Everything is on until they choose.
struct EmailPreferences: Sendable, Equatable, Codable {
    /// DINGs sent to them.
    var dings: Bool
    /// Mentions of them still unread a while later (`MailService.mentionDelay`).
    var mentions: Bool
    /// Announcements to them.
    var announcements: Bool

    static let standard = EmailPreferences(dings: true, mentions: true, announcements: true)

    enum Kind: String, Sendable, Codable { case dings, mentions, announcements }

    func wants(_ kind: Kind) -> Bool {
        switch kind {
        case .dings: dings
        case .mentions: mentions
        case .announcements: announcements
        }
    }
}

/// A member's preferences with what decides whether e-mail can reach them at all.
struct EmailPreferencesView: Sendable {
    var preferences: EmailPreferences
    var address: String?
    var available: Bool
}

/// `mail.mention`: e-mail a person about a mention if they still have not read it.
struct MentionMailJob: Sendable, Codable {
    var orgID: Organization.ID
    var userID: User.ID
    var conversationID: Conversation.ID
    var seq: Int64
}

/// `mail.announcement`: e-mail an announcement to one recipient.
struct AnnouncementMailJob: Sendable, Codable {
    var orgID: Organization.ID
    var userID: User.ID
    var announcementID: Announcement.ID
}
