import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import Synchronization

/// Who is calling: the person and the session they authenticated with.
public struct Identity: Sendable, Equatable {
    public var userID: User.ID
    public var sessionHash: String
    public var kind: SessionKind
}

/// What an API handler knows about its request beyond its typed input. `AuthMiddleware` sets it
/// as a task-local value around the generated OpenAPI handlers, which see only typed input.
struct RequestScope: Sendable {
    @TaskLocal static var current = RequestScope()

    var identity: Identity?
    /// The request carried a bearer token that is unknown or expired (public operations ignore it).
    var invalidToken = false
    /// `user:password` from an `Authorization: Basic` header (machines calling back: Janus's events).
    var basicCredentials: String?
    /// The client's address (the TCP peer), for rate limits.
    var clientAddress: String = "unknown"
    /// Whether cookies must be marked Secure (TLS in front of Tack).
    var secureCookies = false
    /// Headers the handler wants on its response that the OpenAPI runtime would escape
    /// (it percent-encodes header values): cookies, `Content-Disposition`. `AuthMiddleware` adds them.
    var responseHeaders = ResponseHeaders()

    /// The signed-in caller, or 401.
    func requireIdentity() throws -> Identity {
        guard let identity else {
            if invalidToken { throw AppError(.unauthorized, "invalid_token", "The bearer token is unknown or has expired.") }
            throw AppError.unauthenticated()
        }
        return identity
    }
}

/// The request context of Tack's HTTP router: Hummingbird's storage plus the peer address.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// Bodies are limited by `BodyLimitMiddleware`, which answers with a problem document.
    public var maxUploadSize: Int { .max }
}

/// The request context of the WebSocket upgrade router.
public struct SocketRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<SocketRequestContext>
    public let remoteAddress: String
    /// Set by the upgrade check.
    public var identity: Identity?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        remoteAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }
}

/// Headers to add to the current response.
final class ResponseHeaders: Sendable {
    private let fields = Mutex(HTTPFields())
    func setCookie(_ cookie: String) { fields.withLock { $0.append(HTTPField(name: .setCookie, value: cookie)) } }
    func set(_ name: HTTPField.Name, _ value: String) { fields.withLock { $0[name] = value } }
    var all: HTTPFields { fields.withLock { $0 } }
}
