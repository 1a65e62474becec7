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
