extension Schema {
    /// 9: live classes — the class, the groups it is broadcast to, raised hands and speakers,
    /// people removed from it, and each person's watch time live and on the replay.
    static let live = Migration(
        version: 9, name: "live_classes",
        sqlite: liveTables.dialect(id: "TEXT", bool: "INTEGER", time: "REAL", double: "REAL", big: "INTEGER"),
        postgres: liveTables.dialect(id: "UUID", bool: "BOOLEAN", time: "TIMESTAMPTZ", double: "DOUBLE PRECISION", big: "BIGINT")
    )

    /// 10: live classes' media — the class's Janus room (its id and secret; the secret never
    /// leaves the server), whether the teacher's camera is on the air, and each participant's
    /// Janus token.
    static let liveMedia = Migration(
        version: 10, name: "live_media",
        sqlite: """
            ALTER TABLE live_classes ADD COLUMN janus_room INTEGER;
            ALTER TABLE live_classes ADD COLUMN room_secret TEXT;
            ALTER TABLE live_classes ADD COLUMN on_air INTEGER NOT NULL DEFAULT 0;
            CREATE TABLE live_media_tokens (
                class_id TEXT NOT NULL REFERENCES live_classes(id) ON DELETE CASCADE,
                user_id TEXT NOT NULL REFERENCES users(id),
                token TEXT NOT NULL,
                created_at REAL NOT NULL,
                PRIMARY KEY (class_id, user_id)
            )
            """,
        postgres: """
            ALTER TABLE live_classes ADD COLUMN janus_room BIGINT;
            ALTER TABLE live_classes ADD COLUMN room_secret TEXT;
            ALTER TABLE live_classes ADD COLUMN on_air BOOLEAN NOT NULL DEFAULT FALSE;
            CREATE TABLE live_media_tokens (
                class_id UUID NOT NULL REFERENCES live_classes(id) ON DELETE CASCADE,
                user_id UUID NOT NULL REFERENCES users(id),
                token TEXT NOT NULL,
                created_at TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (class_id, user_id)
            )
            """
    )

    /// 11: live classes' replays — the converted recording (its file under the data folder's
    /// `live/`, its size and length) and whether converting it failed for good.
    static let liveReplay = Migration(
        version: 11, name: "live_replay",
        sqlite: """
            ALTER TABLE live_classes ADD COLUMN replay_file TEXT;
            ALTER TABLE live_classes ADD COLUMN replay_bytes INTEGER;
            ALTER TABLE live_classes ADD COLUMN replay_seconds REAL;
            ALTER TABLE live_classes ADD COLUMN replay_failed INTEGER NOT NULL DEFAULT 0
            """,
        postgres: """
            ALTER TABLE live_classes ADD COLUMN replay_file TEXT;
            ALTER TABLE live_classes ADD COLUMN replay_bytes BIGINT;
            ALTER TABLE live_classes ADD COLUMN replay_seconds DOUBLE PRECISION;
            ALTER TABLE live_classes ADD COLUMN replay_failed BOOLEAN NOT NULL DEFAULT FALSE
            """
    )

    private static let liveTables = """
        CREATE TABLE live_classes (
            id {ID} PRIMARY KEY,
            org_id {ID} NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            teacher_id {ID} NOT NULL REFERENCES users(id),
            title TEXT NOT NULL,
            scheduled_at {TIME},
            state TEXT NOT NULL,
            started_at {TIME},
            ended_at {TIME},
            locked {BOOL} NOT NULL,
            paused {BOOL} NOT NULL,
            max_speakers INTEGER NOT NULL,
            created_at {TIME} NOT NULL,
            updated_at {TIME} NOT NULL
        );
        CREATE INDEX live_classes_org ON live_classes(org_id, created_at);
        CREATE TABLE live_class_groups (
            class_id {ID} NOT NULL REFERENCES live_classes(id) ON DELETE CASCADE,
            conversation_id {ID} NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            org_id {ID} NOT NULL,
            position INTEGER NOT NULL,
            PRIMARY KEY (class_id, conversation_id)
        );
        CREATE INDEX live_class_groups_conversation ON live_class_groups(conversation_id, class_id);
        CREATE TABLE live_hands (
            class_id {ID} NOT NULL REFERENCES live_classes(id) ON DELETE CASCADE,
            user_id {ID} NOT NULL REFERENCES users(id),
            state TEXT NOT NULL,
            at {TIME} NOT NULL,
            PRIMARY KEY (class_id, user_id)
        );
        CREATE TABLE live_removed (
            class_id {ID} NOT NULL REFERENCES live_classes(id) ON DELETE CASCADE,
            user_id {ID} NOT NULL REFERENCES users(id),
            removed_by {ID} NOT NULL REFERENCES users(id),
            at {TIME} NOT NULL,
            PRIMARY KEY (class_id, user_id)
        );
        CREATE TABLE live_watch (
            class_id {ID} NOT NULL REFERENCES live_classes(id) ON DELETE CASCADE,
            user_id {ID} NOT NULL REFERENCES users(id),
            mode TEXT NOT NULL,
            seconds {DOUBLE} NOT NULL,
            credited_until {TIME} NOT NULL,
            first_at {TIME} NOT NULL,
            last_at {TIME} NOT NULL,
            PRIMARY KEY (class_id, user_id, mode)
        )
        """
}

extension Schema {
    /// 13: live classes found by their Janus room's number (Janus's events name rooms).
    static let liveRooms = Migration(
        version: 13, name: "live_rooms",
        sqlite: "CREATE INDEX live_classes_janus_room ON live_classes(janus_room)",
        postgres: "CREATE INDEX live_classes_janus_room ON live_classes(janus_room)"
    )
}
