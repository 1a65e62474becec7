import Foundation
import SQLKit
import Synchronization
import Tagged

/// A daily health report: who answers it, its questions, its window, and its card rules.
struct HealthReport: Sendable, Equatable {
    typealias ID = Tagged<HealthReport, UUID>
    var id: ID
    var orgID: Organization.ID
    var title: String
    var questions: [HealthQuestion]
    var wholeOrganization: Bool
    var departmentIDs: [Department.ID]
    /// Minutes after local midnight: the window is [opensAt, closesAt).
    var opensAt: Int
    var closesAt: Int
    var skipWeekends: Bool
    var holidays: [LocalDate]
    var allowGuardians: Bool
    var aggregatesVisible: Bool
    var rules: CardRules
    var reminders: [HealthReminder]
    var retentionDays: Int
    var active: Bool
    var createdBy: PersonRef
    var createdAt: Date
    var updatedAt: Date

    func schedule(in zone: TimeZone) -> ReportSchedule {
        ReportSchedule(timeZone: zone, opensAt: opensAt, closesAt: closesAt, skipWeekends: skipWeekends, holidays: Set(holidays))
    }
}

/// A reminder to those who have not reported: at a local time, in the app or as a DING.
struct HealthReminder: Sendable, Equatable, Codable {
    enum Channel: String, Sendable, Codable { case app, ding }
    /// Minutes after local midnight.
    var at: Int
    var channel: Channel
}

/// One person's report of one day, as stored.
struct HealthSubmission: Sendable, Equatable {
    var reportID: HealthReport.ID
    var orgID: Organization.ID
    var day: LocalDate
    var person: PersonRef
    /// Nil once expired (the colour stays).
    var answers: [String: HealthAnswer]?
    var temperature: Double?
    var colour: CardColour
    var revision: Int
    var submittedBy: PersonRef
    var submittedAt: Date
}

/// A person's card as stored: its state now, the state before its last report day (a correction
/// that day recomputes from there), and today's check code.
struct HealthCardRecord: Sendable, Equatable {
    var state: CardState
    var prior: CardState
    var code: String?
    var codeDay: LocalDate?

    static let new = HealthCardRecord(state: CardState(), prior: CardState(), code: nil, codeDay: nil)

    /// The state a report of `day` builds on: before `day` if `day` was already counted.
    func base(for day: LocalDate) -> CardState { state.lastDay == day ? prior : state }

    /// Report days still needed back to green.
    func daysToGreen(_ rules: CardRules) -> Int? {
        switch state.colour {
        case .green: nil
        case .yellow: max(0, rules.greenAfterYellowDays - state.normalStreak)
        case .red: max(0, rules.greenAfterRedDays - state.normalStreak)
        }
    }
}

/// A card with whose it is and today's code, as the API shows it.
struct HealthCardView: Sendable {
    var reportID: HealthReport.ID
    var reportTitle: String
    var person: PersonRef
    var record: HealthCardRecord
    var rules: CardRules
    var day: LocalDate
}

/// Who sees what of a report: the caller's membership and the people whose answers they may read.
struct HealthAccess: Sendable {
    enum Scope: Sendable, Equatable {
        /// Owners and admins: the whole audience.
        case all
        /// Health officers: members of these departments (theirs and everything below).
        case departments(Set<Department.ID>)
        case none
    }

    var me: Member
    var scope: Scope

    var isManager: Bool { scope != .none }

    /// Whether one may set up and change a report for this audience: admins any, health
    /// officers one for departments within their scope.
    func canManage(wholeOrganization: Bool, departments: [Department.ID]) -> Bool {
        switch scope {
        case .all: true
        case .departments(let mine): !wholeOrganization && Set(departments).isSubset(of: mine)
        case .none: false
        }
    }

    func canManage(_ report: HealthReport) -> Bool { canManage(wholeOrganization: report.wholeOrganization, departments: report.departmentIDs) }
}

/// Who reads reports (what they may do) and the organisation's time zone, to present them.
struct HealthViewer: Sendable {
    var access: HealthAccess
    var zone: TimeZone
}

/// Counts of one day.
struct HealthTotals: Sendable, Equatable, Codable {
    var day: LocalDate
    var audience: Int
    var reported: Int
    var green: Int
    var yellow: Int
    var red: Int

    var notReported: Int { max(0, audience - reported) }
    var abnormal: Int { yellow + red }
}

/// A department's counts (its members and everything below it).
struct HealthDepartmentTotals: Sendable, Equatable {
    var department: Department
    var audience: Int
    var reported: Int
    var abnormal: Int
}

struct HealthDashboard: Sendable {
    var reportID: HealthReport.ID
    var day: LocalDate
    var reportDay: Bool
    var totals: HealthTotals
    var departments: [HealthDepartmentTotals]
    var trend: [HealthTotals]
}

/// A drill-down row: a member of the audience and their report of the day, if any.
struct HealthMemberRow: Sendable {
    var person: PersonRef
    var sortName: String
    var departments: [String]
    var submission: HealthSubmission?
}

enum HealthStatusFilter: String, Sendable { case all, reported, notReported = "not_reported", abnormal }

/// A read of other people's answers, for the organisation's owners to see.
struct HealthAccessEntry: Sendable {
    typealias ID = Tagged<HealthAccessEntry, UUID>
    enum Action: String, Sendable { case answers, history, export, photo }
    var id: ID
    var orgID: Organization.ID
    var reader: PersonRef
    var action: Action
    var reportID: HealthReport.ID
    var day: LocalDate?
    var subjectCount: Int
    var subjects: [PersonRef]
    var at: Date
}

struct HealthPhoto: Sendable, Equatable {
    typealias ID = Tagged<HealthPhoto, UUID>
    var id: ID
    var orgID: Organization.ID
    var uploaderID: User.ID
    var subjectID: User.ID?
    var reportID: HealthReport.ID?
    var contentType: String
    var size: Int64
    var sha256: String
    var createdAt: Date
}

/// Answers as stored (and as the API carries them): one object per question, the field that
/// fits its kind.
struct StoredAnswer: Sendable, Codable, Equatable {
    var questionId: String
    var temperature: Double?
    var choices: [String]?
    var yes: Bool?
    var text: String?
    var photoId: String?

    init(questionId: String, temperature: Double? = nil, choices: [String]? = nil, yes: Bool? = nil, text: String? = nil, photoId: String? = nil) {
        (self.questionId, self.temperature, self.choices, self.yes, self.text, self.photoId) = (questionId, temperature, choices, yes, text, photoId)
    }

    init(_ id: String, _ answer: HealthAnswer) {
        switch answer {
        case .temperature(let t): self.init(questionId: id, temperature: t)
        case .choices(let c): self.init(questionId: id, choices: c)
        case .yesNo(let y): self.init(questionId: id, yes: y)
        case .text(let t): self.init(questionId: id, text: t)
        case .photo(let p): self.init(questionId: id, photoId: p)
        }
    }

    /// The answer, if exactly one field is given.
    var answer: HealthAnswer? {
        var found: [HealthAnswer] = []
        if let temperature { found.append(.temperature(temperature)) }
        if let choices { found.append(.choices(choices)) }
        if let yes { found.append(.yesNo(yes)) }
        if let text { found.append(.text(text)) }
        if let photoId { found.append(.photo(photoId)) }
        return found.count == 1 ? found[0] : nil
    }

    /// Answers by question, in the questions' order, as stored.
    static func list(_ answers: [String: HealthAnswer], order questions: [HealthQuestion]) -> [StoredAnswer] {
        let ordered = questions.map(\.id).filter { answers[$0] != nil }
        let rest = answers.keys.filter { id in !questions.contains { $0.id == id } }.sorted()
        return (ordered + rest).map { StoredAnswer($0, answers[$0]!) }
    }

    /// The stored form: a JSON array of `{"questionId": …, <one answer field>}`, keys sorted as
    /// `JSONEncoder.tack` wrote them. Written by hand: every report of the morning surge stores
    /// one, and the encoder took 3 % of the surge's CPU.
    static func encode(_ answers: [String: HealthAnswer], order questions: [HealthQuestion]) throws -> String {
        var out = "["
        for (i, item) in list(answers, order: questions).enumerated() {
            if i > 0 { out += "," }
            // Sorted keys: choices, photoId, questionId, temperature, text, yes.
            out += "{"
            switch answers[item.questionId]! {
            case .choices(let choices):
                out += "\"choices\":[" + choices.map(Self.quoted).joined(separator: ",") + "],\"questionId\":" + quoted(item.questionId)
            case .photo(let id): out += "\"photoId\":" + quoted(id) + ",\"questionId\":" + quoted(item.questionId)
            case .temperature(let t):
                guard t.isFinite else { throw EncodingError.invalidValue(t, .init(codingPath: [], debugDescription: "Not a number")) }
                out += "\"questionId\":" + quoted(item.questionId) + ",\"temperature\":" + t.description
            case .text(let text): out += "\"questionId\":" + quoted(item.questionId) + ",\"text\":" + quoted(text)
            case .yesNo(let yes): out += "\"questionId\":" + quoted(item.questionId) + ",\"yes\":" + (yes ? "true" : "false")
            }
            out += "}"
        }
        return out + "]"
    }

    /// A JSON string literal.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func decode(_ text: String) throws -> [String: HealthAnswer] {
        let items = try JSONDecoder.tack.decode([StoredAnswer].self, from: Data(text.utf8))
        return Dictionary(items.compactMap { item in item.answer.map { (item.questionId, $0) } }, uniquingKeysWith: { a, _ in a })
    }
}

/// Reports and their organisation's time zone for the submission path, kept for a second: at
/// 08:00 every report would otherwise read the same report, its departments and the zone again.
/// A change on this node is seen at once (`forget`); on another node within a second.
final class HealthReportCache: Sendable {
    private struct Entry { var report: HealthReport; var zone: TimeZone; var until: ContinuousClock.Instant }
    private let entries = Mutex<[HealthReport.ID: Entry]>([:])
    private let lifetime: Duration = .seconds(1)

    func get(_ db: any SQLDatabase, orgID: Organization.ID, id: HealthReport.ID, store: HealthStore) async throws -> (HealthReport, TimeZone) {
        let now = ContinuousClock.now
        if let entry = entries.withLock({ $0[id] }), entry.until > now, entry.report.orgID == orgID { return (entry.report, entry.zone) }
        guard let report = try await store.fetchReport(db, orgID: orgID, id: id) else { throw AppError.notFound("Health report") }
        let zone = try await store.fetchTimeZone(db, orgID: orgID)
        entries.withLock { entries in
            if entries.count > 10_000 { entries.removeAll() }
            entries[id] = Entry(report: report, zone: zone, until: now + lifetime)
        }
        return (report, zone)
    }

    func forget(_ id: HealthReport.ID) { _ = entries.withLock { $0.removeValue(forKey: id) } }
}
