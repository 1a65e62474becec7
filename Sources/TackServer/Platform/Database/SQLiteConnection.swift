import CSQLite
import Foundation

/// A value as SQLite stores it.
enum SQLiteValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// An error SQLite reported, with its extended result code.
struct SQLiteError: Error, CustomStringConvertible {
    let code: Int32
    let message: String
    var description: String { "SQLite error \(code): \(message)" }

    /// Any UNIQUE or PRIMARY KEY constraint failure.
    var isUniqueViolation: Bool { code == 2067 /* CONSTRAINT_UNIQUE */ || code == 1555 /* CONSTRAINT_PRIMARYKEY */ }
    var isForeignKeyViolation: Bool { code == 787 }
}

private let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One SQLite connection with a prepared-statement cache.
///
/// Not thread-safe: callers guarantee that one task uses it at a time (the writer lock or the
/// reader pool). It is opened with `SQLITE_OPEN_NOMUTEX`, which permits use from different threads
/// as long as uses never overlap — exactly what a lease gives.
final class SQLiteConnection: @unchecked Sendable {
    private let handle: OpaquePointer
    private var statements: [String: OpaquePointer] = [:]

    /// Opens (creating if needed) the database at `path` and applies `pragmas`.
    init(path: String, readOnly: Bool, pragmas: [String]) throws {
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE))
            | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open database"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: message)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        for pragma in pragmas { try execute(pragma) }
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements without binds or results (PRAGMAs, BEGIN, COMMIT, DDL).
    func execute(_ sql: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &error)
        if rc != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(error)
            throw SQLiteError(code: sqlite3_extended_errcode(handle), message: message)
        }
    }

    /// Whether the connection is inside an explicit transaction.
    var inTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Runs one statement with `binds`, calling `onRow` for each result row.
    func query(_ sql: String, _ binds: [SQLiteValue], onRow: (SQLiteRow) throws -> Void) throws {
        let statement = try prepared(sql)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (index, value) in binds.enumerated() {
            let position = Int32(index + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(statement, position)
            case .integer(let v): rc = sqlite3_bind_int64(statement, position, v)
            case .real(let v): rc = sqlite3_bind_double(statement, position, v)
            case .text(let v): rc = sqlite3_bind_text(statement, position, v, -1, SQLITE_TRANSIENT)
            case .blob(let v):
                rc = v.withUnsafeBytes { sqlite3_bind_blob(statement, position, $0.baseAddress, Int32($0.count), SQLITE_TRANSIENT) }
            }
            guard rc == SQLITE_OK else { throw lastError(rc) }
        }
        let columnCount = sqlite3_column_count(statement)
        var names: SQLiteColumns?
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else { throw lastError(rc) }
            if names == nil {
                names = SQLiteColumns((0..<columnCount).map { String(cString: sqlite3_column_name(statement, $0)) })
            }
            var values: [SQLiteValue] = []
            values.reserveCapacity(Int(columnCount))
            for i in 0..<columnCount {
                switch sqlite3_column_type(statement, i) {
                case SQLITE_INTEGER: values.append(.integer(sqlite3_column_int64(statement, i)))
                case SQLITE_FLOAT: values.append(.real(sqlite3_column_double(statement, i)))
                case SQLITE_TEXT: values.append(.text(String(cString: sqlite3_column_text(statement, i))))
                case SQLITE_BLOB:
                    let count = Int(sqlite3_column_bytes(statement, i))
                    if count == 0 {
                        values.append(.blob([]))
                    } else {
                        let bytes = sqlite3_column_blob(statement, i)!
                        values.append(.blob([UInt8](UnsafeRawBufferPointer(start: bytes, count: count))))
                    }
                default: values.append(.null)
                }
            }
            try onRow(SQLiteRow(columns: names!, values: values))
        }
    }

    private func prepared(_ sql: String) throws -> OpaquePointer {
        if let cached = statements[sql] { return cached }
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw lastError(rc) }
        // Statements are cached by their text; a few hundred distinct queries at most.
        if statements.count > 500 {
            for s in statements.values { sqlite3_finalize(s) }
            statements.removeAll()
        }
        statements[sql] = statement
        return statement
    }

    private func lastError(_ rc: Int32) -> SQLiteError {
        SQLiteError(code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle)))
    }

    /// The SQLite library version, e.g. "3.40.1".
    static var libraryVersion: String { String(cString: sqlite3_libversion()) }
}

/// Column names shared by all rows of one result.
final class SQLiteColumns: Sendable {
    let names: [String]
    init(_ names: [String]) { self.names = names }
    func index(of name: String) -> Int? { names.firstIndex(of: name) }
}
