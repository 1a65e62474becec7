import Foundation
import Logging
import SQLKit

/// E-mail: each organisation's SMTP server (set by its admins), each member's choices of what
/// reaches them by e-mail, and the mails themselves — DINGs (as `ding.notify` attempts),
/// mentions still unread after a while (`mail.mention`), announcements — all sent by jobs.
struct MailService: Sendable {
    static let mentionKind = "mail.mention"

    let transactor: Transactor
    let clock: WallClock
    let jobs: JobQueue
    let smtp: SMTPClient
    /// Where links in e-mails point (TACK_PUBLIC_URL).
    let publicURL: String?
    /// A mention is e-mailed if it is still unread this long after it was sent.
    var mentionDelay: TimeInterval = 600
    let logger: Logger
    let store = MailStore()
    let directory = DirectoryStore()
    let chat = ChatStore()

    private var database: Database { transactor.database }
    var notifier: EmailNotifier { EmailNotifier(database: database, smtp: smtp, publicURL: publicURL) }

    // MARK: Settings (owners and admins)

    struct SettingsInput: Sendable {
        var host: String
        var port: Int
        var security: SMTPSettings.Security
        var username: String?
        /// nil: keep the stored password.
        var password: String?
        var fromAddress: String
        var fromName: String?
    }

    func settings(_ identity: Identity, _ orgID: Organization.ID) async throws -> MailSettings? {
        try await database.read { db in
            try await requireAdmin(db, identity, orgID)
            return try await store.fetchSettings(db, orgID: orgID)
        }
    }

    func setSettings(_ identity: Identity, _ orgID: Organization.ID, _ input: SettingsInput) async throws -> MailSettings {
        let host = input.host.trimmingCharacters(in: .whitespaces)
        guard !host.isEmpty, host.count <= 253, !host.contains(where: { $0.isWhitespace || $0 == "/" || $0 == "@" }) else {
            throw AppError.invalid("host", "A host name or IP address, e.g. smtp.example.com.", code: "invalid_host")
        }
        guard (1...65535).contains(input.port) else { throw AppError.invalid("port", "Between 1 and 65535.", code: "out_of_range") }
        let from = input.fromAddress.trimmingCharacters(in: .whitespaces)
        guard MIME.isAddress(from) else { throw AppError.invalid("fromAddress", "An e-mail address, e.g. tack@example.com.", code: "invalid_email") }
        let username = input.username.flatMap { $0.isEmpty ? nil : $0 }
        if username != nil, input.security == .none {
            throw AppError.invalid("security", "Credentials are sent only over TLS: choose STARTTLS or TLS.", code: "insecure_auth")
        }
        let fromName = input.fromName.map { MIME.clean($0).trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        let now = clock.now()
        return try await transactor.run { db, _ in
            try await requireAdmin(db, identity, orgID)
            let stored = try await store.fetchSettings(db, orgID: orgID)
            // The password is kept unless a new one is given, and dropped with the username.
            let password = username == nil ? nil : (input.password ?? stored?.smtp.password)
            let settings = SMTPSettings(host: host, port: input.port, security: input.security, username: username, password: password,
                                        fromAddress: from, fromName: fromName)
            try await store.saveSettings(db, orgID: orgID, settings, now: now)
            return MailSettings(smtp: settings, updatedAt: now)
        }
    }

    func deleteSettings(_ identity: Identity, _ orgID: Organization.ID) async throws {
        try await transactor.run { db, _ in
            try await requireAdmin(db, identity, orgID)
            try await store.deleteSettings(db, orgID: orgID)
        }
    }

    /// Sends a test e-mail to the admin, now, and returns the address and the server's answer.
    func sendTest(_ identity: Identity, _ orgID: Organization.ID) async throws -> (to: String, reply: String) {
        let (me, settings, org) = try await database.read { db in
            let me = try await requireAdmin(db, identity, orgID)
            return (me, try await store.fetchSettings(db, orgID: orgID), try await directory.fetchOrganization(db, id: orgID))
        }
        guard let settings else { throw AppError.conflict("mail_not_configured", "Set up the SMTP server first.") }
        guard let to = me.email else {
            throw AppError(.unprocessableContent, "no_email_address", "Your account has no e-mail address to send the test to.")
        }
        let message = MailMessage(
            to: to, toName: me.name, subject: "Tack: test e-mail",
            text: "This is a test e-mail from Tack for \(org?.name ?? "your organisation"). The SMTP settings work.\n",
            headers: [("Auto-Submitted", "auto-generated")], messageID: "test-\(UUID().uuidString.lowercased())")
        do {
            return (to, try await smtp.send(message, with: settings.smtp, date: clock.now()))
        } catch let error as SMTPError {
            throw AppError(.badGateway, "mail_failed", error.message)
        }
    }

    @discardableResult
    private func requireAdmin(_ db: any SQLDatabase, _ identity: Identity, _ orgID: Organization.ID) async throws -> Member {
        let me = try await directory.accessMember(db, identity, orgID)
        guard me.role.isAdmin else { throw AppError.forbidden("Only owners and admins manage the organisation's e-mail.") }
        return me
    }

    // MARK: Preferences (each member)

    func preferences(_ identity: Identity, _ orgID: Organization.ID) async throws -> EmailPreferencesView {
        try await database.read { db in
            let me = try await directory.accessMember(db, identity, orgID)
            return EmailPreferencesView(preferences: try await store.fetchPreferences(db, orgID: orgID, userID: identity.userID),
                                        address: me.email, available: try await store.fetchSettings(db, orgID: orgID) != nil)
        }
    }

    func setPreferences(_ identity: Identity, _ orgID: Organization.ID, _ preferences: EmailPreferences) async throws -> EmailPreferencesView {
        try await transactor.run { db, _ in
            let me = try await directory.accessMember(db, identity, orgID)
            try await store.savePreferences(db, orgID: orgID, userID: identity.userID, preferences, now: clock.now())
            return EmailPreferencesView(preferences: preferences, address: me.email,
                                        available: try await store.fetchSettings(db, orgID: orgID) != nil)
        }
    }

    // MARK: What gets e-mailed

    /// Of `users`, those who get e-mail of `kind` in the organisation: it has an SMTP server, they
    /// have an address and did not turn that kind off.
    func recipients(_ db: any SQLDatabase, orgID: Organization.ID, users: [User.ID], kind: EmailPreferences.Kind) async throws -> [User.ID] {
        guard !users.isEmpty, try await store.hasSettings(db, orgID: orgID) else { return [] }
        return try await store.fetchReachable(db, orgID: orgID, users: users, kind: kind)
    }

    /// Called in the transaction of a message that mentions `users`: each gets an e-mail if the
    /// mention is still unread `mentionDelay` later.
    func mentioned(_ db: any SQLDatabase, _ outbox: Outbox, orgID: Organization.ID, conversationID: Conversation.ID, seq: Int64,
                   users: [User.ID]) async throws {
        for user in try await recipients(db, orgID: orgID, users: users, kind: .mentions) {
            try await jobs.enqueue(db, outbox, kind: Self.mentionKind,
                                   payload: MentionMailJob(orgID: orgID, userID: user, conversationID: conversationID, seq: seq),
                                   due: clock.now().addingTimeInterval(mentionDelay), orgID: orgID,
                                   dedupeKey: "mail:mention:\(conversationID.string):\(seq):\(user.string)")
        }
    }

    /// Called in the transaction that publishes an announcement: one e-mail job per recipient who
    /// wants announcements by e-mail.
    func announced(_ db: any SQLDatabase, _ outbox: Outbox, orgID: Organization.ID, announcement: Announcement.ID,
                   recipients users: [User.ID]) async throws {
        // An announcement goes out once (its sending is one transaction): no dedupe keys needed,
        // and one statement per 500 recipients rather than two per recipient.
        let users = try await recipients(db, orgID: orgID, users: users, kind: .announcements)
        try await jobs.enqueueMany(db, outbox, kind: Self.announcementKind,
                                   payloads: users.map { AnnouncementMailJob(orgID: orgID, userID: $0, announcementID: announcement) }, orgID: orgID)
    }

    static let announcementKind = "mail.announcement"

    var jobHandlers: [any JobHandler] { [MentionMailHandler(service: self), AnnouncementMailHandler(service: self)] }
}

/// `mail.mention`: the mention is still unread — e-mail it, unless the person turned mention
/// e-mails off, left, or the message was recalled since.
struct MentionMailHandler: JobHandler {
    let service: MailService
    var kind: String { MailService.mentionKind }

    func run(_ run: JobRun) async throws {
        let job = try run.payload(as: MentionMailJob.self)
        let chat = service.chat
        guard let notification = try await service.transactor.database.read({ db -> OutgoingNotification? in
            guard try await service.recipients(db, orgID: job.orgID, users: [job.userID], kind: .mentions) == [job.userID],
                  let member = try await service.directory.fetchMember(db, orgID: job.orgID, userID: job.userID),
                  let (participant, _) = try await chat.fetchParticipant(db, conversationID: job.conversationID, userID: job.userID),
                  participant.readSeq < job.seq,
                  let conversation = try await chat.fetchConversation(db, orgID: job.orgID, id: job.conversationID),
                  let message = try await chat.fetchMessage(db, orgID: job.orgID, conversationID: job.conversationID, seq: job.seq),
                  !message.recalled
            else { return nil }
            let place = conversation.kind == .direct ? "a direct message" : "“\(conversation.name)”"
            return OutgoingNotification(
                id: run.job.id.string, channel: .email, orgID: job.orgID, userID: job.userID, address: member.email,
                subject: "\(message.sender.name) mentioned you in \(place)",
                text: "\(message.sender.name) mentioned you in \(place):\n\n\(message.text ?? message.attachment?.name ?? "")",
                name: member.name, event: nil)
        }) else { return }
        try await service.send(notification, run: run)
    }
}

extension MailService {
    /// Sends a job's e-mail: a temporary failure is retried with backoff, a permanent one fails the job.
    func send(_ notification: OutgoingNotification, run: JobRun) async throws {
        do {
            _ = try await notifier.deliver(notification)
        } catch DeliveryError.temporary(let reason) where run.job.attempts < run.job.maxAttempts {
            throw JobRetry(delay: 60 * pow(2, Double(run.job.attempts - 1)), reason: reason)
        } catch DeliveryError.temporary(let reason), DeliveryError.permanent(let reason) {
            throw JobFailure(reason: reason)
        }
    }
}

/// `mail.announcement`: an announcement to one recipient, unless it was cancelled or they turned
/// announcement e-mails off meanwhile.
struct AnnouncementMailHandler: JobHandler {
    let service: MailService
    var kind: String { MailService.announcementKind }

    func run(_ run: JobRun) async throws {
        let job = try run.payload(as: AnnouncementMailJob.self)
        guard let notification = try await service.transactor.database.read({ db -> OutgoingNotification? in
            guard try await service.recipients(db, orgID: job.orgID, users: [job.userID], kind: .announcements) == [job.userID],
                  let member = try await service.directory.fetchMember(db, orgID: job.orgID, userID: job.userID),
                  let announcement = try await AnnouncementStore().fetch(db, orgID: job.orgID, id: job.announcementID),
                  announcement.publishedAt != nil, announcement.cancelledAt == nil
            else { return nil }
            let confirm = announcement.requiresConfirmation ? "\n\nPlease confirm in Tack that you have read it." : ""
            return OutgoingNotification(
                id: run.job.id.string, channel: .email, orgID: job.orgID, userID: job.userID, address: member.email,
                subject: "Announcement: \(announcement.title)",
                text: "\(announcement.author.name) announced:\n\n\(announcement.title)\n\n\(announcement.bodyText)\(confirm)",
                name: member.name, event: nil)
        }) else { return }
        try await service.send(notification, run: run)
    }
}

/// E-mail over the organisation's own SMTP server.
struct EmailNotifier: Notifier {
    let database: Database
    let smtp: SMTPClient
    let publicURL: String?
    let store = MailStore()
    var channel: DeliveryChannel { .email }
    /// Whether it can be used depends on the organisation.
    var unavailableReason: String? { nil }

    static let notConfigured = "E-mail is not set up: an admin sets the organisation's SMTP server in the e-mail settings."

    func unavailableReason(orgID: Organization.ID) async throws -> String? {
        try await database.read { db in try await store.hasSettings(db, orgID: orgID) } ? nil : Self.notConfigured
    }

    func deliver(_ notification: OutgoingNotification) async throws -> DeliveryOutcome {
        guard let settings = try await database.read({ db in try await store.fetchSettings(db, orgID: notification.orgID) }) else {
            throw DeliveryError.permanent(Self.notConfigured)
        }
        guard let to = notification.address else { throw DeliveryError.permanent("No e-mail address.") }
        var text = notification.text + "\n"
        if let publicURL { text += "\nOpen Tack: \(publicURL)/\n" }
        text += "\n—\nYou get this e-mail because of your e-mail settings in Tack; change them there.\n"
        let message = MailMessage(to: to, toName: notification.name, subject: notification.subject, text: text,
                                  headers: [("Auto-Submitted", "auto-generated"), ("X-Auto-Response-Suppress", "All")],
                                  messageID: notification.id)
        do {
            _ = try await smtp.send(message, with: settings.smtp)
            return .delivered
        } catch let error as SMTPError {
            throw error.isTemporary ? DeliveryError.temporary(error.message) : DeliveryError.permanent(error.message)
        }
    }
}
