import Foundation
import HTTPTypes
import Hummingbird

/// Finds who is calling (session cookie or bearer token), enforces CSRF protection on unsafe
/// methods, and runs the rest of the request inside a `RequestScope`.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let auth: AuthService
    let secureCookies: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let (identity, viaCookie) = try await Self.authenticate(request, auth: auth)
        if ![.get, .head, .options].contains(request.method), !Self.isBearer(request) {
            try Self.checkCSRF(request, viaCookie: viaCookie)
        }
        let scope = RequestScope(identity: identity, invalidToken: identity == nil && Self.isBearer(request),
                                 basicCredentials: Self.basicCredentials(request), clientAddress: context.remoteAddress,
                                 secureCookies: secureCookies)
        var response = try await RequestScope.$current.withValue(scope) {
            try await next(request, context)
        }
        for field in scope.responseHeaders.all {
            if field.name == .setCookie { response.headers.append(field) } else { response.headers[field.name] = field.value }
        }
        return response
    }

    /// `user:password` of an `Authorization: Basic` header.
    static func basicCredentials(_ request: Request) -> String? {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("basic "),
              let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)) else { return nil }
        return String(data: data, encoding: .utf8)
    }

    static func isBearer(_ request: Request) -> Bool {
        request.headers[.authorization]?.lowercased().hasPrefix("bearer ") == true
    }

    /// The identity of a request, and whether it came from the session cookie. An unknown token
    /// or a stale cookie means "not signed in": operations that need a person then answer 401
    /// (`invalid_token` for a bad bearer token), public ones work as for anyone.
    static func authenticate(_ request: Request, auth: AuthService) async throws -> (Identity?, Bool) {
        if let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") {
            let token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
            return (try await auth.authenticate(token: token), false)
        }
        if let cookie = request.cookies[APIHandler.sessionCookie], !cookie.value.isEmpty {
            return (try await auth.authenticate(token: cookie.value), true)
        }
        return (nil, false)
    }

    /// Cookie-authenticated requests must echo the CSRF cookie in `X-CSRF-Token`; requests
    /// without a session (sign-in, sign-up) must at least come from this site if a browser sent them.
    static func checkCSRF(_ request: Request, viaCookie: Bool) throws {
        let hasSessionCookie = request.cookies[APIHandler.sessionCookie] != nil
        if viaCookie || hasSessionCookie {
            guard let cookie = request.cookies[CSRF.cookieName]?.value, !cookie.isEmpty,
                  let header = request.headers[CSRF.headerName], Secrets.constantTimeEqual(cookie, header)
            else { throw AppError(.forbidden, "csrf_failed", "The X-CSRF-Token header is missing or does not match the tack_csrf cookie.") }
        }
        try checkOrigin(request)
    }

    /// Refuses a request whose `Origin` names another site than the `Host` it was sent to.
    static func checkOrigin(_ request: Request) throws {
        guard let origin = request.headers[.origin] else { return }
        guard origin != "null", let host = request.head.authority, let url = URL(string: origin), let originHost = url.host else {
            throw AppError(.forbidden, "csrf_failed", "The request comes from another site.")
        }
        let originAuthority = url.port.map { "\(originHost):\($0)" } ?? originHost
        guard originAuthority.lowercased() == host.lowercased() else {
            throw AppError(.forbidden, "csrf_failed", "The request comes from another site.")
        }
    }
}
