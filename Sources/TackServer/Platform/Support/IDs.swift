import Foundation
import NIOCore
import PostgresNIO
import Tagged

// Typed identifiers: `Tagged<Member, UUID>` can never be passed where `Tagged<User, UUID>` is
// expected. They are stored as native UUIDs on PostgreSQL and as upper-case text on SQLite.

extension Tagged: UUIDRepresentable where RawValue == UUID {
    var uuid: UUID { rawValue }
    init(uuid: UUID) { self.init(rawValue: uuid) }
}

extension Tagged where RawValue == UUID {
    /// A fresh random identifier.
    static func random() -> Self { Self(rawValue: UUID()) }

    /// A fresh identifier that sorts after earlier ones (UUID version 7: 48 bits of Unix time in
    /// milliseconds, then random bits), so new rows go to the end of an index on it instead of a
    /// random page.
    static func timeOrdered(at date: Date = Date()) -> Self {
        let ms = UInt64(Swift.max(0, date.timeIntervalSince1970 * 1000))
        var u = UUID().uuid
        u.0 = UInt8(truncatingIfNeeded: ms >> 40); u.1 = UInt8(truncatingIfNeeded: ms >> 32)
        u.2 = UInt8(truncatingIfNeeded: ms >> 24); u.3 = UInt8(truncatingIfNeeded: ms >> 16)
        u.4 = UInt8(truncatingIfNeeded: ms >> 8); u.5 = UInt8(truncatingIfNeeded: ms)
        u.6 = 0x70 | (u.6 & 0x0F)
        u.8 = 0x80 | (u.8 & 0x3F)
        return Self(rawValue: UUID(uuid: u))
    }

    /// Parses an identifier from the API (any case); nil if it is not a UUID.
    init?(string: String) {
        guard let uuid = UUIDText.parse(string) else { return nil }
        self.init(rawValue: uuid)
    }

    /// The identifier as the API shows it: lower-case.
    var string: String { UUIDText.format(rawValue) }
}

extension Tagged: @retroactive PostgresThrowingDynamicTypeEncodable, @retroactive PostgresDynamicTypeEncodable,
    @retroactive PostgresEncodable, @retroactive PostgresNonThrowingEncodable where RawValue == UUID {
    public static var psqlType: PostgresDataType { UUID.psqlType }
    public static var psqlFormat: PostgresFormat { UUID.psqlFormat }
    public func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        rawValue.encode(into: &byteBuffer, context: context)
    }
}

extension Tagged: @retroactive PostgresDecodable where RawValue == UUID {
    public init<JSONDecoder: PostgresJSONDecoder>(
        from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        self.init(rawValue: try UUID(from: &buffer, type: type, format: format, context: context))
    }
}
