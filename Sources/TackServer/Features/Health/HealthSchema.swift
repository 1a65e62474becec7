extension Schema {
    /// 7: the daily health report — the organisation's time zone, students' guardians, reports
    /// (questions, rules and reminders as JSON), one submission per person and report day with
    /// every revision, cards with today's check code, kept daily totals, photos, and the log of
    /// who read whose answers.
    static let health = Migration(
        version: 7, name: "health",
        sqlite: """
        ALTER TABLE orgs ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
        CREATE TABLE guardians (
            org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            student_member_id TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
            guardian_member_id TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
            PRIMARY KEY (student_member_id, guardian_member_id)
        );
        CREATE INDEX guardians_guardian ON guardians(guardian_member_id);
        CREATE TABLE health_reports (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            title TEXT NOT NULL,
            questions TEXT NOT NULL,
            whole_org INTEGER NOT NULL,
            opens_at INTEGER NOT NULL,
            closes_at INTEGER NOT NULL,
            skip_weekends INTEGER NOT NULL,
            holidays TEXT NOT NULL,
            allow_guardians INTEGER NOT NULL,
            aggregates_visible INTEGER NOT NULL,
            rules TEXT NOT NULL,
            reminders TEXT NOT NULL,
            retention_days INTEGER NOT NULL,
            active INTEGER NOT NULL,
            last_dinged_at REAL,
            created_by TEXT NOT NULL REFERENCES users(id),
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX health_reports_org ON health_reports(org_id, created_at);
        CREATE TABLE health_report_departments (
            report_id TEXT NOT NULL REFERENCES health_reports(id) ON DELETE CASCADE,
            department_id TEXT NOT NULL REFERENCES departments(id) ON DELETE CASCADE,
            org_id TEXT NOT NULL,
            PRIMARY KEY (report_id, department_id)
        );
        CREATE TABLE health_submissions (
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
        );
        CREATE INDEX health_submissions_user ON health_submissions(report_id, user_id, day);
        CREATE TABLE health_revisions (
            org_id TEXT NOT NULL,
            report_id TEXT NOT NULL REFERENCES health_reports(id) ON DELETE CASCADE,
            day TEXT NOT NULL,
            user_id TEXT NOT NULL REFERENCES users(id),
            revision INTEGER NOT NULL,
            answers TEXT NOT NULL,
            colour TEXT NOT NULL,
            submitted_by TEXT NOT NULL REFERENCES users(id),
            submitted_at REAL NOT NULL,
            PRIMARY KEY (report_id, day, user_id, revision)
        );
        CREATE TABLE health_cards (
            org_id TEXT NOT NULL,
            report_id TEXT NOT NULL REFERENCES health_reports(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL REFERENCES users(id),
            colour TEXT NOT NULL,
            streak INTEGER NOT NULL,
            last_day TEXT,
            prior_colour TEXT NOT NULL,
            prior_streak INTEGER NOT NULL,
            prior_last_day TEXT,
            code TEXT,
            code_day TEXT,
            updated_at REAL NOT NULL,
            PRIMARY KEY (report_id, user_id)
        );
        CREATE UNIQUE INDEX health_cards_code ON health_cards(org_id, code);
        CREATE TABLE health_day_totals (
            org_id TEXT NOT NULL,
            report_id TEXT NOT NULL REFERENCES health_reports(id) ON DELETE CASCADE,
            day TEXT NOT NULL,
            audience INTEGER NOT NULL,
            reported INTEGER NOT NULL,
            green INTEGER NOT NULL,
            yellow INTEGER NOT NULL,
            red INTEGER NOT NULL,
            PRIMARY KEY (report_id, day)
        );
        CREATE TABLE health_photos (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            uploader_id TEXT NOT NULL REFERENCES users(id),
            subject_id TEXT REFERENCES users(id),
            report_id TEXT REFERENCES health_reports(id) ON DELETE CASCADE,
            content_type TEXT NOT NULL,
            size INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE INDEX health_photos_created ON health_photos(created_at);
        CREATE TABLE health_access_log (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            reader_id TEXT NOT NULL REFERENCES users(id),
            action TEXT NOT NULL,
            report_id TEXT NOT NULL,
            day TEXT,
            subject_count INTEGER NOT NULL,
            subjects TEXT NOT NULL,
            at REAL NOT NULL
        );
        CREATE INDEX health_access_log_org ON health_access_log(org_id, at)
        """,
        postgres: """
        ALTER TABLE orgs ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
        CREATE TABLE guardians (
            org_id UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            student_member_id UUID NOT NULL REFERENCES members(id) ON DELETE CASCADE,
            guardian_member_id UUID NOT NULL REFERENCES members(id) ON DELETE CASCADE,
            PRIMARY KEY (student_member_id, guardian_member_id)
        );
        CREATE INDEX guardians_guardian ON guardians(guardian_member_id);
        CREATE TABLE health_reports (
            id UUID PRIMARY KEY,
            org_id UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            title TEXT NOT NULL,
            questions TEXT NOT NULL,
            whole_org BOOLEAN NOT NULL,
            opens_at INTEGER NOT NULL,
            closes_at INTEGER NOT NULL,
            skip_weekends BOOLEAN NOT NULL,
            holidays TEXT NOT NULL,
            allow_guardians BOOLEAN NOT NULL,
            aggregates_visible BOOLEAN NOT NULL,
            rules TEXT NOT NULL,
            reminders TEXT NOT NULL,
            retention_days INTEGER NOT NULL,
            active BOOLEAN NOT NULL,
            last_dinged_at TIMESTAMPTZ,
            created_by UUID NOT NULL REFERENCES users(id),
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX health_reports_org ON health_reports(org_id, created_at);
        CREATE TABLE health_report_departments (
            report_id UUID NOT NULL REFERENCES health_reports(id) ON DELETE CASCADE,
            department_id UUID NOT NULL REFERENCES departments(id) ON DELETE CASCADE,
            org_id UUID NOT NULL,
            PRIMARY KEY (report_id, department_id)
        );
        CREATE TABLE health_submissions (
            org_id UUID NOT NULL,
            report_id UUID NOT NULL REFERENCES health_reports(id) ON DELETE CASCADE,
            day TEXT NOT NULL,
            user_id UUID NOT NULL REFERENCES users(id),
            answers TEXT,
            temperature DOUBLE PRECISION,
            colour TEXT NOT NULL,
            revision INTEGER NOT NULL,
            submitted_by UUID NOT NULL REFERENCES users(id),
            submitted_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (report_id, day, user_id)
        );
        CREATE INDEX health_submissions_user ON health_submissions(report_id, user_id, day);
        CREATE TABLE health_revisions (
            org_id UUID NOT NULL,
            report_id UUID NOT NULL REFERENCES health_reports(id) ON DELETE CASCADE,
            day TEXT NOT NULL,
            user_id UUID NOT NULL REFERENCES users(id),
            revision INTEGER NOT NULL,
            answers TEXT NOT NULL,
            colour TEXT NOT NULL,
            submitted_by UUID NOT NULL REFERENCES users(id),
            submitted_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (report_id, day, user_id, revision)
        );
        CREATE TABLE health_cards (
            org_id UUID NOT NULL,
            report_id UUID NOT NULL REFERENCES health_reports(id) ON DELETE CASCADE,
            user_id UUID NOT NULL REFERENCES users(id),
            colour TEXT NOT NULL,
            streak INTEGER NOT NULL,
            last_day TEXT,
            prior_colour TEXT NOT NULL,
            prior_streak INTEGER NOT NULL,
            prior_last_day TEXT,
            code TEXT,
            code_day TEXT,
            updated_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (report_id, user_id)
        );
        CREATE UNIQUE INDEX health_cards_code ON health_cards(org_id, code);
        CREATE TABLE health_day_totals (
            org_id UUID NOT NULL,
            report_id UUID NOT NULL REFERENCES health_reports(id) ON DELETE CASCADE,
            day TEXT NOT NULL,
            audience INTEGER NOT NULL,
            reported INTEGER NOT NULL,
            green INTEGER NOT NULL,
            yellow INTEGER NOT NULL,
            red INTEGER NOT NULL,
            PRIMARY KEY (report_id, day)
        );
        CREATE TABLE health_photos (
            id UUID PRIMARY KEY,
            org_id UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            uploader_id UUID NOT NULL REFERENCES users(id),
            subject_id UUID REFERENCES users(id),
            report_id UUID REFERENCES health_reports(id) ON DELETE CASCADE,
            content_type TEXT NOT NULL,
            size BIGINT NOT NULL,
            sha256 TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX health_photos_created ON health_photos(created_at);
        CREATE TABLE health_access_log (
            id UUID PRIMARY KEY,
            org_id UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
            reader_id UUID NOT NULL REFERENCES users(id),
            action TEXT NOT NULL,
            report_id UUID NOT NULL,
            day TEXT,
            subject_count INTEGER NOT NULL,
            subjects TEXT NOT NULL,
            at TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX health_access_log_org ON health_access_log(org_id, at)
        """
    )
}
