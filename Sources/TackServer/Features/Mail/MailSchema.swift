extension Schema {
    /// 5: each organisation's SMTP server and each member's e-mail choices.
    static let mail = Migration(
        version: 5, name: "mail",
        sqlite: """
        CREATE TABLE mail_settings (
            org_id TEXT PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
            host TEXT NOT NULL,
            port INTEGER NOT NULL,
            security TEXT NOT NULL,
            username TEXT,
            password TEXT,
            from_address TEXT NOT NULL,
            from_name TEXT,
            updated_at REAL NOT NULL
        );
        CREATE TABLE mail_preferences (
            org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            dings INTEGER NOT NULL,
            mentions INTEGER NOT NULL,
            announcements INTEGER NOT NULL,
            updated_at REAL NOT NULL,
            PRIMARY KEY (org_id, user_id)
        )
        """,
        postgres: """
        CREATE TABLE mail_settings (
            org_id UUID PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
            host TEXT NOT NULL,
            port INTEGER NOT NULL,
            security TEXT NOT NULL,
            username TEXT,
            password TEXT,
            from_address TEXT NOT NULL,
            from_name TEXT,
            updated_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE mail_preferences (
            org_id UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            dings BOOLEAN NOT NULL,
            mentions BOOLEAN NOT NULL,
            announcements BOOLEAN NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (org_id, user_id)
        )
        """
    )
}
