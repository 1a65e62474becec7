import Foundation
import SQLKit

/// Announcements, their audience departments, recipients and attachments.
struct AnnouncementStore: Sendable {
    private static let columns = """
        a.id, a.org_id, a.author_id, a.title, a.body_html, a.body_text, a.whole_org, a.require_confirmation, a.pinned_at,
        a.scheduled_at, a.published_at, a.cancelled_at, a.last_dinged_at, a.recipient_count, a.created_at, a.updated_at,
        au.name AS author_name, am.id AS author_member_id
        """

    private static func from(_ orgID: Organization.ID) -> SQLQueryString {
        "FROM announcements a JOIN users au ON au.id = a.author_id LEFT JOIN members am ON am.org_id = \(bind: orgID) AND am.user_id = a.author_id"
    }

    // MARK: Announcements

    func insert(_ db: any SQLDatabase, _ a: Announcement) async throws {
        try await db.insert(into: "announcements")
            .columns("id", "org_id", "author_id", "title", "body_html", "body_text", "whole_org", "require_confirmation", "pinned_at",
                     "scheduled_at", "recipient_count", "created_at", "updated_at")
            .values(SQLBind(a.id), SQLBind(a.orgID), SQLBind(a.author.userID), SQLBind(a.title), SQLBind(a.bodyHTML), SQLBind(a.bodyText),
                    SQLBind(a.wholeOrganization), SQLBind(a.requiresConfirmation), SQLBind(a.pinnedAt), SQLBind(a.scheduledAt),
                    SQLBind(0), SQLBind(a.createdAt), SQLBind(a.updatedAt))
            .run()
        try await replaceDepartments(db, a)
    }

    /// Saves the editable fields of an announcement that has not gone out.
    func updateDraft(_ db: any SQLDatabase, _ a: Announcement) async throws {
        try await db.update("announcements")
            .set("title", to: a.title).set("body_html", to: a.bodyHTML).set("body_text", to: a.bodyText)
            .set("whole_org", to: a.wholeOrganization).set("require_confirmation", to: a.requiresConfirmation)
            .set("pinned_at", to: a.pinnedAt).set("scheduled_at", to: a.scheduledAt).set("updated_at", to: a.updatedAt)
            .where("id", .equal, a.id).where("org_id", .equal, a.orgID)
            .run()
        try await replaceDepartments(db, a)
    }

    private func replaceDepartments(_ db: any SQLDatabase, _ a: Announcement) async throws {
        try await db.delete(from: "announcement_departments").where("announcement_id", .equal, a.id).run()
        guard !a.departmentIDs.isEmpty else { return }
        var insert = db.insert(into: "announcement_departments").columns("announcement_id", "department_id", "org_id")
        for department in a.departmentIDs { insert = insert.values(SQLBind(a.id), SQLBind(department), SQLBind(a.orgID)) }
        try await insert.run()
    }

    func fetch(_ db: any SQLDatabase, orgID: Organization.ID, id: Announcement.ID) async throws -> Announcement? {
        guard let row = try await db.raw("""
            SELECT \(unsafeRaw: Self.columns) \(Self.from(orgID)) WHERE a.id = \(bind: id) AND a.org_id = \(bind: orgID)
            """).first() else { return nil }
        return try await withDepartments(db, [try Self.announcement(row)]).first
    }

    /// Every announcement of the organisation, for its admins: pinned first, then newest.
    func fetchAll(_ db: any SQLDatabase, orgID: Organization.ID, limit: Int) async throws -> [Announcement] {
        let rows = try await db.raw("""
            SELECT \(unsafeRaw: Self.columns) \(Self.from(orgID)) WHERE a.org_id = \(bind: orgID)
            ORDER BY CASE WHEN a.pinned_at IS NULL THEN 1 ELSE 0 END, a.created_at DESC, a.id LIMIT \(literal: limit)
            """).all()
        return try await withDepartments(db, try rows.map(Self.announcement))
    }

    /// The announcements a person received, with their read and confirmation: pinned first
    /// (most recently pinned on top), then newest. Index: `announcement_recipients_user`.
    func fetchReceived(_ db: any SQLDatabase, orgID: Organization.ID, userID: User.ID, limit: Int)
        async throws -> [(Announcement, readAt: Date?, confirmedAt: Date?)] {
        let rows = try await db.raw("""
            SELECT \(unsafeRaw: Self.columns), r.read_at AS my_read_at, r.confirmed_at AS my_confirmed_at
            \(Self.from(orgID)) JOIN announcement_recipients r ON r.announcement_id = a.id
            WHERE r.user_id = \(bind: userID) AND r.org_id = \(bind: orgID) AND a.published_at IS NOT NULL
            ORDER BY CASE WHEN a.pinned_at IS NULL THEN 1 ELSE 0 END, a.pinned_at DESC, a.published_at DESC, a.id LIMIT \(literal: limit)
            """).all()
        let announcements = try await withDepartments(db, try rows.map(Self.announcement))
        return try zip(announcements, rows).map { a, row in
            (a, try row.decode(column: "my_read_at", as: Date?.self), try row.decode(column: "my_confirmed_at", as: Date?.self))
        }
    }

    /// Marks an announcement as gone out to `recipientCount` people; false if it had gone out or
    /// was cancelled.
    func markPublished(_ db: any SQLDatabase, id: Announcement.ID, at now: Date, recipientCount: Int) async throws -> Bool {
        try await !db.raw("""
            UPDATE announcements SET published_at = \(bind: now), recipient_count = \(bind: recipientCount), updated_at = \(bind: now)
            WHERE id = \(bind: id) AND published_at IS NULL AND cancelled_at IS NULL RETURNING id
            """).all().isEmpty
    }

    func markCancelled(_ db: any SQLDatabase, id: Announcement.ID, at now: Date) async throws -> Bool {
        try await !db.raw("""
            UPDATE announcements SET cancelled_at = \(bind: now), updated_at = \(bind: now)
            WHERE id = \(bind: id) AND published_at IS NULL AND cancelled_at IS NULL RETURNING id
            """).all().isEmpty
    }

    func setPinned(_ db: any SQLDatabase, id: Announcement.ID, at pinnedAt: Date?, now: Date) async throws {
        try await db.update("announcements").set("pinned_at", to: pinnedAt).set("updated_at", to: now).where("id", .equal, id).run()
    }

    func markDinged(_ db: any SQLDatabase, id: Announcement.ID, at now: Date) async throws {
        try await db.update("announcements").set("last_dinged_at", to: now).where("id", .equal, id).run()
    }

    // MARK: Audience and recipients

    /// The people an audience reaches now: everyone in the organisation, or everyone in one of
    /// `departments` or below it. `departments` must belong to the organisation.
    func fetchAudience(_ db: any SQLDatabase, orgID: Organization.ID, wholeOrganization: Bool, departments: [Department.ID]) async throws -> [User.ID] {
        if wholeOrganization { return try await fetchMemberUserIDs(db, orgID: orgID).sorted { $0.string < $1.string } }
        // The tree is small (hundreds of departments): walk it in memory rather than with a
        // recursive query written twice.
        let tree = try await DirectoryStore().fetchDepartments(db, orgID: orgID, memberCounts: false)
        let reached = DirectoryStore.closure(of: departments, in: tree)
        guard !reached.isEmpty else { return [] }
        var users = Set<User.ID>()
        for chunk in Array(reached).chunked(500) {
            let rows = try await db.raw("""
                SELECT DISTINCT md.user_id FROM member_departments md
                WHERE md.org_id = \(bind: orgID) AND md.department_id IN \(SQLBind.group(Array(chunk)))
                """).all(decodingColumn: "user_id", as: User.ID.self)
            users.formUnion(rows)
        }
        return users.sorted { $0.string < $1.string }
    }

    /// Everyone who is a member of the organisation now.
    func fetchMemberUserIDs(_ db: any SQLDatabase, orgID: Organization.ID) async throws -> Set<User.ID> {
        Set(try await db.raw("SELECT user_id FROM members WHERE org_id = \(bind: orgID)").all(decodingColumn: "user_id", as: User.ID.self))
    }

    func insertRecipients(_ db: any SQLDatabase, orgID: Organization.ID, id: Announcement.ID, users: [User.ID]) async throws {
        for chunk in users.chunked(500) {
            var insert = db.insert(into: "announcement_recipients").columns("org_id", "announcement_id", "user_id")
            for user in chunk { insert = insert.values(SQLBind(orgID), SQLBind(id), SQLBind(user)) }
            try await insert.run()
        }
    }

    /// Whether `userID` is a recipient, and when they read and confirmed.
    func fetchRecipient(_ db: any SQLDatabase, id: Announcement.ID, userID: User.ID) async throws -> (readAt: Date?, confirmedAt: Date?)? {
        guard let row = try await db.raw("""
            SELECT read_at, confirmed_at FROM announcement_recipients WHERE announcement_id = \(bind: id) AND user_id = \(bind: userID)
            """).first() else { return nil }
        return (try row.decode(column: "read_at", as: Date?.self), try row.decode(column: "confirmed_at", as: Date?.self))
    }

    /// Marks read for one recipient; false if they had read it already.
    func markRead(_ db: any SQLDatabase, id: Announcement.ID, userID: User.ID, at now: Date) async throws -> Bool {
        try await !db.raw("""
            UPDATE announcement_recipients SET read_at = \(bind: now)
            WHERE announcement_id = \(bind: id) AND user_id = \(bind: userID) AND read_at IS NULL RETURNING user_id
            """).all().isEmpty
    }

    /// Confirms for one recipient (reading it too); false if they had confirmed already.
    func confirm(_ db: any SQLDatabase, id: Announcement.ID, userID: User.ID, at now: Date) async throws -> Bool {
        try await !db.raw("""
            UPDATE announcement_recipients SET confirmed_at = \(bind: now), read_at = COALESCE(read_at, \(bind: now))
            WHERE announcement_id = \(bind: id) AND user_id = \(bind: userID) AND confirmed_at IS NULL RETURNING user_id
            """).all().isEmpty
    }

    /// Every recipient by name, with their read and confirmation.
    func fetchRecipients(_ db: any SQLDatabase, orgID: Organization.ID, id: Announcement.ID) async throws -> [AnnouncementRecipient] {
        try await db.raw("""
            SELECT r.user_id, r.read_at, r.confirmed_at, u.name, m.id AS member_id FROM announcement_recipients r
            JOIN users u ON u.id = r.user_id LEFT JOIN members m ON m.org_id = \(bind: orgID) AND m.user_id = r.user_id
            WHERE r.announcement_id = \(bind: id) ORDER BY u.name, r.user_id
            """).all().map {
            AnnouncementRecipient(person: try ChatStore.person($0, user: "user_id", name: "name", member: "member_id"),
                                  readAt: try $0.decode(column: "read_at", as: Date?.self),
                                  confirmedAt: try $0.decode(column: "confirmed_at", as: Date?.self))
        }
    }

    /// Read and confirmed counts, counted from the recipients' rows.
    ///
    /// Counted rather than kept in counters on the announcement: at 08:00 a whole organisation
    /// opens the same announcement, and a counter row would make every one of those reads queue
    /// on one lock. Counting costs O(recipients) of the primary key's range, and only admins and
    /// authors ask (for a page of announcements, or coalesced after reads).
    func fetchCounts(_ db: any SQLDatabase, ids: [Announcement.ID]) async throws -> [Announcement.ID: AnnouncementCounts] {
        guard !ids.isEmpty else { return [:] }
        var counts: [Announcement.ID: AnnouncementCounts] = [:]
        for row in try await db.raw("""
            SELECT announcement_id, COUNT(*) AS n, COUNT(read_at) AS r, COUNT(confirmed_at) AS c FROM announcement_recipients
            WHERE announcement_id IN \(SQLBind.group(ids)) GROUP BY announcement_id
            """).all() {
            counts[try row.decode(column: "announcement_id", as: Announcement.ID.self)] = AnnouncementCounts(
                recipients: try row.decode(column: "n", as: Int.self), read: try row.decode(column: "r", as: Int.self),
                confirmed: try row.decode(column: "c", as: Int.self))
        }
        return counts
    }

    // MARK: Attachments

    func insertAttachment(_ db: any SQLDatabase, _ a: AnnouncementAttachment) async throws {
        try await db.insert(into: "announcement_attachments")
            .columns("id", "org_id", "announcement_id", "uploader_id", "name", "content_type", "size", "sha256", "created_at")
            .values(SQLBind(a.id), SQLBind(a.orgID), SQLBind(a.announcementID), SQLBind(a.uploaderID), SQLBind(a.name),
                    SQLBind(a.contentType), SQLBind(a.size), SQLBind(a.sha256), SQLBind(a.createdAt))
            .run()
    }

    func fetchAttachment(_ db: any SQLDatabase, orgID: Organization.ID, id: AnnouncementAttachment.ID) async throws -> AnnouncementAttachment? {
        try await db.raw("""
            SELECT id, org_id, announcement_id, uploader_id, name, content_type, size, sha256, created_at FROM announcement_attachments
            WHERE id = \(bind: id) AND org_id = \(bind: orgID)
            """).first().map(Self.attachment)
    }

    /// The attachments of some announcements, in their order.
    func fetchAttachments(_ db: any SQLDatabase, of ids: [Announcement.ID]) async throws -> [Announcement.ID: [AnnouncementAttachment]] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await db.raw("""
            SELECT id, org_id, announcement_id, uploader_id, name, content_type, size, sha256, created_at FROM announcement_attachments
            WHERE announcement_id IN \(SQLBind.group(ids)) ORDER BY position, created_at, id
            """).all().map(Self.attachment)
        return Dictionary(grouping: rows) { $0.announcementID! }
    }

    /// Makes `attachments` (in this order) the announcement's; earlier ones not listed are let go.
    func replaceAttachments(_ db: any SQLDatabase, id: Announcement.ID, with attachments: [AnnouncementAttachment.ID]) async throws {
        try await db.update("announcement_attachments").set("announcement_id", to: SQLLiteral.null).where("announcement_id", .equal, id).run()
        for (position, attachment) in attachments.enumerated() {
            try await db.update("announcement_attachments").set("announcement_id", to: id).set("position", to: position)
                .where("id", .equal, attachment).run()
        }
    }

    // MARK: Rows

    private func withDepartments(_ db: any SQLDatabase, _ announcements: [Announcement]) async throws -> [Announcement] {
        let ids = announcements.filter { !$0.wholeOrganization }.map(\.id)
        guard !ids.isEmpty else { return announcements }
        var departments: [Announcement.ID: [Department.ID]] = [:]
        for row in try await db.raw("""
            SELECT announcement_id, department_id FROM announcement_departments WHERE announcement_id IN \(SQLBind.group(ids))
            ORDER BY department_id
            """).all() {
            departments[try row.decode(column: "announcement_id", as: Announcement.ID.self), default: []]
                .append(try row.decode(column: "department_id", as: Department.ID.self))
        }
        return announcements.map { a in
            var a = a
            a.departmentIDs = departments[a.id] ?? []
            return a
        }
    }

    private static func announcement(_ row: any SQLRow) throws -> Announcement {
        Announcement(
            id: try row.decode(column: "id", as: Announcement.ID.self), orgID: try row.decode(column: "org_id", as: Organization.ID.self),
            author: try ChatStore.person(row, user: "author_id", name: "author_name", member: "author_member_id"),
            title: try row.decode(column: "title", as: String.self), bodyHTML: try row.decode(column: "body_html", as: String.self),
            bodyText: try row.decode(column: "body_text", as: String.self),
            wholeOrganization: try row.decode(column: "whole_org", as: Bool.self), departmentIDs: [],
            requiresConfirmation: try row.decode(column: "require_confirmation", as: Bool.self),
            pinnedAt: try row.decode(column: "pinned_at", as: Date?.self), scheduledAt: try row.decode(column: "scheduled_at", as: Date?.self),
            publishedAt: try row.decode(column: "published_at", as: Date?.self),
            cancelledAt: try row.decode(column: "cancelled_at", as: Date?.self),
            lastDingedAt: try row.decode(column: "last_dinged_at", as: Date?.self),
            recipientCount: try row.decode(column: "recipient_count", as: Int.self),
            createdAt: try row.decode(column: "created_at", as: Date.self), updatedAt: try row.decode(column: "updated_at", as: Date.self))
    }

    private static func attachment(_ row: any SQLRow) throws -> AnnouncementAttachment {
        AnnouncementAttachment(
            id: try row.decode(column: "id", as: AnnouncementAttachment.ID.self), orgID: try row.decode(column: "org_id", as: Organization.ID.self),
            announcementID: try row.decode(column: "announcement_id", as: Announcement.ID?.self),
            uploaderID: try row.decode(column: "uploader_id", as: User.ID.self), name: try row.decode(column: "name", as: String.self),
            contentType: try row.decode(column: "content_type", as: String.self), size: try row.decode(column: "size", as: Int64.self),
            sha256: try row.decode(column: "sha256", as: String.self), createdAt: try row.decode(column: "created_at", as: Date.self))
    }
}
