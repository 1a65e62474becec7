extension Schema {
    /// 12: a live class's own comment stream (comments and questions, a question answered or
    /// not) and its likes — a total on the class, and each person's likes in the current
    /// rate-limit window.
    static let liveChat = Migration(
        version: 12, name: "live_chat",
        sqlite: liveChatTables.dialect(id: "TEXT", bool: "INTEGER", time: "REAL", double: "REAL", big: "INTEGER"),
        postgres: liveChatTables.dialect(id: "UUID", bool: "BOOLEAN", time: "TIMESTAMPTZ", double: "DOUBLE PRECISION", big: "BIGINT")
    )

    private static let liveChatTables = """
        ALTER TABLE live_classes ADD COLUMN likes {BIG} NOT NULL DEFAULT 0;
        CREATE TABLE live_comments (
            id {ID} PRIMARY KEY,
            class_id {ID} NOT NULL REFERENCES live_classes(id) ON DELETE CASCADE,
            org_id {ID} NOT NULL,
            seq {BIG} NOT NULL,
            author_id {ID} NOT NULL REFERENCES users(id),
            kind TEXT NOT NULL,
            text TEXT NOT NULL,
            created_at {TIME} NOT NULL,
            answered_at {TIME},
            answered_by {ID} REFERENCES users(id),
            UNIQUE (class_id, seq)
        );
        CREATE INDEX live_comments_kind ON live_comments(class_id, kind, seq);
        CREATE TABLE live_likers (
            class_id {ID} NOT NULL REFERENCES live_classes(id) ON DELETE CASCADE,
            user_id {ID} NOT NULL REFERENCES users(id),
            window_start {TIME} NOT NULL,
            window_count INTEGER NOT NULL,
            total {BIG} NOT NULL,
            PRIMARY KEY (class_id, user_id)
        )
        """
}
