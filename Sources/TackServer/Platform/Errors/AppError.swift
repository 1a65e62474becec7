import Foundation
import HTTPTypes

/// One field or row that is wrong in a request.
public struct FieldProblem: Codable, Sendable, Equatable {
    /// For imports: the 1-based line of the file.
    public var row: Int?
    public var field: String?
    public var code: String
    public var message: String

    public init(row: Int? = nil, field: String? = nil, code: String, message: String) {
        self.row = row
        self.field = field
        self.code = code
        self.message = message
    }
}

/// The one error type that reaches clients: an HTTP status, a stable machine `code` and a safe
/// message. Rendered as `application/problem+json` by `ProblemMiddleware`; anything else thrown
/// becomes a 500 whose details stay in the log.
public struct AppError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: String
    public var detail: String
    public var errors: [FieldProblem]
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ code: String, _ detail: String, errors: [FieldProblem] = [], headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = headers
    }

    public var description: String { "\(status.code) \(code): \(detail)" }

    /// A field that fails validation (422 `validation_failed`).
    public static func invalid(_ field: String, _ message: String, code: String = "invalid") -> AppError {
        AppError(.unprocessableContent, "validation_failed", message, errors: [FieldProblem(field: field, code: code, message: message)])
    }
    public static func badRequest(_ code: String, _ detail: String) -> AppError { AppError(.badRequest, code, detail) }
    /// A query or path parameter out of its documented range (400 `invalid_parameter`).
    public static func invalidParameter(_ name: String, _ message: String) -> AppError {
        AppError(.badRequest, "invalid_parameter", message, errors: [FieldProblem(field: name, code: "invalid", message: message)])
    }
    public static func unauthenticated(_ detail: String = "Sign in first.") -> AppError { AppError(.unauthorized, "unauthenticated", detail) }
    public static func forbidden(_ detail: String) -> AppError { AppError(.forbidden, "forbidden", detail) }
    /// Also used for everything of another organisation: to outsiders it does not exist.
    public static func notFound(_ what: String) -> AppError { AppError(.notFound, "not_found", "\(what) not found.") }
    public static func conflict(_ code: String, _ detail: String) -> AppError { AppError(.conflict, code, detail) }
    /// One caller asked too often (429 `rate_limited`); `Retry-After` says when to try again.
    public static func rateLimited(retryAfter seconds: Int, _ detail: String = "Too many requests; try again later.") -> AppError {
        AppError(.tooManyRequests, "rate_limited", detail, headers: retryAfter(seconds))
    }
    /// The server has more requests than it can answer in time (503 `overloaded`, from admission
    /// control); `Retry-After` says when to try again. Nothing was done.
    public static func overloaded(retryAfter seconds: Int, _ detail: String = "The server is busy; try again in a few seconds.") -> AppError {
        AppError(.serviceUnavailable, "overloaded", detail, headers: retryAfter(seconds))
    }

    private static func retryAfter(_ seconds: Int) -> HTTPFields {
        var headers = HTTPFields()
        headers[.retryAfter] = String(max(1, seconds))
        return headers
    }
}

/// RFC 9457 problem details as Tack renders them.
struct ProblemDocument: Codable, Sendable {
    var type: String
    var title: String
    var status: Int
    var code: String
    var detail: String
    var errors: [FieldProblem]?

    init(_ error: AppError) {
        type = "about:blank"
        title = error.status.reasonPhrase
        status = error.status.code
        code = error.code
        detail = error.detail
        errors = error.errors.isEmpty ? nil : error.errors
    }
}
