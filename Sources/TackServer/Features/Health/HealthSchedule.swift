import Foundation

/// A calendar day in an organisation's time zone (what "today's report" means).
struct LocalDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    var year: Int
    var month: Int
    var day: Int

    init(year: Int, month: Int, day: Int) {
        (self.year, self.month, self.day) = (year, month, day)
    }

    /// `YYYY-MM-DD`, or nil if that is not a real day.
    init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]) else { return nil }
        self.init(year: y, month: m, day: d)
        guard let date = start(in: LocalDate.utc), LocalDate(date, in: LocalDate.utc) == self else { return nil }
    }

    /// The day `date` falls on in `zone`.
    init(_ date: Date, in zone: TimeZone) {
        let c = LocalDate.calendar(zone).dateComponents([.year, .month, .day], from: date)
        self.init(year: c.year!, month: c.month!, day: c.day!)
    }

    var description: String { String(format: "%04d-%02d-%02d", year, month, day) }

    static func < (a: Self, b: Self) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }

    /// Midnight at the start of this day in `zone`.
    func start(in zone: TimeZone) -> Date? {
        LocalDate.calendar(zone).date(from: DateComponents(year: year, month: month, day: day))
    }

    /// The day `days` later (earlier if negative).
    func adding(days: Int) -> LocalDate {
        LocalDate(LocalDate.utcCalendar.date(byAdding: .day, value: days, to: start(in: LocalDate.utc)!)!, in: LocalDate.utc)
    }

    /// 1 = Monday … 7 = Sunday.
    var isoWeekday: Int {
        let weekday = LocalDate.utcCalendar.component(.weekday, from: start(in: LocalDate.utc)!)  // 1 = Sunday
        return (weekday + 5) % 7 + 1
    }

    /// Days as such are counted in UTC, where every day is 24 hours.
    static let utc = TimeZone(identifier: "UTC")!
    private static let utcCalendar = calendar(utc)

    static func calendar(_ zone: TimeZone) -> Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar
    }
}

/// When a daily report is due: the days it runs and its window on each, in the organisation's
/// time zone (07:00–10:00 means that in Beijing for a Beijing school, whatever the server's zone).
struct ReportSchedule: Sendable, Equatable {
    var timeZone: TimeZone
    /// Minutes after local midnight: the window is [opens, closes).
    var opensAt: Int
    var closesAt: Int
    var skipWeekends: Bool
    var holidays: Set<LocalDate>

    enum Problem: Equatable { case invalidWindow }

    /// Checks the window: within one day, at least a minute long.
    func validate() -> Problem? {
        (0..<1440).contains(opensAt) && (1...1440).contains(closesAt) && opensAt < closesAt ? nil : .invalidWindow
    }

    /// Whether members report on `day` at all.
    func isReportDay(_ day: LocalDate) -> Bool {
        if holidays.contains(day) { return false }
        if skipWeekends, day.isoWeekday >= 6 { return false }
        return true
    }

    /// The window of `day` as instants (a daylight-saving change inside it is honoured).
    func window(on day: LocalDate) -> ClosedRange<Date>? {
        guard isReportDay(day), let midnight = day.start(in: timeZone) else { return nil }
        let calendar = LocalDate.calendar(timeZone)
        func at(_ minutes: Int) -> Date? {
            calendar.date(bySettingHour: minutes / 60 % 24, minute: minutes % 60, second: 0, of: midnight)
                .map { minutes == 1440 ? calendar.date(byAdding: .day, value: 1, to: midnight)! : $0 }
        }
        guard let open = at(opensAt), let close = at(closesAt), open < close else { return nil }
        return open...close.addingTimeInterval(-0.001)
    }

    /// The report day whose window is open at `now`, if any.
    func openDay(at now: Date) -> LocalDate? {
        let day = LocalDate(now, in: timeZone)
        guard let window = window(on: day), window.contains(now) else { return nil }
        return day
    }

    /// The last report day before `day` (within a year), if any.
    func previousReportDay(before day: LocalDate) -> LocalDate? {
        var candidate = day.adding(days: -1)
        for _ in 0..<366 {
            if isReportDay(candidate) { return candidate }
            candidate = candidate.adding(days: -1)
        }
        return nil
    }

    /// The first instant after `now` at which a local time of a report day comes (reminders),
    /// looking up to two weeks ahead.
    func next(minutes: Int, after now: Date) -> (LocalDate, Date)? {
        var day = LocalDate(now, in: timeZone).adding(days: -1)
        let calendar = LocalDate.calendar(timeZone)
        for _ in 0..<16 {
            if isReportDay(day), let midnight = day.start(in: timeZone),
               let at = calendar.date(bySettingHour: minutes / 60 % 24, minute: minutes % 60, second: 0, of: midnight) {
                let instant = minutes >= 1440 ? calendar.date(byAdding: .day, value: 1, to: midnight)! : at
                if instant > now { return (day, instant) }
            }
            day = day.adding(days: 1)
        }
        return nil
    }

    /// The report days from `first` through `last`, in order.
    func reportDays(from first: LocalDate, through last: LocalDate) -> [LocalDate] {
        var days: [LocalDate] = []
        var day = first
        while day <= last {
            if isReportDay(day) { days.append(day) }
            day = day.adding(days: 1)
        }
        return days
    }
}
