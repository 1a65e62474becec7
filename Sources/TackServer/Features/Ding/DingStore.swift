import Foundation
import SQLKit

/// DINGs, their recipients and delivery attempts, and escalation policies.
struct DingStore: Sendable {
    private static let dingColumns = """
        d.id, d.org_id, d.sender_id, d.body, d.channel, d.scheduled_at, d.sent_at, d.cancelled_at, d.last_reminded_at,
        d.source_conversation_id, d.source_seq, d.source_announcement_id, d.recipient_count, d.confirmed_count, d.created_at,
        su.name AS sender_name, sm.id AS sender_member_id
        """

    private static func fromDings(_ orgID: Organization.ID) -> SQLQueryString {
        "FROM dings d JOIN users su ON su.id = d.sender_id LEFT JOIN members sm ON sm.org_id = \(bind: orgID) AND sm.user_id = d.sender_id"
    }

    // MARK: DINGs

    func insert(_ db: any SQLDatabase, _ ding: Ding, recipients: [User.ID]) async throws {
        try await db.insert(into: "dings")
            .columns("id", "org_id", "sender_id", "body", "channel", "scheduled_at", "source_conversation_id", "source_seq",
                     "source_announcement_id", "recipient_count", "confirmed_count", "created_at")
            .values(SQLBind(ding.id), SQLBind(ding.orgID), SQLBind(ding.sender.userID), SQLBind(ding.text), SQLBind(ding.channel.rawValue),
                    SQLBind(ding.scheduledAt), SQLBind(ding.source?.conversationID), SQLBind(ding.source?.seq), SQLBind(ding.announcementID),
                    SQLBind(recipients.count), SQLBind(0), SQLBind(ding.createdAt))
            .run()
        for chunk in recipients.chunked(500) {
            var insert = db.insert(into: "ding_recipients").columns("ding_id", "user_id", "org_id", "created_at")
            for user in chunk { insert = insert.values(SQLBind(ding.id), SQLBind(user), SQLBind(ding.orgID), SQLBind(ding.createdAt)) }
            try await insert.run()
        }
    }

    func fetch(_ db: any SQLDatabase, orgID: Organization.ID, id: Ding.ID) async throws -> Ding? {
        try await db.raw("""
            SELECT \(unsafeRaw: Self.dingColumns) \(Self.fromDings(orgID)) WHERE d.id = \(bind: id) AND d.org_id = \(bind: orgID)
            """).first().map(Self.ding)
    }

    /// What sending DINGs needs, in one query: each DING, its organisation's policy, and whether
    /// the organisation has an SMTP server.
    func fetchForSend(_ db: any SQLDatabase, ids: [Ding.ID]) async throws -> [(ding: Ding, policy: DingPolicy, hasMail: Bool)] {
        var result: [(Ding, DingPolicy, Bool)] = []
        for chunk in ids.chunked(500) {
            let rows = try await db.raw("""
                SELECT \(unsafeRaw: Self.dingColumns), p.org_id AS policy_org, p.sms_after_minutes, p.call_after_minutes, p.call_fallback_sms,
                    p.calls_per_8_minutes, p.calls_per_day,
                    EXISTS (SELECT 1 FROM mail_settings ms WHERE ms.org_id = d.org_id) AS has_mail
                FROM dings d JOIN users su ON su.id = d.sender_id LEFT JOIN members sm ON sm.org_id = d.org_id AND sm.user_id = d.sender_id
                LEFT JOIN ding_policies p ON p.org_id = d.org_id
                WHERE d.id IN \(SQLBind.group(Array(chunk)))
                """).all()
            for row in rows {
                let policy = try row.decode(column: "policy_org", as: Organization.ID?.self) == nil ? DingPolicy.standard : try Self.policy(row)
                result.append((try Self.ding(row), policy, try row.decode(column: "has_mail", as: Bool.self)))
            }
        }
        return result
    }

    /// The recipients of several DINGs who have not confirmed, by DING.
    func fetchUnconfirmed(_ db: any SQLDatabase, dingIDs: [Ding.ID]) async throws -> [Ding.ID: [User.ID]] {
        var result: [Ding.ID: [User.ID]] = [:]
        for chunk in dingIDs.chunked(500) {
            let rows = try await db.raw("""
                SELECT ding_id, user_id FROM ding_recipients WHERE ding_id IN \(SQLBind.group(Array(chunk))) AND confirmed_at IS NULL
                ORDER BY ding_id, user_id
                """).all()
            for row in rows {
                result[try row.decode(column: "ding_id", as: Ding.ID.self), default: []].append(try row.decode(column: "user_id", as: User.ID.self))
            }
        }
        return result
    }

    /// Marks DINGs sent that were neither sent nor cancelled yet; returns those.
    func markSent(_ db: any SQLDatabase, ids: [Ding.ID], at now: Date) async throws -> Set<Ding.ID> {
        var sent: Set<Ding.ID> = []
        for chunk in ids.chunked(500) {
            let rows = try await db.raw("""
                UPDATE dings SET sent_at = \(bind: now)
                WHERE id IN \(SQLBind.group(Array(chunk))) AND sent_at IS NULL AND cancelled_at IS NULL RETURNING id
                """).all()
            for row in rows { sent.insert(try row.decode(column: "id", as: Ding.ID.self)) }
        }
        return sent
    }

    /// DINGs a person sent, newest first.
    func fetchSent(_ db: any SQLDatabase, orgID: Organization.ID, sender: User.ID, limit: Int) async throws -> [Ding] {
        try await db.raw("""
            SELECT \(unsafeRaw: Self.dingColumns) \(Self.fromDings(orgID))
            WHERE d.org_id = \(bind: orgID) AND d.sender_id = \(bind: sender) ORDER BY d.created_at DESC LIMIT \(literal: limit)
            """).all().map(Self.ding)
    }

    /// DINGs a person received (sent, not cancelled), newest first, with their confirmation.
    func fetchReceived(_ db: any SQLDatabase, orgID: Organization.ID, userID: User.ID, unconfirmedOnly: Bool, limit: Int) async throws -> [(Ding, Date?)] {
        try await db.raw("""
            SELECT \(unsafeRaw: Self.dingColumns), r.confirmed_at AS my_confirmed_at
            \(Self.fromDings(orgID)) JOIN ding_recipients r ON r.ding_id = d.id
            WHERE r.user_id = \(bind: userID) AND r.org_id = \(bind: orgID) AND d.sent_at IS NOT NULL AND d.cancelled_at IS NULL
            \(unsafeRaw: unconfirmedOnly ? "AND r.confirmed_at IS NULL" : "")
            ORDER BY d.sent_at DESC LIMIT \(literal: limit)
            """).all().map { (try Self.ding($0), try $0.decode(column: "my_confirmed_at", as: Date?.self)) }
    }

    func markCancelled(_ db: any SQLDatabase, id: Ding.ID, at now: Date) async throws -> Bool {
        try await !db.raw("""
            UPDATE dings SET cancelled_at = \(bind: now) WHERE id = \(bind: id) AND sent_at IS NULL AND cancelled_at IS NULL RETURNING id
            """).all().isEmpty
    }

    func markReminded(_ db: any SQLDatabase, id: Ding.ID, at now: Date) async throws {
        try await db.update("dings").set("last_reminded_at", to: now).where("id", .equal, id).run()
    }

    // MARK: Recipients

    func fetchRecipients(_ db: any SQLDatabase, orgID: Organization.ID, dingID: Ding.ID) async throws -> [DingRecipient] {
        try await db.raw("""
            SELECT r.user_id, r.confirmed_at, u.name, m.id AS member_id FROM ding_recipients r JOIN users u ON u.id = r.user_id
            LEFT JOIN members m ON m.org_id = \(bind: orgID) AND m.user_id = r.user_id
            WHERE r.ding_id = \(bind: dingID) ORDER BY u.name, r.user_id
            """).all().map {
            DingRecipient(person: try ChatStore.person($0, user: "user_id", name: "name", member: "member_id"),
                          confirmedAt: try $0.decode(column: "confirmed_at", as: Date?.self))
        }
    }

    /// The recipients who have not confirmed.
    func fetchUnconfirmed(_ db: any SQLDatabase, dingID: Ding.ID) async throws -> [User.ID] {
        try await db.raw("""
            SELECT user_id FROM ding_recipients WHERE ding_id = \(bind: dingID) AND confirmed_at IS NULL ORDER BY user_id
            """).all(decodingColumn: "user_id", as: User.ID.self)
    }

    /// Whether `user` is a recipient, and when they confirmed.
    func fetchRecipient(_ db: any SQLDatabase, dingID: Ding.ID, userID: User.ID) async throws -> (isRecipient: Bool, confirmedAt: Date?) {
        guard let row = try await db.raw("""
            SELECT confirmed_at FROM ding_recipients WHERE ding_id = \(bind: dingID) AND user_id = \(bind: userID)
            """).first() else { return (false, nil) }
        return (true, try row.decode(column: "confirmed_at", as: Date?.self))
    }

    /// Confirms for one recipient; false if they had confirmed already.
    func confirm(_ db: any SQLDatabase, dingID: Ding.ID, userID: User.ID, at now: Date) async throws -> Bool {
        let changed = try await db.raw("""
            UPDATE ding_recipients SET confirmed_at = \(bind: now)
            WHERE ding_id = \(bind: dingID) AND user_id = \(bind: userID) AND confirmed_at IS NULL RETURNING user_id
            """).all()
        guard !changed.isEmpty else { return false }
        try await db.raw("UPDATE dings SET confirmed_count = confirmed_count + 1 WHERE id = \(bind: dingID)").run()
        return true
    }

    // MARK: Attempts

    func insertAttempt(_ db: any SQLDatabase, _ attempt: DeliveryAttempt) async throws {
        try await db.insert(into: "ding_attempts")
            .columns("id", "ding_id", "user_id", "channel", "reason", "status", "detail", "created_at", "updated_at")
            .values(SQLBind(attempt.id), SQLBind(attempt.dingID), SQLBind(attempt.userID), SQLBind(attempt.channel.rawValue),
                    SQLBind(attempt.reason.rawValue), SQLBind(attempt.status.rawValue), SQLBind(attempt.detail),
                    SQLBind(attempt.createdAt), SQLBind(attempt.updatedAt))
            .run()
    }

    /// Inserts several attempts with one statement per 500.
    func insertAttempts(_ db: any SQLDatabase, _ attempts: [DeliveryAttempt]) async throws {
        for chunk in attempts.chunked(500) {
            let insert = db.insert(into: "ding_attempts")
                .columns("id", "ding_id", "user_id", "channel", "reason", "status", "detail", "created_at", "updated_at")
            for a in chunk {
                insert.values(SQLBind(a.id), SQLBind(a.dingID), SQLBind(a.userID), SQLBind(a.channel.rawValue), SQLBind(a.reason.rawValue),
                              SQLBind(a.status.rawValue), SQLBind(a.detail), SQLBind(a.createdAt), SQLBind(a.updatedAt))
            }
            try await insert.run()
        }
    }

    /// Inserts the attempt, or updates its status and detail if it exists (a retried job).
    func saveAttempt(_ db: any SQLDatabase, _ attempt: DeliveryAttempt) async throws {
        if try await fetchAttempt(db, id: attempt.id) == nil {
            try await insertAttempt(db, attempt)
        } else {
            try await updateAttempt(db, id: attempt.id, status: attempt.status, detail: attempt.detail, at: attempt.updatedAt)
        }
    }

    func updateAttempt(_ db: any SQLDatabase, id: DeliveryAttempt.ID, status: DeliveryAttempt.Status, detail: String?, at now: Date) async throws {
        try await db.update("ding_attempts").set("status", to: status.rawValue).set("detail", to: detail).set("updated_at", to: now)
            .where("id", .equal, id).run()
    }

    func fetchAttempt(_ db: any SQLDatabase, id: DeliveryAttempt.ID) async throws -> DeliveryAttempt? {
        try await db.raw("""
            SELECT id, ding_id, user_id, channel, reason, status, detail, created_at, updated_at FROM ding_attempts WHERE id = \(bind: id)
            """).first().map(Self.attempt)
    }

    func fetchAttempts(_ db: any SQLDatabase, dingID: Ding.ID) async throws -> [DeliveryAttempt] {
        try await db.raw("""
            SELECT id, ding_id, user_id, channel, reason, status, detail, created_at, updated_at FROM ding_attempts
            WHERE ding_id = \(bind: dingID)
            ORDER BY created_at, CASE reason WHEN 'initial' THEN 0 WHEN 'escalation' THEN 1 WHEN 'reminder' THEN 2 ELSE 3 END,
                     CASE channel WHEN 'app' THEN 0 WHEN 'email' THEN 1 WHEN 'sms' THEN 2 ELSE 3 END, id
            """).all().map(Self.attempt)
    }

    /// Calls placed to a person since `since` (skipped ones do not count).
    func countCalls(_ db: any SQLDatabase, userID: User.ID, since: Date) async throws -> Int {
        try await db.raw("""
            SELECT COUNT(*) AS n FROM ding_attempts WHERE user_id = \(bind: userID) AND channel = 'call'
              AND created_at >= \(bind: since) AND status <> 'skipped'
            """).first()?.decode(column: "n", as: Int.self) ?? 0
    }

    // MARK: Policies

    func fetchPolicy(_ db: any SQLDatabase, orgID: Organization.ID) async throws -> DingPolicy {
        guard let row = try await db.raw("""
            SELECT sms_after_minutes, call_after_minutes, call_fallback_sms, calls_per_8_minutes, calls_per_day
            FROM ding_policies WHERE org_id = \(bind: orgID)
            """).first() else { return .standard }
        return try Self.policy(row)
    }

    private static func policy(_ row: any SQLRow) throws -> DingPolicy {
        DingPolicy(smsAfterMinutes: try row.decode(column: "sms_after_minutes", as: Int?.self),
                   callAfterMinutes: try row.decode(column: "call_after_minutes", as: Int?.self),
                   callFallbackSMS: try row.decode(column: "call_fallback_sms", as: Bool.self),
                   callsPer8Minutes: try row.decode(column: "calls_per_8_minutes", as: Int.self),
                   callsPerDay: try row.decode(column: "calls_per_day", as: Int.self))
    }

    func savePolicy(_ db: any SQLDatabase, orgID: Organization.ID, _ p: DingPolicy, now: Date) async throws {
        try await db.delete(from: "ding_policies").where("org_id", .equal, orgID).run()
        try await db.insert(into: "ding_policies")
            .columns("org_id", "sms_after_minutes", "call_after_minutes", "call_fallback_sms", "calls_per_8_minutes", "calls_per_day", "updated_at")
            .values(SQLBind(orgID), SQLBind(p.smsAfterMinutes), SQLBind(p.callAfterMinutes), SQLBind(p.callFallbackSMS),
                    SQLBind(p.callsPer8Minutes), SQLBind(p.callsPerDay), SQLBind(now))
            .run()
    }

    // MARK: Rows

    private static func ding(_ row: any SQLRow) throws -> Ding {
        let sourceConversation = try row.decode(column: "source_conversation_id", as: Conversation.ID?.self)
        let sourceSeq = try row.decode(column: "source_seq", as: Int64?.self)
        return Ding(
            id: try row.decode(column: "id", as: Ding.ID.self), orgID: try row.decode(column: "org_id", as: Organization.ID.self),
            sender: try ChatStore.person(row, user: "sender_id", name: "sender_name", member: "sender_member_id"),
            text: try row.decode(column: "body", as: String.self),
            channel: DeliveryChannel(rawValue: try row.decode(column: "channel", as: String.self)) ?? .app,
            scheduledAt: try row.decode(column: "scheduled_at", as: Date?.self), sentAt: try row.decode(column: "sent_at", as: Date?.self),
            cancelledAt: try row.decode(column: "cancelled_at", as: Date?.self),
            lastRemindedAt: try row.decode(column: "last_reminded_at", as: Date?.self),
            source: zip2(sourceConversation, sourceSeq).map { Ding.Source(conversationID: $0, seq: $1) },
            announcementID: try row.decode(column: "source_announcement_id", as: Announcement.ID?.self),
            recipientCount: try row.decode(column: "recipient_count", as: Int.self),
            confirmedCount: try row.decode(column: "confirmed_count", as: Int.self),
            createdAt: try row.decode(column: "created_at", as: Date.self))
    }

    private static func attempt(_ row: any SQLRow) throws -> DeliveryAttempt {
        DeliveryAttempt(
            id: try row.decode(column: "id", as: DeliveryAttempt.ID.self), dingID: try row.decode(column: "ding_id", as: Ding.ID.self),
            userID: try row.decode(column: "user_id", as: User.ID.self),
            channel: DeliveryChannel(rawValue: try row.decode(column: "channel", as: String.self)) ?? .app,
            reason: DeliveryAttempt.Reason(rawValue: try row.decode(column: "reason", as: String.self)) ?? .initial,
            status: DeliveryAttempt.Status(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed,
            detail: try row.decode(column: "detail", as: String?.self),
            createdAt: try row.decode(column: "created_at", as: Date.self), updatedAt: try row.decode(column: "updated_at", as: Date.self))
    }
}

private func zip2<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}
