import Foundation
import SQLKit

/// A live class's comments and likes in SQL (migration 12), the same statements on SQLite and
/// PostgreSQL.
struct LiveChatStore: Sendable {
    // MARK: Comments

    /// The next place in the class's stream. The caller holds the class's row lock
    /// (`LiveStore.lockClass`; on SQLite the one writer), so two comments never get the same
    /// number. O(log n): the maximum is read from the unique index `(class_id, seq)`.
    func nextSeq(_ db: any SQLDatabase, classID: LiveClass.ID) async throws -> Int64 {
        let last = try await db.raw("SELECT MAX(seq) AS seq FROM live_comments WHERE class_id = \(bind: classID)")
            .first()?.decode(column: "seq", as: Int64?.self)
        return (last ?? 0) + 1
    }

    func insertComment(_ db: any SQLDatabase, _ c: LiveComment, orgID: Organization.ID) async throws {
        try await db.insert(into: "live_comments")
            .columns("id", "class_id", "org_id", "seq", "author_id", "kind", "text", "created_at", "answered_at", "answered_by")
            .values(SQLBind(c.id), SQLBind(c.classID), SQLBind(orgID), SQLBind(c.seq), SQLBind(c.author.userID), SQLBind(c.kind.rawValue),
                    SQLBind(c.text), SQLBind(c.createdAt), SQLBind(c.answeredAt), SQLBind(c.answeredBy?.userID))
            .run()
    }

    /// Marks a question answered (`by` and `at`) or not (nil).
    func updateAnswered(_ db: any SQLDatabase, classID: LiveClass.ID, id: LiveComment.ID, by: User.ID?, at: Date?) async throws {
        try await db.update("live_comments").set("answered_at", to: at).set("answered_by", to: by)
            .where("class_id", .equal, classID).where("id", .equal, id)
            .run()
    }

    func fetchComment(_ db: any SQLDatabase, classID: LiveClass.ID, id: LiveComment.ID) async throws -> LiveComment? {
        try await fetchComments(db, where: "k.class_id = \(bind: classID) AND k.id = \(bind: id)", limit: 1).first
    }

    /// The latest `limit` comments before `before` (all kinds, or questions only), newest last.
    /// Indexed: `(class_id, seq)` for all, `live_comments_kind (class_id, kind, seq)` for
    /// questions — each page reads `limit` rows from an index, however long the stream.
    func fetchPage(_ db: any SQLDatabase, classID: LiveClass.ID, questionsOnly: Bool, before: Int64?, limit: Int) async throws -> [LiveComment] {
        var condition: SQLQueryString = "k.class_id = \(bind: classID)"
        if questionsOnly { condition = "\(condition) AND k.kind = \(bind: LiveComment.Kind.question.rawValue)" }
        if let before { condition = "\(condition) AND k.seq < \(bind: before)" }
        return try await fetchComments(db, where: condition, limit: limit).reversed()
    }

    /// Comments matching `condition`, the latest first.
    private func fetchComments(_ db: any SQLDatabase, where condition: SQLQueryString, limit: Int) async throws -> [LiveComment] {
        try await db.raw("""
            SELECT k.id, k.class_id, k.seq, k.author_id, u.name AS author_name, m.id AS author_member_id, k.kind, k.text, k.created_at,
                   k.answered_at, k.answered_by, a.name AS answered_name, am.id AS answered_member_id
            FROM live_comments k JOIN users u ON u.id = k.author_id
            LEFT JOIN members m ON m.org_id = k.org_id AND m.user_id = k.author_id
            LEFT JOIN users a ON a.id = k.answered_by
            LEFT JOIN members am ON am.org_id = k.org_id AND am.user_id = k.answered_by
            WHERE \(condition)
            ORDER BY k.seq DESC
            LIMIT \(unsafeRaw: String(limit))
            """).all().map { row in
            let answeredBy = try row.decode(column: "answered_by", as: User.ID?.self)
            return LiveComment(
                id: try row.decode(column: "id", as: LiveComment.ID.self),
                classID: try row.decode(column: "class_id", as: LiveClass.ID.self),
                seq: try row.decode(column: "seq", as: Int64.self),
                author: PersonRef(userID: try row.decode(column: "author_id", as: User.ID.self),
                                  memberID: try row.decode(column: "author_member_id", as: Member.ID?.self),
                                  name: try row.decode(column: "author_name", as: String.self)),
                kind: LiveComment.Kind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .comment,
                text: try row.decode(column: "text", as: String.self),
                createdAt: try row.decode(column: "created_at", as: Date.self),
                answeredAt: try row.decode(column: "answered_at", as: Date?.self),
                answeredBy: try answeredBy.map {
                    PersonRef(userID: $0, memberID: try row.decode(column: "answered_member_id", as: Member.ID?.self),
                              name: try row.decode(column: "answered_name", as: String?.self) ?? "")
                })
        }
    }

    // MARK: Likes

    func fetchLikes(_ db: any SQLDatabase, classID: LiveClass.ID) async throws -> Int64 {
        try await db.raw("SELECT likes FROM live_classes WHERE id = \(bind: classID)").first()?.decode(column: "likes", as: Int64.self) ?? 0
    }

    /// Adds `n` to the class's total; returns the new total.
    func addLikes(_ db: any SQLDatabase, classID: LiveClass.ID, _ n: Int) async throws -> Int64 {
        try await db.raw("UPDATE live_classes SET likes = likes + \(bind: n) WHERE id = \(bind: classID)").run()
        return try await fetchLikes(db, classID: classID)
    }

    func fetchLikeWindow(_ db: any SQLDatabase, classID: LiveClass.ID, userID: User.ID) async throws -> LikeWindow? {
        guard let row = try await db.raw("""
            SELECT window_start, window_count FROM live_likers WHERE class_id = \(bind: classID) AND user_id = \(bind: userID)
            """).first() else { return nil }
        return LikeWindow(start: try row.decode(column: "window_start", as: Date.self), count: try row.decode(column: "window_count", as: Int.self))
    }

    /// Saves a person's window and adds `accepted` to their own total.
    func saveLikeWindow(_ db: any SQLDatabase, classID: LiveClass.ID, userID: User.ID, _ w: LikeWindow, accepted: Int) async throws {
        try await db.raw("""
            INSERT INTO live_likers (class_id, user_id, window_start, window_count, total)
            VALUES (\(bind: classID), \(bind: userID), \(bind: w.start), \(bind: w.count), \(bind: accepted))
            ON CONFLICT (class_id, user_id) DO UPDATE SET window_start = excluded.window_start, window_count = excluded.window_count,
                total = live_likers.total + excluded.total
            """).run()
    }
}
