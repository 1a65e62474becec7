import Foundation
import SQLKit

/// Conversations, participants, messages, mentions, attachments and search
/// (`conversations`, `conversation_members`, `messages`, `message_mentions`, `attachments`,
/// `message_fts` on SQLite / `messages.search` on PostgreSQL).
struct ChatStore: Sendable {
    // MARK: Conversations

    private static let conversationColumns = "c.id, c.org_id, c.kind, c.name, c.department_id, c.last_seq, c.member_count, c.max_members, c.updated_at"

    func insertConversation(_ db: any SQLDatabase, _ c: Conversation, directKey: String?, createdBy: User.ID?, now: Date) async throws {
        try await db.insert(into: "conversations")
            .columns("id", "org_id", "kind", "name", "department_id", "direct_key", "created_by", "created_at", "updated_at",
                     "last_seq", "member_count", "max_members")
            .values(SQLBind(c.id), SQLBind(c.orgID), SQLBind(c.kind.rawValue), SQLBind(c.name), SQLBind(c.departmentID),
                    SQLBind(directKey), SQLBind(createdBy), SQLBind(now), SQLBind(now), SQLBind(c.lastSeq),
                    SQLBind(c.memberCount), SQLBind(c.maxMembers))
            .run()
    }

    func fetchConversation(_ db: any SQLDatabase, orgID: Organization.ID, id: Conversation.ID) async throws -> Conversation? {
        try await db.raw("SELECT \(unsafeRaw: Self.conversationColumns) FROM conversations c WHERE c.org_id = \(bind: orgID) AND c.id = \(bind: id)")
            .first().map(Self.conversation)
    }

    func fetchDirectConversation(_ db: any SQLDatabase, orgID: Organization.ID, key: String) async throws -> Conversation? {
        try await db.raw("SELECT \(unsafeRaw: Self.conversationColumns) FROM conversations c WHERE c.org_id = \(bind: orgID) AND c.direct_key = \(bind: key)")
            .first().map(Self.conversation)
    }

    /// The department groups of an organisation by department.
    func fetchDepartmentConversations(_ db: any SQLDatabase, orgID: Organization.ID) async throws -> [Department.ID: Conversation] {
        let rows = try await db.raw("""
            SELECT \(unsafeRaw: Self.conversationColumns) FROM conversations c WHERE c.org_id = \(bind: orgID) AND c.kind = 'department'
            """).all()
        var result: [Department.ID: Conversation] = [:]
        for row in rows {
            let c = try Self.conversation(row)
            if let d = c.departmentID { result[d] = c }
        }
        return result
    }

    func updateConversationName(_ db: any SQLDatabase, id: Conversation.ID, name: String) async throws {
        try await db.update("conversations").set("name", to: name).where("id", .equal, id).run()
    }

    /// Recounts a conversation's members after they changed.
    func refreshMemberCount(_ db: any SQLDatabase, id: Conversation.ID) async throws -> Int {
        try await db.raw("""
            UPDATE conversations SET member_count = (SELECT COUNT(*) FROM conversation_members cm WHERE cm.conversation_id = \(bind: id))
            WHERE id = \(bind: id) RETURNING member_count
            """).first(decodingColumn: "member_count", as: Int.self) ?? 0
    }

    /// The next message sequence number of a conversation.
    ///
    /// The counter row is the conversation itself: on PostgreSQL its row lock orders concurrent
    /// senders, so sequence numbers are gap-free and commit in order.
    func nextSeq(_ db: any SQLDatabase, id: Conversation.ID, now: Date) async throws -> Int64 {
        guard let seq = try await db.raw("""
            UPDATE conversations SET last_seq = last_seq + 1, updated_at = \(bind: now) WHERE id = \(bind: id) RETURNING last_seq
            """).first(decodingColumn: "last_seq", as: Int64.self)
        else { throw AppError.notFound("Conversation") }
        return seq
    }

    static func conversation(_ row: any SQLRow) throws -> Conversation {
        Conversation(
            id: try row.decode(column: "id", as: Conversation.ID.self),
            orgID: try row.decode(column: "org_id", as: Organization.ID.self),
            kind: Conversation.Kind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .group,
            name: try row.decode(column: "name", as: String.self),
            departmentID: try row.decode(column: "department_id", as: Department.ID?.self),
            lastSeq: try row.decode(column: "last_seq", as: Int64.self),
            memberCount: try row.decode(column: "member_count", as: Int.self),
            maxMembers: try row.decode(column: "max_members", as: Int.self),
            updatedAt: try row.decode(column: "updated_at", as: Date.self))
    }

    // MARK: Participants

    /// Adds people to a conversation. Their watermark starts at `joinedSeq`: earlier messages
    /// neither count as unread for them nor wait for them to be read.
    func insertParticipants(_ db: any SQLDatabase, conversation: Conversation, users: [(User.ID, Participant.Role)], joinedSeq: Int64, now: Date) async throws {
        for chunk in users.chunked(400) {
            var insert = db.insert(into: "conversation_members")
                .columns("conversation_id", "user_id", "org_id", "role", "joined_seq", "read_seq", "joined_at")
            for (user, role) in chunk {
                insert = insert.values(SQLBind(conversation.id), SQLBind(user), SQLBind(conversation.orgID), SQLBind(role.rawValue),
                                       SQLBind(joinedSeq), SQLBind(joinedSeq), SQLBind(now))
            }
            try await insert.run()
        }
    }

    func deleteParticipants(_ db: any SQLDatabase, conversationID: Conversation.ID, users: [User.ID]) async throws {
        for chunk in users.chunked(500) {
            try await db.delete(from: "conversation_members").where("conversation_id", .equal, conversationID)
                .where(SQLIdentifier("user_id"), .in, SQLBind.group(Array(chunk))).run()
        }
    }

    func updateParticipantRole(_ db: any SQLDatabase, conversationID: Conversation.ID, userID: User.ID, role: Participant.Role) async throws {
        try await db.update("conversation_members").set("role", to: role.rawValue)
            .where("conversation_id", .equal, conversationID).where("user_id", .equal, userID).run()
    }

    /// The caller as a participant, with their name and organisation member id.
    func fetchParticipant(_ db: any SQLDatabase, conversationID: Conversation.ID, userID: User.ID) async throws -> (Participant, PersonRef)? {
        // Index: primary key (conversation_id, user_id).
        let row = try await db.raw("""
            SELECT cm.conversation_id, cm.user_id, cm.role, cm.joined_seq, cm.read_seq, u.name, mem.id AS member_id
            FROM conversation_members cm JOIN users u ON u.id = cm.user_id
            LEFT JOIN members mem ON mem.org_id = cm.org_id AND mem.user_id = cm.user_id
            WHERE cm.conversation_id = \(bind: conversationID) AND cm.user_id = \(bind: userID)
            """).first()
        return try row.map { (try Self.participant($0), try Self.person($0, user: "user_id", name: "name", member: "member_id")) }
    }

    /// Every participant with name and member id, owners and admins first, then by name.
    func fetchParticipants(_ db: any SQLDatabase, conversationID: Conversation.ID) async throws -> [(Participant, PersonRef)] {
        try await db.raw("""
            SELECT cm.conversation_id, cm.user_id, cm.role, cm.joined_seq, cm.read_seq, u.name, mem.id AS member_id
            FROM conversation_members cm JOIN users u ON u.id = cm.user_id
            LEFT JOIN members mem ON mem.org_id = cm.org_id AND mem.user_id = cm.user_id
            WHERE cm.conversation_id = \(bind: conversationID)
            ORDER BY CASE cm.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, u.name, cm.user_id
            """).all().map { (try Self.participant($0), try Self.person($0, user: "user_id", name: "name", member: "member_id")) }
    }

    /// Who has and has not read message `seq` (members other than its sender who were there when
    /// it was sent), by name.
    func fetchReaders(_ db: any SQLDatabase, conversationID: Conversation.ID, sender: User.ID, seq: Int64) async throws -> (read: [PersonRef], unread: [PersonRef]) {
        var read: [PersonRef] = [], unread: [PersonRef] = []
        let rows = try await db.raw("""
            SELECT cm.user_id, cm.read_seq, u.name, mem.id AS member_id
            FROM conversation_members cm JOIN users u ON u.id = cm.user_id
            LEFT JOIN members mem ON mem.org_id = cm.org_id AND mem.user_id = cm.user_id
            WHERE cm.conversation_id = \(bind: conversationID) AND cm.joined_seq < \(bind: seq) AND cm.user_id <> \(bind: sender)
            ORDER BY u.name, cm.user_id
            """).all()
        read.reserveCapacity(rows.count)
        unread.reserveCapacity(rows.count)
        for row in rows {
            let person = try Self.person(row, user: "user_id", name: "name", member: "member_id")
            if try row.decode(column: "read_seq", as: Int64.self) >= seq { read.append(person) } else { unread.append(person) }
        }
        return (read, unread)
    }

    /// Watermarks of all participants, for receipts. Index: primary key prefix conversation_id.
    func fetchReceiptRows(_ db: any SQLDatabase, conversationID: Conversation.ID) async throws -> [ReceiptRow] {
        try await db.select().columns("user_id", "joined_seq", "read_seq").from("conversation_members")
            .where("conversation_id", .equal, conversationID).all().map {
                ReceiptRow(userID: try $0.decode(column: "user_id", as: User.ID.self),
                           joinedSeq: try $0.decode(column: "joined_seq", as: Int64.self),
                           readSeq: try $0.decode(column: "read_seq", as: Int64.self))
            }
    }

    /// "N unread" of one message: members other than its sender who were there when it was sent
    /// and whose watermark is below it (one scan of the conversation's primary-key range).
    func countUnread(_ db: any SQLDatabase, conversationID: Conversation.ID, sender: User.ID, seq: Int64) async throws -> Int {
        try await db.raw("""
            SELECT COUNT(*) AS n FROM conversation_members
            WHERE conversation_id = \(bind: conversationID) AND joined_seq < \(bind: seq) AND read_seq < \(bind: seq) AND user_id <> \(bind: sender)
            """).first()?.decode(column: "n", as: Int.self) ?? 0
    }

    /// The sender of a message that is not a system line (nil: no such message).
    func fetchSender(_ db: any SQLDatabase, conversationID: Conversation.ID, seq: Int64) async throws -> User.ID? {
        try await db.raw("""
            SELECT sender_id FROM messages WHERE conversation_id = \(bind: conversationID) AND seq = \(bind: seq) AND kind <> 'system'
            """).first()?.decode(column: "sender_id", as: User.ID.self)
    }

    /// Moves a watermark forward (never back); returns the value before, or nil if unchanged.
    func advanceReadSeq(_ db: any SQLDatabase, conversationID: Conversation.ID, userID: User.ID, to seq: Int64) async throws -> Int64? {
        guard let before = try await db.select().column("read_seq").from("conversation_members")
            .where("conversation_id", .equal, conversationID).where("user_id", .equal, userID)
            .first(decodingColumn: "read_seq", as: Int64.self), before < seq
        else { return nil }
        try await db.update("conversation_members").set("read_seq", to: seq)
            .where("conversation_id", .equal, conversationID).where("user_id", .equal, userID).run()
        return before
    }

    /// Moves a watermark forward to `seq` if it is behind, in one statement.
    func raiseReadSeq(_ db: any SQLDatabase, conversationID: Conversation.ID, userID: User.ID, to seq: Int64) async throws {
        try await db.raw("""
            UPDATE conversation_members SET read_seq = \(bind: seq)
            WHERE conversation_id = \(bind: conversationID) AND user_id = \(bind: userID) AND read_seq < \(bind: seq)
            """).run()
    }

    /// Every conversation a person belongs to, in every organisation (for the real-time channel).
    func fetchConversationIDs(_ db: any SQLDatabase, userID: User.ID) async throws -> [Conversation.ID] {
        // Index: conversation_members_user (user_id, org_id).
        try await db.select().column("conversation_id").from("conversation_members").where("user_id", .equal, userID)
            .all(decodingColumn: "conversation_id", as: Conversation.ID.self)
    }

    /// Who is in which department group of an organisation.
    func fetchDepartmentGroupMembers(_ db: any SQLDatabase, orgID: Organization.ID) async throws -> [Conversation.ID: Set<User.ID>] {
        let rows = try await db.raw("""
            SELECT cm.conversation_id, cm.user_id FROM conversation_members cm JOIN conversations c ON c.id = cm.conversation_id
            WHERE c.org_id = \(bind: orgID) AND c.kind = 'department'
            """).all()
        var result: [Conversation.ID: Set<User.ID>] = [:]
        for row in rows {
            result[try row.decode(column: "conversation_id", as: Conversation.ID.self), default: []]
                .insert(try row.decode(column: "user_id", as: User.ID.self))
        }
        return result
    }

    static func participant(_ row: any SQLRow) throws -> Participant {
        Participant(
            conversationID: try row.decode(column: "conversation_id", as: Conversation.ID.self),
            userID: try row.decode(column: "user_id", as: User.ID.self),
            role: Participant.Role(rawValue: try row.decode(column: "role", as: String.self)) ?? .member,
            joinedSeq: try row.decode(column: "joined_seq", as: Int64.self),
            readSeq: try row.decode(column: "read_seq", as: Int64.self))
    }

    static func person(_ row: any SQLRow, user: String, name: String, member: String) throws -> PersonRef {
        PersonRef(userID: try row.decode(column: user, as: User.ID.self), memberID: try row.decode(column: member, as: Member.ID?.self),
                  name: try row.decode(column: name, as: String.self))
    }

    // MARK: The conversation list

    /// A person's conversations in an organisation with unread counts (up to 999), mention
    /// markers, peers of direct chats and last messages; most recently active first.
    func fetchConversationViews(_ db: any SQLDatabase, orgID: Organization.ID, userID: User.ID, only: Conversation.ID? = nil) async throws -> [ConversationView] {
        var sql: SQLQueryString = """
            SELECT \(unsafeRaw: Self.conversationColumns), cm.user_id, cm.conversation_id, cm.role, cm.joined_seq, cm.read_seq,
                   (SELECT COUNT(*) FROM (SELECT 1 AS one FROM messages x WHERE x.conversation_id = c.id AND x.seq > cm.read_seq
                        AND x.sender_id <> cm.user_id AND x.kind <> 'system' LIMIT 999) u) AS unread_count,
                   EXISTS (SELECT 1 FROM message_mentions mm WHERE mm.user_id = cm.user_id AND mm.conversation_id = c.id
                        AND mm.seq > cm.read_seq) AS mentioned
            FROM conversation_members cm JOIN conversations c ON c.id = cm.conversation_id
            WHERE cm.user_id = \(bind: userID) AND cm.org_id = \(bind: orgID)
            """
        if let only { sql += " AND c.id = \(bind: only)" }
        sql += " ORDER BY c.updated_at DESC, c.id"
        var views = try await db.raw(sql).all().map { row in
            ConversationView(conversation: try Self.conversation(row), me: try Self.participant(row),
                             unreadCount: try row.decode(column: "unread_count", as: Int.self),
                             mentioned: try row.decode(column: "mentioned", as: Bool.self), peer: nil, lastMessage: nil)
        }
        guard !views.isEmpty else { return [] }
        // Peers of direct chats, and last messages: one query each.
        var peerSQL: SQLQueryString = """
            SELECT cm.conversation_id, cm.user_id, u.name, mem.id AS member_id
            FROM conversation_members cm JOIN conversations c ON c.id = cm.conversation_id JOIN users u ON u.id = cm.user_id
            LEFT JOIN members mem ON mem.org_id = c.org_id AND mem.user_id = cm.user_id
            WHERE c.org_id = \(bind: orgID) AND c.kind = 'direct' AND cm.user_id <> \(bind: userID)
              AND c.id IN (SELECT m2.conversation_id FROM conversation_members m2 WHERE m2.user_id = \(bind: userID) AND m2.org_id = \(bind: orgID))
            """
        if let only { peerSQL += " AND c.id = \(bind: only)" }
        var peers: [Conversation.ID: PersonRef] = [:]
        for row in try await db.raw(peerSQL).all() {
            peers[try row.decode(column: "conversation_id", as: Conversation.ID.self)] = try Self.person(row, user: "user_id", name: "name", member: "member_id")
        }
        var lastCondition: SQLQueryString = """
            m.conversation_id IN (SELECT cm.conversation_id FROM conversation_members cm WHERE cm.user_id = \(bind: userID) AND cm.org_id = \(bind: orgID))
              AND m.seq = (SELECT c.last_seq FROM conversations c WHERE c.id = m.conversation_id)
            """
        if let only { lastCondition += " AND m.conversation_id = \(bind: only)" }
        var last: [Conversation.ID: Message] = [:]
        for message in try await fetchMessages(db, orgID: orgID, where: lastCondition, order: "", limit: nil) {
            last[message.conversationID] = message
        }
        for i in views.indices {
            views[i].peer = peers[views[i].conversation.id]
            views[i].lastMessage = last[views[i].conversation.id]
        }
        return views
    }

    // MARK: Messages

    private static let messageColumns = """
        m.conversation_id, m.seq, m.id, m.sender_id, m.kind, m.body, m.mentions, m.mention_all, m.reply_to_seq,
        m.forwarded_from, m.system, m.client_key, m.created_at, m.recalled_at, m.pinned_at, m.pinned_by,
        su.name AS sender_name, sm.id AS sender_member_id, pu.name AS pinned_by_name, pm.id AS pinned_by_member_id,
        a.id AS a_id, a.org_id AS a_org, a.conversation_id AS a_conversation, a.uploader_id AS a_uploader, a.name AS a_name,
        a.content_type AS a_type, a.size AS a_size, a.width AS a_width, a.height AS a_height, a.sha256 AS a_sha, a.created_at AS a_created
        """

    /// Messages matching `condition` with their senders, pinners, attachments and quotes.
    func fetchMessages(_ db: any SQLDatabase, orgID: Organization.ID, where condition: SQLQueryString, order: String, limit: Int?) async throws -> [Message] {
        var sql: SQLQueryString = """
            SELECT \(unsafeRaw: Self.messageColumns) FROM messages m
            JOIN users su ON su.id = m.sender_id
            LEFT JOIN members sm ON sm.org_id = \(bind: orgID) AND sm.user_id = m.sender_id
            LEFT JOIN users pu ON pu.id = m.pinned_by
            LEFT JOIN members pm ON pm.org_id = \(bind: orgID) AND pm.user_id = m.pinned_by
            LEFT JOIN attachments a ON a.id = m.attachment_id
            WHERE
            """
        sql += " "
        sql += condition
        if !order.isEmpty { sql += " ORDER BY \(unsafeRaw: order)" }
        if let limit { sql += " LIMIT \(literal: limit)" }
        var messages = try await db.raw(sql).all().map(Self.message)
        try await attachQuotes(db, orgID: orgID, to: &messages)
        return messages
    }

    /// A page of a conversation: after `after` (ascending) or before `before` (the newest
    /// `limit` below it, returned ascending). Index: primary key (conversation_id, seq).
    func fetchMessagePage(_ db: any SQLDatabase, orgID: Organization.ID, conversationID: Conversation.ID,
                          after: Int64?, before: Int64?, limit: Int) async throws -> [Message] {
        if let after {
            return try await fetchMessages(db, orgID: orgID, where: "m.conversation_id = \(bind: conversationID) AND m.seq > \(bind: after)",
                                           order: "m.seq", limit: limit)
        }
        var condition: SQLQueryString = "m.conversation_id = \(bind: conversationID)"
        if let before { condition += " AND m.seq < \(bind: before)" }
        return try await fetchMessages(db, orgID: orgID, where: condition, order: "m.seq DESC", limit: limit).reversed()
    }

    func fetchMessage(_ db: any SQLDatabase, orgID: Organization.ID, conversationID: Conversation.ID, seq: Int64) async throws -> Message? {
        try await fetchMessages(db, orgID: orgID, where: "m.conversation_id = \(bind: conversationID) AND m.seq = \(bind: seq)", order: "", limit: nil).first
    }

    func fetchMessage(_ db: any SQLDatabase, orgID: Organization.ID, conversationID: Conversation.ID, sender: User.ID, clientKey: String) async throws -> Message? {
        try await fetchMessages(db, orgID: orgID, where: """
            m.conversation_id = \(bind: conversationID) AND m.sender_id = \(bind: sender) AND m.client_key = \(bind: clientKey)
            """, order: "", limit: nil).first
    }

    /// Whether a message with this client key exists (one index lookup; the retry check of every send).
    func hasMessage(_ db: any SQLDatabase, conversationID: Conversation.ID, sender: User.ID, clientKey: String) async throws -> Bool {
        try await db.raw("""
            SELECT 1 AS one FROM messages WHERE conversation_id = \(bind: conversationID) AND sender_id = \(bind: sender) AND client_key = \(bind: clientKey)
            """).first() != nil
    }

    func fetchPinnedMessages(_ db: any SQLDatabase, orgID: Organization.ID, conversationID: Conversation.ID) async throws -> [Message] {
        try await fetchMessages(db, orgID: orgID, where: "m.conversation_id = \(bind: conversationID) AND m.pinned_at IS NOT NULL",
                                order: "m.pinned_at DESC, m.seq DESC", limit: 100)
    }

    /// The quoted messages of replies, one query per page.
    private func attachQuotes(_ db: any SQLDatabase, orgID: Organization.ID, to messages: inout [Message]) async throws {
        let wanted = messages.compactMap { m in m.replyToSeq.map { (m.conversationID, $0) } }
        guard !wanted.isEmpty else { return }
        var quotes: [String: Message.Quote] = [:]
        for (conversation, seqs) in Dictionary(grouping: wanted, by: \.0) {
            let rows = try await db.raw("""
                SELECT m.seq, m.sender_id, m.kind, m.body, m.recalled_at, u.name AS sender_name, mem.id AS sender_member_id, a.name AS a_name
                FROM messages m JOIN users u ON u.id = m.sender_id
                LEFT JOIN members mem ON mem.org_id = \(bind: orgID) AND mem.user_id = m.sender_id
                LEFT JOIN attachments a ON a.id = m.attachment_id
                WHERE m.conversation_id = \(bind: conversation) AND m.seq IN \(SQLBind.group(seqs.map(\.1)))
                """).all()
            for row in rows {
                let recalled = try row.decode(column: "recalled_at", as: Date?.self) != nil
                let text = try row.decode(column: "body", as: String?.self) ?? (try row.decode(column: "a_name", as: String?.self)) ?? ""
                let seq = try row.decode(column: "seq", as: Int64.self)
                quotes["\(conversation.string)/\(seq)"] = Message.Quote(
                    seq: seq, sender: try Self.person(row, user: "sender_id", name: "sender_name", member: "sender_member_id"),
                    excerpt: recalled ? "" : String(text.prefix(200)), recalled: recalled)
            }
        }
        for i in messages.indices {
            if let seq = messages[i].replyToSeq { messages[i].replyTo = quotes["\(messages[i].conversationID.string)/\(seq)"] }
        }
    }

    /// Stores a message (and its search tokens) under an already assigned seq.
    func insertMessage(_ db: any SQLDatabase, _ m: Message) async throws { try await insertMessages(db, [m]) }

    // MARK: A group commit's sends, set-based

    /// Conversations by id (one query for a batch of sends).
    func fetchConversations(_ db: any SQLDatabase, ids: [Conversation.ID]) async throws -> [Conversation.ID: Conversation] {
        var found: [Conversation.ID: Conversation] = [:]
        for chunk in Array(Set(ids)).inListChunks() {
            for row in try await db.raw("SELECT \(unsafeRaw: Self.conversationColumns) FROM conversations c WHERE c.id IN \(SQLBind.group(chunk))").all() {
                let c = try Self.conversation(row)
                found[c.id] = c
            }
        }
        return found
    }

    struct ParticipantKey: Hashable { var conversationID: Conversation.ID; var userID: User.ID }

    /// The participants (with name and member id) of the given pairs: one primary-key lookup per
    /// pair. (Two `IN` lists, conversations and users, made SQLite look up every combination of
    /// the two: 256 lookups for a batch of 16 sends.)
    func fetchParticipants(_ db: any SQLDatabase, pairs: [ParticipantKey]) async throws -> [ParticipantKey: (Participant, PersonRef)] {
        guard !pairs.isEmpty else { return [:] }
        var found: [ParticipantKey: (Participant, PersonRef)] = [:]
        for chunk in Array(Set(pairs)).inListChunks() {
            let rows = try await db.raw("""
                WITH wanted (conversation_id, user_id) AS (VALUES \(chunk.valueRows { [SQLBind($0.conversationID), SQLBind($0.userID)] }))
                SELECT cm.conversation_id, cm.user_id, cm.role, cm.joined_seq, cm.read_seq, u.name, mem.id AS member_id
                FROM wanted JOIN conversation_members cm ON cm.conversation_id = wanted.conversation_id AND cm.user_id = wanted.user_id
                JOIN users u ON u.id = cm.user_id
                LEFT JOIN members mem ON mem.org_id = cm.org_id AND mem.user_id = cm.user_id
                """).all()
            for row in rows {
                let participant = try Self.participant(row)
                found[ParticipantKey(conversationID: participant.conversationID, userID: participant.userID)] =
                    (participant, try Self.person(row, user: "user_id", name: "name", member: "member_id"))
            }
        }
        return found
    }

    struct ClientKey: Hashable { var conversationID: Conversation.ID; var sender: User.ID; var key: String }

    /// Which of these client keys already have a message: one lookup per key in the index on
    /// (conversation, sender, client key). (Three `IN` lists made SQLite look up every combination
    /// of the three: 4,096 lookups for a batch of 16 sends.)
    func existingClientKeys(_ db: any SQLDatabase, _ keys: [ClientKey]) async throws -> Set<ClientKey> {
        guard !keys.isEmpty else { return [] }
        var found: Set<ClientKey> = []
        for chunk in Array(Set(keys)).inListChunks() {
            let rows = try await db.raw("""
                WITH wanted (conversation_id, sender_id, client_key) AS (VALUES \(chunk.valueRows { [SQLBind($0.conversationID), SQLBind($0.sender), SQLBind($0.key)] }))
                SELECT m.conversation_id, m.sender_id, m.client_key FROM wanted
                JOIN messages m ON m.conversation_id = wanted.conversation_id AND m.sender_id = wanted.sender_id AND m.client_key = wanted.client_key
                """).all()
            for row in rows {
                found.insert(ClientKey(conversationID: try row.decode(column: "conversation_id", as: Conversation.ID.self),
                                       sender: try row.decode(column: "sender_id", as: User.ID.self),
                                       key: try row.decode(column: "client_key", as: String.self)))
            }
        }
        return found
    }

    /// Takes `count` sequence numbers of each conversation in one statement; returns each one's
    /// new `last_seq` (the numbers taken are the `count` up to it). On PostgreSQL the rows stay
    /// locked until the commit, as with `nextSeq`, so numbers are gap-free and commit in order.
    func advanceSeqs(_ db: any SQLDatabase, _ counts: [Conversation.ID: Int], now: Date) async throws -> [Conversation.ID: Int64] {
        var last: [Conversation.ID: Int64] = [:]
        // Chunks in id order; within a statement PostgreSQL locks the rows in its index's order.
        // Either way every node locks conversations in the same order.
        for chunk in counts.sorted(by: { $0.key.string < $1.key.string }).statementChunks() {
            var cases = SQLQueryString("")
            for (id, n) in chunk {
                cases.appendLiteral("WHEN ")
                cases.appendInterpolation(bind: id)
                cases.appendLiteral(" THEN CAST(")
                cases.appendInterpolation(bind: Int64(n))
                cases.appendLiteral(" AS BIGINT) ")
            }
            let rows = try await db.raw("""
                UPDATE conversations SET last_seq = last_seq + CASE id \(cases)END, updated_at = \(bind: now)
                WHERE id IN \(SQLBind.group(chunk.map(\.key))) RETURNING id, last_seq
                """).all()
            for row in rows { last[try row.decode(column: "id", as: Conversation.ID.self)] = try row.decode(column: "last_seq", as: Int64.self) }
        }
        return last
    }

    /// Stores messages (with their search tokens) under already assigned seqs: a statement per
    /// piece of up to 64 messages (`statementChunks`), and on SQLite as many for their tokens.
    /// - Parameter searchTokens: the messages' search tokens, if computed already (one per message).
    func insertMessages(_ db: any SQLDatabase, _ messages: [Message], searchTokens: [String]? = nil) async throws {
        precondition(searchTokens.map { $0.count == messages.count } ?? true, "search tokens for every message")
        let allTokens = searchTokens ?? messages.map { SearchTokens.index(text: $0.text, attachmentName: $0.attachment?.name) }
        var searchRows: [(rowid: Int64, tokens: String)] = []
        for chunk in messages.statementChunks() {
            var insert = db.insert(into: "messages")
                .columns("conversation_id", "seq", "id", "sender_id", "kind", "body", "mentions", "mention_all", "reply_to_seq",
                         "attachment_id", "forwarded_from", "system", "client_key", "created_at")
            for m in chunk {
                insert = insert.values(SQLBind(m.conversationID), SQLBind(m.seq), SQLBind(m.id), SQLBind(m.sender.userID), SQLBind(m.kind.rawValue),
                                       SQLBind(m.text), SQLBind(m.mentions.map(\.string).joined(separator: ",")), SQLBind(m.mentionAll),
                                       SQLBind(m.replyToSeq), SQLBind(m.attachment?.id), SQLBind(try m.forwardedFrom.map(Self.json)),
                                       SQLBind(try m.system.map(Self.json)), SQLBind(m.clientKey), SQLBind(m.createdAt))
            }
            let tokens = allTokens[chunk.indices]  // the chunk keeps the messages' indices
            guard db.dialect.name == "sqlite" else {
                try await insert.run()
                for (m, t) in zip(chunk, tokens) where !t.isEmpty { try await insertSearchTokens(db, conversationID: m.conversationID, seq: m.seq, tokens: t) }
                continue
            }
            // The FTS rows are keyed by the messages' rowids, which the insert returns (in no set order).
            var rowids: [String: Int64] = [:]
            for row in try await insert.returning("rowid", "conversation_id", "seq").all() {
                rowids["\(try row.decode(column: "conversation_id", as: Conversation.ID.self).string)/\(try row.decode(column: "seq", as: Int64.self))"] =
                    try row.decode(column: "rowid", as: Int64.self)
            }
            for (m, t) in zip(chunk, tokens) where !t.isEmpty {
                guard let rowid = rowids["\(m.conversationID.string)/\(m.seq)"] else { throw SQLiteError(code: 0, message: "no rowid for a stored message") }
                searchRows.append((rowid, t))
            }
        }
        for chunk in searchRows.statementChunks() {
            var fts = db.insert(into: "message_fts").columns("rowid", "tokens")
            for row in chunk { fts = fts.values(SQLBind(row.rowid), SQLBind(row.tokens)) }
            try await fts.run()
        }
    }

    /// Moves watermarks forward (each only if behind), in one statement.
    func raiseReadSeqs(_ db: any SQLDatabase, _ raises: [ParticipantKey: Int64]) async throws {
        for chunk in raises.sorted(by: { ($0.key.conversationID.string, $0.key.userID.string) < ($1.key.conversationID.string, $1.key.userID.string) }).statementChunks() {
            let values = chunk.valueRows { key, seq in
                [SQLBind(key.conversationID), SQLBind(key.userID), SQLQueryString("CAST(\(bind: seq) AS BIGINT)")]
            }
            try await db.raw("""
                WITH raised (conversation_id, user_id, seq) AS (VALUES \(values))
                UPDATE conversation_members SET read_seq = raised.seq FROM raised
                WHERE conversation_members.conversation_id = raised.conversation_id AND conversation_members.user_id = raised.user_id
                  AND conversation_members.read_seq < raised.seq
                """).run()
        }
    }

    /// Dialect branch: SQLite keeps tokens in the FTS5 table `message_fts` (rowid = the
    /// message's rowid); PostgreSQL in the `search` tsvector column (GIN-indexed).
    private func insertSearchTokens(_ db: any SQLDatabase, conversationID: Conversation.ID, seq: Int64, tokens: String) async throws {
        if db.dialect.name == "sqlite" {
            try await db.raw("""
                INSERT INTO message_fts (rowid, tokens)
                SELECT rowid, \(bind: tokens) FROM messages WHERE conversation_id = \(bind: conversationID) AND seq = \(bind: seq)
                """).run()
        } else {
            try await db.raw("""
                UPDATE messages SET search = to_tsvector('simple', \(bind: tokens)) WHERE conversation_id = \(bind: conversationID) AND seq = \(bind: seq)
                """).run()
        }
    }

    func insertMentions(_ db: any SQLDatabase, conversationID: Conversation.ID, seq: Int64, users: [User.ID]) async throws {
        for chunk in users.chunked(500) {
            var insert = db.insert(into: "message_mentions").columns("user_id", "conversation_id", "seq")
            for user in chunk { insert = insert.values(SQLBind(user), SQLBind(conversationID), SQLBind(seq)) }
            try await insert.ignoringConflicts().run()
        }
    }

    /// Recalls a message: its text leaves the search index and mentions stop counting.
    func recallMessage(_ db: any SQLDatabase, conversationID: Conversation.ID, seq: Int64, at now: Date) async throws {
        try await db.update("messages").set("recalled_at", to: now)
            .where("conversation_id", .equal, conversationID).where("seq", .equal, seq).run()
        try await db.delete(from: "message_mentions").where("conversation_id", .equal, conversationID).where("seq", .equal, seq).run()
        if db.dialect.name == "sqlite" {
            try await db.raw("""
                DELETE FROM message_fts WHERE rowid = (SELECT rowid FROM messages WHERE conversation_id = \(bind: conversationID) AND seq = \(bind: seq))
                """).run()
        } else {
            try await db.raw("UPDATE messages SET search = NULL WHERE conversation_id = \(bind: conversationID) AND seq = \(bind: seq)").run()
        }
    }

    func setPinned(_ db: any SQLDatabase, conversationID: Conversation.ID, seq: Int64, by user: User.ID?, at date: Date?) async throws {
        try await db.update("messages").set("pinned_at", to: date).set("pinned_by", to: user)
            .where("conversation_id", .equal, conversationID).where("seq", .equal, seq).run()
    }

    /// Seqs and senders of a conversation's messages in a range (for receipt updates), at most `limit`, newest first.
    func fetchSenders(_ db: any SQLDatabase, conversationID: Conversation.ID, from: Int64, to: Int64, limit: Int) async throws -> [(Int64, User.ID)] {
        try await db.raw("""
            SELECT seq, sender_id FROM messages WHERE conversation_id = \(bind: conversationID) AND seq >= \(bind: from) AND seq <= \(bind: to)
              AND kind <> 'system' ORDER BY seq DESC LIMIT \(literal: limit)
            """).all().map { (try $0.decode(column: "seq", as: Int64.self), try $0.decode(column: "sender_id", as: User.ID.self)) }
    }

    /// The caller's own message seqs in a range, at most 500.
    func fetchOwnSeqs(_ db: any SQLDatabase, conversationID: Conversation.ID, sender: User.ID, from: Int64, to: Int64) async throws -> [Int64] {
        try await db.raw("""
            SELECT seq FROM messages WHERE conversation_id = \(bind: conversationID) AND sender_id = \(bind: sender)
              AND seq >= \(bind: from) AND seq <= \(bind: to) AND kind <> 'system' ORDER BY seq LIMIT 500
            """).all(decodingColumn: "seq", as: Int64.self)
    }

    /// Messages of the person's conversations in an organisation matching a search, newest first.
    func searchMessages(_ db: any SQLDatabase, orgID: Organization.ID, userID: User.ID, query: SearchTokens.Query,
                        conversationID: Conversation.ID?, limit: Int) async throws -> [Message] {
        var condition: SQLQueryString
        if db.dialect.name == "sqlite" {
            // Dialect branch: FTS5 MATCH on the token table, joined by rowid.
            condition = """
                m.rowid IN (SELECT rowid FROM message_fts WHERE message_fts MATCH \(bind: SearchTokens.fts5(query)))
                """
        } else {
            condition = "m.search @@ to_tsquery('simple', \(bind: SearchTokens.tsquery(query)))"
        }
        condition += """
             AND m.recalled_at IS NULL
             AND m.conversation_id IN (SELECT cm.conversation_id FROM conversation_members cm WHERE cm.user_id = \(bind: userID) AND cm.org_id = \(bind: orgID))
            """
        if let conversationID { condition += " AND m.conversation_id = \(bind: conversationID)" }
        return try await fetchMessages(db, orgID: orgID, where: condition, order: "m.created_at DESC, m.seq DESC", limit: limit)
    }

    static func message(_ row: any SQLRow) throws -> Message {
        let conversationID = try row.decode(column: "conversation_id", as: Conversation.ID.self)
        var attachment: Attachment?
        if let id = try row.decode(column: "a_id", as: Attachment.ID?.self) {
            attachment = Attachment(
                id: id, orgID: try row.decode(column: "a_org", as: Organization.ID.self),
                conversationID: try row.decode(column: "a_conversation", as: Conversation.ID.self),
                uploaderID: try row.decode(column: "a_uploader", as: User.ID.self),
                name: try row.decode(column: "a_name", as: String.self), contentType: try row.decode(column: "a_type", as: String.self),
                size: try row.decode(column: "a_size", as: Int64.self), width: try row.decode(column: "a_width", as: Int?.self),
                height: try row.decode(column: "a_height", as: Int?.self), sha256: try row.decode(column: "a_sha", as: String.self),
                createdAt: try row.decode(column: "a_created", as: Date.self))
        }
        let pinnedBy = try row.decode(column: "pinned_by", as: User.ID?.self)
        return Message(
            conversationID: conversationID,
            seq: try row.decode(column: "seq", as: Int64.self),
            id: try row.decode(column: "id", as: Message.ID.self),
            sender: try person(row, user: "sender_id", name: "sender_name", member: "sender_member_id"),
            kind: Message.Kind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .text,
            text: try row.decode(column: "body", as: String?.self),
            mentions: try row.decode(column: "mentions", as: String.self).split(separator: ",").compactMap { User.ID(string: String($0)) },
            mentionAll: try row.decode(column: "mention_all", as: Bool.self),
            replyToSeq: try row.decode(column: "reply_to_seq", as: Int64?.self),
            replyTo: nil,
            attachment: attachment,
            forwardedFrom: try row.decode(column: "forwarded_from", as: String?.self).map { try fromJSON(Message.Forwarded.self, $0) },
            system: try row.decode(column: "system", as: String?.self).map { try fromJSON(Message.SystemEvent.self, $0) },
            clientKey: try row.decode(column: "client_key", as: String?.self),
            createdAt: try row.decode(column: "created_at", as: Date.self),
            recalledAt: try row.decode(column: "recalled_at", as: Date?.self),
            pinnedAt: try row.decode(column: "pinned_at", as: Date?.self),
            pinnedBy: try pinnedBy.map { PersonRef(userID: $0, memberID: try row.decode(column: "pinned_by_member_id", as: Member.ID?.self),
                                                   name: try row.decode(column: "pinned_by_name", as: String?.self) ?? "") })
    }

    static func json<T: Encodable>(_ value: T) throws -> String { String(decoding: try JSONEncoder.tack.encode(value), as: UTF8.self) }
    static func fromJSON<T: Decodable>(_ type: T.Type, _ text: String) throws -> T { try JSONDecoder.tack.decode(T.self, from: Data(text.utf8)) }

    // MARK: Attachments

    func insertAttachment(_ db: any SQLDatabase, _ a: Attachment) async throws {
        try await db.insert(into: "attachments")
            .columns("id", "org_id", "conversation_id", "uploader_id", "name", "content_type", "size", "width", "height", "sha256", "created_at")
            .values(SQLBind(a.id), SQLBind(a.orgID), SQLBind(a.conversationID), SQLBind(a.uploaderID), SQLBind(a.name),
                    SQLBind(a.contentType), SQLBind(a.size), SQLBind(a.width), SQLBind(a.height), SQLBind(a.sha256), SQLBind(a.createdAt))
            .run()
    }

    func fetchAttachment(_ db: any SQLDatabase, orgID: Organization.ID, id: Attachment.ID) async throws -> Attachment? {
        let row = try await db.raw("""
            SELECT id AS a_id, org_id AS a_org, conversation_id AS a_conversation, uploader_id AS a_uploader, name AS a_name,
                   content_type AS a_type, size AS a_size, width AS a_width, height AS a_height, sha256 AS a_sha, created_at AS a_created
            FROM attachments WHERE org_id = \(bind: orgID) AND id = \(bind: id)
            """).first()
        return try row.map { row in
            Attachment(id: try row.decode(column: "a_id", as: Attachment.ID.self), orgID: try row.decode(column: "a_org", as: Organization.ID.self),
                       conversationID: try row.decode(column: "a_conversation", as: Conversation.ID.self),
                       uploaderID: try row.decode(column: "a_uploader", as: User.ID.self), name: try row.decode(column: "a_name", as: String.self),
                       contentType: try row.decode(column: "a_type", as: String.self), size: try row.decode(column: "a_size", as: Int64.self),
                       width: try row.decode(column: "a_width", as: Int?.self), height: try row.decode(column: "a_height", as: Int?.self),
                       sha256: try row.decode(column: "a_sha", as: String.self), createdAt: try row.decode(column: "a_created", as: Date.self))
        }
    }
}
