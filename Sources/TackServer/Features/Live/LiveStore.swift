import Foundation
import SQLKit

/// Live classes in SQL (migrations 9–11), the same statements on SQLite and PostgreSQL.
struct LiveStore: Sendable {
    // MARK: Classes

    func insertClass(_ db: any SQLDatabase, _ c: LiveClass) async throws {
        try await db.insert(into: "live_classes")
            .columns("id", "org_id", "teacher_id", "title", "scheduled_at", "state", "started_at", "ended_at", "locked", "paused",
                     "max_speakers", "created_at", "updated_at", "janus_room", "room_secret", "on_air")
            .values(SQLBind(c.id), SQLBind(c.orgID), SQLBind(c.teacher.userID), SQLBind(c.title), SQLBind(c.scheduledAt), SQLBind(c.state.rawValue),
                    SQLBind(c.startedAt), SQLBind(c.endedAt), SQLBind(c.locked), SQLBind(c.paused), SQLBind(c.maxSpeakers), SQLBind(c.createdAt),
                    SQLBind(c.updatedAt), SQLBind(c.janusRoom), SQLBind(c.roomSecret), SQLBind(c.onAir))
            .run()
        var groups = db.insert(into: "live_class_groups").columns("class_id", "conversation_id", "org_id", "position")
        for (position, group) in c.groupIDs.enumerated() {
            groups = groups.values(SQLBind(c.id), SQLBind(group), SQLBind(c.orgID), SQLBind(position))
        }
        try await groups.run()
    }

    /// Saves what changes after creation: the state and its times, and the teacher's controls.
    func updateClass(_ db: any SQLDatabase, _ c: LiveClass) async throws {
        try await db.update("live_classes")
            .set("state", to: c.state.rawValue).set("started_at", to: c.startedAt).set("ended_at", to: c.endedAt)
            .set("locked", to: c.locked).set("paused", to: c.paused).set("updated_at", to: c.updatedAt)
            .set("janus_room", to: c.janusRoom).set("room_secret", to: c.roomSecret).set("on_air", to: c.onAir)
            .set("replay_file", to: c.replay?.file).set("replay_bytes", to: c.replay?.bytes).set("replay_seconds", to: c.replay?.seconds)
            .set("replay_failed", to: c.replayFailed)
            .where("org_id", .equal, c.orgID).where("id", .equal, c.id)
            .run()
    }

    func fetchClass(_ db: any SQLDatabase, orgID: Organization.ID, id: LiveClass.ID) async throws -> LiveClass? {
        try await fetchClasses(db, where: "c.org_id = \(bind: orgID) AND c.id = \(bind: id)").first
    }

    /// The live class whose Janus room has this number (any organisation's: Janus reports rooms,
    /// not organisations).
    func fetchLiveClass(_ db: any SQLDatabase, janusRoom room: Int64) async throws -> LiveClass? {
        try await fetchClasses(db, where: "c.janus_room = \(bind: room) AND c.state = \(bind: LiveClass.State.live.rawValue)").first
    }

    /// Locks the class's row until the transaction ends, so that changes to one class (its state,
    /// switches, hands, speakers, removals) happen one after another. On SQLite every write
    /// transaction already runs alone.
    func lockClass(_ db: any SQLDatabase, orgID: Organization.ID, id: LiveClass.ID) async throws {
        guard db.dialect.name != "sqlite" else { return }
        _ = try await db.raw("SELECT id FROM live_classes WHERE org_id = \(bind: orgID) AND id = \(bind: id) FOR UPDATE").all()
    }

    /// The classes broadcast to a group, the latest first.
    func fetchClasses(_ db: any SQLDatabase, orgID: Organization.ID, groupID: Conversation.ID, limit: Int) async throws -> [LiveClass] {
        try await fetchClasses(db, where: """
            c.org_id = \(bind: orgID) AND c.id IN (SELECT g.class_id FROM live_class_groups g WHERE g.conversation_id = \(bind: groupID))
            """, limit: limit)
    }

    private func fetchClasses(_ db: any SQLDatabase, where condition: SQLQueryString, limit: Int = 1) async throws -> [LiveClass] {
        let rows = try await db.raw("""
            SELECT c.id, c.org_id, c.teacher_id, u.name AS teacher_name, m.id AS teacher_member_id, c.title, c.scheduled_at, c.state,
                   c.started_at, c.ended_at, c.locked, c.paused, c.max_speakers, c.created_at, c.updated_at,
                   c.janus_room, c.room_secret, c.on_air, c.replay_file, c.replay_bytes, c.replay_seconds, c.replay_failed
            FROM live_classes c JOIN users u ON u.id = c.teacher_id
            LEFT JOIN members m ON m.org_id = c.org_id AND m.user_id = c.teacher_id
            WHERE \(condition)
            ORDER BY COALESCE(c.started_at, c.scheduled_at, c.created_at) DESC, c.id
            LIMIT \(unsafeRaw: String(limit))
            """).all()
        guard !rows.isEmpty else { return [] }
        var classes = try rows.map { row in
            LiveClass(
                id: try row.decode(column: "id", as: LiveClass.ID.self),
                orgID: try row.decode(column: "org_id", as: Organization.ID.self),
                teacher: PersonRef(userID: try row.decode(column: "teacher_id", as: User.ID.self),
                                   memberID: try row.decode(column: "teacher_member_id", as: Member.ID?.self),
                                   name: try row.decode(column: "teacher_name", as: String.self)),
                title: try row.decode(column: "title", as: String.self),
                groupIDs: [],
                scheduledAt: try row.decode(column: "scheduled_at", as: Date?.self),
                state: LiveClass.State(rawValue: try row.decode(column: "state", as: String.self)) ?? .ended,
                startedAt: try row.decode(column: "started_at", as: Date?.self),
                endedAt: try row.decode(column: "ended_at", as: Date?.self),
                locked: try row.decode(column: "locked", as: Bool.self),
                paused: try row.decode(column: "paused", as: Bool.self),
                maxSpeakers: try row.decode(column: "max_speakers", as: Int.self),
                createdAt: try row.decode(column: "created_at", as: Date.self),
                updatedAt: try row.decode(column: "updated_at", as: Date.self),
                janusRoom: try row.decode(column: "janus_room", as: Int64?.self),
                roomSecret: try row.decode(column: "room_secret", as: String?.self),
                onAir: try row.decode(column: "on_air", as: Bool.self),
                replay: try Self.replay(row),
                replayFailed: try row.decode(column: "replay_failed", as: Bool.self))
        }
        let groups = try await db.raw("""
            SELECT class_id, conversation_id FROM live_class_groups
            WHERE class_id IN \(SQLBind.group(classes.map(\.id))) ORDER BY class_id, position
            """).all()
        var byClass: [LiveClass.ID: [Conversation.ID]] = [:]
        for row in groups {
            byClass[try row.decode(column: "class_id", as: LiveClass.ID.self), default: []]
                .append(try row.decode(column: "conversation_id", as: Conversation.ID.self))
        }
        for i in classes.indices { classes[i].groupIDs = byClass[classes[i].id] ?? [] }
        return classes
    }

    private static func replay(_ row: any SQLRow) throws -> LiveReplay? {
        guard let file = try row.decode(column: "replay_file", as: String?.self) else { return nil }
        return LiveReplay(file: file, bytes: try row.decode(column: "replay_bytes", as: Int64?.self) ?? 0,
                          seconds: try row.decode(column: "replay_seconds", as: Double?.self) ?? 0)
    }

    // MARK: Who may take part

    /// `userID`'s role in the class's groups: the highest of their roles, nil if in none of them.
    func groupRole(_ db: any SQLDatabase, classID: LiveClass.ID, userID: User.ID) async throws -> Participant.Role? {
        let roles = try await db.raw("""
            SELECT cm.role FROM live_class_groups g
            JOIN conversation_members cm ON cm.conversation_id = g.conversation_id AND cm.user_id = \(bind: userID)
            WHERE g.class_id = \(bind: classID)
            """).all(decodingColumn: "role", as: String.self).compactMap(Participant.Role.init(rawValue:))
        if roles.contains(.owner) { return .owner }
        if roles.contains(.admin) { return .admin }
        return roles.isEmpty ? nil : .member
    }

    /// Everyone in the class's groups now, each once, by name.
    func fetchAudience(_ db: any SQLDatabase, classID: LiveClass.ID) async throws -> [PersonRef] {
        try await db.raw("""
            SELECT DISTINCT cm.user_id, u.name, m.id AS member_id
            FROM live_class_groups g JOIN conversation_members cm ON cm.conversation_id = g.conversation_id
            JOIN users u ON u.id = cm.user_id
            LEFT JOIN members m ON m.org_id = g.org_id AND m.user_id = cm.user_id
            WHERE g.class_id = \(bind: classID)
            ORDER BY u.name, cm.user_id
            """).all().map { row in
            PersonRef(userID: try row.decode(column: "user_id", as: User.ID.self), memberID: try row.decode(column: "member_id", as: Member.ID?.self),
                      name: try row.decode(column: "name", as: String.self))
        }
    }

    /// Who the caller is to a class (for every operation on it, the class's chat included).
    struct Standing: Sendable {
        var isTeacher: Bool
        /// The teacher, or an organisation admin.
        var canRun: Bool
        /// Their role in the class's groups (nil: in none of them).
        var groupRole: Participant.Role?
        /// The teacher removed them from the class.
        var removed: Bool
    }

    /// The caller's standing in class `c`: its teacher, members of its groups and organisation
    /// admins see it; everyone else gets 404.
    func standing(_ db: any SQLDatabase, _ identity: Identity, _ c: LiveClass, member: Member) async throws -> Standing {
        let isTeacher = c.teacher.userID == identity.userID
        let groupRole = try await groupRole(db, classID: c.id, userID: identity.userID)
        guard isTeacher || groupRole != nil || member.role.isAdmin else { throw AppError.notFound("Live class") }
        let removed = isTeacher ? false : try await isRemoved(db, classID: c.id, userID: identity.userID)
        return Standing(isTeacher: isTeacher, canRun: isTeacher || member.role.isAdmin, groupRole: groupRole, removed: removed)
    }

    func isRemoved(_ db: any SQLDatabase, classID: LiveClass.ID, userID: User.ID) async throws -> Bool {
        try await db.raw("SELECT 1 AS hit FROM live_removed WHERE class_id = \(bind: classID) AND user_id = \(bind: userID)").first() != nil
    }

    func insertRemoved(_ db: any SQLDatabase, classID: LiveClass.ID, userID: User.ID, by remover: User.ID, at now: Date) async throws {
        try await db.raw("""
            INSERT INTO live_removed (class_id, user_id, removed_by, at) VALUES (\(bind: classID), \(bind: userID), \(bind: remover), \(bind: now))
            ON CONFLICT (class_id, user_id) DO NOTHING
            """).run()
    }

    // MARK: Hands and speakers

    func fetchHands(_ db: any SQLDatabase, classID: LiveClass.ID) async throws -> [LiveHand] {
        try await db.raw("""
            SELECT h.user_id, h.state, h.at, u.name, m.id AS member_id
            FROM live_hands h JOIN live_classes c ON c.id = h.class_id JOIN users u ON u.id = h.user_id
            LEFT JOIN members m ON m.org_id = c.org_id AND m.user_id = h.user_id
            WHERE h.class_id = \(bind: classID)
            ORDER BY h.at, h.user_id
            """).all().map { row in
            LiveHand(person: PersonRef(userID: try row.decode(column: "user_id", as: User.ID.self),
                                       memberID: try row.decode(column: "member_id", as: Member.ID?.self), name: try row.decode(column: "name", as: String.self)),
                     state: LiveHand.State(rawValue: try row.decode(column: "state", as: String.self)) ?? .raised,
                     at: try row.decode(column: "at", as: Date.self))
        }
    }

    func saveHand(_ db: any SQLDatabase, classID: LiveClass.ID, userID: User.ID, state: LiveHand.State, at now: Date) async throws {
        try await db.raw("""
            INSERT INTO live_hands (class_id, user_id, state, at) VALUES (\(bind: classID), \(bind: userID), \(bind: state.rawValue), \(bind: now))
            ON CONFLICT (class_id, user_id) DO UPDATE SET state = excluded.state, at = excluded.at
            """).run()
    }

    /// Lowers one person's hand (or ends their turn); all hands when `userID` is nil.
    /// Someone's hand, the hands in `state`, or every hand of a class.
    func deleteHands(_ db: any SQLDatabase, classID: LiveClass.ID, userID: User.ID? = nil, state: LiveHand.State? = nil) async throws {
        var delete = db.delete(from: "live_hands").where("class_id", .equal, classID)
        if let userID { delete = delete.where("user_id", .equal, userID) }
        if let state { delete = delete.where("state", .equal, state.rawValue) }
        try await delete.run()
    }

    // MARK: Media tokens

    func fetchToken(_ db: any SQLDatabase, classID: LiveClass.ID, userID: User.ID) async throws -> String? {
        try await db.raw("SELECT token FROM live_media_tokens WHERE class_id = \(bind: classID) AND user_id = \(bind: userID)")
            .first(decodingColumn: "token", as: String.self)
    }

    func saveToken(_ db: any SQLDatabase, classID: LiveClass.ID, userID: User.ID, token: String, at now: Date) async throws {
        try await db.raw("""
            INSERT INTO live_media_tokens (class_id, user_id, token, created_at) VALUES (\(bind: classID), \(bind: userID), \(bind: token), \(bind: now))
            ON CONFLICT (class_id, user_id) DO UPDATE SET token = excluded.token, created_at = excluded.created_at
            """).run()
    }

    func fetchTokens(_ db: any SQLDatabase, classID: LiveClass.ID) async throws -> [String] {
        try await db.raw("SELECT token FROM live_media_tokens WHERE class_id = \(bind: classID)").all(decodingColumn: "token", as: String.self)
    }

    /// Whose token this is, in a class.
    func tokenOwner(_ db: any SQLDatabase, classID: LiveClass.ID, token: String) async throws -> User.ID? {
        try await db.raw("SELECT user_id FROM live_media_tokens WHERE class_id = \(bind: classID) AND token = \(bind: token)")
            .first(decodingColumn: "user_id", as: User.ID.self)
    }

    /// Forgets a class's tokens (its room is gone); returns them, to remove from Janus.
    func deleteTokens(_ db: any SQLDatabase, classID: LiveClass.ID, userID: User.ID? = nil) async throws -> [String] {
        var condition: SQLQueryString = "class_id = \(bind: classID)"
        if let userID { condition = "\(condition) AND user_id = \(bind: userID)" }
        let tokens = try await db.raw("SELECT token FROM live_media_tokens WHERE \(condition)").all(decodingColumn: "token", as: String.self)
        try await db.raw("DELETE FROM live_media_tokens WHERE \(condition)").run()
        return tokens
    }

    // MARK: Watch time

    func fetchWatch(_ db: any SQLDatabase, classID: LiveClass.ID, userID: User.ID, mode: WatchMode) async throws -> WatchTime? {
        guard let row = try await db.raw("""
            SELECT seconds, credited_until, first_at, last_at FROM live_watch
            WHERE class_id = \(bind: classID) AND user_id = \(bind: userID) AND mode = \(bind: mode.rawValue)
            """).first() else { return nil }
        return WatchTime(seconds: try row.decode(column: "seconds", as: Double.self), creditedUntil: try row.decode(column: "credited_until", as: Date.self),
                         firstAt: try row.decode(column: "first_at", as: Date.self), lastAt: try row.decode(column: "last_at", as: Date.self))
    }

    func saveWatch(_ db: any SQLDatabase, classID: LiveClass.ID, userID: User.ID, mode: WatchMode, _ w: WatchTime) async throws {
        try await db.raw("""
            INSERT INTO live_watch (class_id, user_id, mode, seconds, credited_until, first_at, last_at)
            VALUES (\(bind: classID), \(bind: userID), \(bind: mode.rawValue), \(bind: w.seconds), \(bind: w.creditedUntil), \(bind: w.firstAt), \(bind: w.lastAt))
            ON CONFLICT (class_id, user_id, mode) DO UPDATE SET seconds = excluded.seconds, credited_until = excluded.credited_until,
                last_at = excluded.last_at
            """).run()
    }

    /// How many people but the teacher opened the live video or sent a heartbeat since `since`.
    func countWatching(_ db: any SQLDatabase, _ c: LiveClass, since: Date) async throws -> Int {
        try await db.raw("""
            SELECT count(*) AS n FROM live_watch WHERE class_id = \(bind: c.id) AND mode = \(bind: WatchMode.live.rawValue)
            AND last_at >= \(bind: since) AND user_id <> \(bind: c.teacher.userID)
            """).first()?.decode(column: "n", as: Int.self) ?? 0
    }

    /// Seconds watched per person and mode.
    func fetchWatchTotals(_ db: any SQLDatabase, classID: LiveClass.ID) async throws -> [User.ID: [WatchMode: Double]] {
        var totals: [User.ID: [WatchMode: Double]] = [:]
        for row in try await db.raw("SELECT user_id, mode, seconds FROM live_watch WHERE class_id = \(bind: classID)").all() {
            guard let mode = WatchMode(rawValue: try row.decode(column: "mode", as: String.self)) else { continue }
            totals[try row.decode(column: "user_id", as: User.ID.self), default: [:]][mode] = try row.decode(column: "seconds", as: Double.self)
        }
        return totals
    }
}
