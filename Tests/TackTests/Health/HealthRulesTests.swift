import Foundation
import Testing
@testable import TackServer

/// The daily report's calendar (days, windows, weekends, holidays, time zones) and the health
/// card's colour rules, as pure functions.
@Suite("Health report rules")
struct HealthRulesTests {
    static let shanghai = TimeZone(identifier: "Asia/Shanghai")!
    static let newYork = TimeZone(identifier: "America/New_York")!

    static func instant(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    @Test("local dates: parsing, weekdays, and the day an instant falls on in a zone")
    func dates() {
        #expect(LocalDate("2026-11-30") == LocalDate(year: 2026, month: 11, day: 30))
        for bad in ["2026-02-30", "2026-13-01", "26-11-30", "2026-11-3", "", "2026-11-30T00:00"] { #expect(LocalDate(bad) == nil, "\(bad)") }
        #expect(LocalDate("2026-11-30")!.isoWeekday == 1, "a Monday")
        #expect(LocalDate("2026-12-06")!.isoWeekday == 7, "a Sunday")
        #expect(LocalDate("2026-12-31")!.adding(days: 1) == LocalDate("2027-01-01"))
        #expect(LocalDate("2028-03-01")!.adding(days: -1) == LocalDate("2028-02-29"))
        // 23:30 UTC on the 29th is already the 30th in Shanghai (UTC+8).
        #expect(LocalDate(Self.instant("2026-11-29T23:30:00Z"), in: Self.shanghai) == LocalDate("2026-11-30"))
        #expect(LocalDate(Self.instant("2026-11-29T23:30:00Z"), in: Self.newYork) == LocalDate("2026-11-29"))
    }

    @Test("day arithmetic agrees with the Gregorian calendar from 1601 to 2400")
    func dayArithmetic() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let start = try #require(calendar.date(from: DateComponents(year: 1601, month: 1, day: 1)))
        let first = Int((start.timeIntervalSince1970 / 86_400).rounded())
        // Every 7th day over 800 years, and every day of 1999–2001 (a century leap year).
        let around2000 = LocalDate(year: 1999, month: 1, day: 1).daysSince1970
        for days in Array(stride(from: first, to: first + 292_194, by: 7)) + Array(around2000..<(around2000 + 1_100)) {
            let c = calendar.dateComponents([.year, .month, .day, .weekday], from: Date(timeIntervalSince1970: Double(days) * 86_400))
            let day = LocalDate(daysSince1970: days)
            #expect(day == LocalDate(year: c.year!, month: c.month!, day: c.day!), "\(days)")
            #expect(day.daysSince1970 == days)
            #expect(day.isoWeekday == (c.weekday! + 5) % 7 + 1, "\(day)")
        }
        #expect(LocalDate("2000-02-29") != nil)
        #expect(LocalDate("1900-02-29") == nil)
        #expect(LocalDate("0000-01-01") == nil)
        #expect(LocalDate(year: 7, month: 3, day: 9).description == "0007-03-09")
    }

    @Test("stored answers are the JSON the encoder wrote, and read back the same")
    func storedAnswers() throws {
        let questions = ["temp", "symptoms", "contact", "city", "photo"].map {
            HealthQuestion(id: $0, kind: .text, title: $0, required: false)
        }
        let answers: [String: HealthAnswer] = [
            "temp": .temperature(36.5), "symptoms": .choices(["cough", "fever \"high\""]), "contact": .yesNo(false),
            "city": .text("杭州 \\ \n\t\u{1}/</script>"), "photo": .photo("A1B2"), "extra": .temperature(37),
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let written = try StoredAnswer.encode(answers, order: questions)
        let expected = String(decoding: try encoder.encode(StoredAnswer.list(answers, order: questions)), as: UTF8.self)
        #expect(written.replacingOccurrences(of: "37.0", with: "37") == expected)
        #expect(try StoredAnswer.decode(written) == answers)
    }

    @Test("the window is in the organisation's time zone; weekends and holidays are skipped when asked")
    func windows() throws {
        let schedule = ReportSchedule(timeZone: Self.shanghai, opensAt: 7 * 60, closesAt: 10 * 60, skipWeekends: true,
                                      holidays: [LocalDate("2027-01-01")!])
        #expect(schedule.validate() == nil)
        let window = try #require(schedule.window(on: LocalDate("2026-11-30")!))
        #expect(window.lowerBound == Self.instant("2026-11-29T23:00:00Z"))
        #expect(schedule.openDay(at: Self.instant("2026-11-29T22:59:59Z")) == nil, "before 07:00 Beijing time")
        #expect(schedule.openDay(at: Self.instant("2026-11-29T23:00:00Z")) == LocalDate("2026-11-30"))
        #expect(schedule.openDay(at: Self.instant("2026-11-30T01:59:59Z")) == LocalDate("2026-11-30"))
        #expect(schedule.openDay(at: Self.instant("2026-11-30T02:00:00Z")) == nil, "10:00 closes it")
        #expect(schedule.openDay(at: Self.instant("2026-12-04T23:30:00Z")) == nil, "Saturday 07:30 in Shanghai")
        #expect(schedule.openDay(at: Self.instant("2026-12-31T23:30:00Z")) == nil, "a holiday")
        #expect(schedule.reportDays(from: LocalDate("2026-11-30")!, through: LocalDate("2026-12-07")!).map(\.description)
                == ["2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04", "2026-12-07"])
        var everyDay = schedule
        everyDay.skipWeekends = false
        #expect(everyDay.openDay(at: Self.instant("2026-12-04T23:30:00Z")) == LocalDate("2026-12-05"))
        for (opens, closes) in [(600, 600), (600, 500), (-1, 60), (0, 1441)] {
            #expect(ReportSchedule(timeZone: Self.shanghai, opensAt: opens, closesAt: closes, skipWeekends: false, holidays: []).validate()
                    == .invalidWindow)
        }
        // The whole day is allowed.
        let allDay = ReportSchedule(timeZone: Self.newYork, opensAt: 0, closesAt: 1440, skipWeekends: false, holidays: [])
        #expect(allDay.openDay(at: Self.instant("2026-12-01T04:59:59Z")) == LocalDate("2026-11-30"), "23:59:59 in New York")
    }

    @Test("a window across a daylight-saving change keeps its wall-clock times")
    func daylightSaving() throws {
        // New York moved from 02:00 to 03:00 on 8 March 2026: 01:00–04:00 is two hours long that day.
        let schedule = ReportSchedule(timeZone: Self.newYork, opensAt: 60, closesAt: 240, skipWeekends: false, holidays: [])
        let window = try #require(schedule.window(on: LocalDate("2026-03-08")!))
        #expect(window.lowerBound == Self.instant("2026-03-08T06:00:00Z"))
        #expect(abs(window.upperBound.timeIntervalSince(window.lowerBound) - 7200) < 0.01)
        let normal = try #require(schedule.window(on: LocalDate("2026-03-09")!))
        #expect(abs(normal.upperBound.timeIntervalSince(normal.lowerBound) - 10800) < 0.01)
    }

    @Test("a day's colour: the temperature against the thresholds, and answers marked yellow or red")
    func assessment() {
        let rules = CardRules.standard
        #expect(rules.assess(temperature: 36.6, flagged: []) == .green)
        #expect(rules.assess(temperature: 37.3, flagged: []) == .yellow)
        #expect(rules.assess(temperature: 38.5, flagged: []) == .red)
        #expect(rules.assess(temperature: nil, flagged: [.yellow]) == .yellow)
        #expect(rules.assess(temperature: 37.5, flagged: [.red, .green]) == .red)
    }

    @Test("back to green after 7 normal report days in a row from yellow and 14 from red; a missed day restarts the count")
    func transitions() {
        let rules = CardRules.standard
        let schedule = ReportSchedule(timeZone: Self.shanghai, opensAt: 420, closesAt: 600, skipWeekends: true, holidays: [])
        let days = schedule.reportDays(from: LocalDate("2026-11-30")!, through: LocalDate("2027-01-31")!)
        func run(_ assessments: [CardColour?]) -> [CardColour] {
            var card = CardState()
            var colours: [CardColour] = []
            for (i, assessment) in assessments.enumerated() {
                if let assessment {
                    card = card.after(day: days[i], assessment: assessment, previousReportDay: i > 0 ? days[i - 1] : nil, rules: rules)
                }
                colours.append(card.colour)
            }
            return colours
        }
        // A fever on Monday, then normal days (the weekend between does not break the run).
        let yellow = run([.yellow] + Array(repeating: .green, count: 7))
        #expect(yellow == Array(repeating: .yellow, count: 7) + [.green])
        let red = run([.red] + Array(repeating: .green, count: 14))
        #expect(red == Array(repeating: .red, count: 14) + [.green])
        // A yellow day while red does not lower it, and restarts the count.
        #expect(run([.red, .green, .yellow] + Array(repeating: .green, count: 13)).last == .red)
        #expect(run([.red, .green, .yellow] + Array(repeating: .green, count: 14)).last == .green)
        // Not reporting on a report day breaks the run of normal days.
        let missed = run([.yellow, .green, .green, .green, nil] + Array(repeating: .green, count: 6))
        #expect(missed.last == .yellow)
        #expect(run([.yellow, .green, .green, .green, nil] + Array(repeating: .green, count: 7)).last == .green)
    }
}
