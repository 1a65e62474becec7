import Foundation
import Logging
import SQLKit

/// Announcements: owners and admins publish rich text with attachments to departments or the
/// whole organisation — now or at a minute in the future (an `announcement.publish` job) —
/// optionally asking recipients to confirm they have read it; they pin, see who read and who
/// confirmed, and DING the others in one click.
///
/// The recipients are snapshotted when it goes out (`announcement_recipients`): who joins a
/// department later does not get an old announcement, who leaves keeps it in the statistics.
struct AnnouncementService: Sendable {
    static let publishKind = "announcement.publish"
    static let maxTitle = 200
    /// Of the HTML as sent (before sanitising), and of its text.
    static let maxBodyHTML = 200_000
    static let maxBodyText = 20_000
    static let maxAttachments = 10
    static let maxDepartments = 200
    /// "DING the unconfirmed" at most this often per announcement.
    static let dingInterval: TimeInterval = 300

    /// Called in the publishing transaction with the announcement (gone out) and its recipients:
    /// where e-mail hooks in. Whatever it queues commits with the publication, or not at all.
    typealias Published = @Sendable (any SQLDatabase, Outbox, Organization.ID, Announcement, [User.ID]) async throws -> Void

    let transactor: Transactor
    let clock: WallClock
    let jobs: JobQueue
    let files: FileStore
    let ding: DingService
    let notifier: AnnouncementNotifier
    let attachmentBytes: Int
    var published: Published = { _, _, _, _, _ in }
    let store = AnnouncementStore()
    let directory = DirectoryStore()

    private var database: Database { transactor.database }

    /// What an author writes: the request of a create or an edit.
    struct Draft: Sendable, Codable {
        var title: String
        var bodyHTML: String
        var wholeOrganization: Bool
        var departmentIDs: [Department.ID]
        var requiresConfirmation: Bool
        var pinned: Bool
        var scheduledAt: Date?
        var attachmentIDs: [AnnouncementAttachment.ID]
    }

    enum Box: String, Sendable { case received, all }

    // MARK: Writing

    func create(_ identity: Identity, _ orgID: Organization.ID, _ draft: Draft, idempotencyKey: String?) async throws -> AnnouncementView {
        let now = clock.now()
        let valid = try validate(draft, now: now)
        let fingerprint = String(decoding: try JSONEncoder.tack.encode(draft), as: UTF8.self)
        let id = try await transactor.runIdempotent(scope: "announcement:\(identity.userID.string)", key: idempotencyKey,
                                                    operation: "createAnnouncement", fingerprint: fingerprint) { db, outbox -> Announcement.ID in
            let me = try await accessAdmin(db, identity, orgID)
            try await checkReferences(db, orgID, valid, uploader: identity.userID, announcement: nil)
            let announcement = Announcement(
                id: .random(), orgID: orgID, author: PersonRef(userID: identity.userID, memberID: me.id, name: me.name), title: valid.title,
                bodyHTML: valid.body.html, bodyText: valid.body.text, wholeOrganization: draft.wholeOrganization, departmentIDs: valid.departments,
                requiresConfirmation: draft.requiresConfirmation, pinnedAt: draft.pinned ? now : nil, scheduledAt: valid.scheduledAt,
                publishedAt: nil, cancelledAt: nil, lastDingedAt: nil, recipientCount: 0, createdAt: now, updatedAt: now)
            try await store.insert(db, announcement)
            try await store.replaceAttachments(db, id: announcement.id, with: draft.attachmentIDs)
            try await goOutOrSchedule(db, outbox, announcement, now: now)
            return announcement.id
        }
        return try await view(identity, orgID, id)
    }

    /// Replaces a scheduled announcement's content, audience and time (without a time it goes
    /// out now).
    func update(_ identity: Identity, _ orgID: Organization.ID, _ id: Announcement.ID, _ draft: Draft) async throws -> AnnouncementView {
        let now = clock.now()
        let valid = try validate(draft, now: now)
        try await transactor.run { db, outbox in
            _ = try await accessAdmin(db, identity, orgID)
            guard var announcement = try await store.fetch(db, orgID: orgID, id: id) else { throw AppError.notFound("Announcement") }
            try requireScheduled(announcement)
            try await checkReferences(db, orgID, valid, uploader: identity.userID, announcement: id)
            if let old = announcement.scheduledAt { try await jobs.cancel(db, dedupeKey: Self.publishKey(id, old)) }
            announcement.title = valid.title
            announcement.bodyHTML = valid.body.html
            announcement.bodyText = valid.body.text
            announcement.wholeOrganization = draft.wholeOrganization
            announcement.departmentIDs = valid.departments
            announcement.requiresConfirmation = draft.requiresConfirmation
            announcement.pinnedAt = draft.pinned ? (announcement.pinnedAt ?? now) : nil
            announcement.scheduledAt = valid.scheduledAt
            announcement.updatedAt = now
            try await store.updateDraft(db, announcement)
            try await store.replaceAttachments(db, id: id, with: draft.attachmentIDs)
            try await goOutOrSchedule(db, outbox, announcement, now: now)
        }
        return try await view(identity, orgID, id)
    }

    /// Cancels a scheduled announcement before it goes out.
    func cancel(_ identity: Identity, _ orgID: Organization.ID, _ id: Announcement.ID) async throws -> AnnouncementView {
        let now = clock.now()
        try await transactor.run { db, outbox in
            _ = try await accessAdmin(db, identity, orgID)
            guard var announcement = try await store.fetch(db, orgID: orgID, id: id) else { throw AppError.notFound("Announcement") }
            try requireScheduled(announcement)
            _ = try await store.markCancelled(db, id: id, at: now)
            if let at = announcement.scheduledAt { try await jobs.cancel(db, dedupeKey: Self.publishKey(id, at)) }
            announcement.cancelledAt = now
            announcement.updatedAt = now
            try await announceToAdmins(db, outbox, announcement)
        }
        return try await view(identity, orgID, id)
    }

    func setPinned(_ identity: Identity, _ orgID: Organization.ID, _ id: Announcement.ID, pinned: Bool) async throws -> AnnouncementView {
        let now = clock.now()
        try await transactor.run { db, outbox in
            _ = try await accessAdmin(db, identity, orgID)
            guard var announcement = try await store.fetch(db, orgID: orgID, id: id) else { throw AppError.notFound("Announcement") }
            guard announcement.cancelledAt == nil else { throw AppError.conflict("cancelled", "This announcement was cancelled.") }
            guard (announcement.pinnedAt != nil) != pinned else { return }
            announcement.pinnedAt = pinned ? now : nil
            announcement.updatedAt = now
            try await store.setPinned(db, id: id, at: announcement.pinnedAt, now: now)
            try await announceToAdmins(db, outbox, announcement)
            if announcement.publishedAt != nil {
                let data = try EventJSON.encode(AnnouncementPinnedEvent(announcementId: id.string, pinnedAt: announcement.pinnedAt))
                for user in try await store.fetchRecipients(db, orgID: orgID, id: id).map(\.person.userID) {
                    outbox.add(.personal(user, type: AnnouncementEvent.pinned, data: data))
                }
            }
        }
        return try await view(identity, orgID, id)
    }

    // MARK: Going out

    /// Publishes now (no time, or a time that has come), or queues the publication for its minute.
    private func goOutOrSchedule(_ db: any SQLDatabase, _ outbox: Outbox, _ announcement: Announcement, now: Date) async throws {
        if let at = announcement.scheduledAt, at > now {
            try await jobs.enqueue(db, outbox, kind: Self.publishKind, payload: AnnouncementJob(announcementID: announcement.id, orgID: announcement.orgID),
                                   due: at, orgID: announcement.orgID, dedupeKey: Self.publishKey(announcement.id, at))
            try await announceToAdmins(db, outbox, announcement)
        } else {
            let recipients = try await audience(db, announcement)
            guard !recipients.isEmpty else {
                throw AppError.invalid(announcement.wholeOrganization ? "wholeOrganization" : "departmentIds",
                                       "Nobody but you is in this audience.", code: "no_recipients")
            }
            try await publish(db, outbox, announcement, recipients: recipients, now: now)
        }
    }

    /// The people the announcement reaches now, its author excepted.
    private func audience(_ db: any SQLDatabase, _ announcement: Announcement) async throws -> [User.ID] {
        try await store.fetchAudience(db, orgID: announcement.orgID, wholeOrganization: announcement.wholeOrganization,
                                      departments: announcement.departmentIDs)
            .filter { $0 != announcement.author.userID }
    }

    /// Sends the announcement out: snapshots its recipients, hands it to `published` (e-mail) in
    /// this transaction, and tells the recipients and the admins once it commits.
    func publish(_ db: any SQLDatabase, _ outbox: Outbox, _ announcement: Announcement, recipients: [User.ID]? = nil, now: Date) async throws {
        let recipients = if let recipients { recipients } else { try await audience(db, announcement) }
        guard try await store.markPublished(db, id: announcement.id, at: now, recipientCount: recipients.count) else { return }
        try await store.insertRecipients(db, orgID: announcement.orgID, id: announcement.id, users: recipients)
        var sent = announcement
        sent.publishedAt = now
        sent.recipientCount = recipients.count
        sent.updatedAt = now
        try await published(db, outbox, announcement.orgID, sent, recipients)
        let attachments = try await store.fetchAttachments(db, of: [sent.id])[sent.id] ?? []
        let data = try EventJSON.encode(AnnouncementView(announcement: sent, attachments: attachments, isRecipient: true, myReadAt: nil,
                                                         myConfirmedAt: nil, counts: nil, canManage: false).api(full: false))
        for user in recipients { outbox.add(.personal(user, type: AnnouncementEvent.published, data: data)) }
        try await announceToAdmins(db, outbox, sent)
    }

    /// `announcement.updated` to the organisation's admins: the announcement as they see it.
    private func announceToAdmins(_ db: any SQLDatabase, _ outbox: Outbox, _ announcement: Announcement) async throws {
        let attachments = try await store.fetchAttachments(db, of: [announcement.id])[announcement.id] ?? []
        let counts = try await store.fetchCounts(db, ids: [announcement.id])[announcement.id] ?? .zero
        let view = AnnouncementView(announcement: announcement, attachments: attachments, isRecipient: false, myReadAt: nil, myConfirmedAt: nil,
                                    counts: counts, canManage: true)
        outbox.add(AnnouncementEvent.toAdmins(announcement.orgID, type: AnnouncementEvent.updated, data: try EventJSON.encode(view.api(full: false))))
    }

    static func publishKey(_ id: Announcement.ID, _ at: Date) -> String {
        "announcement:\(id.string):publish:\(Int(at.timeIntervalSince1970))"
    }

    // MARK: Receiving

    /// Marks an announcement read for a recipient; for anyone else who may see it, nothing changes.
    func markRead(_ identity: Identity, _ orgID: Organization.ID, _ id: Announcement.ID) async throws -> AnnouncementView {
        let now = clock.now()
        try await transactor.run { db, outbox in
            let (announcement, me) = try await visible(db, identity, orgID, id)
            guard me != nil, try await store.markRead(db, id: id, userID: identity.userID, at: now) else { return }
            let data = try EventJSON.encode(AnnouncementReadEvent(announcementId: id.string, readAt: now, confirmedAt: nil))
            outbox.add(.personal(identity.userID, type: AnnouncementEvent.read, data: data))
            outbox.afterCommit { [notifier] in notifier.noteChanged(announcement.id, org: orgID) }
        }
        return try await view(identity, orgID, id)
    }

    /// Confirms having read an announcement that asks for it.
    func confirm(_ identity: Identity, _ orgID: Organization.ID, _ id: Announcement.ID) async throws -> AnnouncementView {
        let now = clock.now()
        try await transactor.run { db, outbox in
            let (announcement, me) = try await visible(db, identity, orgID, id)
            guard let me, announcement.publishedAt != nil else {
                throw AppError.conflict("not_a_recipient", "You did not receive this announcement.")
            }
            guard announcement.requiresConfirmation else {
                throw AppError.conflict("confirmation_not_required", "This announcement does not ask for confirmation.")
            }
            guard try await store.confirm(db, id: id, userID: identity.userID, at: now) else { return }
            let data = try EventJSON.encode(AnnouncementReadEvent(announcementId: id.string, readAt: me.readAt ?? now, confirmedAt: now))
            outbox.add(.personal(identity.userID, type: AnnouncementEvent.read, data: data))
            outbox.afterCommit { [notifier] in notifier.noteChanged(announcement.id, org: orgID) }
        }
        return try await view(identity, orgID, id)
    }

    // MARK: Reading

    func list(_ identity: Identity, _ orgID: Organization.ID, box: Box, limit: Int) async throws -> [AnnouncementView] {
        guard (1...200).contains(limit) else { throw AppError.invalidParameter("limit", "Must be between 1 and 200.") }
        return try await database.read { db in
            let me = try await directory.accessMember(db, identity, orgID)
            switch box {
            case .received:
                let rows = try await store.fetchReceived(db, orgID: orgID, userID: identity.userID, limit: limit)
                let attachments = try await store.fetchAttachments(db, of: rows.map(\.0.id))
                return rows.map { a, readAt, confirmedAt in
                    AnnouncementView(announcement: a, attachments: attachments[a.id] ?? [], isRecipient: true, myReadAt: readAt,
                                     myConfirmedAt: confirmedAt, counts: nil, canManage: me.role.isAdmin)
                }
            case .all:
                guard me.role.isAdmin else { throw AppError.forbidden("Only the organisation's owners and admins see every announcement.") }
                let all = try await store.fetchAll(db, orgID: orgID, limit: limit)
                let ids = all.map(\.id)
                let counts = try await store.fetchCounts(db, ids: ids)
                let attachments = try await store.fetchAttachments(db, of: ids)
                return all.map { a in
                    AnnouncementView(announcement: a, attachments: attachments[a.id] ?? [], isRecipient: false, myReadAt: nil, myConfirmedAt: nil,
                                     counts: counts[a.id] ?? .zero, canManage: true)
                }
            }
        }
    }

    func view(_ identity: Identity, _ orgID: Organization.ID, _ id: Announcement.ID) async throws -> AnnouncementView {
        try await database.read { db in
            let member = try await directory.accessMember(db, identity, orgID)
            let (announcement, me) = try await visible(db, identity, orgID, id, member: member)
            let managing = member.role.isAdmin || announcement.author.userID == identity.userID
            return AnnouncementView(
                announcement: announcement, attachments: try await store.fetchAttachments(db, of: [id])[id] ?? [],
                isRecipient: me != nil, myReadAt: me?.readAt, myConfirmedAt: me?.confirmedAt,
                counts: managing ? try await store.fetchCounts(db, ids: [id])[id] ?? .zero : nil, canManage: member.role.isAdmin)
        }
    }

    /// Every recipient with their read and confirmation, for admins and the author.
    func recipients(_ identity: Identity, _ orgID: Organization.ID, _ id: Announcement.ID) async throws -> (AnnouncementCounts, [AnnouncementRecipient]) {
        try await database.read { db in
            _ = try await accessStatistics(db, identity, orgID, id)
            let recipients = try await store.fetchRecipients(db, orgID: orgID, id: id)
            let counts = AnnouncementCounts(recipients: recipients.count, read: recipients.count { $0.readAt != nil },
                                            confirmed: recipients.count { $0.confirmedAt != nil })
            return (counts, recipients)
        }
    }

    /// DINGs the recipients who have not confirmed it (when it asks for confirmation) or not read
    /// it — one in-app DING about the announcement, through DING's own create path.
    func dingUnconfirmed(_ identity: Identity, _ orgID: Organization.ID, _ id: Announcement.ID, idempotencyKey: String?) async throws -> DingView {
        let now = clock.now()
        let dingID = try await transactor.runIdempotent(scope: "announcement:\(identity.userID.string)", key: idempotencyKey,
                                                        operation: "dingAnnouncementUnconfirmed", fingerprint: id.string) { db, outbox -> Ding.ID in
            let (announcement, me) = try await accessStatistics(db, identity, orgID, id)
            guard announcement.publishedAt != nil else { throw AppError.conflict("not_published", "This announcement has not gone out yet.") }
            if let last = announcement.lastDingedAt, now.timeIntervalSince(last) < Self.dingInterval - 0.001 {
                throw AppError.rateLimited(retryAfter: Int((Self.dingInterval - now.timeIntervalSince(last) - 0.001).rounded(.up)),
                                           "DING the unconfirmed at most once every 5 minutes.")
            }
            // Only people still in the organisation can be DINGed; never the caller.
            let members = try await store.fetchMemberUserIDs(db, orgID: orgID)
            let pending = try await store.fetchRecipients(db, orgID: orgID, id: id)
                .filter { (announcement.requiresConfirmation ? $0.confirmedAt : $0.readAt) == nil }
                .map(\.person.userID)
                .filter { $0 != identity.userID && members.contains($0) }
            guard !pending.isEmpty else {
                throw AppError.conflict("nobody_left", announcement.requiresConfirmation ? "Everyone has confirmed." : "Everyone has read it.")
            }
            try await store.markDinged(db, id: id, at: now)
            return try await ding.insert(db, outbox, orgID: orgID, sender: PersonRef(userID: identity.userID, memberID: me.id, name: me.name),
                                         text: announcement.title, channel: .app, scheduledAt: nil, source: nil, announcementID: id,
                                         recipients: pending, now: now)
        }
        return try await ding.view(identity, orgID, dingID)
    }

    // MARK: Attachments

    func upload(_ identity: Identity, _ orgID: Organization.ID, name: String, bytes: [UInt8]) async throws -> AnnouncementAttachment {
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...255).contains(name.count), !name.contains("/"), !name.contains("\\"),
              !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { throw AppError.invalidParameter("name", "Give the file's name (no slashes or control characters).") }
        guard !bytes.isEmpty else { throw AppError.invalid("body", "The file is empty.", code: "empty") }
        guard bytes.count <= attachmentBytes else { throw BodyLimitExceeded(limit: attachmentBytes) }
        _ = try await database.read { db in try await accessAdmin(db, identity, orgID) }
        // Content-addressed, in the organisation's folder, like chat's files.
        let sha = try files.write(bytes, namespace: orgID.string)
        let attachment = AnnouncementAttachment(id: .random(), orgID: orgID, announcementID: nil, uploaderID: identity.userID, name: name,
                                                contentType: ContentSniffer.sniff(bytes).contentType, size: Int64(bytes.count), sha256: sha,
                                                createdAt: clock.now())
        try await transactor.run { db, _ in try await store.insertAttachment(db, attachment) }
        return attachment
    }

    /// An attachment and its bytes, for whoever may see its announcement.
    func download(_ identity: Identity, _ orgID: Organization.ID, _ id: Announcement.ID,
                  _ attachmentID: AnnouncementAttachment.ID) async throws -> (AnnouncementAttachment, Data) {
        let attachment = try await database.read { db -> AnnouncementAttachment in
            _ = try await visible(db, identity, orgID, id)
            guard let attachment = try await store.fetchAttachment(db, orgID: orgID, id: attachmentID), attachment.announcementID == id
            else { throw AppError.notFound("Attachment") }
            return attachment
        }
        guard let data = try? files.read(namespace: orgID.string, name: attachment.sha256) else { throw AppError.notFound("Attachment") }
        return (attachment, data)
    }

    // MARK: Access

    private func accessAdmin(_ db: any SQLDatabase, _ identity: Identity, _ orgID: Organization.ID) async throws -> Member {
        let me = try await directory.accessMember(db, identity, orgID)
        guard me.role.isAdmin else { throw AppError.forbidden("Only the organisation's owners and admins publish and manage announcements.") }
        return me
    }

    /// The announcement if the caller may see it — a recipient once it went out, an owner or
    /// admin, its author — with the caller's own recipient row; 404 otherwise.
    private func visible(_ db: any SQLDatabase, _ identity: Identity, _ orgID: Organization.ID, _ id: Announcement.ID, member: Member? = nil)
        async throws -> (Announcement, (readAt: Date?, confirmedAt: Date?)?) {
        let member = if let member { member } else { try await directory.accessMember(db, identity, orgID) }
        guard let announcement = try await store.fetch(db, orgID: orgID, id: id) else { throw AppError.notFound("Announcement") }
        let me = announcement.publishedAt == nil ? nil : try await store.fetchRecipient(db, id: id, userID: identity.userID)
        guard me != nil || member.role.isAdmin || announcement.author.userID == identity.userID else { throw AppError.notFound("Announcement") }
        return (announcement, me)
    }

    /// The announcement if the caller may see its statistics (owners, admins, the author);
    /// 403 for its other recipients, 404 for anyone else.
    private func accessStatistics(_ db: any SQLDatabase, _ identity: Identity, _ orgID: Organization.ID, _ id: Announcement.ID)
        async throws -> (Announcement, Member) {
        let member = try await directory.accessMember(db, identity, orgID)
        let (announcement, _) = try await visible(db, identity, orgID, id, member: member)
        guard member.role.isAdmin || announcement.author.userID == identity.userID else {
            throw AppError.forbidden("Only the organisation's owners and admins and the author see who read it.")
        }
        return (announcement, member)
    }

    private func requireScheduled(_ announcement: Announcement) throws {
        guard announcement.publishedAt == nil else { throw AppError.conflict("already_published", "This announcement has gone out.") }
        guard announcement.cancelledAt == nil else { throw AppError.conflict("cancelled", "This announcement was cancelled.") }
    }

    // MARK: Validation

    struct Valid {
        var title: String
        var body: RichText.Sanitized
        var departments: [Department.ID]
        var attachments: [AnnouncementAttachment.ID]
        var scheduledAt: Date?
    }

    /// Checks what needs no database.
    func validate(_ draft: Draft, now: Date) throws -> Valid {
        let title = draft.title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !title.isEmpty else { throw AppError.invalid("title", "Give the announcement a title.", code: "empty") }
        guard title.count <= Self.maxTitle else { throw AppError.invalid("title", "At most \(Self.maxTitle) characters.", code: "too_long") }
        guard draft.bodyHTML.count <= Self.maxBodyHTML else {
            throw AppError.invalid("body", "The text is too long (at most \(Self.maxBodyHTML) characters of HTML).", code: "too_long")
        }
        let body = RichText.sanitize(draft.bodyHTML)
        guard body.text.count <= Self.maxBodyText else {
            throw AppError.invalid("body", "The text is too long (at most \(Self.maxBodyText) characters).", code: "too_long")
        }
        guard !body.text.isEmpty || !draft.attachmentIDs.isEmpty else {
            throw AppError.invalid("body", "Write something, or attach a file.", code: "empty")
        }
        let departments = Array(Set(draft.departmentIDs)).sorted { $0.string < $1.string }
        if draft.wholeOrganization {
            guard departments.isEmpty else {
                throw AppError.invalid("departmentIds", "Choose departments or the whole organisation, not both.", code: "audience_conflict")
            }
        } else {
            guard !departments.isEmpty else { throw AppError.invalid("departmentIds", "Choose who it is for.", code: "empty") }
            guard departments.count <= Self.maxDepartments else {
                throw AppError.invalid("departmentIds", "At most \(Self.maxDepartments) departments.", code: "too_many")
            }
        }
        let attachments = draft.attachmentIDs
        guard Set(attachments).count == attachments.count else {
            throw AppError.invalid("attachmentIds", "An attachment is listed twice.", code: "duplicate")
        }
        guard attachments.count <= Self.maxAttachments else {
            throw AppError.invalid("attachmentIds", "At most \(Self.maxAttachments) attachments.", code: "too_many")
        }
        return Valid(title: title, body: body, departments: departments, attachments: attachments,
                     scheduledAt: try draft.scheduledAt?.scheduledMinute(after: now))
    }

    /// Checks the departments and attachments named: the organisation's, and the attachments
    /// uploaded by the caller for this announcement (or not yet used).
    private func checkReferences(_ db: any SQLDatabase, _ orgID: Organization.ID, _ valid: Valid, uploader: User.ID,
                                 announcement: Announcement.ID?) async throws {
        let known = try await DirectoryStore().fetchDepartmentIDs(db, orgID: orgID, among: valid.departments)
        guard known.count == valid.departments.count else {
            throw AppError.invalid("departmentIds", "There is no such department in this organisation.", code: "unknown_department")
        }
        for id in valid.attachments {
            guard let attachment = try await store.fetchAttachment(db, orgID: orgID, id: id),
                  attachment.announcementID == nil ? attachment.uploaderID == uploader : attachment.announcementID == announcement
            else { throw AppError.invalid("attachmentIds", "Upload the attachment first.", code: "unknown_attachment") }
        }
    }
}

/// Event types of announcements (`docs/events.md`).
enum AnnouncementEvent {
    /// To each recipient: an announcement went out to them.
    static let published = "announcement.published"
    /// To the reader's other tabs: they read or confirmed it.
    static let read = "announcement.read"
    /// To the recipients: it was pinned or unpinned.
    static let pinned = "announcement.pinned"
    /// To admins: created, scheduled, changed, published, pinned or cancelled (as admins see it).
    static let updated = "announcement.updated"
    /// To admins: its read and confirmed counts moved (coalesced).
    static let stats = "announcement.stats"

    /// An event for an organisation's owners and admins. Not part of the organisation's log (no
    /// `seq`): after reconnecting, an admin's open view refetches.
    static func toAdmins(_ org: Organization.ID, type: String, data: String) -> HubMessage {
        HubMessage(audience: .organizationAdmins(org), payload: .event(json: #"{"type":"\#(type)","org":"\#(org.string)","data":\#(data)}"#))
    }
}

struct AnnouncementReadEvent: Codable, Sendable {
    var announcementId: String
    var readAt: Date?
    var confirmedAt: Date?
}

struct AnnouncementPinnedEvent: Codable, Sendable {
    var announcementId: String
    var pinnedAt: Date?
}

/// Payload of `announcement.publish`.
struct AnnouncementJob: Codable, Sendable {
    var announcementID: Announcement.ID
    var orgID: Organization.ID
}
