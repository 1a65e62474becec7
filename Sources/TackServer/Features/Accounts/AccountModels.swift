import Foundation
import Tagged

/// A person with an account. One person can belong to several organisations.
public struct User: Sendable, Equatable, Codable {
    public typealias ID = Tagged<User, UUID>
    public var id: ID
    public var name: String
    public var email: String?
    public var phone: String?
    public var locale: String?
    /// False for a person imported into an organisation who has not signed up yet.
    public var claimed: Bool
    public var createdAt: Date
}

/// How a session was started: a browser cookie or a bearer token for API clients.
public enum SessionKind: String, Sendable, Codable {
    case cookie
    case token
}

/// A signed-in session, found by the SHA-256 of its secret.
public struct Session: Sendable, Equatable {
    public var tokenHash: String
    public var userID: User.ID
    public var kind: SessionKind
    public var expiresAt: Date
}

/// An e-mail address or a phone number, normalised, that a person signs in with.
public enum Login: Sendable, Equatable, Hashable {
    case email(String)
    case phone(String)

    /// Parses what a person typed: an e-mail address (lower-cased) or a phone number (spaces,
    /// dashes, dots and parentheses removed; an optional leading +; 6 to 15 digits).
    public init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.contains("@") {
            let lower = trimmed.lowercased()
            let parts = lower.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
                  !parts[1].hasPrefix("."), !parts[1].hasSuffix("."), lower.count <= 254,
                  !lower.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" || $0 == "," })
            else { return nil }
            self = .email(lower)
        } else {
            var digits = trimmed.filter { !" -().".contains($0) }
            let plus = digits.hasPrefix("+")
            if plus { digits.removeFirst() }
            guard (6...15).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            self = .phone((plus ? "+" : "") + digits)
        }
    }

    var email: String? { if case .email(let e) = self { e } else { nil } }
    var phone: String? { if case .phone(let p) = self { p } else { nil } }
    var text: String { email ?? phone! }
}
