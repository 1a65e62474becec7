import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SQLKit
import Synchronization

/// Caches the answers to the directory's list reads — an organisation's member pages and its
/// departments — keyed by the organisation's event sequence number.
///
/// Every change that shows in those lists appends an organisation event in the same transaction
/// (members, departments, renames, claims, imports), so a key that names the current sequence
/// number names the current state: a change makes the old entries unreachable, nothing has to be
/// invalidated, and a cached answer is never older than its key (the number is read before the
/// lists are). At 08:00, when a whole organisation opens the directory at once, the first reader
/// pays for the query and JSON encoding and the others get bytes (`docs/benchmarks.md`).
struct DirectoryReadCache<Context: RequestContext>: RouterMiddleware {
    let store: DirectoryResponseStore
    let database: Database

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get, let orgID = Self.cachedOrganization(request.uri.path),
              let identity = RequestScope.current.identity
        else { return try await next(request, context) }
        // One indexed read: the caller's membership and the organisation's sequence number.
        // Outsiders fall through to the handler, which answers 404.
        guard let seq = try await database.read({ db in try await Self.fetchStamp(db, orgID: orgID, userID: identity.userID) }) else {
            return try await next(request, context)
        }
        let key = "\(orgID.string) \(seq) \(request.uri.path)?\(request.uri.query ?? "")"
        if let hit = store.get(key) {
            return Response(status: .ok, headers: hit.headers, body: .init(byteBuffer: hit.body))
        }
        let response = try await next(request, context)
        guard response.status == .ok, let length = response.body.contentLength, length <= store.maxEntryBytes else { return response }
        let collector = BodyCollector()
        try await response.body.write(collector)
        let body = collector.buffer
        var headers = response.headers
        headers[.contentLength] = nil
        store.put(key, .init(headers: headers, body: body))
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }

    /// The organisation of `/api/v1/orgs/{id}/members` or `/api/v1/orgs/{id}/departments`.
    static func cachedOrganization(_ path: String) -> Organization.ID? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count == 5, parts[0] == "api", parts[1] == "v1", parts[2] == "orgs",
              parts[4] == "members" || parts[4] == "departments"
        else { return nil }
        return Organization.ID(string: String(parts[3]))
    }

    static func fetchStamp(_ db: any SQLDatabase, orgID: Organization.ID, userID: User.ID) async throws -> Int64? {
        // Index: UNIQUE (org_id, user_id) on members, primary key of orgs.
        try await db.raw("""
            SELECT o.event_seq FROM members m JOIN orgs o ON o.id = m.org_id
            WHERE m.org_id = \(bind: orgID) AND m.user_id = \(bind: userID)
            """).first(decodingColumn: "event_seq", as: Int64.self)
    }
}

/// Collects a response body written by a handler.
private final class BodyCollector: ResponseBodyWriter, @unchecked Sendable {
    // Written by one task, read after `write` returned.
    var buffer = ByteBuffer()
    func write(_ part: ByteBuffer) async throws {
        var part = part
        buffer.writeBuffer(&part)
    }
    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

/// The cached answers, least recently used out first, within a byte budget.
final class DirectoryResponseStore: Sendable {
    struct Entry: Sendable {
        var headers: HTTPFields
        var body: ByteBuffer
    }

    private struct State: ~Copyable {
        var entries: [String: (entry: Entry, tick: UInt64)] = [:]
        var bytes = 0
        var tick: UInt64 = 0
    }

    private let state = Mutex(State())
    private let budget: Int
    var maxEntryBytes: Int { budget / 8 }

    /// - Parameter budget: bytes of bodies kept at most; 0 turns the cache off.
    init(budget: Int) { self.budget = budget }

    func get(_ key: String) -> Entry? {
        guard budget > 0 else { return nil }
        return state.withLock { s in
            guard let found = s.entries[key] else { return nil }
            s.tick += 1
            s.entries[key] = (found.entry, s.tick)
            return found.entry
        }
    }

    func put(_ key: String, _ entry: Entry) {
        guard budget > 0 else { return }
        state.withLock { s in
            s.tick += 1
            if let old = s.entries.updateValue((entry, s.tick), forKey: key) { s.bytes -= old.entry.body.readableBytes }
            s.bytes += entry.body.readableBytes
            if s.bytes > budget {
                // Evict the least recently used until a quarter of the budget is free.
                for (k, v) in s.entries.sorted(by: { $0.value.tick < $1.value.tick }) {
                    guard s.bytes > budget * 3 / 4 else { break }
                    s.entries[k] = nil
                    s.bytes -= v.entry.body.readableBytes
                }
            }
        }
    }
}
