import Foundation
import Synchronization

/// Sessions this node looked up recently, so that a busy client's requests do not each read its
/// session from the database (a read per request was ~8 % of a chat send's or a health report's
/// CPU, `docs/benchmarks.md`).
///
/// An entry is trusted for `lifetime` seconds after it was read. A session ended through any node
/// (signing out, a password change or reset, the socket sweeper) is forgotten at once: each of
/// those publishes `HubMessage.endSessions`, and every node's hub calls `forget` as it delivers
/// it. Only a session deleted without the hub — by `tack admin reset-password`, which runs as a
/// process of its own — goes on working here for at most `lifetime` (the command waits that out).
final class SessionCache: Sendable {
    enum Lookup {
        case hit(Session)
        /// Not cached: read it, then `remember` it with this generation.
        case miss(generation: UInt64)
    }

    private struct Entry {
        var session: Session
        var readAt: Date
    }

    private struct State: ~Copyable {
        var entries: [String: Entry] = [:]
        /// Moves on every `forget`: a read that began before it must not be remembered after it.
        var generation: UInt64 = 0
    }

    let lifetime: TimeInterval
    let capacity: Int
    private let state = Mutex(State())

    init(lifetime: TimeInterval = 5, capacity: Int = 100_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    func lookup(_ tokenHash: String, now: Date) -> Lookup {
        state.withLock { s in
            if let entry = s.entries[tokenHash], now.timeIntervalSince(entry.readAt) < lifetime, now >= entry.readAt {
                return .hit(entry.session)
            }
            return .miss(generation: s.generation)
        }
    }

    /// Keeps a session read from the database, unless a session was forgotten since the read
    /// began (it may be this one, read just before it was deleted).
    func remember(_ session: Session, readAt: Date, generation: UInt64) {
        guard lifetime > 0 else { return }
        state.withLock { s in
            guard s.generation == generation else { return }
            if s.entries.count >= capacity, s.entries[session.tokenHash] == nil {
                s.entries = s.entries.filter { readAt.timeIntervalSince($0.value.readAt) < lifetime }
                if s.entries.count >= capacity { s.entries.removeAll(keepingCapacity: true) }
            }
            s.entries[session.tokenHash] = Entry(session: session, readAt: readAt)
        }
    }

    /// Updates a cached session's expiry after it was extended in the database.
    func extended(_ tokenHash: String, to expiresAt: Date) {
        state.withLock { s in s.entries[tokenHash]?.session.expiresAt = expiresAt }
    }

    /// Drops a session that ended.
    func forget(_ tokenHash: String) {
        state.withLock { s in
            s.generation &+= 1
            s.entries[tokenHash] = nil
        }
    }

    var count: Int { state.withLock { $0.entries.count } }
}
