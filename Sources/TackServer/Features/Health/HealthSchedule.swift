import Foundation
import Synchronization

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
        guard (1...9999).contains(y), (1...12).contains(m), (1...31).contains(d), LocalDate(daysSince1970: daysSince1970) == self else { return nil }
    }

    /// The day `days` days after 1970-01-01 (proleptic Gregorian calendar; arithmetic, not
    /// `Calendar`, whose calls were 3 % of the morning surge's CPU). Howard Hinnant's
    /// `civil_from_days`.
    init(daysSince1970 days: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153  // 0 = March
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        self.init(year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month: month, day: dayOfYear - (153 * shiftedMonth + 2) / 5 + 1)
    }

    /// Days since 1970-01-01 (`days_from_civil`).
    var daysSince1970: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * ((month + 9) % 12) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The day `date` falls on in `zone`.
    init(_ date: Date, in zone: TimeZone) {
        let c = LocalDate.calendar(zone).dateComponents([.year, .month, .day], from: date)
        self.init(year: c.year!, month: c.month!, day: c.day!)
    }

    /// `YYYY-MM-DD` (written by hand: `String(format:)` cost 2 % of the morning surge's CPU).
    var description: String {
        func digits(_ n: Int, _ width: Int) -> String {
            let s = String(n)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return digits(year, 4) + "-" + digits(month, 2) + "-" + digits(day, 2)
    }

    static func < (a: Self, b: Self) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }

    /// Midnight at the start of this day in `zone`.
    func start(in zone: TimeZone) -> Date? {
        LocalDate.calendar(zone).date(from: DateComponents(year: year, month: month, day: day))
    }

    /// The day `days` later (earlier if negative).
    func adding(days: Int) -> LocalDate { LocalDate(daysSince1970: daysSince1970 + days) }

    /// 1 = Monday … 7 = Sunday (1970-01-01 was a Thursday).
    var isoWeekday: Int { ((daysSince1970 % 7 + 7) % 7 + 3) % 7 + 1 }

    /// Days as such are counted in UTC, where every day is 24 hours.
    static let utc = TimeZone(identifier: "UTC")!

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
        guard isReportDay(day) else { return nil }
        // Every report of the morning asks for the same few windows; `Calendar` takes ~20 µs.
        let key = WindowKey(zone: timeZone, day: day, opensAt: opensAt, closesAt: closesAt)
        if let known = Self.windows.withLock({ $0[key] }) { return known }
        let window = computeWindow(on: day)
        Self.windows.withLock { windows in
            if windows.count >= 4096 { windows.removeAll() }
            windows[key] = window
        }
        return window
    }

    private struct WindowKey: Hashable { var zone: TimeZone; var day: LocalDate; var opensAt: Int; var closesAt: Int }
    private static let windows = Mutex<[WindowKey: ClosedRange<Date>?]>([:])

    private func computeWindow(on day: LocalDate) -> ClosedRange<Date>? {
        guard let midnight = day.start(in: timeZone) else { return nil }
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
