import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OpenAPIRuntime

/// Renders every error as `application/problem+json`: `AppError`s as they are, the OpenAPI
/// runtime's decoding errors as 400, unknown routes as 404, and anything else as a 500 whose
/// details stay in the log.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let appError = Self.appError(for: error, logger: context.logger)
            return Self.response(for: appError)
        }
    }

    static func response(for error: AppError) -> Response {
        var headers = error.headers
        headers[.contentType] = "application/problem+json"
        let body = (try? JSONEncoder().encode(ProblemDocument(error))) ?? Data()
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func appError(for error: any Error, logger: Logger) -> AppError {
        switch error {
        case let e as AppError:
            return e
        case let e as ServerError:
            let inner = e.underlyingError
            if inner is AppError || inner is DecodingError || inner is BodyLimitExceeded || DatabaseErrors.isInvalidText(inner) {
                return appError(for: inner, logger: logger)
            }
            if e.httpStatus.kind == .clientError {
                return AppError(e.httpStatus, e.httpStatus == .unsupportedMediaType ? "unsupported_media_type" : "invalid_request",
                                "The request is malformed: \(e.causeDescription).")
            }
            logger.error("handler failed", metadata: ["error": "\(String(reflecting: inner))"])
            return AppError(.internalServerError, "internal", "Something went wrong on the server.")
        case let e as DecodingError:
            return decodingProblem(e)
        case let e as BodyLimitExceeded:
            return e.appError
        case let e where DatabaseErrors.isInvalidText(e):
            return NulCharacterGuard<Context>.problem
        case let e as HTTPError:
            switch e.status {
            case .notFound: return AppError(.notFound, "not_found", "No such resource.")
            case .contentTooLarge: return BodyLimitExceeded(limit: nil).appError
            case .methodNotAllowed: return AppError(.methodNotAllowed, "method_not_allowed", "This method is not allowed here.")
            default: return AppError(e.status, e.status.kind == .clientError ? "bad_request" : "internal", e.body ?? e.status.reasonPhrase)
            }
        default:
            logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            return AppError(.internalServerError, "internal", "Something went wrong on the server.")
        }
    }

    private static func decodingProblem(_ error: DecodingError) -> AppError {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let field = (context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: ".")
            return AppError(.badRequest, "invalid_body", "The field \(field) is missing.",
                            errors: [FieldProblem(field: field, code: "missing", message: "This field is required.")])
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return AppError(.badRequest, "invalid_body", "The field \(path(context)) has the wrong type.",
                            errors: [FieldProblem(field: path(context), code: "wrong_type", message: "This field has the wrong type.")])
        case .dataCorrupted(let context):
            let field = path(context)
            return AppError(.badRequest, "invalid_body",
                            field.isEmpty ? "The body is not valid JSON." : "The field \(field) has an invalid value.",
                            errors: field.isEmpty ? [] : [FieldProblem(field: field, code: "invalid", message: "This value is not allowed.")])
        @unknown default:
            return AppError(.badRequest, "invalid_body", "The body could not be read.")
        }
    }
}

/// A request body over the configured limit.
struct BodyLimitExceeded: Error {
    var limit: Int?
    var appError: AppError {
        AppError(.contentTooLarge, "payload_too_large",
                 limit.map { "The request body is larger than the limit of \($0) bytes." } ?? "The request body is too large.")
    }
}

/// Refuses bodies larger than `limit` bytes with 413, by the Content-Length header when there is
/// one and by counting the bytes of streamed bodies otherwise. Attachment uploads have a limit of
/// their own.
struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let defaultLimit: Int
    let attachmentLimit: Int

    init(limit: Int, attachmentLimit: Int) {
        defaultLimit = limit
        self.attachmentLimit = attachmentLimit
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let limit = request.method == .post && request.uri.path.hasSuffix("/attachments") ? max(defaultLimit, attachmentLimit) : defaultLimit
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw BodyLimitExceeded(limit: limit)
        }
        var request = request
        let body = request.body
        request.body = RequestBody(asyncSequence: LimitedBody(base: body, limit: limit))
        return try await next(request, context)
    }

    struct LimitedBody: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let base: RequestBody
        let limit: Int
        struct AsyncIterator: AsyncIteratorProtocol {
            var base: RequestBody.AsyncIterator
            let limit: Int
            var seen = 0
            mutating func next() async throws -> ByteBuffer? {
                guard let buffer = try await base.next() else { return nil }
                seen += buffer.readableBytes
                if seen > limit { throw BodyLimitExceeded(limit: limit) }
                return buffer
            }
        }
        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), limit: limit) }
    }
}

/// The bytes of the current request's JSON body, as received (for signatures over the body).
enum RawBody {
    @TaskLocal static var current: ByteBuffer?
}

/// Reads JSON bodies whole (they are small and limited) and refuses text that no field may
/// hold: the NUL character (`\u0000` in a JSON body, `%00` in the query). PostgreSQL cannot
/// store it and SQLite would store it silently, so both engines answer alike: 400
/// `invalid_text`, before any handler runs. The bytes stay readable as `RawBody.current`.
struct NulCharacterGuard<Context: RequestContext>: RouterMiddleware {
    let limit: Int

    static var problem: AppError {
        AppError(.badRequest, "invalid_text", "Text must not contain the NUL character (U+0000).")
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.query?.contains("%00") == true,
           request.uri.queryParameters.contains(where: { $0.key.contains("\0") || $0.value.contains("\0") }) {
            throw Self.problem
        }
        guard request.method != .get, request.method != .head,
              request.headers[.contentType]?.lowercased().contains("json") == true else {
            return try await next(request, context)
        }
        var request = request
        let buffer = try await request.body.collect(upTo: limit)
        if Self.containsNulEscape(buffer.readableBytesView) { throw Self.problem }
        request.body = RequestBody(buffer: buffer)
        return try await RawBody.$current.withValue(buffer) { try await next(request, context) }
    }

    /// Whether JSON text holds the escape `\u0000` (a backslash that is not itself escaped).
    static func containsNulEscape<Bytes: Collection>(_ bytes: Bytes) -> Bool where Bytes.Element == UInt8, Bytes.Index == Int {
        let backslash = UInt8(ascii: "\\"), u = UInt8(ascii: "u"), zero = UInt8(ascii: "0")
        var i = bytes.startIndex
        while i < bytes.endIndex {
            guard bytes[i] == backslash else { i += 1; continue }
            // An escape: the next byte is what is escaped; `\\` escapes a backslash.
            let escaped = i + 1
            guard escaped < bytes.endIndex else { return false }
            if bytes[escaped] == u, escaped + 4 < bytes.endIndex,
               bytes[escaped + 1] == zero, bytes[escaped + 2] == zero, bytes[escaped + 3] == zero, bytes[escaped + 4] == zero {
                return true
            }
            i = escaped + 1
        }
        return false
    }
}

/// Security headers on every response, and the readable CSRF cookie for browsers that lack one.
/// The Content-Security-Policy of every response: no inline script or style, nothing from
/// elsewhere — but the pages may connect to `connectSources` too (the media server's WebSocket).
enum SecurityPolicy {
    static func contentSecurityPolicy(connectSources: [String] = []) -> String {
        [
            "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:",
            (["connect-src 'self'"] + connectSources).joined(separator: " "), "font-src 'self'", "frame-ancestors 'none'", "base-uri 'none'",
            "form-action 'self'", "object-src 'none'",
        ].joined(separator: "; ")
    }

    /// The origin (`ws://host:port`) of a URL, as a CSP source; nil if it has none.
    static func source(of url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else { return nil }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(hostPart)\(components.port.map { ":\($0)" } ?? "")"
    }
}

struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    let secureCookies: Bool
    let policy: String

    /// `connectSources`: where else the pages may connect (the media server's WebSocket).
    init(secureCookies: Bool, connectSources: [String] = []) {
        self.secureCookies = secureCookies
        policy = SecurityPolicy.contentSecurityPolicy(connectSources: connectSources)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if response.headers[.contentSecurityPolicy] == nil {
            response.headers[.contentSecurityPolicy] = policy
        }
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.xFrameOptions] = "DENY"
        response.headers[.referrerPolicy] = "same-origin"
        response.headers[.crossOriginOpenerPolicy] = "same-origin"
        response.headers[.requestID] = context.id
        // Browsers get the readable CSRF cookie; API clients (bearer tokens) need none.
        if request.headers[.authorization] == nil, request.cookies[CSRF.cookieName] == nil {
            response.headers.append(.init(name: .setCookie, value: CSRF.newCookie(secure: secureCookies)))
        }
        return response
    }
}

/// Double-submit CSRF protection: a readable random cookie that the web app echoes in a header.
enum CSRF {
    static let cookieName = "tack_csrf"
    static let headerName = HTTPField.Name("X-CSRF-Token")!

    static func newCookie(secure: Bool) -> String {
        "\(cookieName)=\(Secrets.token(bytes: 18)); Path=/; Max-Age=31536000; SameSite=Lax\(secure ? "; Secure" : "")"
    }
}

extension HTTPField.Name {
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
    static let xFrameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
    static let crossOriginOpenerPolicy = Self("Cross-Origin-Opener-Policy")!
    static let requestID = Self("X-Request-ID")!
}
