import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit

/// SQLKit's view of one leased SQLite connection: statements run synchronously on the calling task.
///
/// Running inline avoids the thread hop per statement that made sqlite-kit slow here (see
/// `docs/architecture.md`): SQLite work is microseconds, and in WAL mode with
/// `synchronous=NORMAL` a commit does not wait for the disk.
struct SQLiteSQLDatabase: SQLDatabase {
    let connection: SQLiteConnection
    let logger: Logger
    var eventLoop: any EventLoop { MultiThreadedEventLoopGroup.singleton.any() }
    var dialect: any SQLDialect { SQLiteDialect() }
    var queryLogLevel: Logger.Level? { .trace }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) -> EventLoopFuture<Void> {
        eventLoop.makeCompletedFuture { try run(query, onRow) }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) async throws {
        try run(query, onRow)
    }

    private func run(_ query: any SQLExpression, _ onRow: (any SQLRow) -> ()) throws {
        let (sql, binds) = serialize(query)
        logger.trace("sql", metadata: ["sql": .string(sql)])
        let values = try binds.map(SQLiteValueEncoding.value(of:))
        try connection.query(sql, values) { onRow($0) }
    }
}

/// One result row.
struct SQLiteRow: SQLRow {
    let columns: SQLiteColumns
    let values: [SQLiteValue]

    var allColumns: [String] { columns.names }
    func contains(column: String) -> Bool { columns.index(of: column) != nil }

    func value(_ column: String) throws -> SQLiteValue {
        guard let i = columns.index(of: column) else {
            throw DecodingError.keyNotFound(SQLiteKey(column), .init(codingPath: [], debugDescription: "No column \(column)"))
        }
        return values[i]
    }

    func decodeNil(column: String) throws -> Bool { try value(column) == .null }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        try SQLiteValueDecoding.decode(D.self, from: value(column), codingPath: [SQLiteKey(column)])
    }
}

struct SQLiteKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// A type whose SQL value is a UUID (typed identifiers).
protocol UUIDRepresentable {
    var uuid: UUID { get }
    init(uuid: UUID)
}

protocol OptionalValue {
    var isNone: Bool { get }
}
extension Optional: OptionalValue {
    var isNone: Bool { self == nil }
}

/// How Swift values are bound in SQLite: UUIDs as upper-case text (as sqlite-kit), dates as REAL
/// seconds since 1970, booleans as 0/1, raw-value enums as their raw value.
enum SQLiteValueEncoding {
    static func value(of bind: any Encodable) throws -> SQLiteValue {
        switch bind {
        case let v as any UUIDRepresentable: return .text(UUIDText.format(v.uuid, uppercase: true))
        case let o as any OptionalValue where o.isNone: return .null
        case let v as String: return .text(v)
        case let v as Int: return .integer(Int64(v))
        case let v as Int64: return .integer(v)
        case let v as Int32: return .integer(Int64(v))
        case let v as Bool: return .integer(v ? 1 : 0)
        case let v as Double: return .real(v)
        case let v as UUID: return .text(UUIDText.format(v, uppercase: true))
        case let v as Date: return .real(v.timeIntervalSince1970)
        case let v as Data: return .blob([UInt8](v))
        case let v as [UInt8]: return .blob(v)
        default:
            let encoder = SingleValueCapture()
            try bind.encode(to: encoder)
            guard let captured = encoder.captured else {
                throw EncodingError.invalidValue(bind, .init(codingPath: [], debugDescription: "Cannot bind \(type(of: bind)) in SQLite"))
            }
            return captured
        }
    }

    /// Captures a value that encodes itself as one primitive (raw-value enums, wrappers).
    private final class SingleValueCapture: Encoder, SingleValueEncodingContainer {
        var captured: SQLiteValue?
        var codingPath: [any CodingKey] { [] }
        var userInfo: [CodingUserInfoKey: Any] { [:] }
        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            preconditionFailure("Bind structured values as JSON text explicitly")
        }
        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            preconditionFailure("Bind structured values as JSON text explicitly")
        }
        func singleValueContainer() -> any SingleValueEncodingContainer { self }
        func encodeNil() throws { captured = .null }
        func encode<T: Encodable>(_ value: T) throws { captured = try SQLiteValueEncoding.value(of: value) }
    }
}

/// How SQLite values are read back into Swift types (the reverse of `SQLiteValueEncoding`).
enum SQLiteValueDecoding {
    static func decode<D: Decodable>(_ type: D.Type, from value: SQLiteValue, codingPath: [any CodingKey]) throws -> D {
        switch value {
        case .text(let s):
            if D.self == String.self { return s as! D }
            if let id = D.self as? any UUIDRepresentable.Type, let u = UUIDText.parse(s) { return id.init(uuid: u) as! D }
            if D.self == UUID.self, let u = UUIDText.parse(s) { return u as! D }
        case .integer(let i):
            if D.self == Int.self { return Int(i) as! D }
            if D.self == Int64.self { return i as! D }
            if D.self == Bool.self { return (i != 0) as! D }
            if D.self == Double.self { return Double(i) as! D }
            if D.self == Date.self { return Date(timeIntervalSince1970: Double(i)) as! D }
        case .real(let d):
            if D.self == Double.self { return d as! D }
            if D.self == Date.self { return Date(timeIntervalSince1970: d) as! D }
        case .blob(let b):
            if D.self == Data.self { return Data(b) as! D }
            if D.self == [UInt8].self { return b as! D }
        case .null:
            break
        }
        return try D(from: ValueDecoder(value: value, codingPath: codingPath))
    }

    private struct ValueDecoder: Decoder, SingleValueDecodingContainer {
        let value: SQLiteValue
        let codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
            throw mismatch(Key.self)
        }
        func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw mismatch([Any].self) }
        func singleValueContainer() throws -> any SingleValueDecodingContainer { self }
        func decodeNil() -> Bool { value == .null }

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            if value == .null {
                throw DecodingError.valueNotFound(T.self, .init(codingPath: codingPath, debugDescription: "NULL"))
            }
            if T.self == String.self, case .integer(let i) = value { return String(i) as! T }
            if let id = T.self as? any UUIDRepresentable.Type, case .text(let s) = value, let u = UUIDText.parse(s) {
                return id.init(uuid: u) as! T
            }
            guard let primitive = (T.self as? any SQLitePrimitive.Type) else {
                return try T(from: self)
            }
            guard let v = primitive.init(sqlite: value) else { throw mismatch(T.self) }
            return v as! T
        }

        private func mismatch(_ type: Any.Type) -> DecodingError {
            .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "Cannot decode \(type) from \(value)"))
        }
    }
}

/// Types the decoder reads straight from a SQLite value.
private protocol SQLitePrimitive {
    init?(sqlite: SQLiteValue)
}
extension String: SQLitePrimitive {
    init?(sqlite: SQLiteValue) { if case .text(let s) = sqlite { self = s } else { return nil } }
}
extension Int: SQLitePrimitive {
    init?(sqlite: SQLiteValue) { if case .integer(let i) = sqlite { self = Int(i) } else { return nil } }
}
extension Int64: SQLitePrimitive {
    init?(sqlite: SQLiteValue) { if case .integer(let i) = sqlite { self = i } else { return nil } }
}
extension Int32: SQLitePrimitive {
    init?(sqlite: SQLiteValue) { if case .integer(let i) = sqlite { self = Int32(truncatingIfNeeded: i) } else { return nil } }
}
extension Bool: SQLitePrimitive {
    init?(sqlite: SQLiteValue) { if case .integer(let i) = sqlite { self = i != 0 } else { return nil } }
}
extension Double: SQLitePrimitive {
    init?(sqlite: SQLiteValue) {
        switch sqlite {
        case .real(let d): self = d
        case .integer(let i): self = Double(i)
        default: return nil
        }
    }
}
extension UUID: SQLitePrimitive {
    init?(sqlite: SQLiteValue) { if case .text(let s) = sqlite, let u = UUIDText.parse(s) { self = u } else { return nil } }
}
extension Date: SQLitePrimitive {
    init?(sqlite: SQLiteValue) {
        switch sqlite {
        case .real(let d): self = Date(timeIntervalSince1970: d)
        case .integer(let i): self = Date(timeIntervalSince1970: Double(i))
        default: return nil
        }
    }
}

/// SQLite's SQL dialect for SQLKit (SQLite 3.35 or later: RETURNING and UPSERT).
struct SQLiteDialect: SQLDialect {
    var name: String { "sqlite" }
    /// Not an `SQLRaw`: SQLKit then writes identifiers between quotes as they are, instead of
    /// escaping each with the standard library's generic `replacing` (2 % of a cheap request's
    /// CPU). Tack's identifiers are the names of its own tables and columns, never input.
    var identifierQuote: any SQLExpression { DoubleQuote() }
    var literalStringQuote: any SQLExpression { SQLRaw("'") }
    func bindPlaceholder(at position: Int) -> any SQLExpression { SQLRaw("?\(position)") }
    func literalBoolean(_ value: Bool) -> any SQLExpression { SQLRaw(value ? "1" : "0") }
    var literalDefault: any SQLExpression { SQLLiteral.null }
    var supportsIfExists: Bool { true }
    var supportsDropBehavior: Bool { false }
    var supportsAutoIncrement: Bool { false }
    var autoIncrementClause: any SQLExpression { SQLRaw("AUTOINCREMENT") }
    var enumSyntax: SQLEnumSyntax { .unsupported }
    var triggerSyntax: SQLTriggerSyntax { .init(create: [.supportsBody, .supportsCondition, .supportsUpdateColumns], drop: []) }
    var alterTableSyntax: SQLAlterTableSyntax { .init(allowsBatch: false) }
    var upsertSyntax: SQLUpsertSyntax { .standard }
    var supportsReturning: Bool { true }
    var unionFeatures: SQLUnionFeatures { [.union, .unionAll, .intersect, .except] }
}

/// `"`, for `SQLiteDialect.identifierQuote`.
private struct DoubleQuote: SQLExpression {
    func serialize(to serializer: inout SQLSerializer) { serializer.write("\"") }
}
