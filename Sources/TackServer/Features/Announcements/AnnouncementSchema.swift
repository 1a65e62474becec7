extension Schema {
    /// 6: announcements — their audience (departments, or the whole organisation), the
    /// recipients snapshotted when they go out (read and confirmed per person), attachments, and
    /// DINGs that remind about an announcement.
    ///
    /// Version 5 is e-mail (another branch); the migrator accepts the gap until both are merged.
    static let announcements = Migration(
        version: 6, name: "announcements",
        sqlite: """
        CREATE TABLE announcements (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            author_id TEXT NOT NULL REFERENCES users(id),
            title TEXT NOT NULL,
            body_html TEXT NOT NULL,
            body_text TEXT NOT NULL,
            whole_org INTEGER NOT NULL,
            require_confirmation INTEGER NOT NULL,
            pinned_at REAL,
            scheduled_at REAL,
            published_at REAL,
            cancelled_at REAL,
            last_dinged_at REAL,
            recipient_count INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX announcements_org ON announcements(org_id, created_at);
        CREATE TABLE announcement_departments (
            announcement_id TEXT NOT NULL REFERENCES announcements(id) ON DELETE CASCADE,
            department_id TEXT NOT NULL REFERENCES departments(id) ON DELETE CASCADE,
            org_id TEXT NOT NULL,
            PRIMARY KEY (announcement_id, department_id)
        );
        CREATE TABLE announcement_recipients (
            org_id TEXT NOT NULL,
            announcement_id TEXT NOT NULL REFERENCES announcements(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL REFERENCES users(id),
            read_at REAL,
            confirmed_at REAL,
            PRIMARY KEY (announcement_id, user_id)
        );
        CREATE INDEX announcement_recipients_user ON announcement_recipients(user_id, org_id);
        CREATE TABLE announcement_attachments (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            announcement_id TEXT REFERENCES announcements(id) ON DELETE CASCADE,
            uploader_id TEXT NOT NULL REFERENCES users(id),
            name TEXT NOT NULL,
            content_type TEXT NOT NULL,
            size INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            position INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL
        );
        CREATE INDEX announcement_attachments_announcement ON announcement_attachments(announcement_id, position);
        ALTER TABLE dings ADD COLUMN source_announcement_id TEXT REFERENCES announcements(id) ON DELETE SET NULL
        """,
        postgres: """
        CREATE TABLE announcements (
            id UUID PRIMARY KEY,
            org_id UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            author_id UUID NOT NULL REFERENCES users(id),
            title TEXT NOT NULL,
            body_html TEXT NOT NULL,
            body_text TEXT NOT NULL,
            whole_org BOOLEAN NOT NULL,
            require_confirmation BOOLEAN NOT NULL,
            pinned_at TIMESTAMPTZ,
            scheduled_at TIMESTAMPTZ,
            published_at TIMESTAMPTZ,
            cancelled_at TIMESTAMPTZ,
            last_dinged_at TIMESTAMPTZ,
            recipient_count INTEGER NOT NULL DEFAULT 0,
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX announcements_org ON announcements(org_id, created_at);
        CREATE TABLE announcement_departments (
            announcement_id UUID NOT NULL REFERENCES announcements(id) ON DELETE CASCADE,
            department_id UUID NOT NULL REFERENCES departments(id) ON DELETE CASCADE,
            org_id UUID NOT NULL,
            PRIMARY KEY (announcement_id, department_id)
        );
        CREATE TABLE announcement_recipients (
            org_id UUID NOT NULL,
            announcement_id UUID NOT NULL REFERENCES announcements(id) ON DELETE CASCADE,
            user_id UUID NOT NULL REFERENCES users(id),
            read_at TIMESTAMPTZ,
            confirmed_at TIMESTAMPTZ,
            PRIMARY KEY (announcement_id, user_id)
        );
        CREATE INDEX announcement_recipients_user ON announcement_recipients(user_id, org_id);
        CREATE TABLE announcement_attachments (
            id UUID PRIMARY KEY,
            org_id UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            announcement_id UUID REFERENCES announcements(id) ON DELETE CASCADE,
            uploader_id UUID NOT NULL REFERENCES users(id),
            name TEXT NOT NULL,
            content_type TEXT NOT NULL,
            size BIGINT NOT NULL,
            sha256 TEXT NOT NULL,
            position INTEGER NOT NULL DEFAULT 0,
            created_at TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX announcement_attachments_announcement ON announcement_attachments(announcement_id, position);
        ALTER TABLE dings ADD COLUMN source_announcement_id UUID REFERENCES announcements(id) ON DELETE SET NULL
        """
    )
}
