import Foundation

/// A member's health card colour.
enum CardColour: String, Sendable, Codable, Comparable, CaseIterable {
    case green, yellow, red

    private var rank: Int { [.green: 0, .yellow: 1, .red: 2][self]! }
    static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }
}

/// The rules an admin sets for the card: which answers make a day abnormal, and how many
/// consecutive normal report days bring a card back to green (the 2020 health codes: 7 from
/// yellow, 14 from red).
struct CardRules: Sendable, Equatable, Codable {
    /// A temperature at or above this (°C) is yellow…
    var yellowTemperature: Double = 37.3
    /// …and at or above this, red.
    var redTemperature: Double = 38.5
    var greenAfterYellowDays: Int = 7
    var greenAfterRedDays: Int = 14

    static let standard = CardRules()

    /// The colour of one day's answers alone: the highest of what the temperature says and of
    /// the colour each answered choice is marked with (e.g. "cough" → yellow, "contact with a
    /// confirmed case" → red).
    func assess(temperature: Double?, flagged: [CardColour]) -> CardColour {
        var colour = CardColour.green
        if let t = temperature {
            if t >= redTemperature { colour = .red } else if t >= yellowTemperature { colour = .yellow }
        }
        return max(colour, flagged.max() ?? .green)
    }
}

/// A member's card as it stands after their reports so far.
struct CardState: Sendable, Equatable, Codable {
    var colour: CardColour = .green
    /// Normal report days in a row since the last abnormal one.
    var normalStreak: Int = 0
    /// The last report day counted.
    var lastDay: LocalDate?

    /// The card after the report of `day`, assessed `assessment`. `previousReportDay` is the
    /// report day before `day` (weekends and holidays skipped): a streak continues only if the
    /// member reported on it. An abnormal day raises the card (never lowers it) and restarts the
    /// streak; enough normal days in a row bring it back to green.
    func after(day: LocalDate, assessment: CardColour, previousReportDay: LocalDate?, rules: CardRules) -> CardState {
        var next = self
        next.lastDay = day
        if assessment != .green {
            next.colour = max(colour, assessment)
            next.normalStreak = 0
            return next
        }
        next.normalStreak = (lastDay != nil && lastDay == previousReportDay) ? normalStreak + 1 : 1
        switch colour {
        case .green: break
        case .yellow: if next.normalStreak >= rules.greenAfterYellowDays { next.colour = .green }
        case .red: if next.normalStreak >= rules.greenAfterRedDays { next.colour = .green }
        }
        return next
    }
}
