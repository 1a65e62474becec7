extension Schema {
    /// 3: the durable job queue.
    static let jobs = Migration(
        version: 3, name: "jobs",
        sqlite: """
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            org_id TEXT,
            payload TEXT NOT NULL,
            dedupe_key TEXT UNIQUE,
            state TEXT NOT NULL,
            due_at REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            max_attempts INTEGER NOT NULL,
            claim_token TEXT,
            claimed_by TEXT,
            lease_until REAL,
            last_error TEXT,
            created_at REAL NOT NULL,
            finished_at REAL
        );
        CREATE INDEX jobs_due ON jobs(due_at) WHERE state = 'pending';
        CREATE INDEX jobs_lease ON jobs(lease_until) WHERE state = 'running';
        CREATE INDEX jobs_finished ON jobs(finished_at) WHERE finished_at IS NOT NULL
        """,
        postgres: """
        CREATE TABLE jobs (
            id UUID PRIMARY KEY,
            kind TEXT NOT NULL,
            org_id UUID,
            payload TEXT NOT NULL,
            dedupe_key TEXT UNIQUE,
            state TEXT NOT NULL,
            due_at TIMESTAMPTZ NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            max_attempts INTEGER NOT NULL,
            claim_token TEXT,
            claimed_by TEXT,
            lease_until TIMESTAMPTZ,
            last_error TEXT,
            created_at TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ
        );
        CREATE INDEX jobs_due ON jobs(due_at) WHERE state = 'pending';
        CREATE INDEX jobs_lease ON jobs(lease_until) WHERE state = 'running';
        CREATE INDEX jobs_finished ON jobs(finished_at) WHERE finished_at IS NOT NULL
        """
    )
}
