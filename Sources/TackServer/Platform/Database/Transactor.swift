import Foundation
import SQLKit

/// Events a transaction will publish, and actions it will take, once it has committed.
final class Outbox: @unchecked Sendable {
    /// What a committed transaction leaves to do.
    struct Committed: Sendable {
        var messages: [HubMessage] = []
        var actions: [@Sendable () -> Void] = []
    }

    // Confined to the task running the transaction.
    private(set) var committed = Committed()
    var messages: [HubMessage] { committed.messages }
    func add(_ message: HubMessage) { committed.messages.append(message) }
    /// Runs `action` after the transaction committed (e.g. waking the job scheduler).
    func afterCommit(_ action: @escaping @Sendable () -> Void) { committed.actions.append(action) }
    /// Takes over what a nested unit of work (a savepoint that was released) left to do.
    func absorb(_ other: Outbox) {
        committed.messages += other.committed.messages
        committed.actions += other.committed.actions
    }
}

/// Runs a service action: one write transaction, then — only after it committed — its events.
/// Creates go through `runIdempotent`, which stores the first response under the client's
/// `Idempotency-Key` in the same transaction, so a retried create is stored once.
struct Transactor: Sendable {
    let database: Database
    let hub: any Hub
    let clock: WallClock

    func run<R>(_ body: (any SQLDatabase, Outbox) async throws -> R) async throws -> R {
        // The outbox lives inside the transaction body: a transaction retried after a deadlock
        // starts with an empty one.
        let (result, committed) = try await database.write { db in
            let outbox = Outbox()
            return (try await body(db, outbox), outbox.committed)
        }
        await deliver(committed)
        return result
    }

    /// Publishes a committed transaction's events and runs its actions.
    func deliver(_ committed: Outbox.Committed) async {
        await hub.publish(committed.messages)
        for action in committed.actions { action() }
    }

    /// Like `run`, but a retry with the same `key` in the same `scope` returns the stored result
    /// instead of acting again. A key reused for a different request is refused (422).
    func runIdempotent<R: Codable & Sendable>(
        scope: String, key: String?, operation: String, fingerprint: String,
        _ body: (any SQLDatabase, Outbox) async throws -> R
    ) async throws -> R {
        guard let key else { return try await run(body) }
        guard (1...200).contains(key.count) else {
            throw AppError.badRequest("invalid_idempotency_key", "Idempotency-Key must be 1 to 200 characters.")
        }
        let requestHash = Secrets.sha256(operation + "\n" + fingerprint)
        for attempt in 1...2 {
            do {
                let (result, committed) = try await database.write { db -> (R, Outbox.Committed) in
                    let outbox = Outbox()
                    if let stored = try await IdempotencyStore().fetch(db, scope: scope, key: key) {
                        guard stored.operation == operation, stored.requestHash == requestHash else {
                            throw AppError(.unprocessableContent, "idempotency_key_reused",
                                           "This Idempotency-Key was already used for a different request.")
                        }
                        return (try JSONDecoder.tack.decode(R.self, from: Data(stored.response.utf8)), Outbox.Committed())
                    }
                    let result = try await body(db, outbox)
                    let response = String(decoding: try JSONEncoder.tack.encode(result), as: UTF8.self)
                    try await IdempotencyStore().insert(db, scope: scope, key: key, operation: operation,
                                                        requestHash: requestHash, response: response, now: clock.now())
                    return (result, outbox.committed)
                }
                await deliver(committed)
                return result
            } catch where attempt == 1 && DatabaseErrors.isUniqueViolation(error) {
                // A concurrent request with the same key won the race; the retry reads its result.
                // (Other unique violations fail the same way again and surface then.)
                continue
            }
        }
        preconditionFailure("unreachable")
    }
}

/// Stored responses of creates, per (scope, key), kept for 24 hours.
struct IdempotencyStore: Sendable {
    struct Stored { var operation: String; var requestHash: String; var response: String }

    func fetch(_ db: any SQLDatabase, scope: String, key: String) async throws -> Stored? {
        let row = try await db.select().columns("operation", "request_hash", "response").from("idempotency_keys")
            .where("scope", .equal, scope).where("key", .equal, key).first()
        return try row.map {
            Stored(operation: try $0.decode(column: "operation", as: String.self),
                   requestHash: try $0.decode(column: "request_hash", as: String.self),
                   response: try $0.decode(column: "response", as: String.self))
        }
    }

    func insert(_ db: any SQLDatabase, scope: String, key: String, operation: String, requestHash: String, response: String, now: Date) async throws {
        try await db.insert(into: "idempotency_keys")
            .columns("scope", "key", "operation", "request_hash", "response", "created_at")
            .values(SQLBind(scope), SQLBind(key), SQLBind(operation), SQLBind(requestHash), SQLBind(response), SQLBind(now))
            .run()
    }

    func deleteExpired(_ db: any SQLDatabase, now: Date) async throws {
        try await db.delete(from: "idempotency_keys").where("created_at", .lessThan, now.addingTimeInterval(-86_400)).run()
    }
}

extension JSONEncoder {
    /// JSON for stored responses: dates as seconds since 1970 (an exact round trip), sorted keys.
    static var tack: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(date.timeIntervalSince1970)
        }
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}

extension JSONDecoder {
    static var tack: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            Date(timeIntervalSince1970: try decoder.singleValueContainer().decode(Double.self))
        }
        return decoder
    }
}
