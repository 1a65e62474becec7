import Foundation
import Synchronization

/// Counts events per key in a fixed window and refuses those over a limit: sign-in attempts per
/// account and per client address, invitation lookups per address. In memory, per node.
public final class RateLimiter: Sendable {
    public struct Rule: Sendable {
        public var limit: Int
        public var window: TimeInterval
        public init(limit: Int, window: TimeInterval) {
            self.limit = limit
            self.window = window
        }
    }

    private struct Bucket { var start: Date; var count: Int }
    private let rule: Rule
    private let clock: WallClock
    private let buckets = Mutex<[String: Bucket]>([:])

    public init(_ rule: Rule, clock: WallClock = .live) {
        self.rule = rule
        self.clock = clock
    }

    /// Records one event for `key`; returns the seconds to wait if it is over the limit.
    public func hit(_ key: String) -> Int? {
        let now = clock.now()
        return buckets.withLock { buckets -> Int? in
            if buckets.count > 100_000 {
                buckets = buckets.filter { now.timeIntervalSince($0.value.start) < rule.window }
            }
            var bucket = buckets[key] ?? Bucket(start: now, count: 0)
            if now.timeIntervalSince(bucket.start) >= rule.window { bucket = Bucket(start: now, count: 0) }
            bucket.count += 1
            buckets[key] = bucket
            if bucket.count > rule.limit {
                return Int((rule.window - now.timeIntervalSince(bucket.start)).rounded(.up))
            }
            return nil
        }
    }

    /// Forgets `key` (after a successful sign-in).
    public func reset(_ key: String) {
        _ = buckets.withLock { $0.removeValue(forKey: key) }
    }
}
