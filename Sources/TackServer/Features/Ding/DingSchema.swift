extension Schema {
    /// 4: DING reminders, their recipients and delivery attempts, and each organisation's
    /// escalation policy.
    static let ding = Migration(
        version: 4, name: "ding",
        sqlite: """
        CREATE TABLE dings (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            sender_id TEXT NOT NULL REFERENCES users(id),
            body TEXT NOT NULL,
            channel TEXT NOT NULL,
            scheduled_at REAL,
            sent_at REAL,
            cancelled_at REAL,
            last_reminded_at REAL,
            source_conversation_id TEXT,
            source_seq INTEGER,
            recipient_count INTEGER NOT NULL,
            confirmed_count INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL
        );
        CREATE INDEX dings_sender ON dings(org_id, sender_id, created_at);
        CREATE TABLE ding_recipients (
            ding_id TEXT NOT NULL REFERENCES dings(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL REFERENCES users(id),
            org_id TEXT NOT NULL,
            confirmed_at REAL,
            created_at REAL NOT NULL,
            PRIMARY KEY (ding_id, user_id)
        );
        CREATE INDEX ding_recipients_user ON ding_recipients(user_id, org_id, created_at);
        CREATE TABLE ding_attempts (
            id TEXT PRIMARY KEY,
            ding_id TEXT NOT NULL REFERENCES dings(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            channel TEXT NOT NULL,
            reason TEXT NOT NULL,
            status TEXT NOT NULL,
            detail TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX ding_attempts_ding ON ding_attempts(ding_id, user_id);
        CREATE INDEX ding_attempts_calls ON ding_attempts(user_id, created_at) WHERE channel = 'call';
        CREATE TABLE ding_policies (
            org_id TEXT PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
            sms_after_minutes INTEGER,
            call_after_minutes INTEGER,
            call_fallback_sms INTEGER NOT NULL,
            calls_per_8_minutes INTEGER NOT NULL,
            calls_per_day INTEGER NOT NULL,
            updated_at REAL NOT NULL
        )
        """,
        postgres: """
        CREATE TABLE dings (
            id UUID PRIMARY KEY,
            org_id UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            sender_id UUID NOT NULL REFERENCES users(id),
            body TEXT NOT NULL,
            channel TEXT NOT NULL,
            scheduled_at TIMESTAMPTZ,
            sent_at TIMESTAMPTZ,
            cancelled_at TIMESTAMPTZ,
            last_reminded_at TIMESTAMPTZ,
            source_conversation_id UUID,
            source_seq BIGINT,
            recipient_count INTEGER NOT NULL,
            confirmed_count INTEGER NOT NULL DEFAULT 0,
            created_at TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX dings_sender ON dings(org_id, sender_id, created_at);
        CREATE TABLE ding_recipients (
            ding_id UUID NOT NULL REFERENCES dings(id) ON DELETE CASCADE,
            user_id UUID NOT NULL REFERENCES users(id),
            org_id UUID NOT NULL,
            confirmed_at TIMESTAMPTZ,
            created_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (ding_id, user_id)
        );
        CREATE INDEX ding_recipients_user ON ding_recipients(user_id, org_id, created_at);
        CREATE TABLE ding_attempts (
            id UUID PRIMARY KEY,
            ding_id UUID NOT NULL REFERENCES dings(id) ON DELETE CASCADE,
            user_id UUID NOT NULL,
            channel TEXT NOT NULL,
            reason TEXT NOT NULL,
            status TEXT NOT NULL,
            detail TEXT,
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX ding_attempts_ding ON ding_attempts(ding_id, user_id);
        CREATE INDEX ding_attempts_calls ON ding_attempts(user_id, created_at) WHERE channel = 'call';
        CREATE TABLE ding_policies (
            org_id UUID PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
            sms_after_minutes INTEGER,
            call_after_minutes INTEGER,
            call_fallback_sms BOOLEAN NOT NULL,
            calls_per_8_minutes INTEGER NOT NULL,
            calls_per_day INTEGER NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL
        )
        """
    )
}
