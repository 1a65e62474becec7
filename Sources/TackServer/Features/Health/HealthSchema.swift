extension Schema {
    /// 7: the daily health report — the organisation's time zone, students' guardians, reports
    /// (questions, rules and reminders as JSON), one submission per person and report day with
    /// the versions corrections replaced, cards with today's check code, kept daily totals, photos, and the log of
    /// who read whose answers.
    static let health = Migration(
        version: 7, name: "health",
        sqlite: healthTables.dialect(id: "TEXT", bool: "INTEGER", time: "REAL", double: "REAL", big: "INTEGER"),
        postgres: healthTables.dialect(id: "UUID", bool: "BOOLEAN", time: "TIMESTAMPTZ", double: "DOUBLE PRECISION", big: "BIGINT")
    )

    /// 14: on SQLite, a day's submissions are stored in the order of their primary key (report,
    /// day, person: a `WITHOUT ROWID` table) instead of in a table with the key as a second
    /// B-tree. Counting a day for the dashboard looks up each member's report once instead of
    /// twice (key, then row): 45,000 lookups in ~59 ms instead of ~101 ms (`docs/benchmarks.md`),
    /// and a report is written into one B-tree instead of two. PostgreSQL's tables are heaps with
    /// the key as an index either way: nothing changes there.
    static let healthSubmissionsClustered = Migration(
        version: 14, name: "health_submissions_clustered",
        sqlite: """
            CREATE TABLE health_submissions_by_key (
                org_id TEXT NOT NULL,
                report_id TEXT NOT NULL REFERENCES health_reports(id) ON DELETE CASCADE,
                day TEXT NOT NULL,
                user_id TEXT NOT NULL REFERENCES users(id),
                answers TEXT,
                temperature REAL,
                colour TEXT NOT NULL,
                revision INTEGER NOT NULL,
                submitted_by TEXT NOT NULL REFERENCES users(id),
                submitted_at REAL NOT NULL,
                PRIMARY KEY (report_id, day, user_id)
            ) WITHOUT ROWID;
            INSERT INTO health_submissions_by_key (org_id, report_id, day, user_id, answers, temperature, colour, revision, submitted_by, submitted_at)
                SELECT org_id, report_id, day, user_id, answers, temperature, colour, revision, submitted_by, submitted_at FROM health_submissions;
            DROP TABLE health_submissions;
            ALTER TABLE health_submissions_by_key RENAME TO health_submissions
            """,
        postgres: ""
    )

    /// The tables, their column types as placeholders filled per dialect.
    private static let healthTables = """
        ALTER TABLE orgs ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
        CREATE TABLE guardians (
            org_id {ID} NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            student_member_id {ID} NOT NULL REFERENCES members(id) ON DELETE CASCADE,
            guardian_member_id {ID} NOT NULL REFERENCES members(id) ON DELETE CASCADE,
            PRIMARY KEY (student_member_id, guardian_member_id)
        );
        CREATE INDEX guardians_guardian ON guardians(guardian_member_id);
        CREATE TABLE health_reports (
            id {ID} PRIMARY KEY,
            org_id {ID} NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            title TEXT NOT NULL,
            questions TEXT NOT NULL,
            whole_org {BOOL} NOT NULL,
            opens_at INTEGER NOT NULL,
            closes_at INTEGER NOT NULL,
            skip_weekends {BOOL} NOT NULL,
            holidays TEXT NOT NULL,
            allow_guardians {BOOL} NOT NULL,
            aggregates_visible {BOOL} NOT NULL,
            rules TEXT NOT NULL,
            reminders TEXT NOT NULL,
            retention_days INTEGER NOT NULL,
            active {BOOL} NOT NULL,
            last_dinged_at {TIME},
            created_by {ID} NOT NULL REFERENCES users(id),
            created_at {TIME} NOT NULL,
            updated_at {TIME} NOT NULL
        );
        CREATE INDEX health_reports_org ON health_reports(org_id, created_at);
        CREATE TABLE health_report_departments (
            report_id {ID} NOT NULL REFERENCES health_reports(id) ON DELETE CASCADE,
            department_id {ID} NOT NULL REFERENCES departments(id) ON DELETE CASCADE,
            org_id {ID} NOT NULL,
            PRIMARY KEY (report_id, department_id)
        );
        CREATE TABLE health_submissions (
            org_id {ID} NOT NULL,
            report_id {ID} NOT NULL REFERENCES health_reports(id) ON DELETE CASCADE,
            day TEXT NOT NULL,
            user_id {ID} NOT NULL REFERENCES users(id),
            answers TEXT,
            temperature {DOUBLE},
            colour TEXT NOT NULL,
            revision INTEGER NOT NULL,
            submitted_by {ID} NOT NULL REFERENCES users(id),
            submitted_at {TIME} NOT NULL,
            PRIMARY KEY (report_id, day, user_id)
        );
        CREATE TABLE health_revisions (
            org_id {ID} NOT NULL,
            report_id {ID} NOT NULL REFERENCES health_reports(id) ON DELETE CASCADE,
            day TEXT NOT NULL,
            user_id {ID} NOT NULL REFERENCES users(id),
            revision INTEGER NOT NULL,
            answers TEXT NOT NULL,
            colour TEXT NOT NULL,
            submitted_by {ID} NOT NULL REFERENCES users(id),
            submitted_at {TIME} NOT NULL,
            PRIMARY KEY (report_id, day, user_id, revision)
        );
        CREATE TABLE health_cards (
            org_id {ID} NOT NULL,
            report_id {ID} NOT NULL REFERENCES health_reports(id) ON DELETE CASCADE,
            user_id {ID} NOT NULL REFERENCES users(id),
            colour TEXT NOT NULL,
            streak INTEGER NOT NULL,
            last_day TEXT,
            prior_colour TEXT NOT NULL,
            prior_streak INTEGER NOT NULL,
            prior_last_day TEXT,
            code TEXT,
            code_day TEXT,
            updated_at {TIME} NOT NULL,
            PRIMARY KEY (report_id, user_id)
        );
        CREATE UNIQUE INDEX health_cards_code ON health_cards(org_id, code);
        CREATE TABLE health_day_totals (
            org_id {ID} NOT NULL,
            report_id {ID} NOT NULL REFERENCES health_reports(id) ON DELETE CASCADE,
            day TEXT NOT NULL,
            audience INTEGER NOT NULL,
            reported INTEGER NOT NULL,
            green INTEGER NOT NULL,
            yellow INTEGER NOT NULL,
            red INTEGER NOT NULL,
            PRIMARY KEY (report_id, day)
        );
        CREATE TABLE health_photos (
            id {ID} PRIMARY KEY,
            org_id {ID} NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            uploader_id {ID} NOT NULL REFERENCES users(id),
            subject_id {ID} REFERENCES users(id),
            report_id {ID} REFERENCES health_reports(id) ON DELETE CASCADE,
            content_type TEXT NOT NULL,
            size {BIG} NOT NULL,
            sha256 TEXT NOT NULL,
            created_at {TIME} NOT NULL
        );
        CREATE INDEX health_photos_created ON health_photos(created_at);
        CREATE TABLE health_access_log (
            id {ID} PRIMARY KEY,
            org_id {ID} NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            reader_id {ID} NOT NULL REFERENCES users(id),
            action TEXT NOT NULL,
            report_id {ID} NOT NULL,
            day TEXT,
            subject_count INTEGER NOT NULL,
            subjects TEXT NOT NULL,
            at {TIME} NOT NULL
        );
        CREATE INDEX health_access_log_org ON health_access_log(org_id, at)
        """
}
