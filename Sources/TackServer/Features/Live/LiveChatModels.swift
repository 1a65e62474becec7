import Foundation
import Tagged

/// A line in a live class's own comment stream (not its groups' chats): a comment, or a question
/// the teacher may mark answered.
struct LiveComment: Sendable, Equatable, Codable {
    typealias ID = Tagged<LiveComment, UUID>

    enum Kind: String, Sendable, Codable, CaseIterable {
        case comment, question
    }

    /// At most this many characters, after trimming.
    static let maxLength = 1_000

    var id: ID
    var classID: LiveClass.ID
    /// Its place in the class's stream: 1, 2, 3 … (the page cursor).
    var seq: Int64
    var author: PersonRef
    var kind: Kind
    /// Plain text, shown as text.
    var text: String
    var createdAt: Date
    /// A question's answer mark: when, and by whom (the teacher or an organisation admin).
    var answeredAt: Date?
    var answeredBy: PersonRef?

    var answered: Bool { answeredAt != nil }

    /// The text as stored: trimmed, 1 to `maxLength` characters, or `422 invalid_text`.
    static func validText(_ raw: String) throws -> String {
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...maxLength).contains(text.count) else {
            throw AppError.invalid("text", "Between 1 and \(maxLength) characters.", code: "invalid_text")
        }
        return text
    }
}

/// One person's likes of one class within a rate-limit window: taps are coalesced by the page
/// into one request of at most `maxPerRequest`, and at most `maxPerWindow` count per `window`.
/// Likes over the limit are dropped (not an error: the hearts still float on the page).
struct LikeWindow: Sendable, Equatable {
    static let maxPerRequest = 50
    static let maxPerWindow = 100
    static let window: TimeInterval = 10

    var start: Date
    var count: Int

    /// Counts `n` likes at `now`; returns how many are accepted.
    mutating func add(_ n: Int, at now: Date) -> Int {
        if now.timeIntervalSince(start) >= Self.window || now < start {
            start = now
            count = 0
        }
        let accepted = max(0, min(n, Self.maxPerWindow - count))
        count += accepted
        return accepted
    }
}
