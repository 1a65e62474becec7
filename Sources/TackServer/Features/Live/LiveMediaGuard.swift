import Foundation
import Logging

/// Who publishes in a class's Janus room is Tack's decision, but Janus lets any holder of a token
/// join a room as a publisher under any free number. So Janus reports every publisher as it joins
/// and as its media starts (its HTTP event handler posts to `POST /api/v1/media/janus-events`,
/// `scripts/janus` configures it), and Tack sends away each one it did not name: only the teacher
/// publishes as the teacher's feed, and a student the teacher lets speak as their own — told
/// apart by the token the publisher's Janus handle was attached with, which is the person's own.
/// When a turn ends, or someone is removed, Tack does not rely on their page either: it kicks the
/// feed out of the room, and ends a removed person's Janus sessions.
extension LiveService {
    /// A publisher Janus reported: it joined a room under a number, or its media started.
    struct Publisher: Sendable, Equatable {
        var room: Int64
        var feed: Int64
        var session: Int64
        var handle: Int64
    }

    /// Checks each publisher Janus reported. A failure is logged: the publisher's next event, or
    /// the end of a turn, checks again.
    func check(_ publishers: [Publisher]) async {
        for publisher in publishers {
            do {
                try await check(publisher)
            } catch {
                logger.warning("could not check a Janus publisher", metadata: ["room": "\(publisher.room)", "error": "\(error)"])
            }
        }
    }

    /// Whether Tack named this publisher; if not, it is sent out of the room. Rooms of no live
    /// class are left alone (not Tack's, or already closing).
    @discardableResult
    func check(_ publisher: Publisher) async throws -> Bool {
        guard let media else { return true }
        guard let c = try await database.read({ db in try await store.fetchLiveClass(db, janusRoom: publisher.room) }),
              let secret = c.roomSecret else { return true }
        let token = try await media.token(session: publisher.session, handle: publisher.handle)
        let named = try await database.read { db -> Bool in
            guard let token, let owner = try await store.tokenOwner(db, classID: c.id, token: token) else { return false }
            if owner == c.teacher.userID { return publisher.feed == c.teacherFeed }
            guard !c.paused, publisher.feed == c.speakerFeed(owner) else { return false }
            return try await store.fetchHands(db, classID: c.id).contains { $0.person.userID == owner && $0.state == .speaking }
        }
        if !named {
            logger.notice("sent a feed Tack did not name out of a class's room",
                          metadata: ["class": "\(c.id.string)", "feed": "\(publisher.feed)"])
            try await media.kick(room: publisher.room, secret: secret, feed: publisher.feed)
        }
        return named
    }

    /// The turns of `userIDs` ended: their feeds leave the room, whether or not their pages stop
    /// publishing by themselves.
    func endTurns(_ c: LiveClass, _ userIDs: [User.ID]) async {
        guard let media, let room = c.janusRoom, let secret = c.roomSecret else { return }
        for userID in userIDs {
            guard let feed = c.speakerFeed(userID) else { continue }
            do {
                try await media.kick(room: room, secret: secret, feed: feed)
            } catch {
                logger.warning("could not end a speaker's feed", metadata: ["class": "\(c.id.string)", "error": "\(error)"])
            }
        }
    }

    /// Someone was removed: their token stops working and their open Janus sessions end at once
    /// (their pages watch nothing more).
    func disconnect(token: String) async {
        guard let media else { return }
        do {
            try await media.removeToken(token)
            try await media.endSessions(token: token)
        } catch {
            logger.warning("could not end a removed person's Janus sessions", metadata: ["error": "\(error)"])
        }
    }
}
