/// Every migration of Tack's schema, in order. See `Migration`.
enum Schema {
    static let migrations: [Migration] = [directory, chat, jobs, ding, mail, announcements, health, departmentLinkUsers, live, liveMedia, liveReplay,
                                          liveChat, liveRooms, healthSubmissionsClustered]

    /// 1: people, sessions, organisations, departments, members, invitations, the event log and
    /// idempotency keys.
    static let directory = Migration(
        version: 1, name: "directory",
        sqlite: """
        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            email TEXT UNIQUE,
            phone TEXT UNIQUE,
            password_hash TEXT,
            locale TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            last_seen_at REAL NOT NULL
        );
        CREATE INDEX sessions_user ON sessions(user_id);
        CREATE TABLE orgs (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            created_by TEXT NOT NULL REFERENCES users(id),
            created_at REAL NOT NULL,
            event_seq INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE departments (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            parent_id TEXT REFERENCES departments(id),
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            sort_order INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL
        );
        CREATE UNIQUE INDEX departments_root ON departments(org_id) WHERE parent_id IS NULL;
        CREATE UNIQUE INDEX departments_sibling_name ON departments(org_id, parent_id, name);
        CREATE INDEX departments_parent ON departments(parent_id);
        CREATE TABLE members (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL REFERENCES users(id),
            role TEXT NOT NULL,
            capabilities TEXT NOT NULL DEFAULT '',
            title TEXT NOT NULL DEFAULT '',
            sort_name TEXT NOT NULL,
            joined_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            UNIQUE (org_id, user_id)
        );
        CREATE INDEX members_org_name ON members(org_id, sort_name, id);
        CREATE INDEX members_user ON members(user_id);
        CREATE TABLE member_departments (
            member_id TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
            department_id TEXT NOT NULL REFERENCES departments(id) ON DELETE CASCADE,
            org_id TEXT NOT NULL,
            PRIMARY KEY (member_id, department_id)
        );
        CREATE INDEX member_departments_department ON member_departments(department_id, member_id);
        CREATE TABLE invitations (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            code TEXT NOT NULL UNIQUE,
            token TEXT NOT NULL UNIQUE,
            department_id TEXT REFERENCES departments(id) ON DELETE SET NULL,
            role TEXT NOT NULL,
            requires_approval INTEGER NOT NULL,
            expires_at REAL NOT NULL,
            max_uses INTEGER,
            uses INTEGER NOT NULL DEFAULT 0,
            created_by TEXT NOT NULL REFERENCES users(id),
            created_at REAL NOT NULL,
            revoked_at REAL
        );
        CREATE INDEX invitations_org ON invitations(org_id, created_at);
        CREATE TABLE join_requests (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL REFERENCES users(id),
            invitation_id TEXT REFERENCES invitations(id) ON DELETE SET NULL,
            status TEXT NOT NULL,
            created_at REAL NOT NULL,
            decided_at REAL,
            decided_by TEXT
        );
        CREATE UNIQUE INDEX join_requests_pending ON join_requests(org_id, user_id) WHERE status = 'pending';
        CREATE INDEX join_requests_org ON join_requests(org_id, status, created_at);
        CREATE TABLE org_events (
            org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            type TEXT NOT NULL,
            audience TEXT NOT NULL,
            data TEXT NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (org_id, seq)
        );
        CREATE TABLE idempotency_keys (
            scope TEXT NOT NULL,
            key TEXT NOT NULL,
            operation TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            response TEXT NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (scope, key)
        );
        CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at)
        """,
        postgres: """
        CREATE TABLE users (
            id UUID PRIMARY KEY,
            name TEXT NOT NULL,
            email TEXT UNIQUE,
            phone TEXT UNIQUE,
            password_hash TEXT,
            locale TEXT,
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY,
            user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL,
            last_seen_at TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX sessions_user ON sessions(user_id);
        CREATE TABLE orgs (
            id UUID PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            created_by UUID NOT NULL REFERENCES users(id),
            created_at TIMESTAMPTZ NOT NULL,
            event_seq BIGINT NOT NULL DEFAULT 0
        );
        CREATE TABLE departments (
            id UUID PRIMARY KEY,
            org_id UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            parent_id UUID REFERENCES departments(id),
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            sort_order INTEGER NOT NULL DEFAULT 0,
            created_at TIMESTAMPTZ NOT NULL
        );
        CREATE UNIQUE INDEX departments_root ON departments(org_id) WHERE parent_id IS NULL;
        CREATE UNIQUE INDEX departments_sibling_name ON departments(org_id, parent_id, name);
        CREATE INDEX departments_parent ON departments(parent_id);
        CREATE TABLE members (
            id UUID PRIMARY KEY,
            org_id UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            user_id UUID NOT NULL REFERENCES users(id),
            role TEXT NOT NULL,
            capabilities TEXT NOT NULL DEFAULT '',
            title TEXT NOT NULL DEFAULT '',
            sort_name TEXT COLLATE "C" NOT NULL,
            joined_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            UNIQUE (org_id, user_id)
        );
        CREATE INDEX members_org_name ON members(org_id, sort_name, id);
        CREATE INDEX members_user ON members(user_id);
        CREATE TABLE member_departments (
            member_id UUID NOT NULL REFERENCES members(id) ON DELETE CASCADE,
            department_id UUID NOT NULL REFERENCES departments(id) ON DELETE CASCADE,
            org_id UUID NOT NULL,
            PRIMARY KEY (member_id, department_id)
        );
        CREATE INDEX member_departments_department ON member_departments(department_id, member_id);
        CREATE TABLE invitations (
            id UUID PRIMARY KEY,
            org_id UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            code TEXT NOT NULL UNIQUE,
            token TEXT NOT NULL UNIQUE,
            department_id UUID REFERENCES departments(id) ON DELETE SET NULL,
            role TEXT NOT NULL,
            requires_approval BOOLEAN NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL,
            max_uses INTEGER,
            uses INTEGER NOT NULL DEFAULT 0,
            created_by UUID NOT NULL REFERENCES users(id),
            created_at TIMESTAMPTZ NOT NULL,
            revoked_at TIMESTAMPTZ
        );
        CREATE INDEX invitations_org ON invitations(org_id, created_at);
        CREATE TABLE join_requests (
            id UUID PRIMARY KEY,
            org_id UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            user_id UUID NOT NULL REFERENCES users(id),
            invitation_id UUID REFERENCES invitations(id) ON DELETE SET NULL,
            status TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            decided_at TIMESTAMPTZ,
            decided_by UUID
        );
        CREATE UNIQUE INDEX join_requests_pending ON join_requests(org_id, user_id) WHERE status = 'pending';
        CREATE INDEX join_requests_org ON join_requests(org_id, status, created_at);
        CREATE TABLE org_events (
            org_id UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            seq BIGINT NOT NULL,
            type TEXT NOT NULL,
            audience TEXT NOT NULL,
            data TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (org_id, seq)
        );
        CREATE TABLE idempotency_keys (
            scope TEXT NOT NULL,
            key TEXT NOT NULL,
            operation TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            response TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (scope, key)
        );
        CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at)
        """
    )

    /// 8: each member–department link carries the member's user, and links are indexed by
    /// organisation and department: counting a day's health reports by department reads the
    /// links in order and looks up one report per link, with no lookup of the member.
    static let departmentLinkUsers = Migration(
        version: 8, name: "department_link_users",
        sqlite: """
            ALTER TABLE member_departments ADD COLUMN user_id TEXT REFERENCES users(id);
            UPDATE member_departments SET user_id = (SELECT m.user_id FROM members m WHERE m.id = member_departments.member_id);
            CREATE INDEX member_departments_org ON member_departments(org_id, department_id, user_id)
            """,
        postgres: """
            ALTER TABLE member_departments ADD COLUMN user_id UUID REFERENCES users(id);
            UPDATE member_departments SET user_id = m.user_id FROM members m WHERE m.id = member_departments.member_id;
            ALTER TABLE member_departments ALTER COLUMN user_id SET NOT NULL;
            CREATE INDEX member_departments_org ON member_departments(org_id, department_id, user_id)
            """
    )

    /// 2: conversations (direct, groups, department groups), their members with read watermarks,
    /// messages with per-conversation sequence numbers, mentions, attachments, and search.
    static let chat = Migration(
        version: 2, name: "chat",
        sqlite: """
        CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            department_id TEXT REFERENCES departments(id) ON DELETE CASCADE,
            direct_key TEXT,
            created_by TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            last_seq INTEGER NOT NULL DEFAULT 0,
            member_count INTEGER NOT NULL DEFAULT 0,
            max_members INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX conversations_direct ON conversations(org_id, direct_key) WHERE direct_key IS NOT NULL;
        CREATE UNIQUE INDEX conversations_department ON conversations(department_id) WHERE department_id IS NOT NULL;
        CREATE INDEX conversations_org ON conversations(org_id, kind);
        CREATE TABLE conversation_members (
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL REFERENCES users(id),
            org_id TEXT NOT NULL,
            role TEXT NOT NULL,
            joined_seq INTEGER NOT NULL,
            read_seq INTEGER NOT NULL,
            joined_at REAL NOT NULL,
            PRIMARY KEY (conversation_id, user_id)
        );
        CREATE INDEX conversation_members_user ON conversation_members(user_id, org_id);
        CREATE TABLE attachments (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            uploader_id TEXT NOT NULL,
            name TEXT NOT NULL,
            content_type TEXT NOT NULL,
            size INTEGER NOT NULL,
            width INTEGER,
            height INTEGER,
            sha256 TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE TABLE messages (
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            id TEXT NOT NULL UNIQUE,
            sender_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            body TEXT,
            mentions TEXT NOT NULL DEFAULT '',
            mention_all INTEGER NOT NULL DEFAULT 0,
            reply_to_seq INTEGER,
            attachment_id TEXT REFERENCES attachments(id),
            forwarded_from TEXT,
            system TEXT,
            client_key TEXT,
            created_at REAL NOT NULL,
            recalled_at REAL,
            pinned_at REAL,
            pinned_by TEXT,
            PRIMARY KEY (conversation_id, seq)
        );
        CREATE UNIQUE INDEX messages_client_key ON messages(conversation_id, sender_id, client_key) WHERE client_key IS NOT NULL;
        CREATE INDEX messages_pinned ON messages(conversation_id, pinned_at) WHERE pinned_at IS NOT NULL;
        CREATE TABLE message_mentions (
            user_id TEXT NOT NULL,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            PRIMARY KEY (user_id, conversation_id, seq)
        );
        CREATE VIRTUAL TABLE message_fts USING fts5(tokens, tokenize = 'unicode61 remove_diacritics 0')
        """,
        postgres: """
        CREATE TABLE conversations (
            id UUID PRIMARY KEY,
            org_id UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            department_id UUID REFERENCES departments(id) ON DELETE CASCADE,
            direct_key TEXT,
            created_by UUID,
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            last_seq BIGINT NOT NULL DEFAULT 0,
            member_count INTEGER NOT NULL DEFAULT 0,
            max_members INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX conversations_direct ON conversations(org_id, direct_key) WHERE direct_key IS NOT NULL;
        CREATE UNIQUE INDEX conversations_department ON conversations(department_id) WHERE department_id IS NOT NULL;
        CREATE INDEX conversations_org ON conversations(org_id, kind);
        CREATE TABLE conversation_members (
            conversation_id UUID NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            user_id UUID NOT NULL REFERENCES users(id),
            org_id UUID NOT NULL,
            role TEXT NOT NULL,
            joined_seq BIGINT NOT NULL,
            read_seq BIGINT NOT NULL,
            joined_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (conversation_id, user_id)
        );
        CREATE INDEX conversation_members_user ON conversation_members(user_id, org_id);
        CREATE TABLE attachments (
            id UUID PRIMARY KEY,
            org_id UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            conversation_id UUID NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            uploader_id UUID NOT NULL,
            name TEXT NOT NULL,
            content_type TEXT NOT NULL,
            size BIGINT NOT NULL,
            width INTEGER,
            height INTEGER,
            sha256 TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE messages (
            conversation_id UUID NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            seq BIGINT NOT NULL,
            id UUID NOT NULL UNIQUE,
            sender_id UUID NOT NULL,
            kind TEXT NOT NULL,
            body TEXT,
            mentions TEXT NOT NULL DEFAULT '',
            mention_all BOOLEAN NOT NULL DEFAULT FALSE,
            reply_to_seq BIGINT,
            attachment_id UUID REFERENCES attachments(id),
            forwarded_from TEXT,
            system TEXT,
            client_key TEXT,
            created_at TIMESTAMPTZ NOT NULL,
            recalled_at TIMESTAMPTZ,
            pinned_at TIMESTAMPTZ,
            pinned_by UUID,
            search TSVECTOR,
            PRIMARY KEY (conversation_id, seq)
        );
        CREATE UNIQUE INDEX messages_client_key ON messages(conversation_id, sender_id, client_key) WHERE client_key IS NOT NULL;
        CREATE INDEX messages_pinned ON messages(conversation_id, pinned_at) WHERE pinned_at IS NOT NULL;
        CREATE INDEX messages_search ON messages USING GIN (search);
        CREATE TABLE message_mentions (
            user_id UUID NOT NULL,
            conversation_id UUID NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            seq BIGINT NOT NULL,
            PRIMARY KEY (user_id, conversation_id, seq)
        )
        """
    )
}
