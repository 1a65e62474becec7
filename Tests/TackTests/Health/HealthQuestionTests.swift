import Foundation
import Testing
@testable import TackServer

/// A daily report's questions as admins write them, and members' answers checked against them.
@Suite("Health report questions")
struct HealthQuestionTests {
    static let questions: [HealthQuestion] = [
        .init(id: "temp", kind: .temperature, title: "Body temperature", required: true),
        .init(id: "symptoms", kind: .multipleChoice, title: "Symptoms", required: true,
              options: [.init(id: "none", label: "None"), .init(id: "cough", label: "Cough", colour: .yellow),
                        .init(id: "fever", label: "Fever", colour: .yellow)]),
        .init(id: "contact", kind: .yesNo, title: "Contact with a confirmed case?", required: true, yesColour: .red),
        .init(id: "where", kind: .singleChoice, title: "Working from", required: false,
              options: [.init(id: "home", label: "Home"), .init(id: "office", label: "Office")]),
        .init(id: "city", kind: .city, title: "Current city", required: false),
        .init(id: "note", kind: .text, title: "Anything else", required: false),
        .init(id: "photo", kind: .photo, title: "Health code", required: false),
    ]

    func problem(_ body: () throws -> Void) -> (field: String?, code: String?) {
        do {
            try body()
            return (nil, nil)
        } catch let error as AppError {
            return (error.errors.first?.field, error.errors.first?.code)
        } catch {
            return (nil, "\(error)")
        }
    }

    @Test("an admin's questions: ids unique and plain, titles present, choices only where they belong")
    func definitions() throws {
        try HealthQuestion.validate(Self.questions)
        var q = Self.questions
        #expect(problem { try HealthQuestion.validate([]) }.code == "empty")
        q[1].id = "temp"
        #expect(problem { try HealthQuestion.validate(q) } == ("questions[1].id", "duplicate"))
        q = Self.questions
        q[0].id = "tem p"
        #expect(problem { try HealthQuestion.validate(q) }.code == "invalid_id")
        q = Self.questions
        q[2].title = "  "
        #expect(problem { try HealthQuestion.validate(q) } == ("questions[2].title", "invalid_title"))
        q = Self.questions
        q[3].options = [.init(id: "home", label: "Home")]
        #expect(problem { try HealthQuestion.validate(q) }.code == "invalid_options")
        q = Self.questions
        q[3].options[1].id = "home"
        #expect(problem { try HealthQuestion.validate(q) }.code == "invalid_options")
        q = Self.questions
        q[0].options = [.init(id: "a", label: "A"), .init(id: "b", label: "B")]
        #expect(problem { try HealthQuestion.validate(q) } == ("questions[0].options", "invalid_options"))
        #expect(problem { try HealthQuestion.validate(Array(repeating: Self.questions[0], count: 51)) }.code == "too_many")
    }

    @Test("answers are checked per kind; the day's colour follows from them")
    func answers() throws {
        let ok = try CheckedAnswers.check(["temp": .temperature(36.64), "symptoms": .choices(["none"]), "contact": .yesNo(false),
                                           "city": .text("  杭州  "), "note": .text("")], against: Self.questions)
        #expect(ok.answers["temp"] == .temperature(36.6))
        #expect(ok.answers["city"] == .text("杭州"))
        #expect(ok.answers["note"] == nil, "an empty optional text is no answer")
        #expect(ok.assessment(.standard) == .green)

        let fever = try CheckedAnswers.check(["temp": .temperature(37.4), "symptoms": .choices(["cough"]), "contact": .yesNo(false)],
                                             against: Self.questions)
        #expect(fever.assessment(.standard) == .yellow)
        let contact = try CheckedAnswers.check(["temp": .temperature(36.5), "symptoms": .choices(["none"]), "contact": .yesNo(true)],
                                               against: Self.questions)
        #expect(contact.assessment(.standard) == .red)

        let base: [String: HealthAnswer] = ["temp": .temperature(36.5), "symptoms": .choices(["none"]), "contact": .yesNo(false)]
        func check(_ change: [String: HealthAnswer?]) -> (field: String?, code: String?) {
            var answers = base
            for (k, v) in change { answers[k] = v }
            return problem { _ = try CheckedAnswers.check(answers, against: Self.questions) }
        }
        #expect(check(["temp": nil]) == ("answers.temp", "missing_answer"))
        #expect(check(["temp": .temperature(45)]) == ("answers.temp", "out_of_range"))
        #expect(check(["temp": .temperature(33.9)]).code == "out_of_range")
        #expect(check(["temp": .text("36.5")]) == ("answers.temp", "wrong_type"))
        #expect(check(["symptoms": .choices([])]).code == "invalid_choice")
        #expect(check(["symptoms": .choices(["cough", "cough"])]).code == "invalid_choice")
        #expect(check(["symptoms": .choices(["sneeze"])]) == ("answers.symptoms", "unknown_option"))
        #expect(check(["where": .choices(["home", "office"])]) == ("answers.where", "invalid_choice"), "single choice: one")
        #expect(check(["note": .text(String(repeating: "x", count: 501))]).code == "too_long")
        #expect(check(["photo": .photo("not-an-id")]).code == "unknown_photo")
        #expect(check(["mood": .text("fine")]) == ("answers.mood", "unknown_question"))
        #expect(check([:]) == (nil, nil))
    }
}
