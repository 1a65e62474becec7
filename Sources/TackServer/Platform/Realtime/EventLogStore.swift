import Foundation
import SQLKit

/// The ordered, durable log of each organisation's events (`org_events`), appended in the same
/// transaction as the change it describes, so a reconnecting client can catch up from a sequence
/// number without gaps.
struct EventLogStore: Sendable {
    /// Events kept per organisation at least: the newest `keepCount`, and all of the last `keepDays`.
    var keepCount: Int64 = 10_000
    var keepDays: Double = 7

    /// Appends one event and returns it with its sequence number.
    ///
    /// The counter row (`orgs.event_seq`) is incremented first; on PostgreSQL that row lock orders
    /// concurrent writers of one organisation, so sequence numbers commit in order and a reader
    /// never sees seq N+1 before N.
    func append(_ db: any SQLDatabase, org: Organization.ID, type: String, adminsOnly: Bool, data: String, at now: Date) async throws -> StoredOrgEvent {
        guard let seq = try await db.update("orgs")
            .set(SQLIdentifier("event_seq"), to: SQLRaw("event_seq + 1"))
            .where("id", .equal, org)
            .returning("event_seq")
            .first(decodingColumn: "event_seq", as: Int64.self)
        else { throw AppError.notFound("Organisation") }
        try await db.insert(into: "org_events")
            .columns("org_id", "seq", "type", "audience", "data", "created_at")
            .values(SQLBind(org), SQLBind(seq), SQLBind(type), SQLBind(adminsOnly ? "admins" : "all"), SQLBind(data), SQLBind(now))
            .run()
        return StoredOrgEvent(orgID: org, seq: seq, type: type, adminsOnly: adminsOnly, data: data)
    }

    /// Appends an event whose data is `payload` encoded as JSON.
    func append<T: Encodable>(_ db: any SQLDatabase, org: Organization.ID, type: String, adminsOnly: Bool = false, payload: T, at now: Date) async throws -> StoredOrgEvent {
        try await append(db, org: org, type: type, adminsOnly: adminsOnly, data: EventJSON.encode(payload), at: now)
    }

    /// The latest sequence number of an organisation.
    func fetchLatestSeq(_ db: any SQLDatabase, org: Organization.ID) async throws -> Int64 {
        try await db.select().column("event_seq").from("orgs").where("id", .equal, org)
            .first(decodingColumn: "event_seq", as: Int64.self) ?? 0
    }

    /// The result of asking for the events after a cursor.
    enum Replay: Equatable {
        case events([StoredOrgEvent], latestSeq: Int64)
        /// The log no longer holds the events after the cursor: refetch the state.
        case resync(latestSeq: Int64)
    }

    /// Events of `org` after `after`, at most `limit`, for a reader who `isAdmin` or not (the
    /// admins-only events are left out for others; their numbers are simply skipped).
    func fetchEvents(_ db: any SQLDatabase, org: Organization.ID, after: Int64, limit: Int, isAdmin: Bool) async throws -> Replay {
        let latest = try await fetchLatestSeq(db, org: org)
        if after >= latest { return .events([], latestSeq: latest) }
        // Index: primary key (org_id, seq) — a range scan.
        let oldest = try await db.select().column(SQLFunction("MIN", args: SQLIdentifier("seq")), as: "oldest")
            .from("org_events").where("org_id", .equal, org)
            .first(decodingColumn: "oldest", as: Int64?.self) ?? nil
        if after + 1 < (oldest ?? latest + 1) || latest - after > Int64(limit) { return .resync(latestSeq: latest) }
        var query = db.select().columns("seq", "type", "audience", "data").from("org_events")
            .where("org_id", .equal, org).where("seq", .greaterThan, after)
        if !isAdmin { query = query.where("audience", .equal, "all") }
        let rows = try await query.orderBy("seq").limit(limit).all()
        let events = try rows.map { row in
            StoredOrgEvent(
                orgID: org, seq: try row.decode(column: "seq", as: Int64.self),
                type: try row.decode(column: "type", as: String.self),
                adminsOnly: try row.decode(column: "audience", as: String.self) == "admins",
                data: try row.decode(column: "data", as: String.self))
        }
        return .events(events, latestSeq: latest)
    }

    /// Deletes events older than the retention window beyond the newest `keepCount` per organisation.
    func deleteExpired(_ db: any SQLDatabase, now: Date) async throws {
        let cutoff = now.addingTimeInterval(-keepDays * 86_400)
        try await db.delete(from: "org_events")
            .where("created_at", .lessThan, cutoff)
            .where(SQLIdentifier("seq"), .lessThanOrEqual,
                   SQLRaw("(SELECT o.event_seq - \(keepCount) FROM orgs o WHERE o.id = org_events.org_id)"))
            .run()
    }
}
