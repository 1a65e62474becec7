import Foundation
import Synchronization

/// The current time, injectable so tests control it.
public struct WallClock: Sendable {
    public var now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date) { self.now = now }

    /// The system clock.
    public static let live = WallClock { Date() }

    /// A clock that stands still until moved, for tests.
    public static func manual(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) -> (WallClock, ManualTime) {
        let time = ManualTime(start)
        return (WallClock { time.current }, time)
    }
}

/// The hand of a manual clock.
public final class ManualTime: Sendable {
    private let value: Mutex<Date>
    init(_ start: Date) { value = Mutex(start) }
    public var current: Date { value.withLock { $0 } }
    public func advance(by seconds: TimeInterval) { value.withLock { $0 += seconds } }
}

extension Date {
    /// A time something is scheduled for, to the minute (seconds dropped): it must be in the
    /// future and within a year of `now`, or 422 (`in_the_past`, `too_far`) on `field`.
    func scheduledMinute(after now: Date, field: String = "scheduledAt") throws -> Date {
        let minute = Date(timeIntervalSince1970: (timeIntervalSince1970 / 60).rounded(.down) * 60)
        guard minute > now else { throw AppError.invalid(field, "Choose a time in the future.", code: "in_the_past") }
        guard minute.timeIntervalSince(now) <= 366 * 86_400 else { throw AppError.invalid(field, "Choose a time within a year.", code: "too_far") }
        return minute
    }
}
