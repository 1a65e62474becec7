import Foundation

/// One question of a daily report.
struct HealthQuestion: Sendable, Equatable, Codable {
    enum Kind: String, Sendable, Codable, CaseIterable {
        case temperature
        case singleChoice = "single_choice"
        case multipleChoice = "multiple_choice"
        case yesNo = "yes_no"
        case text
        case city
        case photo
    }

    /// A choice, and the colour choosing it gives the day ("cough" → yellow).
    struct Option: Sendable, Equatable, Codable {
        var id: String
        var label: String
        var colour: CardColour = .green
    }

    /// Stable within its report (answers name it).
    var id: String
    var kind: Kind
    var title: String
    var required: Bool
    /// Choices (single and multiple choice only).
    var options: [Option] = []
    /// Yes/no: the colour a "yes" gives ("contact with a confirmed case?" → red).
    var yesColour: CardColour = .green

    static let maxQuestions = 50
    static let maxOptions = 30
    static let maxText = 500

    /// Checks a report's questions as an admin wrote them.
    static func validate(_ questions: [HealthQuestion]) throws {
        guard !questions.isEmpty else { throw AppError.invalid("questions", "Ask at least one question.", code: "empty") }
        guard questions.count <= maxQuestions else { throw AppError.invalid("questions", "At most \(maxQuestions) questions.", code: "too_many") }
        var ids: Set<String> = []
        for (i, q) in questions.enumerated() {
            let field = "questions[\(i)]"
            guard (1...40).contains(q.id.count), q.id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
                throw AppError.invalid("\(field).id", "1 to 40 letters, digits, '-' or '_'.", code: "invalid_id")
            }
            guard ids.insert(q.id).inserted else { throw AppError.invalid("\(field).id", "Each question needs its own id.", code: "duplicate") }
            guard !q.title.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, q.title.count <= 200 else {
                throw AppError.invalid("\(field).title", "1 to 200 characters.", code: "invalid_title")
            }
            let choice = q.kind == .singleChoice || q.kind == .multipleChoice
            if choice {
                guard (2...maxOptions).contains(q.options.count) else {
                    throw AppError.invalid("\(field).options", "2 to \(maxOptions) choices.", code: "invalid_options")
                }
                guard Set(q.options.map(\.id)).count == q.options.count,
                      q.options.allSatisfy({ !$0.id.isEmpty && $0.id.count <= 40 && !$0.label.trimmingCharacters(in: .whitespaces).isEmpty && $0.label.count <= 100 })
                else { throw AppError.invalid("\(field).options", "Each choice needs its own id and a label of 1 to 100 characters.", code: "invalid_options") }
            } else if !q.options.isEmpty {
                throw AppError.invalid("\(field).options", "Only choice questions have choices.", code: "invalid_options")
            }
        }
    }
}

/// One answer, as a member gives it.
enum HealthAnswer: Sendable, Equatable, Codable {
    case temperature(Double)
    case choices([String])
    case yesNo(Bool)
    case text(String)
    /// An uploaded photo, by its attachment id.
    case photo(String)
}

/// A day's answers, checked against the questions, and what they say about the card.
struct CheckedAnswers: Sendable, Equatable {
    var answers: [String: HealthAnswer]
    var temperature: Double?
    /// The colours the answers are marked with.
    var flagged: [CardColour]

    /// A plausible body temperature in °C (a reading outside is a typo or a broken thermometer).
    static let plausibleTemperature: ClosedRange<Double> = 34.0...43.0

    /// Checks `answers` against `questions`: every required question answered, each answer of the
    /// question's kind and within its limits, no answers to questions that do not exist.
    static func check(_ answers: [String: HealthAnswer], against questions: [HealthQuestion]) throws -> CheckedAnswers {
        let byID = Dictionary(questions.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        if let unknown = answers.keys.sorted().first(where: { byID[$0] == nil }) {
            throw AppError.invalid("answers.\(unknown)", "There is no such question.", code: "unknown_question")
        }
        var checked = CheckedAnswers(answers: [:], temperature: nil, flagged: [])
        for q in questions {
            let field = "answers.\(q.id)"
            guard let answer = answers[q.id] else {
                if q.required { throw AppError.invalid(field, "This question must be answered.", code: "missing_answer") }
                continue
            }
            switch (q.kind, answer) {
            case (.temperature, .temperature(let t)):
                guard plausibleTemperature.contains(t) else {
                    throw AppError.invalid(field, "A body temperature between 34.0 and 43.0 °C.", code: "out_of_range")
                }
                let rounded = (t * 10).rounded() / 10
                checked.temperature = max(checked.temperature ?? rounded, rounded)
                checked.answers[q.id] = .temperature(rounded)
            case (.singleChoice, .choices(let ids)), (.multipleChoice, .choices(let ids)):
                guard Set(ids).count == ids.count, !ids.isEmpty, q.kind == .multipleChoice || ids.count == 1 else {
                    throw AppError.invalid(field, q.kind == .singleChoice ? "Choose one." : "Choose at least one, each once.", code: "invalid_choice")
                }
                for id in ids {
                    guard let option = q.options.first(where: { $0.id == id }) else {
                        throw AppError.invalid(field, "That is not one of the choices.", code: "unknown_option")
                    }
                    checked.flagged.append(option.colour)
                }
                checked.answers[q.id] = answer
            case (.yesNo, .yesNo(let yes)):
                if yes { checked.flagged.append(q.yesColour) }
                checked.answers[q.id] = answer
            case (.text, .text(let text)), (.city, .text(let text)):
                let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
                guard trimmed.count <= (q.kind == .city ? 100 : HealthQuestion.maxText) else {
                    throw AppError.invalid(field, "Too long.", code: "too_long")
                }
                if trimmed.isEmpty {
                    if q.required { throw AppError.invalid(field, "This question must be answered.", code: "missing_answer") }
                    continue
                }
                checked.answers[q.id] = .text(trimmed)
            case (.photo, .photo(let id)):
                guard UUID(uuidString: id) != nil else { throw AppError.invalid(field, "Upload the photo first.", code: "unknown_photo") }
                checked.answers[q.id] = answer
            default:
                throw AppError.invalid(field, "This answer does not fit the question (\(q.kind.rawValue)).", code: "wrong_type")
            }
        }
        return checked
    }

    /// The day's colour under `rules`.
    func assessment(_ rules: CardRules) -> CardColour { rules.assess(temperature: temperature, flagged: flagged) }
}
