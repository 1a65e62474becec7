import Foundation
import SQLKit

/// Daily health reports, submissions and their revisions, cards, daily totals, photos, the
/// access log, and students' guardians.
struct HealthStore: Sendable {
    // MARK: Reports

    private static let reportColumns = """
        r.id, r.org_id, r.title, r.questions, r.whole_org, r.opens_at, r.closes_at, r.skip_weekends, r.holidays, r.allow_guardians,
        r.aggregates_visible, r.rules, r.reminders, r.retention_days, r.active, r.created_by, r.created_at, r.updated_at,
        cu.name AS creator_name, cm.id AS creator_member_id
        """

    private static func reportsFrom(_ orgID: Organization.ID) -> SQLQueryString {
        "FROM health_reports r JOIN users cu ON cu.id = r.created_by LEFT JOIN members cm ON cm.org_id = \(bind: orgID) AND cm.user_id = r.created_by"
    }

    func insertReport(_ db: any SQLDatabase, _ r: HealthReport) async throws {
        try await db.insert(into: "health_reports")
            .columns("id", "org_id", "title", "questions", "whole_org", "opens_at", "closes_at", "skip_weekends", "holidays", "allow_guardians",
                     "aggregates_visible", "rules", "reminders", "retention_days", "active", "created_by", "created_at", "updated_at")
            .values(SQLBind(r.id), SQLBind(r.orgID), SQLBind(r.title), SQLBind(try Self.json(r.questions)), SQLBind(r.wholeOrganization),
                    SQLBind(r.opensAt), SQLBind(r.closesAt), SQLBind(r.skipWeekends), SQLBind(try Self.json(r.holidays.map(\.description))),
                    SQLBind(r.allowGuardians), SQLBind(r.aggregatesVisible), SQLBind(try Self.json(r.rules)), SQLBind(try Self.json(r.reminders)),
                    SQLBind(r.retentionDays), SQLBind(r.active), SQLBind(r.createdBy.userID), SQLBind(r.createdAt), SQLBind(r.updatedAt))
            .run()
        try await replaceDepartments(db, r)
    }

    func updateReport(_ db: any SQLDatabase, _ r: HealthReport) async throws {
        try await db.update("health_reports")
            .set("title", to: r.title).set("questions", to: try Self.json(r.questions)).set("whole_org", to: r.wholeOrganization)
            .set("opens_at", to: r.opensAt).set("closes_at", to: r.closesAt).set("skip_weekends", to: r.skipWeekends)
            .set("holidays", to: try Self.json(r.holidays.map(\.description))).set("allow_guardians", to: r.allowGuardians)
            .set("aggregates_visible", to: r.aggregatesVisible).set("rules", to: try Self.json(r.rules)).set("reminders", to: try Self.json(r.reminders))
            .set("retention_days", to: r.retentionDays).set("active", to: r.active).set("updated_at", to: r.updatedAt)
            .where("id", .equal, r.id).where("org_id", .equal, r.orgID)
            .run()
        try await replaceDepartments(db, r)
    }

    private func replaceDepartments(_ db: any SQLDatabase, _ r: HealthReport) async throws {
        try await db.delete(from: "health_report_departments").where("report_id", .equal, r.id).run()
        guard !r.departmentIDs.isEmpty else { return }
        let insert = db.insert(into: "health_report_departments").columns("report_id", "department_id", "org_id")
        for department in r.departmentIDs { insert.values(SQLBind(r.id), SQLBind(department), SQLBind(r.orgID)) }
        try await insert.run()
    }

    func fetchReport(_ db: any SQLDatabase, orgID: Organization.ID, id: HealthReport.ID) async throws -> HealthReport? {
        guard let row = try await db.raw("""
            SELECT \(unsafeRaw: Self.reportColumns) \(Self.reportsFrom(orgID)) WHERE r.id = \(bind: id) AND r.org_id = \(bind: orgID)
            """).first() else { return nil }
        return try await withDepartments(db, [try Self.report(row)]).first
    }

    /// The organisation's reports, newest first.
    func fetchReports(_ db: any SQLDatabase, orgID: Organization.ID, activeOnly: Bool = false) async throws -> [HealthReport] {
        let rows = try await db.raw("""
            SELECT \(unsafeRaw: Self.reportColumns) \(Self.reportsFrom(orgID)) WHERE r.org_id = \(bind: orgID)
            \(activeOnly ? "AND r.active = \(bind: true)" : "" as SQLQueryString)
            ORDER BY r.created_at DESC, r.id
            """).all()
        return try await withDepartments(db, try rows.map(Self.report))
    }

    /// Every active report of every organisation (for the daily jobs).
    func fetchActiveReportIDs(_ db: any SQLDatabase) async throws -> [(Organization.ID, HealthReport.ID)] {
        let rows = try await db.raw("SELECT org_id, id FROM health_reports WHERE active = \(bind: true)").all()
        return try rows.map { (try $0.decode(column: "org_id", as: Organization.ID.self), try $0.decode(column: "id", as: HealthReport.ID.self)) }
    }

    private func withDepartments(_ db: any SQLDatabase, _ reports: [HealthReport]) async throws -> [HealthReport] {
        guard !reports.isEmpty else { return [] }
        let rows = try await db.raw("""
            SELECT report_id, department_id FROM health_report_departments WHERE report_id IN \(SQLBind.group(reports.map(\.id)))
            ORDER BY department_id
            """).all()
        var departments: [HealthReport.ID: [Department.ID]] = [:]
        for row in rows {
            departments[try row.decode(column: "report_id", as: HealthReport.ID.self), default: []]
                .append(try row.decode(column: "department_id", as: Department.ID.self))
        }
        return reports.map { var r = $0; r.departmentIDs = departments[r.id] ?? []; return r }
    }

    static func report(_ row: any SQLRow) throws -> HealthReport {
        HealthReport(
            id: try row.decode(column: "id", as: HealthReport.ID.self),
            orgID: try row.decode(column: "org_id", as: Organization.ID.self),
            title: try row.decode(column: "title", as: String.self),
            questions: try unjson(try row.decode(column: "questions", as: String.self)),
            wholeOrganization: try row.decode(column: "whole_org", as: Bool.self),
            departmentIDs: [],
            opensAt: try row.decode(column: "opens_at", as: Int.self),
            closesAt: try row.decode(column: "closes_at", as: Int.self),
            skipWeekends: try row.decode(column: "skip_weekends", as: Bool.self),
            holidays: try (unjson(try row.decode(column: "holidays", as: String.self)) as [String]).compactMap(LocalDate.init),
            allowGuardians: try row.decode(column: "allow_guardians", as: Bool.self),
            aggregatesVisible: try row.decode(column: "aggregates_visible", as: Bool.self),
            rules: try unjson(try row.decode(column: "rules", as: String.self)),
            reminders: try unjson(try row.decode(column: "reminders", as: String.self)),
            retentionDays: try row.decode(column: "retention_days", as: Int.self),
            active: try row.decode(column: "active", as: Bool.self),
            createdBy: PersonRef(userID: try row.decode(column: "created_by", as: User.ID.self),
                                 memberID: try row.decode(column: "creator_member_id", as: Member.ID?.self),
                                 name: try row.decode(column: "creator_name", as: String.self)),
            createdAt: try row.decode(column: "created_at", as: Date.self),
            updatedAt: try row.decode(column: "updated_at", as: Date.self))
    }

    // MARK: Audience and scope

    /// A condition on members `m`: in the report's audience (its departments and everything below
    /// them, or everyone) and, for a health officer, within their departments.
    /// `member` names the column holding the member's id; other than `m.id`, the caller
    /// restricts the organisation itself.
    static func audienceCondition(_ report: HealthReport, scope: HealthAccess.Scope, member: String = "m.id") -> SQLQueryString {
        var condition: SQLQueryString = member == "m.id" ? "m.org_id = \(bind: report.orgID)" : "1 = 1"
        if !report.wholeOrganization {
            condition = """
                \(condition) AND EXISTS (
                    WITH RECURSIVE down(id) AS (
                        SELECT department_id FROM health_report_departments WHERE report_id = \(bind: report.id)
                        UNION SELECT d.id FROM departments d JOIN down ON d.parent_id = down.id)
                    SELECT 1 FROM member_departments ad WHERE ad.member_id = \(unsafeRaw: member) AND ad.department_id IN (SELECT id FROM down))
                """
        }
        if case .departments(let departments) = scope {
            condition = departments.isEmpty ? "1 = 0" : """
                \(condition) AND EXISTS (SELECT 1 FROM member_departments sd WHERE sd.member_id = \(unsafeRaw: member)
                                         AND sd.department_id IN \(SQLBind.group(Array(departments))))
                """
        }
        return condition
    }

    /// Whether a member is in the report's audience: a walk up from their departments.
    func isInAudience(_ db: any SQLDatabase, _ report: HealthReport, memberID: Member.ID) async throws -> Bool {
        if report.wholeOrganization { return true }
        return try await db.raw("""
            WITH RECURSIVE up(id) AS (
                SELECT department_id FROM member_departments WHERE member_id = \(bind: memberID)
                UNION SELECT d.parent_id FROM departments d JOIN up ON d.id = up.id WHERE d.parent_id IS NOT NULL)
            SELECT 1 AS hit FROM health_report_departments WHERE report_id = \(bind: report.id) AND department_id IN (SELECT id FROM up) LIMIT 1
            """).first() != nil
    }

    /// The organisation's department tree, without member counts.
    func fetchTree(_ db: any SQLDatabase, orgID: Organization.ID) async throws -> [Department] {
        try await DirectoryStore().fetchDepartments(db, orgID: orgID, memberCounts: false)
    }

    /// The time zone of an organisation (without counting its members).
    func fetchTimeZone(_ db: any SQLDatabase, orgID: Organization.ID) async throws -> TimeZone {
        let id = try await db.raw("SELECT time_zone FROM orgs WHERE id = \(bind: orgID)").first()?.decode(column: "time_zone", as: String.self)
        return id.flatMap(TimeZone.init(identifier:)) ?? LocalDate.utc
    }

    // MARK: Guardians

    func fetchGuardians(_ db: any SQLDatabase, orgID: Organization.ID, student: Member.ID) async throws -> [PersonRef] {
        try await db.raw("""
            SELECT m.id AS member_id, m.user_id, u.name FROM guardians g JOIN members m ON m.id = g.guardian_member_id JOIN users u ON u.id = m.user_id
            WHERE g.org_id = \(bind: orgID) AND g.student_member_id = \(bind: student) ORDER BY m.sort_name, m.id
            """).all().map(Self.person)
    }

    func replaceGuardians(_ db: any SQLDatabase, orgID: Organization.ID, student: Member.ID, with guardians: [Member.ID]) async throws {
        try await db.delete(from: "guardians").where("org_id", .equal, orgID).where("student_member_id", .equal, student).run()
        guard !guardians.isEmpty else { return }
        let insert = db.insert(into: "guardians").columns("org_id", "student_member_id", "guardian_member_id")
        for g in guardians { insert.values(SQLBind(orgID), SQLBind(student), SQLBind(g)) }
        try await insert.run()
    }

    /// The students a member reports for.
    func fetchWards(_ db: any SQLDatabase, orgID: Organization.ID, guardian: Member.ID) async throws -> [PersonRef] {
        try await db.raw("""
            SELECT m.id AS member_id, m.user_id, u.name FROM guardians g JOIN members m ON m.id = g.student_member_id JOIN users u ON u.id = m.user_id
            WHERE g.org_id = \(bind: orgID) AND g.guardian_member_id = \(bind: guardian) ORDER BY m.sort_name, m.id
            """).all().map(Self.person)
    }

    func isGuardian(_ db: any SQLDatabase, orgID: Organization.ID, guardian: Member.ID, of student: Member.ID) async throws -> Bool {
        try await db.raw("""
            SELECT 1 AS hit FROM guardians WHERE org_id = \(bind: orgID) AND student_member_id = \(bind: student) AND guardian_member_id = \(bind: guardian)
            """).first() != nil
    }

    /// The caller as a member of the organisation (nil: not a member), in one light query.
    func fetchMembership(_ db: any SQLDatabase, orgID: Organization.ID, userID: User.ID) async throws -> PersonRef? {
        try await db.raw("""
            SELECT m.id AS member_id, m.user_id, u.name FROM members m JOIN users u ON u.id = m.user_id
            WHERE m.org_id = \(bind: orgID) AND m.user_id = \(bind: userID)
            """).first().map(Self.person)
    }

    /// A member by id, as a person.
    func fetchPerson(_ db: any SQLDatabase, orgID: Organization.ID, memberID: Member.ID) async throws -> PersonRef? {
        try await db.raw("""
            SELECT m.id AS member_id, m.user_id, u.name FROM members m JOIN users u ON u.id = m.user_id
            WHERE m.org_id = \(bind: orgID) AND m.id = \(bind: memberID)
            """).first().map(Self.person)
    }

    /// Members' ids by their user ids.
    func fetchMemberIDs(_ db: any SQLDatabase, orgID: Organization.ID, users: [User.ID]) async throws -> [User.ID: Member.ID] {
        var result: [User.ID: Member.ID] = [:]
        for chunk in users.chunked(500) {
            for row in try await db.raw("""
                SELECT id, user_id FROM members WHERE org_id = \(bind: orgID) AND user_id IN \(SQLBind.group(Array(chunk)))
                """).all() {
                result[try row.decode(column: "user_id", as: User.ID.self)] = try row.decode(column: "id", as: Member.ID.self)
            }
        }
        return result
    }

    static func person(_ row: any SQLRow) throws -> PersonRef {
        PersonRef(userID: try row.decode(column: "user_id", as: User.ID.self), memberID: try row.decode(column: "member_id", as: Member.ID?.self),
                  name: try row.decode(column: "name", as: String.self))
    }

    // MARK: Submissions

    private static let submissionColumns = """
        s.org_id, s.report_id, s.day, s.user_id, s.answers, s.temperature, s.colour, s.revision, s.submitted_by, s.submitted_at,
        su.name AS subject_name, sm.id AS subject_member_id, bu.name AS by_name, bm.id AS by_member_id
        """

    private static func submissionsFrom(_ orgID: Organization.ID) -> SQLQueryString {
        """
        FROM health_submissions s JOIN users su ON su.id = s.user_id JOIN users bu ON bu.id = s.submitted_by
        LEFT JOIN members sm ON sm.org_id = \(bind: orgID) AND sm.user_id = s.user_id
        LEFT JOIN members bm ON bm.org_id = \(bind: orgID) AND bm.user_id = s.submitted_by
        """
    }

    func fetchSubmission(_ db: any SQLDatabase, reportID: HealthReport.ID, orgID: Organization.ID, day: LocalDate, userID: User.ID) async throws -> HealthSubmission? {
        try await db.raw("""
            SELECT \(unsafeRaw: Self.submissionColumns) \(Self.submissionsFrom(orgID))
            WHERE s.report_id = \(bind: reportID) AND s.day = \(bind: day.description) AND s.user_id = \(bind: userID)
            """).first().map(Self.submission)
    }

    /// A person's submissions of the given days, newest first (a lookup of the primary key per day).
    func fetchSubmissions(_ db: any SQLDatabase, reportID: HealthReport.ID, orgID: Organization.ID, userID: User.ID,
                          days: [LocalDate]) async throws -> [HealthSubmission] {
        guard !days.isEmpty else { return [] }
        return try await db.raw("""
            SELECT \(unsafeRaw: Self.submissionColumns) \(Self.submissionsFrom(orgID))
            WHERE s.report_id = \(bind: reportID) AND s.day IN \(SQLBind.group(days.map(\.description))) AND s.user_id = \(bind: userID)
            ORDER BY s.day DESC
            """).all().map(Self.submission)
    }

    func countRevisions(_ db: any SQLDatabase, reportID: HealthReport.ID, day: LocalDate, userID: User.ID) async throws -> Int {
        try await db.raw("""
            SELECT COUNT(*) AS n FROM health_revisions WHERE report_id = \(bind: reportID) AND day = \(bind: day.description) AND user_id = \(bind: userID)
            """).first()?.decode(column: "n", as: Int.self) ?? 0
    }

    static func submission(_ row: any SQLRow) throws -> HealthSubmission {
        HealthSubmission(
            reportID: try row.decode(column: "report_id", as: HealthReport.ID.self),
            orgID: try row.decode(column: "org_id", as: Organization.ID.self),
            day: LocalDate(try row.decode(column: "day", as: String.self)) ?? LocalDate(year: 1970, month: 1, day: 1),
            person: PersonRef(userID: try row.decode(column: "user_id", as: User.ID.self),
                              memberID: try row.decode(column: "subject_member_id", as: Member.ID?.self),
                              name: try row.decode(column: "subject_name", as: String.self)),
            answers: try row.decode(column: "answers", as: String?.self).map(StoredAnswer.decode),
            temperature: try row.decode(column: "temperature", as: Double?.self),
            colour: CardColour(rawValue: try row.decode(column: "colour", as: String.self)) ?? .green,
            revision: try row.decode(column: "revision", as: Int.self),
            submittedBy: PersonRef(userID: try row.decode(column: "submitted_by", as: User.ID.self),
                                   memberID: try row.decode(column: "by_member_id", as: Member.ID?.self),
                                   name: try row.decode(column: "by_name", as: String.self)),
            submittedAt: try row.decode(column: "submitted_at", as: Date.self))
    }

    // MARK: Submissions in batches (the morning surge)

    /// The stored answers (as JSON) and revision of the given people's reports of one day.
    func fetchSubmissionStates(_ db: any SQLDatabase, reportID: HealthReport.ID, day: LocalDate,
                               users: [User.ID]) async throws -> [User.ID: (answers: String?, revision: Int, submission: HealthSubmission)] {
        guard !users.isEmpty else { return [:] }
        var result: [User.ID: (answers: String?, revision: Int, submission: HealthSubmission)] = [:]
        for chunk in users.inListChunks() {
            for row in try await db.raw("""
                SELECT org_id, report_id, day, user_id, answers, temperature, colour, revision, submitted_by, submitted_at
                FROM health_submissions WHERE report_id = \(bind: reportID) AND day = \(bind: day.description) AND user_id IN \(SQLBind.group(chunk))
                """).all() {
                let user = try row.decode(column: "user_id", as: User.ID.self)
                let answers = try row.decode(column: "answers", as: String?.self)
                let submission = HealthSubmission(
                    reportID: reportID, orgID: try row.decode(column: "org_id", as: Organization.ID.self), day: day,
                    person: PersonRef(userID: user, memberID: nil, name: ""), answers: try answers.map(StoredAnswer.decode),
                    temperature: try row.decode(column: "temperature", as: Double?.self),
                    colour: CardColour(rawValue: try row.decode(column: "colour", as: String.self)) ?? .green,
                    revision: try row.decode(column: "revision", as: Int.self),
                    submittedBy: PersonRef(userID: try row.decode(column: "submitted_by", as: User.ID.self), memberID: nil, name: ""),
                    submittedAt: try row.decode(column: "submitted_at", as: Date.self))
                result[user] = (answers, submission.revision, submission)
            }
        }
        return result
    }

    func fetchCards(_ db: any SQLDatabase, reportID: HealthReport.ID, users: [User.ID]) async throws -> [User.ID: HealthCardRecord] {
        guard !users.isEmpty else { return [:] }
        var result: [User.ID: HealthCardRecord] = [:]
        for chunk in users.inListChunks() {
            for row in try await db.raw("""
                SELECT user_id, colour, streak, last_day, prior_colour, prior_streak, prior_last_day, code, code_day
                FROM health_cards WHERE report_id = \(bind: reportID) AND user_id IN \(SQLBind.group(chunk))
                """).all() {
                result[try row.decode(column: "user_id", as: User.ID.self)] = try Self.card(row)
            }
        }
        return result
    }

    /// Stores reports (one per person and day in the list) and keeps the answers they replace
    /// (`superseded`), with one statement each.
    func saveSubmissions(_ db: any SQLDatabase, latest items: [(HealthSubmission, String)], superseded revisions: [(HealthSubmission, String)]) async throws {
        for chunk in items.statementChunks() {
            let rows = SQLList(chunk.map { s, json -> SQLQueryString in
                """
                (\(bind: s.orgID), \(bind: s.reportID), \(bind: s.day.description), \(bind: s.person.userID), \(bind: json), \(bind: s.temperature),
                 \(bind: s.colour.rawValue), \(bind: s.revision), \(bind: s.submittedBy.userID), \(bind: s.submittedAt))
                """
            })
            try await db.raw("""
                INSERT INTO health_submissions (org_id, report_id, day, user_id, answers, temperature, colour, revision, submitted_by, submitted_at)
                VALUES \(rows)
                ON CONFLICT (report_id, day, user_id) DO UPDATE SET answers = excluded.answers, temperature = excluded.temperature,
                    colour = excluded.colour, revision = excluded.revision, submitted_by = excluded.submitted_by, submitted_at = excluded.submitted_at
                """).run()
        }
        for chunk in revisions.statementChunks() {
            let rows = SQLList(chunk.map { s, json -> SQLQueryString in
                """
                (\(bind: s.orgID), \(bind: s.reportID), \(bind: s.day.description), \(bind: s.person.userID), \(bind: s.revision), \(bind: json),
                 \(bind: s.colour.rawValue), \(bind: s.submittedBy.userID), \(bind: s.submittedAt))
                """
            })
            try await db.raw("""
                INSERT INTO health_revisions (org_id, report_id, day, user_id, revision, answers, colour, submitted_by, submitted_at)
                VALUES \(rows)
                """).run()
        }
    }

    func saveCards(_ db: any SQLDatabase, orgID: Organization.ID, reportID: HealthReport.ID, _ cards: [(User.ID, HealthCardRecord)], now: Date) async throws {
        for chunk in cards.statementChunks() {
            let rows = SQLList(chunk.map { user, card -> SQLQueryString in
                """
                (\(bind: orgID), \(bind: reportID), \(bind: user), \(bind: card.state.colour.rawValue), \(bind: card.state.normalStreak),
                 \(bind: card.state.lastDay?.description), \(bind: card.prior.colour.rawValue), \(bind: card.prior.normalStreak),
                 \(bind: card.prior.lastDay?.description), \(bind: card.code), \(bind: card.codeDay?.description), \(bind: now))
                """
            })
            try await db.raw("""
                INSERT INTO health_cards (org_id, report_id, user_id, colour, streak, last_day, prior_colour, prior_streak, prior_last_day,
                                          code, code_day, updated_at)
                VALUES \(rows)
                ON CONFLICT (report_id, user_id) DO UPDATE SET colour = excluded.colour, streak = excluded.streak, last_day = excluded.last_day,
                    prior_colour = excluded.prior_colour, prior_streak = excluded.prior_streak, prior_last_day = excluded.prior_last_day,
                    code = excluded.code, code_day = excluded.code_day, updated_at = excluded.updated_at
                """).run()
        }
    }

    // MARK: Cards

    func fetchCard(_ db: any SQLDatabase, reportID: HealthReport.ID, userID: User.ID) async throws -> HealthCardRecord? {
        try await db.raw("""
            SELECT colour, streak, last_day, prior_colour, prior_streak, prior_last_day, code, code_day
            FROM health_cards WHERE report_id = \(bind: reportID) AND user_id = \(bind: userID)
            """).first().map(Self.card)
    }

    func saveCard(_ db: any SQLDatabase, orgID: Organization.ID, reportID: HealthReport.ID, userID: User.ID, _ card: HealthCardRecord,
                  now: Date) async throws {
        try await db.raw("""
            INSERT INTO health_cards (org_id, report_id, user_id, colour, streak, last_day, prior_colour, prior_streak, prior_last_day,
                                      code, code_day, updated_at)
            VALUES (\(bind: orgID), \(bind: reportID), \(bind: userID), \(bind: card.state.colour.rawValue), \(bind: card.state.normalStreak),
                    \(bind: card.state.lastDay?.description), \(bind: card.prior.colour.rawValue), \(bind: card.prior.normalStreak),
                    \(bind: card.prior.lastDay?.description), \(bind: card.code), \(bind: card.codeDay?.description), \(bind: now))
            ON CONFLICT (report_id, user_id) DO UPDATE SET colour = excluded.colour, streak = excluded.streak, last_day = excluded.last_day,
                prior_colour = excluded.prior_colour, prior_streak = excluded.prior_streak, prior_last_day = excluded.prior_last_day,
                code = excluded.code, code_day = excluded.code_day, updated_at = excluded.updated_at
            """).run()
    }

    /// The card whose code is `code` today, with its holder's name and its report's title.
    func fetchCard(_ db: any SQLDatabase, orgID: Organization.ID, code: String, day: LocalDate) async throws -> (HealthCardRecord, String, String)? {
        guard let row = try await db.raw("""
            SELECT c.colour, c.streak, c.last_day, c.prior_colour, c.prior_streak, c.prior_last_day, c.code, c.code_day, u.name, r.title
            FROM health_cards c JOIN users u ON u.id = c.user_id JOIN health_reports r ON r.id = c.report_id
            JOIN members m ON m.org_id = c.org_id AND m.user_id = c.user_id
            WHERE c.org_id = \(bind: orgID) AND c.code = \(bind: code) AND c.code_day = \(bind: day.description)
            """).first() else { return nil }
        return (try Self.card(row), try row.decode(column: "name", as: String.self), try row.decode(column: "title", as: String.self))
    }

    static func card(_ row: any SQLRow) throws -> HealthCardRecord {
        HealthCardRecord(
            state: CardState(colour: CardColour(rawValue: try row.decode(column: "colour", as: String.self)) ?? .green,
                             normalStreak: try row.decode(column: "streak", as: Int.self),
                             lastDay: try row.decode(column: "last_day", as: String?.self).flatMap(LocalDate.init)),
            prior: CardState(colour: CardColour(rawValue: try row.decode(column: "prior_colour", as: String.self)) ?? .green,
                             normalStreak: try row.decode(column: "prior_streak", as: Int.self),
                             lastDay: try row.decode(column: "prior_last_day", as: String?.self).flatMap(LocalDate.init)),
            code: try row.decode(column: "code", as: String?.self),
            codeDay: try row.decode(column: "code_day", as: String?.self).flatMap(LocalDate.init))
    }

    // MARK: Figures

    /// Audience, reported and colours of one day among the members the condition admits.
    func countDay(_ db: any SQLDatabase, report: HealthReport, scope: HealthAccess.Scope, day: LocalDate) async throws -> HealthTotals {
        let row = try await db.raw("""
            SELECT COUNT(*) AS audience, COUNT(s.user_id) AS reported,
                   SUM(CASE WHEN s.colour = 'green' THEN 1 ELSE 0 END) AS green,
                   SUM(CASE WHEN s.colour = 'yellow' THEN 1 ELSE 0 END) AS yellow,
                   SUM(CASE WHEN s.colour = 'red' THEN 1 ELSE 0 END) AS red
            FROM members m LEFT JOIN health_submissions s ON s.report_id = \(bind: report.id) AND s.day = \(bind: day.description) AND s.user_id = m.user_id
            WHERE \(Self.audienceCondition(report, scope: scope))
            """).first()
        func n(_ column: String) throws -> Int { try row?.decode(column: column, as: Int?.self) ?? 0 }
        return HealthTotals(day: day, audience: try n("audience"), reported: try n("reported"), green: try n("green"), yellow: try n("yellow"),
                            red: try n("red"))
    }

    /// Reported and colours per day over `days`, among the members the condition admits now.
    func countDays(_ db: any SQLDatabase, report: HealthReport, scope: HealthAccess.Scope, days: [LocalDate]) async throws -> [LocalDate: HealthTotals] {
        guard let first = days.min(), let last = days.max() else { return [:] }
        let rows = try await db.raw("""
            SELECT s.day, COUNT(*) AS reported,
                   SUM(CASE WHEN s.colour = 'green' THEN 1 ELSE 0 END) AS green,
                   SUM(CASE WHEN s.colour = 'yellow' THEN 1 ELSE 0 END) AS yellow,
                   SUM(CASE WHEN s.colour = 'red' THEN 1 ELSE 0 END) AS red
            FROM health_submissions s JOIN members m ON m.org_id = \(bind: report.orgID) AND m.user_id = s.user_id
            WHERE s.report_id = \(bind: report.id) AND s.day >= \(bind: first.description) AND s.day <= \(bind: last.description)
              AND \(Self.audienceCondition(report, scope: scope))
            GROUP BY s.day
            """).all()
        var result: [LocalDate: HealthTotals] = [:]
        for row in rows {
            guard let day = LocalDate(try row.decode(column: "day", as: String.self)) else { continue }
            result[day] = HealthTotals(day: day, audience: 0, reported: try row.decode(column: "reported", as: Int.self),
                                       green: try row.decode(column: "green", as: Int?.self) ?? 0,
                                       yellow: try row.decode(column: "yellow", as: Int?.self) ?? 0, red: try row.decode(column: "red", as: Int?.self) ?? 0)
        }
        return result
    }

    /// Per department (direct members): audience, reported and abnormal of one day. Reads the
    /// organisation's department links in order (each carries its member's user) and looks up
    /// one report per link; members are joined only when the audience or scope is narrower than
    /// the whole organisation.
    func countByDepartment(_ db: any SQLDatabase, report: HealthReport, scope: HealthAccess.Scope,
                           day: LocalDate) async throws -> [Department.ID: (audience: Int, reported: Int, abnormal: Int)] {
        let condition: SQLQueryString = report.wholeOrganization && scope == .all
            ? "md.org_id = \(bind: report.orgID)"
            : "md.org_id = \(bind: report.orgID) AND \(Self.audienceCondition(report, scope: scope, member: "md.member_id"))"
        let rows = try await db.raw("""
            SELECT md.department_id, COUNT(*) AS audience, COUNT(s.user_id) AS reported,
                   SUM(CASE WHEN s.colour IS NOT NULL AND s.colour <> 'green' THEN 1 ELSE 0 END) AS abnormal
            FROM member_departments md
            LEFT JOIN health_submissions s ON s.report_id = \(bind: report.id) AND s.day = \(bind: day.description) AND s.user_id = md.user_id
            WHERE \(condition)
            GROUP BY md.department_id
            """).all()
        var result: [Department.ID: (audience: Int, reported: Int, abnormal: Int)] = [:]
        for row in rows {
            result[try row.decode(column: "department_id", as: Department.ID.self)] =
                (try row.decode(column: "audience", as: Int.self), try row.decode(column: "reported", as: Int.self),
                 try row.decode(column: "abnormal", as: Int?.self) ?? 0)
        }
        return result
    }

    func fetchTotals(_ db: any SQLDatabase, reportID: HealthReport.ID, days: [LocalDate]) async throws -> [LocalDate: HealthTotals] {
        guard !days.isEmpty else { return [:] }
        let rows = try await db.raw("""
            SELECT day, audience, reported, green, yellow, red FROM health_day_totals
            WHERE report_id = \(bind: reportID) AND day IN \(SQLBind.group(days.map(\.description)))
            """).all()
        var result: [LocalDate: HealthTotals] = [:]
        for row in rows {
            guard let day = LocalDate(try row.decode(column: "day", as: String.self)) else { continue }
            result[day] = HealthTotals(day: day, audience: try row.decode(column: "audience", as: Int.self), reported: try row.decode(column: "reported", as: Int.self),
                                       green: try row.decode(column: "green", as: Int.self), yellow: try row.decode(column: "yellow", as: Int.self),
                                       red: try row.decode(column: "red", as: Int.self))
        }
        return result
    }

    func saveTotals(_ db: any SQLDatabase, orgID: Organization.ID, reportID: HealthReport.ID, _ t: HealthTotals) async throws {
        try await db.raw("""
            INSERT INTO health_day_totals (org_id, report_id, day, audience, reported, green, yellow, red)
            VALUES (\(bind: orgID), \(bind: reportID), \(bind: t.day.description), \(bind: t.audience), \(bind: t.reported), \(bind: t.green),
                    \(bind: t.yellow), \(bind: t.red))
            ON CONFLICT (report_id, day) DO UPDATE SET audience = excluded.audience, reported = excluded.reported, green = excluded.green,
                yellow = excluded.yellow, red = excluded.red
            """).run()
    }

    // MARK: Drill-down

    /// A page of the audience (within `scope`) with their report of `day`, by name.
    func fetchMemberRows(_ db: any SQLDatabase, report: HealthReport, scope: HealthAccess.Scope, day: LocalDate, status: HealthStatusFilter,
                         within departments: Set<Department.ID>?, after cursor: (String, Member.ID)?, limit: Int?) async throws -> [HealthMemberRow] {
        var condition = Self.audienceCondition(report, scope: scope)
        switch status {
        case .all: break
        case .reported: condition = "\(condition) AND s.user_id IS NOT NULL"
        case .notReported: condition = "\(condition) AND s.user_id IS NULL"
        case .abnormal: condition = "\(condition) AND s.colour IN ('yellow', 'red')"
        }
        if let departments {
            condition = departments.isEmpty ? "1 = 0" : """
                \(condition) AND EXISTS (SELECT 1 FROM member_departments fd WHERE fd.member_id = m.id
                                         AND fd.department_id IN \(SQLBind.group(Array(departments))))
                """
        }
        if let (name, id) = cursor { condition = "\(condition) AND (m.sort_name > \(bind: name) OR (m.sort_name = \(bind: name) AND m.id > \(bind: id)))" }
        let departmentNames = db.dialect.name == "sqlite"
            ? "(SELECT group_concat(n, '\u{1F}') FROM (SELECT d.name AS n FROM member_departments x JOIN departments d ON d.id = x.department_id WHERE x.member_id = m.id ORDER BY d.name))"
            : "(SELECT string_agg(d.name, E'\\x1F' ORDER BY d.name) FROM member_departments x JOIN departments d ON d.id = x.department_id WHERE x.member_id = m.id)"
        let rows = try await db.raw("""
            SELECT m.id AS member_id, m.user_id, u.name, m.sort_name, \(unsafeRaw: departmentNames) AS department_names,
                   s.answers, s.temperature, s.colour, s.revision, s.submitted_by, s.submitted_at, bu.name AS by_name, bm.id AS by_member_id
            FROM members m JOIN users u ON u.id = m.user_id
            LEFT JOIN health_submissions s ON s.report_id = \(bind: report.id) AND s.day = \(bind: day.description) AND s.user_id = m.user_id
            LEFT JOIN users bu ON bu.id = s.submitted_by
            LEFT JOIN members bm ON bm.org_id = m.org_id AND bm.user_id = s.submitted_by
            WHERE \(condition)
            ORDER BY m.sort_name, m.id \(unsafeRaw: limit.map { "LIMIT \($0)" } ?? "")
            """).all()
        return try rows.map { row in
            let person = try Self.person(row)
            var submission: HealthSubmission?
            if let colour = try row.decode(column: "colour", as: String?.self) {
                submission = HealthSubmission(
                    reportID: report.id, orgID: report.orgID, day: day, person: person,
                    answers: try row.decode(column: "answers", as: String?.self).map(StoredAnswer.decode),
                    temperature: try row.decode(column: "temperature", as: Double?.self), colour: CardColour(rawValue: colour) ?? .green,
                    revision: try row.decode(column: "revision", as: Int.self),
                    submittedBy: PersonRef(userID: try row.decode(column: "submitted_by", as: User.ID.self),
                                           memberID: try row.decode(column: "by_member_id", as: Member.ID?.self),
                                           name: try row.decode(column: "by_name", as: String?.self) ?? ""),
                    submittedAt: try row.decode(column: "submitted_at", as: Date.self))
            }
            let names = try row.decode(column: "department_names", as: String?.self)
            return HealthMemberRow(person: person, sortName: try row.decode(column: "sort_name", as: String.self),
                                   departments: names.map { $0.split(separator: "\u{1F}").map(String.init) } ?? [], submission: submission)
        }
    }

    /// The user ids of the audience (within `scope`) who have not reported `day`.
    func fetchNotReported(_ db: any SQLDatabase, report: HealthReport, scope: HealthAccess.Scope, day: LocalDate) async throws -> [User.ID] {
        try await db.raw("""
            SELECT m.user_id FROM members m
            WHERE \(Self.audienceCondition(report, scope: scope))
              AND NOT EXISTS (SELECT 1 FROM health_submissions s WHERE s.report_id = \(bind: report.id) AND s.day = \(bind: day.description)
                              AND s.user_id = m.user_id)
            ORDER BY m.user_id
            """).all(decodingColumn: "user_id", as: User.ID.self)
    }

    /// Guardians of the students among `students` (report's that allow them), by student.
    func fetchGuardianUsers(_ db: any SQLDatabase, orgID: Organization.ID, students: [User.ID]) async throws -> [User.ID: [User.ID]] {
        var result: [User.ID: [User.ID]] = [:]
        for chunk in students.chunked(500) {
            let rows = try await db.raw("""
                SELECT sm.user_id AS student, gm.user_id AS guardian FROM guardians g
                JOIN members sm ON sm.id = g.student_member_id JOIN members gm ON gm.id = g.guardian_member_id
                WHERE g.org_id = \(bind: orgID) AND sm.user_id IN \(SQLBind.group(Array(chunk)))
                """).all()
            for row in rows {
                result[try row.decode(column: "student", as: User.ID.self), default: []].append(try row.decode(column: "guardian", as: User.ID.self))
            }
        }
        return result
    }

    // MARK: Retention

    /// Deletes the answers of days before `cutoff` (their revisions with them); colours stay.
    /// Returns how many submissions lost their answers.
    @discardableResult
    func expireAnswers(_ db: any SQLDatabase, reportID: HealthReport.ID, before cutoff: LocalDate) async throws -> Int {
        try await db.raw("DELETE FROM health_revisions WHERE report_id = \(bind: reportID) AND day < \(bind: cutoff.description)").run()
        return try await db.raw("""
            UPDATE health_submissions SET answers = NULL, temperature = NULL
            WHERE report_id = \(bind: reportID) AND day < \(bind: cutoff.description) AND answers IS NOT NULL RETURNING user_id
            """).all().count
    }

    // MARK: Photos

    func insertPhoto(_ db: any SQLDatabase, _ p: HealthPhoto) async throws {
        try await db.insert(into: "health_photos")
            .columns("id", "org_id", "uploader_id", "subject_id", "report_id", "content_type", "size", "sha256", "created_at")
            .values(SQLBind(p.id), SQLBind(p.orgID), SQLBind(p.uploaderID), SQLBind(p.subjectID), SQLBind(p.reportID), SQLBind(p.contentType),
                    SQLBind(p.size), SQLBind(p.sha256), SQLBind(p.createdAt))
            .run()
    }

    func fetchPhotos(_ db: any SQLDatabase, orgID: Organization.ID, ids: [HealthPhoto.ID]) async throws -> [HealthPhoto] {
        guard !ids.isEmpty else { return [] }
        return try await db.raw("""
            SELECT id, org_id, uploader_id, subject_id, report_id, content_type, size, sha256, created_at FROM health_photos
            WHERE org_id = \(bind: orgID) AND id IN \(SQLBind.group(ids))
            """).all().map(Self.photo)
    }

    func attachPhotos(_ db: any SQLDatabase, ids: [HealthPhoto.ID], reportID: HealthReport.ID, subject: User.ID) async throws {
        guard !ids.isEmpty else { return }
        try await db.raw("""
            UPDATE health_photos SET report_id = \(bind: reportID), subject_id = \(bind: subject) WHERE id IN \(SQLBind.group(ids))
            """).run()
    }

    /// Deletes photos uploaded before `cutoff` for `reportID` (or never used), returning their files.
    func deletePhotos(_ db: any SQLDatabase, orgID: Organization.ID, reportID: HealthReport.ID?, before cutoff: Date) async throws -> [HealthPhoto] {
        let condition: SQLQueryString = if let reportID { "report_id = \(bind: reportID)" } else { "report_id IS NULL" }
        return try await db.raw("""
            DELETE FROM health_photos WHERE org_id = \(bind: orgID) AND \(condition) AND created_at < \(bind: cutoff)
            RETURNING id, org_id, uploader_id, subject_id, report_id, content_type, size, sha256, created_at
            """).all().map(Self.photo)
    }

    func countPhotoUses(_ db: any SQLDatabase, orgID: Organization.ID, sha256: String) async throws -> Int {
        try await db.raw("SELECT COUNT(*) AS n FROM health_photos WHERE org_id = \(bind: orgID) AND sha256 = \(bind: sha256)")
            .first()?.decode(column: "n", as: Int.self) ?? 0
    }

    static func photo(_ row: any SQLRow) throws -> HealthPhoto {
        HealthPhoto(id: try row.decode(column: "id", as: HealthPhoto.ID.self), orgID: try row.decode(column: "org_id", as: Organization.ID.self),
                    uploaderID: try row.decode(column: "uploader_id", as: User.ID.self), subjectID: try row.decode(column: "subject_id", as: User.ID?.self),
                    reportID: try row.decode(column: "report_id", as: HealthReport.ID?.self),
                    contentType: try row.decode(column: "content_type", as: String.self), size: try row.decode(column: "size", as: Int64.self),
                    sha256: try row.decode(column: "sha256", as: String.self), createdAt: try row.decode(column: "created_at", as: Date.self))
    }

    // MARK: Access log

    func insertAccess(_ db: any SQLDatabase, _ e: HealthAccessEntry) async throws {
        try await db.insert(into: "health_access_log")
            .columns("id", "org_id", "reader_id", "action", "report_id", "day", "subject_count", "subjects", "at")
            .values(SQLBind(e.id), SQLBind(e.orgID), SQLBind(e.reader.userID), SQLBind(e.action.rawValue), SQLBind(e.reportID),
                    SQLBind(e.day?.description), SQLBind(e.subjectCount), SQLBind(try Self.json(e.subjects.map(\.userID.string))), SQLBind(e.at))
            .run()
    }

    func fetchAccess(_ db: any SQLDatabase, orgID: Organization.ID, before: HealthAccessEntry.ID?, limit: Int) async throws -> [HealthAccessEntry] {
        var condition: SQLQueryString = "a.org_id = \(bind: orgID)"
        if let before, let anchor = try await db.raw("SELECT at FROM health_access_log WHERE id = \(bind: before) AND org_id = \(bind: orgID)")
            .first()?.decode(column: "at", as: Date.self) {
            condition = "\(condition) AND (a.at < \(bind: anchor) OR (a.at = \(bind: anchor) AND a.id < \(bind: before)))"
        }
        let rows = try await db.raw("""
            SELECT a.id, a.reader_id, a.action, a.report_id, a.day, a.subject_count, a.subjects, a.at, u.name AS reader_name, m.id AS reader_member_id
            FROM health_access_log a JOIN users u ON u.id = a.reader_id LEFT JOIN members m ON m.org_id = a.org_id AND m.user_id = a.reader_id
            WHERE \(condition) ORDER BY a.at DESC, a.id DESC LIMIT \(literal: limit)
            """).all()
        var entries = try rows.map { row in
            HealthAccessEntry(
                id: try row.decode(column: "id", as: HealthAccessEntry.ID.self), orgID: orgID,
                reader: PersonRef(userID: try row.decode(column: "reader_id", as: User.ID.self),
                                  memberID: try row.decode(column: "reader_member_id", as: Member.ID?.self),
                                  name: try row.decode(column: "reader_name", as: String.self)),
                action: HealthAccessEntry.Action(rawValue: try row.decode(column: "action", as: String.self)) ?? .answers,
                reportID: try row.decode(column: "report_id", as: HealthReport.ID.self),
                day: try row.decode(column: "day", as: String?.self).flatMap(LocalDate.init),
                subjectCount: try row.decode(column: "subject_count", as: Int.self),
                subjects: try (Self.unjson(try row.decode(column: "subjects", as: String.self)) as [String])
                    .compactMap { User.ID(string: $0).map { PersonRef(userID: $0, memberID: nil, name: "") } },
                at: try row.decode(column: "at", as: Date.self))
        }
        // Names of the people read, in one query.
        let users = Array(Set(entries.flatMap { $0.subjects.map(\.userID) }))
        var names: [User.ID: (String, Member.ID?)] = [:]
        for chunk in users.chunked(500) {
            for row in try await db.raw("""
                SELECT u.id, u.name, m.id AS member_id FROM users u LEFT JOIN members m ON m.org_id = \(bind: orgID) AND m.user_id = u.id
                WHERE u.id IN \(SQLBind.group(Array(chunk)))
                """).all() {
                names[try row.decode(column: "id", as: User.ID.self)] = (try row.decode(column: "name", as: String.self),
                                                                         try row.decode(column: "member_id", as: Member.ID?.self))
            }
        }
        for i in entries.indices {
            entries[i].subjects = entries[i].subjects.map { p in
                PersonRef(userID: p.userID, memberID: names[p.userID]?.1, name: names[p.userID]?.0 ?? "")
            }
        }
        return entries
    }

    // MARK: JSON columns

    static func json<T: Encodable>(_ value: T) throws -> String { String(decoding: try JSONEncoder.tack.encode(value), as: UTF8.self) }
    static func unjson<T: Decodable>(_ text: String) throws -> T { try JSONDecoder.tack.decode(T.self, from: Data(text.utf8)) }
}
