import Foundation
import TackAPI

// How the health report looks in the API: the schemas of `openapi.yaml`.

extension HealthReport {
    func api(_ viewer: HealthViewer) -> Components.Schemas.HealthReport {
        .init(id: id.string, orgId: orgID.string, title: title, wholeOrganization: wholeOrganization, departmentIds: departmentIDs.map(\.string),
              questions: questions.map(\.api), opensAt: HealthService.clockText(opensAt), closesAt: HealthService.clockText(closesAt),
              timeZone: viewer.zone.identifier, skipWeekends: skipWeekends, holidays: holidays.map(\.description), allowGuardians: allowGuardians,
              aggregatesVisible: aggregatesVisible, rules: rules.api,
              reminders: reminders.map { .init(at: HealthService.clockText($0.at), channel: .init(rawValue: $0.channel.rawValue)!) },
              retentionDays: retentionDays, active: active, createdBy: createdBy.api, createdAt: createdAt, updatedAt: updatedAt, canManage: viewer.access.canManage(self))
    }
}

extension HealthQuestion {
    var api: Components.Schemas.HealthQuestion {
        .init(id: id, kind: .init(rawValue: kind.rawValue)!, title: title, required: required,
              options: kind == .singleChoice || kind == .multipleChoice
                  ? options.map { .init(id: $0.id, label: $0.label, colour: .init(rawValue: $0.colour.rawValue)!) } : nil,
              yesColour: kind == .yesNo ? .init(rawValue: yesColour.rawValue)! : nil)
    }

    init(_ api: Components.Schemas.HealthQuestion) {
        self.init(id: api.id, kind: Kind(rawValue: api.kind.rawValue)!, title: api.title, required: api.required,
                  options: (api.options ?? []).map { Option(id: $0.id, label: $0.label, colour: $0.colour.flatMap { CardColour(rawValue: $0.rawValue) } ?? .green) },
                  yesColour: api.yesColour.flatMap { CardColour(rawValue: $0.rawValue) } ?? .green)
    }
}

extension CardRules {
    var api: Components.Schemas.HealthCardRules {
        .init(yellowTemperature: yellowTemperature, redTemperature: redTemperature, greenAfterYellowDays: greenAfterYellowDays,
              greenAfterRedDays: greenAfterRedDays)
    }
}

extension StoredAnswer {
    var api: Components.Schemas.HealthAnswer {
        .init(questionId: questionId, temperature: temperature, choices: choices, yes: yes, text: text, photoId: photoId)
    }

    init(_ api: Components.Schemas.HealthAnswer) {
        self.init(questionId: api.questionId, temperature: api.temperature, choices: api.choices, yes: api.yes, text: api.text, photoId: api.photoId)
    }
}

extension HealthSubmission {
    func api(questions: [HealthQuestion]) -> Components.Schemas.HealthSubmission {
        .init(reportId: reportID.string, day: day.description, member: person.api,
              answers: answers.map { StoredAnswer.list($0, order: questions).map(\.api) }, temperature: temperature,
              colour: .init(rawValue: colour.rawValue)!, submittedAt: submittedAt, submittedBy: submittedBy.api, revision: revision)
    }
}

extension HealthCardView {
    var api: Components.Schemas.HealthCard {
        .init(reportId: reportID.string, reportTitle: reportTitle, member: person.api, colour: .init(rawValue: record.state.colour.rawValue)!,
              day: day.description, code: record.codeDay == day ? Self.display(record.code ?? "") : "", normalStreak: record.state.normalStreak,
              daysToGreen: record.daysToGreen(rules))
    }

    /// `ABCD-EFGH`: easier to read out at a door.
    static func display(_ code: String) -> String {
        code.count == 8 ? "\(code.prefix(4))-\(code.suffix(4))" : code
    }
}

extension HealthTotals {
    var api: Components.Schemas.HealthTotals {
        .init(day: day.description, audience: audience, reported: reported, notReported: notReported, green: green, yellow: yellow, red: red)
    }
}

extension HealthAccessEntry {
    var api: Components.Schemas.HealthAccessEntry {
        .init(id: id.string, reader: reader.api, action: .init(rawValue: action.rawValue)!, reportId: reportID.string, day: day?.description,
              subjectCount: subjectCount, subjects: subjects.map(\.api), at: at)
    }
}

extension HealthPhoto {
    var api: Components.Schemas.HealthPhoto { .init(id: id.string, contentType: contentType, size: Int(size)) }
}
