import Foundation
import SQLKit

/// What managers see of a report: the dashboard, the drill-down lists and their exports, and
/// "DING everyone who has not reported".
extension HealthService {
    /// The day asked for, or today in the organisation's zone.
    private func day(_ text: String?, zone: TimeZone) throws -> LocalDate {
        guard let text else { return LocalDate(clock.now(), in: zone) }
        guard let day = LocalDate(text) else { throw AppError.invalidParameter("day", "A day as YYYY-MM-DD.") }
        return day
    }

    func dashboard(_ identity: Identity, _ orgID: Organization.ID, _ reportID: HealthReport.ID, day text: String?, days: Int) async throws -> HealthDashboard {
        guard (1...90).contains(days) else { throw AppError.invalidParameter("days", "Between 1 and 90.") }
        let now = clock.now()
        let (report, isManager, scope, zone) = try await database.read { db in
            let access = try await healthAccess(db, identity, orgID)
            guard let report = try await store.fetchReport(db, orgID: orgID, id: reportID) else { throw AppError.notFound("Health report") }
            var scope = access.scope
            if !access.isManager {
                guard report.active, try await store.isInAudience(db, report, memberID: access.me.id) else { throw AppError.notFound("Health report") }
                guard report.aggregatesVisible else { throw AppError.forbidden("This report's figures are for its managers.") }
                scope = .all
            }
            return (report, access.isManager, scope, try await store.fetchTimeZone(db, orgID: orgID))
        }
        let schedule = report.schedule(in: zone)
        let day = try day(text, zone: zone)
        // The day's totals, its counts by department and the trend's other days are independent
        // reads: each runs on its own connection, at the same time as the others.
        async let dayTotals = database.read { db in try await store.countDay(db, report: report, scope: scope, day: day) }
        async let byDepartment = isManager ? departmentTotals(report: report, scope: scope, day: day) : []

        // The trend: days kept when their window closed (the whole audience then), the others
        // counted now; from the day the report was set up.
        let first = max(day.adding(days: -(days - 1)), min(day, LocalDate(report.createdAt, in: zone)))
        let trendDays = schedule.reportDays(from: first, through: day)
        let today = LocalDate(now, in: zone)
        let (kept, counted) = try await database.read { db in
            var kept: [LocalDate: HealthTotals] = [:]
            if scope == .all { kept = try await store.fetchTotals(db, reportID: report.id, days: trendDays.filter { $0 < today }) }
            let missing = trendDays.filter { kept[$0] == nil && $0 != day }
            return (kept, try await store.countDays(db, report: report, scope: scope, days: missing))
        }
        let totals = try await dayTotals
        let trend = trendDays.map { d -> HealthTotals in
            if d == day { return totals }
            if let t = kept[d] { return t }
            var t = counted[d] ?? HealthTotals(day: d, audience: 0, reported: 0, green: 0, yellow: 0, red: 0)
            t.audience = max(totals.audience, t.reported)
            return t
        }
        return HealthDashboard(reportID: report.id, day: day, reportDay: schedule.isReportDay(day), totals: totals,
                               departments: try await byDepartment, trend: trend)
    }

    /// Each department's audience, reported and abnormal of `day`, counting its members and
    /// everything below it (a member of two departments counts in both).
    private func departmentTotals(report: HealthReport, scope: HealthAccess.Scope, day: LocalDate) async throws -> [HealthDepartmentTotals] {
        let (direct, tree) = try await database.read { db in
            (try await store.countByDepartment(db, report: report, scope: scope, day: day), try await store.fetchTree(db, orgID: report.orgID))
        }
        let children = DirectoryStore.children(in: tree)
        var sums: [Department.ID: (Int, Int, Int)] = [:]
        func rolled(_ id: Department.ID) -> (Int, Int, Int) {
            if let known = sums[id] { return known }
            var sum = direct[id].map { ($0.audience, $0.reported, $0.abnormal) } ?? (0, 0, 0)
            for child in children[id] ?? [] {
                let c = rolled(child)
                sum = (sum.0 + c.0, sum.1 + c.1, sum.2 + c.2)
            }
            sums[id] = sum
            return sum
        }
        return tree.compactMap { department in
            let (audience, reported, abnormal) = rolled(department.id)
            return audience > 0 ? HealthDepartmentTotals(department: department, audience: audience, reported: reported, abnormal: abnormal) : nil
        }
    }

    struct MemberQuery: Sendable {
        var day: String?
        var status: HealthStatusFilter
        var departmentID: Department.ID?
        var answers: Bool
        var cursor: String?
        var limit: Int?
    }

    /// A page of the drill-down list; with answers, the read is logged.
    func members(_ identity: Identity, _ orgID: Organization.ID, _ reportID: HealthReport.ID, _ query: MemberQuery) async throws -> (LocalDate, [HealthMemberRow], String?) {
        if let limit = query.limit, !(1...500).contains(limit) { throw AppError.invalidParameter("limit", "Between 1 and 500.") }
        let cursor = try query.cursor.map(Self.decodeCursor)
        let now = clock.now()
        let read = { (db: any SQLDatabase) async throws -> (LocalDate, [HealthMemberRow], String?) in
            let (access, report, day, within, _) = try await managerContext(db, identity, orgID, reportID, query)
            let limit = query.limit
            var rows = try await store.fetchMemberRows(db, report: report, scope: access.scope, day: day, status: query.status, within: within,
                                                       after: cursor, limit: limit.map { $0 + 1 })
            var next: String?
            if let limit, rows.count > limit {
                rows.removeLast(rows.count - limit)
                next = rows.last.map { Self.encodeCursor($0.sortName, $0.person.memberID!) }
            }
            if query.answers {
                try await logAccess(db, access, action: .answers, report: report, day: day,
                                    subjects: rows.filter { $0.submission?.answers != nil }.map(\.person), now: now)
            } else {
                for i in rows.indices { rows[i].submission?.answers = nil }
            }
            return (day, rows, next)
        }
        return query.answers ? try await transactor.run { db, _ in try await read(db) } : try await database.read { db in try await read(db) }
    }

    private func managerContext(_ db: any SQLDatabase, _ identity: Identity, _ orgID: Organization.ID, _ reportID: HealthReport.ID,
                                _ query: MemberQuery) async throws -> (HealthAccess, HealthReport, LocalDate, Set<Department.ID>?, TimeZone) {
        let access = try await healthAccess(db, identity, orgID)
        guard let report = try await store.fetchReport(db, orgID: orgID, id: reportID) else { throw AppError.notFound("Health report") }
        guard access.isManager else { throw AppError.forbidden("Only health officers and the organisation's admins see who reported.") }
        let zone = try await store.fetchTimeZone(db, orgID: orgID)
        let day = try day(query.day, zone: zone)
        var within: Set<Department.ID>?
        if let departmentID = query.departmentID {
            let tree = try await store.fetchTree(db, orgID: orgID)
            guard tree.contains(where: { $0.id == departmentID }) else { throw AppError.invalidParameter("departmentId", "No such department.") }
            within = DirectoryStore.closure(of: [departmentID], in: tree)
        }
        return (access, report, day, within, zone)
    }

    static func encodeCursor(_ sortName: String, _ id: Member.ID) -> String {
        Data("\(sortName)\n\(id.string)".utf8).base64EncodedString()
    }

    static func decodeCursor(_ text: String) throws -> (String, Member.ID) {
        guard let data = Data(base64Encoded: text), let value = String(data: data, encoding: .utf8),
              let cut = value.lastIndex(of: "\n"), let id = Member.ID(string: String(value[value.index(after: cut)...]))
        else { throw AppError.invalidParameter("cursor", "Not a cursor from this list.") }
        return (String(value[..<cut]), id)
    }

    // MARK: Export

    /// The drill-down list of a day with everyone's answers, as a table (the read is logged).
    func exportTable(_ identity: Identity, _ orgID: Organization.ID, _ reportID: HealthReport.ID, _ query: MemberQuery) async throws -> ExportTable {
        let now = clock.now()
        return try await transactor.run { db, _ in
            let (access, report, day, within, zone) = try await managerContext(db, identity, orgID, reportID, query)
            let rows = try await store.fetchMemberRows(db, report: report, scope: access.scope, day: day, status: query.status, within: within,
                                                       after: nil, limit: nil)
            try await logAccess(db, access, action: .export, report: report, day: day,
                                subjects: rows.filter { $0.submission?.answers != nil }.map(\.person), now: now)
            let header = ["Name", "Departments", "Status", "Colour", "Temperature (°C)", "Submitted at", "Submitted by"] + report.questions.map(\.title)
            let table = rows.map { row -> [ExportTable.Cell] in
                let s = row.submission
                var cells: [ExportTable.Cell] = [
                    .text(row.person.name), .text(row.departments.joined(separator: ", ")), .text(s == nil ? "not reported" : "reported"),
                    s.map { .text($0.colour.rawValue) } ?? .empty, s?.temperature.map { .number($0) } ?? .empty,
                    s.map { .time($0.submittedAt) } ?? .empty, s.map { .text($0.submittedBy.name) } ?? .empty,
                ]
                for q in report.questions {
                    guard let answer = s?.answers?[q.id] else { cells.append(.empty); continue }
                    switch answer {
                    case .temperature(let t): cells.append(.number(t))
                    case .choices(let ids): cells.append(.text(ids.map { id in q.options.first { $0.id == id }?.label ?? id }.joined(separator: "; ")))
                    case .yesNo(let yes): cells.append(.text(yes ? "yes" : "no"))
                    case .text(let text): cells.append(.text(text))
                    case .photo: cells.append(.text("photo"))
                    }
                }
                return cells
            }
            return ExportTable(title: "\(report.title) \(day)", sheetName: day.description, zone: zone, header: header,
                               columnWidths: [24, 24, 14, 10, 16, 20, 20] + report.questions.map { _ in 20 }, rows: table)
        }
    }

    // MARK: DING

    /// DINGs everyone within the caller's scope who has not reported today, from the caller.
    func dingNotReported(_ identity: Identity, _ orgID: Organization.ID, _ reportID: HealthReport.ID, idempotencyKey: String?) async throws -> DingView {
        let now = clock.now()
        let dingID = try await transactor.runIdempotent(scope: "health:\(identity.userID.string)", key: idempotencyKey,
                                                        operation: "dingHealthNotReported", fingerprint: reportID.string) { db, outbox -> Ding.ID in
            let access = try await healthAccess(db, identity, orgID)
            guard let report = try await store.fetchReport(db, orgID: orgID, id: reportID) else { throw AppError.notFound("Health report") }
            guard access.isManager else { throw AppError.forbidden("Only health officers and the organisation's admins DING for a report.") }
            let zone = try await store.fetchTimeZone(db, orgID: orgID)
            let day = LocalDate(now, in: zone)
            guard report.active, let window = report.schedule(in: zone).window(on: day), window.contains(now) else {
                throw AppError.conflict("window_closed", "Today's report is not open now.")
            }
            if let last = try await db.raw("SELECT last_dinged_at FROM health_reports WHERE id = \(bind: reportID)").first()?
                .decode(column: "last_dinged_at", as: Date?.self), now.timeIntervalSince(last) < Self.dingInterval - 0.001 {
                throw AppError.rateLimited(retryAfter: Int((Self.dingInterval - now.timeIntervalSince(last)).rounded(.up)),
                                           "DING those who have not reported at most once every 5 minutes.")
            }
            let pending = try await recipients(db, report, scope: access.scope, day: day).filter { $0 != identity.userID }
            guard !pending.isEmpty else { throw AppError.conflict("nobody_left", "Everyone has reported.") }
            try await db.raw("UPDATE health_reports SET last_dinged_at = \(bind: now) WHERE id = \(bind: reportID)").run()
            return try await ding.insert(db, outbox, orgID: orgID, sender: PersonRef(userID: identity.userID, memberID: access.me.id, name: access.me.name),
                                         text: Self.reminderText(report), channel: .app, scheduledAt: nil, source: nil, announcementID: nil,
                                         recipients: pending, now: now)
        }
        return try await ding.view(identity, orgID, dingID)
    }

    /// Those who have not reported `day`, and the guardians of students among them where the
    /// report lets guardians report.
    func recipients(_ db: any SQLDatabase, _ report: HealthReport, scope: HealthAccess.Scope, day: LocalDate) async throws -> [User.ID] {
        let missing = try await store.fetchNotReported(db, report: report, scope: scope, day: day)
        guard report.allowGuardians else { return missing }
        let guardians = try await store.fetchGuardianUsers(db, orgID: report.orgID, students: missing)
        return Array(Set(missing).union(guardians.values.joined())).sorted { $0.string < $1.string }
    }

    static func reminderText(_ report: HealthReport) -> String {
        "Please fill in today's health report: \(report.title) (until \(clockText(report.closesAt)))."
    }
}
