import Foundation
import SQLKit
import Synchronization

/// A live class's chat beside the video: comments, questions the teacher marks answered, and
/// likes (the tap-hearts).
///
/// Who: those who see the class (its teacher, members of its groups, organisation admins) and
/// were not removed from it (`403 removed`). When: posting, liking and marking answered only
/// while the class is live (`409 not_live`); while it is paused students neither post nor like
/// (`409 class_paused`) but the teacher does. Reading works at any time.
struct LiveChatService: Sendable {
    /// A page holds at most this many comments.
    static let maxPage = 200

    let transactor: Transactor
    let clock: WallClock
    let likeAnnouncements: LikeAnnouncements
    let store = LiveChatStore()
    let live = LiveStore()
    let directory = DirectoryStore()

    var database: Database { transactor.database }

    /// The caller's part in a class's chat.
    private struct Access {
        var liveClass: LiveClass
        /// The teacher, or an organisation admin: marks questions answered, posts while paused.
        var canRun: Bool
        var member: Member
    }

    /// The class if the caller may see it (404 otherwise, other organisations included) and was
    /// not removed from it (403). In a write transaction the class's row is locked first.
    private func access(_ db: any SQLDatabase, _ identity: Identity, _ orgID: Organization.ID, _ id: LiveClass.ID,
                        writing: Bool) async throws -> Access {
        if writing { try await live.lockClass(db, orgID: orgID, id: id) }
        let member = try await directory.accessMember(db, identity, orgID)
        guard let c = try await live.fetchClass(db, orgID: orgID, id: id) else { throw AppError.notFound("Live class") }
        let standing = try await live.standing(db, identity, c, member: member)
        if standing.removed { throw AppError(.forbidden, "removed", "The teacher removed you from this class.") }
        return Access(liveClass: c, canRun: standing.canRun, member: member)
    }

    /// Posting and liking: the class is live, and not paused for students.
    private static func requireOpen(_ a: Access) throws {
        guard a.liveClass.state == .live else { throw AppError.conflict("not_live", "The class is not live.") }
        guard a.canRun || !a.liveClass.paused else { throw AppError.conflict("class_paused", "The teacher has paused the class.") }
    }

    // MARK: Reading

    /// A page of the stream, newest last, and the class's likes.
    struct Page: Sendable {
        var comments: [LiveComment]
        /// Older comments: pass as `before`.
        var nextCursor: String?
        var likes: Int64
    }

    /// The latest `limit` comments before `cursor` (a page's `nextCursor`), questions only if asked.
    func comments(_ identity: Identity, _ orgID: Organization.ID, _ id: LiveClass.ID, questionsOnly: Bool, cursor: String?,
                  limit: Int) async throws -> Page {
        guard (1...Self.maxPage).contains(limit) else { throw AppError.invalidParameter("limit", "Between 1 and \(Self.maxPage).") }
        let before = try cursor.map { text -> Int64 in
            guard let seq = Int64(text), seq > 0 else { throw AppError.badRequest("invalid_cursor", "The cursor is not one this server gave out.") }
            return seq
        }
        return try await database.read { db in
            let a = try await access(db, identity, orgID, id, writing: false)
            // One more than asked tells whether there is an older page.
            var comments = try await store.fetchPage(db, classID: a.liveClass.id, questionsOnly: questionsOnly, before: before, limit: limit + 1)
            var next: String?
            if comments.count > limit {
                comments.removeFirst()
                next = String(comments[0].seq)
            }
            return Page(comments: comments, nextCursor: next, likes: try await store.fetchLikes(db, classID: a.liveClass.id))
        }
    }

    // MARK: Writing

    /// Posts a comment or a question. A retry with the same `idempotencyKey` returns the first.
    func post(_ identity: Identity, _ orgID: Organization.ID, _ id: LiveClass.ID, kind: LiveComment.Kind, text raw: String,
              idempotencyKey: String?) async throws -> LiveComment {
        let now = clock.now()
        let text = try LiveComment.validText(raw)
        return try await transactor.runIdempotent(scope: "live:\(identity.userID.string)", key: idempotencyKey, operation: "postLiveComment",
                                                  fingerprint: "\(id.string)\n\(kind.rawValue)\n\(text)") { db, outbox in
            let a = try await access(db, identity, orgID, id, writing: true)
            try Self.requireOpen(a)
            let comment = LiveComment(id: .random(), classID: a.liveClass.id, seq: try await store.nextSeq(db, classID: a.liveClass.id),
                                      author: PersonRef(userID: identity.userID, memberID: a.member.id, name: a.member.name), kind: kind,
                                      text: text, createdAt: now)
            try await store.insertComment(db, comment, orgID: orgID)
            try Self.announce(outbox, a.liveClass, comment)
            return comment
        }
    }

    /// Marks a question answered or not (the teacher and organisation admins, while live).
    func setAnswered(_ identity: Identity, _ orgID: Organization.ID, _ id: LiveClass.ID, commentID: LiveComment.ID,
                     answered: Bool) async throws -> LiveComment {
        let now = clock.now()
        return try await transactor.run { db, outbox in
            let a = try await access(db, identity, orgID, id, writing: true)
            guard let comment = try await store.fetchComment(db, classID: a.liveClass.id, id: commentID) else { throw AppError.notFound("Comment") }
            guard a.canRun else { throw AppError.forbidden("The class's teacher marks questions answered.") }
            guard a.liveClass.state == .live else { throw AppError.conflict("not_live", "The class is not live.") }
            guard comment.kind == .question else { throw AppError.conflict("not_a_question", "Only questions are answered.") }
            guard comment.answered != answered else { return comment }
            try await store.updateAnswered(db, classID: a.liveClass.id, id: commentID, by: answered ? identity.userID : nil, at: answered ? now : nil)
            let updated = try await store.fetchComment(db, classID: a.liveClass.id, id: commentID) ?? comment
            try Self.announce(outbox, a.liveClass, updated)
            return updated
        }
    }

    /// Likes the class `count` times (taps coalesced by the page, 1 to `LikeWindow.maxPerRequest`).
    /// Returns the class's total and how many of these counted (see `LikeWindow`).
    func like(_ identity: Identity, _ orgID: Organization.ID, _ id: LiveClass.ID, count: Int) async throws -> (likes: Int64, accepted: Int) {
        guard (1...LikeWindow.maxPerRequest).contains(count) else {
            throw AppError.invalid("count", "Between 1 and \(LikeWindow.maxPerRequest).", code: "invalid_count")
        }
        let now = clock.now()
        let (result, c, later) = try await transactor.run { db, outbox -> ((likes: Int64, accepted: Int), LiveClass?, Duration?) in
            let a = try await access(db, identity, orgID, id, writing: true)
            try Self.requireOpen(a)
            var window = try await store.fetchLikeWindow(db, classID: a.liveClass.id, userID: identity.userID) ?? LikeWindow(start: now, count: 0)
            let accepted = window.add(count, at: now)
            guard accepted > 0 else { return ((try await store.fetchLikes(db, classID: a.liveClass.id), 0), nil, nil) }
            try await store.saveLikeWindow(db, classID: a.liveClass.id, userID: identity.userID, window, accepted: accepted)
            let total = try await store.addLikes(db, classID: a.liveClass.id, accepted)
            switch likeAnnouncements.claim(a.liveClass.id) {
            case .now:
                Self.announceLikes(outbox, a.liveClass, total)
                return ((total, accepted), nil, nil)
            case .later(let wait): return ((total, accepted), a.liveClass, wait)
            case .scheduled: return ((total, accepted), nil, nil)
            }
        }
        if let c, let later {
            // A like storm: the total is announced once, when the second since the last
            // announcement is over (this node's; each node announces at most once a second).
            Task { [self] in
                try? await Task.sleep(for: later)
                likeAnnouncements.flushed(c.id)
                try? await transactor.run { db, outbox in
                    Self.announceLikes(outbox, c, try await store.fetchLikes(db, classID: c.id))
                }
            }
        }
        return result
    }

    private static func announceLikes(_ outbox: Outbox, _ c: LiveClass, _ total: Int64) {
        for groupID in c.groupIDs {
            outbox.add(.conversation(groupID, org: c.orgID, type: LiveChatEvent.liked, data: #"{"liveClassId":"\#(c.id.string)","likes":\#(total)}"#))
        }
    }

    /// Sends a comment as it is now to the class's groups.
    private static func announce(_ outbox: Outbox, _ c: LiveClass, _ comment: LiveComment) throws {
        let data = #"{"liveClassId":"\#(c.id.string)","comment":\#(try EventJSON.encode(comment.api))}"#
        for groupID in c.groupIDs {
            outbox.add(.conversation(groupID, org: c.orgID, type: LiveChatEvent.comment, data: data))
        }
    }
}

/// The live chat's event types (documented in `docs/events.md`).
enum LiveChatEvent {
    static let comment = "live.comment"
    static let liked = "live.liked"
}

/// Announces each class's likes at most once a second (per node): in a like storm — every
/// student of a class tapping, each page sending a request a second — one `live.liked` goes to
/// the class's groups a second instead of one per request to everyone. A like after a quiet
/// second is announced with its own commit; one within the second schedules a single
/// announcement of the total at the end of that second.
final class LikeAnnouncements: Sendable {
    static let interval: Duration = .seconds(1)

    enum Claim: Equatable {
        /// Announce with this like's commit.
        case now
        /// Schedule the announcement after this long.
        case later(Duration)
        /// One is already scheduled: it will carry this like too.
        case scheduled
    }

    private struct Entry {
        var last: ContinuousClock.Instant
        var pending: Bool
    }

    private let entries = Mutex<[LiveClass.ID: Entry]>([:])

    func claim(_ classID: LiveClass.ID, at now: ContinuousClock.Instant = .now) -> Claim {
        entries.withLock { entries in
            // Forget classes quiet for a while (the map holds only the classes being liked).
            if entries.count > 1_000 { entries = entries.filter { now - $0.value.last < Self.interval * 10 || $0.value.pending } }
            guard var entry = entries[classID], now - entry.last < Self.interval else {
                entries[classID] = Entry(last: now, pending: false)
                return .now
            }
            if entry.pending { return .scheduled }
            entry.pending = true
            entries[classID] = entry
            return .later(Self.interval - (now - entry.last))
        }
    }

    /// The scheduled announcement goes out now: likes from here on wait for the next second.
    func flushed(_ classID: LiveClass.ID, at now: ContinuousClock.Instant = .now) {
        entries.withLock { $0[classID] = Entry(last: now, pending: false) }
    }
}
