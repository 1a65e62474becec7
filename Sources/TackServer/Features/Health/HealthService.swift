import Foundation
import Logging
import SQLKit

/// The daily health report: admins and health officers set reports up; members (and guardians
/// for students) report once a day within the window, correcting within it; each person has a
/// card whose colour follows the report's rules and whose code changes daily; managers see
/// figures and lists for their scope, every read of someone else's answers is logged, and raw
/// answers expire while counts and colours stay.
///
/// Submissions go through a group committer: at 08:00 thousands per second share transactions.
struct HealthService: Sendable {
    static let remindKind = "health.remind"
    static let closeKind = "health.close"
    static let retentionKind = "health.retention"
    /// "DING everyone who has not reported" at most this often per report.
    static let dingInterval: TimeInterval = 300
    static let maxGuardians = 6

    let transactor: Transactor
    let clock: WallClock
    let jobs: JobQueue
    let files: FileStore
    let ding: DingService
    let photoBytes: Int
    let logger: Logger
    let store = HealthStore()
    let directory = DirectoryStore()
    private let submits: GroupCommitter<SubmitJob, SubmitOutcome>
    private let codes: GroupCommitter<CodeJob, HealthCardRecord>
    /// Reports and their organisation's zone as submissions see them (at most a second old).
    let reports = HealthReportCache()

    var database: Database { transactor.database }

    init(transactor: Transactor, clock: WallClock, jobs: JobQueue, files: FileStore, ding: DingService, photoBytes: Int, logger: Logger) {
        self.transactor = transactor
        self.clock = clock
        self.jobs = jobs
        self.files = files
        self.ding = ding
        self.photoBytes = photoBytes
        self.logger = logger
        submits = GroupCommitter(transactor: transactor, logger: logger) { db, outbox, jobs in
            try await HealthService.write(db, outbox, jobs, store: HealthStore())
        }
        codes = GroupCommitter(transactor: transactor, logger: logger) { db, _, job in
            try await HealthService.assignCode(db, job, store: HealthStore())
        }
    }

    // MARK: Access

    /// The caller's membership and scope: owners and admins see everyone; health officers the
    /// members of their departments and everything below (an officer of the root department
    /// sees everyone); others no one but themselves.
    func healthAccess(_ db: any SQLDatabase, _ identity: Identity, _ orgID: Organization.ID) async throws -> HealthAccess {
        let me = try await directory.accessMember(db, identity, orgID)
        if me.role.isAdmin { return HealthAccess(me: me, scope: .all) }
        guard me.capabilities.contains(.healthOfficer) else { return HealthAccess(me: me, scope: .none) }
        let tree = try await store.fetchTree(db, orgID: orgID)
        let closure = DirectoryStore.closure(of: me.departmentIDs, in: tree)
        if tree.contains(where: { $0.parentID == nil && closure.contains($0.id) }) { return HealthAccess(me: me, scope: .all) }
        return HealthAccess(me: me, scope: .departments(closure))
    }

    /// Whether the caller may change the report: everyone it reaches is within their scope.
    private func requireManager(_ access: HealthAccess) throws {
        guard access.isManager else { throw AppError.forbidden("Only health officers and the organisation's admins see this.") }
    }

    private func requireReport(_ db: any SQLDatabase, _ orgID: Organization.ID, _ id: HealthReport.ID) async throws -> HealthReport {
        guard let report = try await store.fetchReport(db, orgID: orgID, id: id) else { throw AppError.notFound("Health report") }
        return report
    }

    /// A member is within a scope.
    private static func inScope(_ member: Member, _ scope: HealthAccess.Scope) -> Bool {
        switch scope {
        case .all: true
        case .departments(let departments): !departments.isDisjoint(with: member.departmentIDs)
        case .none: false
        }
    }

    // MARK: Reports

    /// What a manager writes: a report's settings as sent.
    struct Draft: Sendable, Codable {
        var title: String
        var wholeOrganization: Bool
        var departmentIDs: [Department.ID]
        var questions: [HealthQuestion]
        var opensAt: String
        var closesAt: String
        var skipWeekends: Bool
        var holidays: [String]
        var allowGuardians: Bool
        var aggregatesVisible: Bool
        var rules: CardRules
        var reminders: [ReminderDraft]
        var retentionDays: Int
        var active: Bool
    }

    struct ReminderDraft: Sendable, Codable {
        var at: String
        var channel: HealthReminder.Channel
    }

    /// A draft checked: everything but the references to departments.
    struct Valid {
        var title: String
        var opensAt: Int
        var closesAt: Int
        var holidays: [LocalDate]
        var reminders: [HealthReminder]
        var departments: [Department.ID]
    }

    /// `HH:MM` as minutes after midnight (`24:00` allowed where `allowMidnight`).
    static func minutes(_ text: String, field: String, allowMidnight: Bool = false) throws -> Int {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let h = Int(parts[0]), let m = Int(parts[1]),
              (0...59).contains(m), (0...23).contains(h) || (allowMidnight && h == 24 && m == 0)
        else { throw AppError.invalid(field, "A time as HH:MM.", code: "invalid_time") }
        return h * 60 + m
    }

    static func clockText(_ minutes: Int) -> String { String(format: "%02d:%02d", minutes / 60, minutes % 60) }

    func validate(_ draft: Draft) throws -> Valid {
        let title = draft.title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...100).contains(title.count) else { throw AppError.invalid("title", "1 to 100 characters.", code: "invalid_title") }
        let departments = Array(Set(draft.departmentIDs)).sorted { $0.string < $1.string }
        guard draft.wholeOrganization || !departments.isEmpty else {
            throw AppError.invalid("departmentIds", "Choose departments or the whole organisation.", code: "no_audience")
        }
        guard departments.count <= 200 else { throw AppError.invalid("departmentIds", "At most 200 departments.", code: "too_many") }
        try HealthQuestion.validate(draft.questions)
        let opens = try Self.minutes(draft.opensAt, field: "opensAt")
        let closes = try Self.minutes(draft.closesAt, field: "closesAt", allowMidnight: true)
        guard opens < closes else { throw AppError.invalid("closesAt", "The window closes after it opens, on the same day.", code: "invalid_window") }
        guard draft.holidays.count <= 366 else { throw AppError.invalid("holidays", "At most 366 days.", code: "too_many") }
        var holidays: [LocalDate] = []
        for (i, text) in draft.holidays.enumerated() {
            guard let day = LocalDate(text) else { throw AppError.invalid("holidays[\(i)]", "A day as YYYY-MM-DD.", code: "invalid_day") }
            holidays.append(day)
        }
        let r = draft.rules
        guard CheckedAnswers.plausibleTemperature.contains(r.yellowTemperature), CheckedAnswers.plausibleTemperature.contains(r.redTemperature),
              r.yellowTemperature < r.redTemperature
        else { throw AppError.invalid("rules", "Temperatures between 34 and 43 °C, yellow below red.", code: "invalid_rules") }
        guard (1...60).contains(r.greenAfterYellowDays), (1...60).contains(r.greenAfterRedDays) else {
            throw AppError.invalid("rules", "Between 1 and 60 days back to green.", code: "invalid_rules")
        }
        guard draft.reminders.count <= 6 else { throw AppError.invalid("reminders", "At most 6 reminders.", code: "too_many") }
        var reminders: [HealthReminder] = []
        for (i, reminder) in draft.reminders.enumerated() {
            let at = try Self.minutes(reminder.at, field: "reminders[\(i)].at")
            guard at >= opens, at < closes else {
                throw AppError.invalid("reminders[\(i)].at", "Remind while the window is open.", code: "outside_window")
            }
            reminders.append(HealthReminder(at: at, channel: reminder.channel))
        }
        guard (1...365).contains(draft.retentionDays) else {
            throw AppError.invalid("retentionDays", "Between 1 and 365 days.", code: "invalid_retention")
        }
        return Valid(title: title, opensAt: opens, closesAt: closes, holidays: Array(Set(holidays)).sorted(),
                     reminders: reminders.sorted { $0.at < $1.at }, departments: draft.wholeOrganization ? [] : departments)
    }

    private func checkAudience(_ db: any SQLDatabase, _ access: HealthAccess, _ orgID: Organization.ID, _ draft: Draft, _ valid: Valid) async throws {
        let known = try await DirectoryStore().fetchDepartmentIDs(db, orgID: orgID, among: valid.departments)
        if let unknown = valid.departments.first(where: { !known.contains($0) }) {
            throw AppError.invalid("departmentIds", "There is no department \(unknown.string) in this organisation.", code: "unknown_department")
        }
        guard access.canManage(wholeOrganization: draft.wholeOrganization, departments: valid.departments) else {
            throw AppError.forbidden(access.isManager ? "A health officer sets up reports for their own departments only."
                                                      : "Only health officers and the organisation's admins set up health reports.")
        }
    }

    func create(_ identity: Identity, _ orgID: Organization.ID, _ draft: Draft, idempotencyKey: String?) async throws -> (HealthReport, HealthViewer) {
        let now = clock.now()
        let valid = try validate(draft)
        let fingerprint = try HealthStore.json(draft)
        let id = try await transactor.runIdempotent(scope: "health:\(identity.userID.string)", key: idempotencyKey, operation: "createHealthReport",
                                                    fingerprint: fingerprint) { db, outbox -> HealthReport.ID in
            let access = try await healthAccess(db, identity, orgID)
            try await checkAudience(db, access, orgID, draft, valid)
            let report = HealthReport(
                id: .random(), orgID: orgID, title: valid.title, questions: draft.questions, wholeOrganization: draft.wholeOrganization,
                departmentIDs: valid.departments, opensAt: valid.opensAt, closesAt: valid.closesAt, skipWeekends: draft.skipWeekends,
                holidays: valid.holidays, allowGuardians: draft.allowGuardians, aggregatesVisible: draft.aggregatesVisible, rules: draft.rules,
                reminders: valid.reminders, retentionDays: draft.retentionDays, active: draft.active,
                createdBy: PersonRef(userID: identity.userID, memberID: access.me.id, name: access.me.name), createdAt: now, updatedAt: now)
            try await store.insertReport(db, report)
            try await scheduleJobs(db, outbox, report, after: now)
            return report.id
        }
        return try await view(identity, orgID, id)
    }

    func update(_ identity: Identity, _ orgID: Organization.ID, _ id: HealthReport.ID, _ draft: Draft) async throws -> (HealthReport, HealthViewer) {
        let now = clock.now()
        let valid = try validate(draft)
        try await transactor.run { db, outbox in
            let access = try await healthAccess(db, identity, orgID)
            var report = try await requireReport(db, orgID, id)
            guard access.canManage(report) else { throw AppError.forbidden("Only the report's managers change it.") }
            try await checkAudience(db, access, orgID, draft, valid)
            report.title = valid.title
            report.questions = draft.questions
            report.wholeOrganization = draft.wholeOrganization
            report.departmentIDs = valid.departments
            report.opensAt = valid.opensAt
            report.closesAt = valid.closesAt
            report.skipWeekends = draft.skipWeekends
            report.holidays = valid.holidays
            report.allowGuardians = draft.allowGuardians
            report.aggregatesVisible = draft.aggregatesVisible
            report.rules = draft.rules
            report.reminders = valid.reminders
            report.retentionDays = draft.retentionDays
            report.active = draft.active
            // Later than the last version, even if the clock stands still (jobs tell versions apart).
            report.updatedAt = max(now, report.updatedAt.addingTimeInterval(0.001))
            try await store.updateReport(db, report)
            // Jobs of the old version find it changed and do nothing.
            try await scheduleJobs(db, outbox, report, after: now)
        }
        reports.forget(id)
        return try await view(identity, orgID, id)
    }

    func view(_ identity: Identity, _ orgID: Organization.ID, _ id: HealthReport.ID) async throws -> (HealthReport, HealthViewer) {
        try await database.read { db in
            let access = try await healthAccess(db, identity, orgID)
            let report = try await requireReport(db, orgID, id)
            guard try await visible(db, report, access) else { throw AppError.notFound("Health report") }
            return (report, HealthViewer(access: access, zone: try await store.fetchTimeZone(db, orgID: orgID)))
        }
    }

    /// Managers see every report; others those they (or a student they report for) answer.
    private func visible(_ db: any SQLDatabase, _ report: HealthReport, _ access: HealthAccess) async throws -> Bool {
        if access.isManager { return true }
        guard report.active else { return false }
        if try await store.isInAudience(db, report, memberID: access.me.id) { return true }
        guard report.allowGuardians else { return false }
        for ward in try await store.fetchWards(db, orgID: report.orgID, guardian: access.me.id) {
            if let memberID = ward.memberID, try await store.isInAudience(db, report, memberID: memberID) { return true }
        }
        return false
    }

    func list(_ identity: Identity, _ orgID: Organization.ID) async throws -> ([HealthReport], HealthViewer) {
        try await database.read { db in
            let access = try await healthAccess(db, identity, orgID)
            var visibleReports: [HealthReport] = []
            for report in try await store.fetchReports(db, orgID: orgID, activeOnly: !access.isManager) where try await visible(db, report, access) {
                visibleReports.append(report)
            }
            return (visibleReports, HealthViewer(access: access, zone: try await store.fetchTimeZone(db, orgID: orgID)))
        }
    }

    // MARK: Today

    struct TodayItem: Sendable {
        var report: HealthReport
        var person: PersonRef
        var ward: Bool
        var day: LocalDate
        var window: ClosedRange<Date>?
        var open: Bool
        var submission: HealthSubmission?
        var card: HealthCardView
    }

    /// Today's reports for the caller and for the students they report for.
    func today(_ identity: Identity, _ orgID: Organization.ID) async throws -> (Date, [TodayItem], HealthViewer) {
        let now = clock.now()
        let (items, viewer) = try await database.read { db -> ([TodayItem], HealthViewer) in
            let access = try await healthAccess(db, identity, orgID)
            let zone = try await store.fetchTimeZone(db, orgID: orgID)
            let me = PersonRef(userID: access.me.userID, memberID: access.me.id, name: access.me.name)
            let wards = try await store.fetchWards(db, orgID: orgID, guardian: access.me.id)
            var items: [TodayItem] = []
            for report in try await store.fetchReports(db, orgID: orgID, activeOnly: true) {
                var people: [(PersonRef, Bool)] = []
                if try await store.isInAudience(db, report, memberID: access.me.id) { people.append((me, false)) }
                if report.allowGuardians {
                    for ward in wards where try await store.isInAudience(db, report, memberID: ward.memberID!) { people.append((ward, true)) }
                }
                let schedule = report.schedule(in: zone)
                let day = LocalDate(now, in: zone)
                let window = schedule.window(on: day)
                for (person, ward) in people {
                    let submission = try await store.fetchSubmission(db, reportID: report.id, orgID: orgID, day: day, userID: person.userID)
                    let record = try await store.fetchCard(db, reportID: report.id, userID: person.userID) ?? .new
                    items.append(TodayItem(report: report, person: person, ward: ward, day: day, window: window, open: window?.contains(now) ?? false,
                                           submission: submission,
                                           card: HealthCardView(reportID: report.id, reportTitle: report.title, person: person, record: record,
                                                                rules: report.rules, day: day)))
                }
            }
            return (items, HealthViewer(access: access, zone: zone))
        }
        // Cards without today's code get one (once a day per person).
        var result = items
        for i in result.indices where result[i].card.record.codeDay != result[i].day {
            result[i].card.record = try await ensureCode(orgID: orgID, reportID: result[i].report.id, userID: result[i].person.userID, day: result[i].day)
        }
        return (now, result, viewer)
    }

    // MARK: Submitting

    struct SubmitJob: Sendable {
        var report: HealthReport
        var day: LocalDate
        var subject: PersonRef
        var submitter: PersonRef
        var checked: CheckedAnswers
        /// The answers as stored: compared with what is stored to tell a repeat from a correction.
        var answersJSON: String
        var previousReportDay: LocalDate?
        var photos: [HealthPhoto.ID]
        var now: Date
    }

    struct SubmitOutcome: Sendable {
        var submission: HealthSubmission
        var record: HealthCardRecord
    }

    /// Stores a day's answers for oneself or, as a guardian, for a student. The same answers again
    /// change nothing; different ones within the window are a correction.
    func submit(_ identity: Identity, _ orgID: Organization.ID, _ reportID: HealthReport.ID, day text: String, memberID: Member.ID?,
                answers items: [StoredAnswer]) async throws -> (HealthSubmission, HealthCardView, [HealthQuestion]) {
        let now = clock.now()
        guard let day = LocalDate(text) else { throw AppError.invalid("day", "A day as YYYY-MM-DD.", code: "invalid_day") }
        var answers: [String: HealthAnswer] = [:]
        for item in items {
            guard let answer = item.answer else {
                throw AppError.invalid("answers.\(item.questionId)", "Give exactly one value for each answer.", code: "wrong_type")
            }
            guard answers.updateValue(answer, forKey: item.questionId) == nil else {
                throw AppError.invalid("answers.\(item.questionId)", "One answer per question.", code: "duplicate")
            }
        }
        let (report, zone, subject, submitter) = try await database.read { db -> (HealthReport, TimeZone, PersonRef, PersonRef) in
            // The surge's path: one light membership lookup; the report and the zone from a
            // cache of a second (`reports`).
            guard let submitter = try await store.fetchMembership(db, orgID: orgID, userID: identity.userID) else {
                throw AppError.notFound("Organisation")
            }
            let (report, zone) = try await reports.get(db, orgID: orgID, id: reportID, store: store)
            var subject = submitter
            if let memberID, memberID != submitter.memberID {
                guard report.allowGuardians else {
                    throw AppError(.forbidden, "guardians_not_allowed", "This report does not let parents report for students.")
                }
                guard try await store.isGuardian(db, orgID: orgID, guardian: submitter.memberID!, of: memberID),
                      let student = try await store.fetchPerson(db, orgID: orgID, memberID: memberID)
                else { throw AppError(.forbidden, "not_a_guardian", "You do not report for this member.") }
                subject = student
            }
            guard report.active else { throw AppError.conflict("report_inactive", "This report has been stopped.") }
            guard try await store.isInAudience(db, report, memberID: subject.memberID!) else {
                throw AppError(.forbidden, "not_in_audience", "This report is not for \(subject.userID == submitter.userID ? "you" : subject.name).")
            }
            return (report, zone, subject, submitter)
        }
        let schedule = report.schedule(in: zone)
        guard schedule.isReportDay(day) else { throw AppError.conflict("not_a_report_day", "\(day) is not a report day.") }
        guard let window = schedule.window(on: day), window.contains(now) else {
            throw AppError.conflict("window_closed", "Reports for \(day) are taken from \(Self.clockText(report.opensAt)) to "
                                                   + "\(Self.clockText(report.closesAt)) (\(zone.identifier)).")
        }
        let checked = try CheckedAnswers.check(answers, against: report.questions)
        let photos = checked.answers.values.compactMap { answer -> HealthPhoto.ID? in
            if case .photo(let id) = answer { HealthPhoto.ID(string: id) } else { nil }
        }
        if !photos.isEmpty {
            let found = try await database.read { db in try await store.fetchPhotos(db, orgID: orgID, ids: photos) }
            for id in photos where !found.contains(where: { $0.id == id && $0.uploaderID == identity.userID }) {
                let question = checked.answers.first { if case .photo(let p) = $0.value { p == id.string } else { false } }?.key ?? "photo"
                throw AppError.invalid("answers.\(question)", "Upload the photo first.", code: "unknown_photo")
            }
        }
        let job = SubmitJob(report: report, day: day, subject: subject, submitter: submitter, checked: checked,
                            answersJSON: try StoredAnswer.encode(checked.answers, order: report.questions), previousReportDay: schedule.previousReportDay(before: day), photos: photos, now: now)
        let outcome = try await submits.submit(job, sortKey: subject.userID.string)
        return (outcome.submission, HealthCardView(reportID: report.id, reportTitle: report.title, person: subject, record: outcome.record,
                                                   rules: report.rules, day: day), report.questions)
    }

    /// The submissions of one group commit: one read of the stored reports and cards, then one
    /// statement per table. Jobs for the same person and day (a double tap) apply in order.
    private static func write(_ db: any SQLDatabase, _ outbox: Outbox, _ jobs: [SubmitJob], store: HealthStore) async throws -> [SubmitOutcome] {
        struct Key: Hashable { var report: HealthReport.ID; var day: LocalDate }
        var stored: [Key: [User.ID: (answers: String?, revision: Int, submission: HealthSubmission)]] = [:]
        var cards: [HealthReport.ID: [User.ID: HealthCardRecord]] = [:]
        for (key, group) in Dictionary(grouping: jobs, by: { Key(report: $0.report.id, day: $0.day) }) {
            stored[key] = try await store.fetchSubmissionStates(db, reportID: key.report, day: key.day, users: Array(Set(group.map(\.subject.userID))))
        }
        for (report, group) in Dictionary(grouping: jobs, by: \.report.id) {
            cards[report] = try await store.fetchCards(db, reportID: report, users: Array(Set(group.map(\.subject.userID))))
        }
        var outcomes: [SubmitOutcome] = []
        var submissions: [(HealthSubmission, String)] = []
        var superseded: [(HealthSubmission, String)] = []
        var changedCards: [HealthReport.ID: [User.ID: HealthCardRecord]] = [:]
        for job in jobs {
            let report = job.report
            let key = Key(report: report.id, day: job.day)
            let user = job.subject.userID
            let record = cards[report.id]?[user] ?? .new
            let existing = stored[key]?[user]
            if let existing, existing.answers == job.answersJSON {
                var same = existing.submission
                same.person = job.subject
                if same.submittedBy.userID == job.submitter.userID { same.submittedBy = job.submitter }
                outcomes.append(SubmitOutcome(submission: same, record: record))
                continue
            }
            let colour = job.checked.assessment(report.rules)
            let submission = HealthSubmission(
                reportID: report.id, orgID: report.orgID, day: job.day, person: job.subject, answers: job.checked.answers,
                temperature: job.checked.temperature, colour: colour, revision: (existing?.revision ?? 0) + 1, submittedBy: job.submitter,
                submittedAt: job.now)
            let base = record.base(for: job.day)
            let next = HealthCardRecord(state: base.after(day: job.day, assessment: colour, previousReportDay: job.previousReportDay, rules: report.rules),
                                        prior: base, code: record.code, codeDay: record.codeDay)
            stored[key, default: [:]][user] = (job.answersJSON, submission.revision, submission)
            cards[report.id, default: [:]][user] = next
            changedCards[report.id, default: [:]][user] = next
            // One row per person and day in the upsert: a later job of the batch replaces an earlier.
            submissions.removeAll { $0.0.reportID == report.id && $0.0.day == job.day && $0.0.person.userID == user }
            submissions.append((submission, job.answersJSON))
            // A correction keeps what it replaces.
            if let existing, let answers = existing.answers { superseded.append((existing.submission, answers)) }
            try await store.attachPhotos(db, ids: job.photos, reportID: report.id, subject: user)
            let data = try EventJSON.encode(HealthSubmittedEvent(orgId: report.orgID.string, reportId: report.id.string, day: job.day.description,
                                                                 memberId: job.subject.memberID?.string, colour: colour.rawValue))
            outbox.add(.personal(user, type: HealthEvent.submitted, data: data))
            if job.submitter.userID != user { outbox.add(.personal(job.submitter.userID, type: HealthEvent.submitted, data: data)) }
            outcomes.append(SubmitOutcome(submission: submission, record: next))
        }
        // Every replaced version is kept, also several of one person in one batch.
        try await store.saveSubmissions(db, latest: submissions, superseded: superseded)
        for (report, changed) in changedCards {
            guard let orgID = jobs.first(where: { $0.report.id == report })?.report.orgID else { continue }
            try await store.saveCards(db, orgID: orgID, reportID: report, changed.map { ($0.key, $0.value) }, now: jobs[0].now)
        }
        return outcomes
    }

    // MARK: Cards

    /// Letters and digits that cannot be mistaken for each other when read aloud or typed.
    static let codeAlphabet = Array("ABCDEFGHJKMNPQRSTUVWXYZ23456789")

    static func newCode() -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<8).map { _ in codeAlphabet.randomElement(using: &generator)! })
    }

    /// Gives the card today's code if it has another day's.
    private func ensureCode(orgID: Organization.ID, reportID: HealthReport.ID, userID: User.ID, day: LocalDate) async throws -> HealthCardRecord {
        // Everyone opens the app at 08:00: the day's first codes share transactions too.
        try await codes.submit(CodeJob(orgID: orgID, reportID: reportID, userID: userID, day: day, now: clock.now()), sortKey: userID.string)
    }

    struct CodeJob: Sendable {
        var orgID: Organization.ID
        var reportID: HealthReport.ID
        var userID: User.ID
        var day: LocalDate
        var now: Date
    }

    private static func assignCode(_ db: any SQLDatabase, _ job: CodeJob, store: HealthStore) async throws -> HealthCardRecord {
        var record = try await store.fetchCard(db, reportID: job.reportID, userID: job.userID) ?? .new
        guard record.codeDay != job.day else { return record }
        record.code = newCode()
        record.codeDay = job.day
        try await store.saveCard(db, orgID: job.orgID, reportID: job.reportID, userID: job.userID, record, now: job.now)
        return record
    }

    /// A person's card with today's code: one's own, or a student's one reports for.
    func card(_ identity: Identity, _ orgID: Organization.ID, _ reportID: HealthReport.ID, memberID: Member.ID?) async throws -> HealthCardView {
        let now = clock.now()
        let (report, person, zone) = try await database.read { db -> (HealthReport, PersonRef, TimeZone) in
            let access = try await healthAccess(db, identity, orgID)
            let report = try await requireReport(db, orgID, reportID)
            guard try await visible(db, report, access) else { throw AppError.notFound("Health report") }
            let person = try await subject(db, access, report, memberID: memberID, officerMayRead: false)
            return (report, person, try await store.fetchTimeZone(db, orgID: orgID))
        }
        let day = LocalDate(now, in: zone)
        let record = try await ensureCode(orgID: orgID, reportID: report.id, userID: person.userID, day: day)
        return HealthCardView(reportID: report.id, reportTitle: report.title, person: person, record: record, rules: report.rules, day: day)
    }

    /// Whose card or history the caller asks for: their own, a student's they report for, or —
    /// where allowed — a member within a health officer's scope.
    private func subject(_ db: any SQLDatabase, _ access: HealthAccess, _ report: HealthReport, memberID: Member.ID?,
                         officerMayRead: Bool) async throws -> PersonRef {
        let me = PersonRef(userID: access.me.userID, memberID: access.me.id, name: access.me.name)
        guard let memberID, memberID != access.me.id else { return me }
        if try await store.isGuardian(db, orgID: report.orgID, guardian: access.me.id, of: memberID),
           let student = try await store.fetchPerson(db, orgID: report.orgID, memberID: memberID) {
            return student
        }
        if officerMayRead, let member = try await directory.fetchMember(db, orgID: report.orgID, id: memberID), Self.inScope(member, access.scope),
           try await store.isInAudience(db, report, memberID: memberID) {
            return PersonRef(userID: member.userID, memberID: member.id, name: member.name)
        }
        throw AppError.notFound("Member")
    }

    /// Checks a code shown at a door: valid only today, in this organisation.
    func verify(_ identity: Identity, _ orgID: Organization.ID, code: String) async throws -> (valid: Bool, name: String?, colour: CardColour?, day: LocalDate, title: String?) {
        let now = clock.now()
        let normalised = code.uppercased().filter { $0.isLetter || $0.isNumber }
        return try await database.read { db in
            _ = try await directory.accessMember(db, identity, orgID)
            let day = LocalDate(now, in: try await store.fetchTimeZone(db, orgID: orgID))
            guard (4...20).contains(normalised.count),
                  let (record, name, title) = try await store.fetchCard(db, orgID: orgID, code: normalised, day: day)
            else { return (false, nil, nil, day, nil) }
            return (true, name, record.state.colour, day, title)
        }
    }

    // MARK: History

    struct History: Sendable {
        /// The report's questions, in order: to present the answers.
        var questions: [HealthQuestion]
        var person: PersonRef
        var card: HealthCardView?
        var days: [(LocalDate, HealthSubmission?)]
    }

    func history(_ identity: Identity, _ orgID: Organization.ID, _ reportID: HealthReport.ID, memberID: Member.ID?, days: Int) async throws -> History {
        guard (1...90).contains(days) else { throw AppError.invalidParameter("days", "Between 1 and 90.") }
        let now = clock.now()
        return try await transactor.run { db, _ in
            let access = try await healthAccess(db, identity, orgID)
            let report = try await requireReport(db, orgID, reportID)
            guard try await visible(db, report, access) else { throw AppError.notFound("Health report") }
            let person = try await subject(db, access, report, memberID: memberID, officerMayRead: true)
            let zone = try await store.fetchTimeZone(db, orgID: orgID)
            let today = LocalDate(now, in: zone)
            // From the day the report was set up.
            let first = max(today.adding(days: -(days - 1)), min(today, LocalDate(report.createdAt, in: zone)))
            let allDays = (0..<days).map { today.adding(days: -$0) }.filter { $0 >= first }
            let submissions = try await store.fetchSubmissions(db, reportID: reportID, orgID: orgID, userID: person.userID, days: allDays)
            let byDay = Dictionary(submissions.map { ($0.day, $0) }, uniquingKeysWith: { a, _ in a })
            let reportDays = Set(report.schedule(in: zone).reportDays(from: first, through: today)).union(byDay.keys)
            let guardian = try await store.isGuardian(db, orgID: orgID, guardian: access.me.id, of: person.memberID!)
            if person.userID != identity.userID && !guardian {
                try await logAccess(db, access, action: .history, report: report, day: nil, subjects: [person], now: now)
            }
            let record = try await store.fetchCard(db, reportID: reportID, userID: person.userID)
            return History(questions: report.questions, person: person,
                           card: record.map { HealthCardView(reportID: report.id, reportTitle: report.title, person: person, record: $0,
                                                             rules: report.rules, day: today) },
                           days: reportDays.sorted(by: >).map { ($0, byDay[$0]) })
        }
    }

    func logAccess(_ db: any SQLDatabase, _ access: HealthAccess, action: HealthAccessEntry.Action, report: HealthReport, day: LocalDate?,
                           subjects: [PersonRef], now: Date) async throws {
        // One's own answers are not someone else's.
        let subjects = subjects.filter { $0.userID != access.me.userID }
        guard !subjects.isEmpty else { return }
        try await store.insertAccess(db, HealthAccessEntry(
            id: .random(), orgID: report.orgID, reader: PersonRef(userID: access.me.userID, memberID: access.me.id, name: access.me.name),
            action: action, reportID: report.id, day: day, subjectCount: subjects.count, subjects: Array(subjects.prefix(50)), at: now))
    }

    func accessLog(_ identity: Identity, _ orgID: Organization.ID, before: HealthAccessEntry.ID?, limit: Int) async throws -> [HealthAccessEntry] {
        guard (1...200).contains(limit) else { throw AppError.invalidParameter("limit", "Between 1 and 200.") }
        return try await database.read { db in
            let me = try await directory.accessMember(db, identity, orgID)
            guard me.role == .owner else { throw AppError.forbidden("Only the organisation's owners see who read health answers.") }
            return try await store.fetchAccess(db, orgID: orgID, before: before, limit: limit)
        }
    }

    // MARK: Guardians

    func guardians(_ identity: Identity, _ orgID: Organization.ID, student: Member.ID) async throws -> [PersonRef] {
        try await database.read { db in
            let me = try await directory.accessMember(db, identity, orgID)
            guard try await directory.fetchMember(db, orgID: orgID, id: student) != nil else { throw AppError.notFound("Member") }
            let guardians = try await store.fetchGuardians(db, orgID: orgID, student: student)
            guard me.role.isAdmin || me.id == student || guardians.contains(where: { $0.memberID == me.id }) else {
                throw AppError.forbidden("Only admins, the student and their guardians see who reports for a student.")
            }
            return guardians
        }
    }

    func setGuardians(_ identity: Identity, _ orgID: Organization.ID, student: Member.ID, guardians: [Member.ID]) async throws -> [PersonRef] {
        let unique = Array(Set(guardians)).sorted { $0.string < $1.string }
        guard unique.count <= Self.maxGuardians else { throw AppError.invalid("memberIds", "At most \(Self.maxGuardians) guardians.", code: "too_many") }
        guard !unique.contains(student) else { throw AppError.invalid("memberIds", "A student is not their own guardian.", code: "self") }
        return try await transactor.run { db, _ in
            let me = try await directory.accessMember(db, identity, orgID)
            guard me.role.isAdmin else { throw AppError.forbidden("Only the organisation's owners and admins set guardians.") }
            guard try await directory.fetchMember(db, orgID: orgID, id: student) != nil else { throw AppError.notFound("Member") }
            for id in unique where try await directory.fetchMember(db, orgID: orgID, id: id) == nil {
                throw AppError.invalid("memberIds", "There is no member \(id.string) in this organisation.", code: "unknown_member")
            }
            try await store.replaceGuardians(db, orgID: orgID, student: student, with: unique)
            return try await store.fetchGuardians(db, orgID: orgID, student: student)
        }
    }

    // MARK: Photos

    func upload(_ identity: Identity, _ orgID: Organization.ID, bytes: [UInt8]) async throws -> HealthPhoto {
        _ = try await database.read { db in try await directory.accessMember(db, identity, orgID) }
        guard !bytes.isEmpty else { throw AppError.invalid("body", "The photo is empty.", code: "empty") }
        guard bytes.count <= photoBytes else { throw BodyLimitExceeded(limit: photoBytes) }
        let type = ContentSniffer.sniff(bytes).contentType
        guard ["image/png", "image/jpeg", "image/webp"].contains(type) else {
            throw AppError(.unsupportedMediaType, "unsupported_media_type", "Send a PNG, JPEG or WebP photo.")
        }
        let sha = try files.write(bytes, namespace: "health-\(orgID.string)")
        let photo = HealthPhoto(id: .random(), orgID: orgID, uploaderID: identity.userID, subjectID: nil, reportID: nil, contentType: type,
                                size: Int64(bytes.count), sha256: sha, createdAt: clock.now())
        try await transactor.run { db, _ in try await store.insertPhoto(db, photo) }
        return photo
    }

    /// A photo answer for its uploader, the person it is about, and managers in scope (logged).
    func download(_ identity: Identity, _ orgID: Organization.ID, _ id: HealthPhoto.ID) async throws -> (HealthPhoto, Data) {
        let now = clock.now()
        let photo = try await transactor.run { db, _ -> HealthPhoto in
            let access = try await healthAccess(db, identity, orgID)
            guard let photo = try await store.fetchPhotos(db, orgID: orgID, ids: [id]).first else { throw AppError.notFound("Photo") }
            if photo.uploaderID == identity.userID || photo.subjectID == identity.userID { return photo }
            guard let subjectID = photo.subjectID, let reportID = photo.reportID, access.isManager,
                  let report = try await store.fetchReport(db, orgID: orgID, id: reportID),
                  let member = try await directory.fetchMember(db, orgID: orgID, userID: subjectID), Self.inScope(member, access.scope)
            else { throw AppError.notFound("Photo") }
            try await logAccess(db, access, action: .photo, report: report, day: nil,
                                subjects: [PersonRef(userID: member.userID, memberID: member.id, name: member.name)], now: now)
            return photo
        }
        guard let data = try? files.read(namespace: "health-\(orgID.string)", name: photo.sha256) else { throw AppError.notFound("Photo") }
        return (photo, data)
    }
}

/// Health events (see docs/events.md).
enum HealthEvent {
    static let submitted = "health.submitted"
    static let reminder = "health.reminder"
}

struct HealthSubmittedEvent: Codable, Sendable {
    var orgId: String
    var reportId: String
    var day: String
    var memberId: String?
    var colour: String
}

struct HealthReminderEvent: Codable, Sendable {
    var orgId: String
    var reportId: String
    var title: String
    var day: String
    var channel: String
    var memberId: String?
    var closesAt: Date?
}
