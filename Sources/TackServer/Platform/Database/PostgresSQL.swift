import Foundation
import Logging
import NIOCore
import PostgresKit
import PostgresNIO
import SQLKit

/// SQLKit's view of one leased PostgreSQL connection, with rows decoded straight from postgres-nio.
///
/// postgres-kit's own adapter decodes every column through a generic translation layer (coding
/// keys, dynamic casts) that took a third of the CPU of listing 1,000 members; here the types the
/// stores read (text, integers, booleans, dates, UUIDs and typed IDs, and their optionals) are
/// decoded by postgres-nio directly, and anything else falls back to postgres-kit.
struct PostgresSQLDatabase: SQLDatabase {
    let connection: PostgresConnection
    let logger: Logger
    var eventLoop: any EventLoop { connection.eventLoop }
    var dialect: any SQLDialect { PostgresDialect() }
    var queryLogLevel: Logger.Level? { .trace }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        promise.completeWithTask { try await self.execute(sql: query, onRow) }
        return promise.futureResult
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) async throws {
        let (sql, binds) = serialize(query)
        logger.trace("sql", metadata: ["sql": .string(sql)])
        var bindings = PostgresBindings(capacity: binds.count)
        for bind in binds { try Self.append(bind, to: &bindings) }
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
        for try await row in rows { onRow(PostgresFastRow(row: row, cells: row.makeRandomAccess())) }
    }

    /// Binds a value: natively when postgres-nio can, otherwise as the primitive it encodes to
    /// (raw-value enums become text).
    static func append(_ value: any Encodable & Sendable, to bindings: inout PostgresBindings) throws {
        if let optional = value as? any OptionalValue, optional.isNone {
            bindings.appendNull()
        } else if let native = value as? any PostgresThrowingDynamicTypeEncodable {
            try bindings.append(native)
        } else {
            switch try SQLiteValueEncoding.value(of: value) {
            case .null: bindings.appendNull()
            case .integer(let v): bindings.append(v)
            case .real(let v): bindings.append(v)
            case .text(let v): bindings.append(v)
            case .blob(let v): bindings.append(ByteBuffer(bytes: v))
            }
        }
    }
}

/// A result row decoded by postgres-nio for the common types, by postgres-kit otherwise.
struct PostgresFastRow: SQLRow {
    let row: PostgresRow
    let cells: PostgresRandomAccessRow

    var allColumns: [String] { cells.map(\.columnName) }
    func contains(column: String) -> Bool { cells.contains(column) }

    func decodeNil(column: String) throws -> Bool {
        !cells.contains(column) || cells[column].bytes == nil
    }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        if let native = D.self as? any PostgresDecodable.Type, cells.contains(column) {
            return try cells[column].decode(native, context: .default) as! D
        }
        return try row.sql().decode(column: column, as: D.self)
    }
}
