import Crypto
import Foundation
import Tagged

/// A live class: one teacher broadcasting to one or several class groups at once.
///
/// Its life: `scheduled` → `live` (the teacher starts it) → `ended` (the teacher ends it) →
/// `replayReady` (the recording has been converted); a scheduled class may be `cancelled`.
struct LiveClass: Sendable, Equatable {
    typealias ID = Tagged<LiveClass, UUID>

    enum State: String, Sendable, CaseIterable {
        case scheduled, live, ended, replayReady = "replay_ready", cancelled
    }

    /// What moves a class from one state to the next.
    enum Transition: String, Sendable {
        case start, end, cancel, replayReady = "replay_ready"
    }

    var id: ID
    var orgID: Organization.ID
    var teacher: PersonRef
    var title: String
    /// The groups it is broadcast to, in the order the teacher chose them.
    var groupIDs: [Conversation.ID]
    var scheduledAt: Date?
    var state: State
    var startedAt: Date?
    var endedAt: Date?
    /// Nobody new may join.
    var locked: Bool
    /// Participant activity (raising hands, speaking) is paused.
    var paused: Bool
    /// At most this many students speak at once.
    var maxSpeakers: Int
    var createdAt: Date
    var updatedAt: Date
    /// Its Janus room while live (with media), and that room's secret (never sent to anyone).
    var janusRoom: Int64? = nil
    var roomSecret: String? = nil
    /// The teacher's camera is on the air: students subscribe to it.
    var onAir = false
    /// The converted recording, once the class is `replayReady`.
    var replay: LiveReplay? = nil
    /// Converting the recording failed for good (the class stays `ended`; the log says why).
    var replayFailed = false

    /// The state after `transition`, or why it is not possible.
    static func next(_ state: State, _ transition: Transition) -> State? {
        switch (state, transition) {
        case (.scheduled, .start): .live
        case (.scheduled, .cancel): .cancelled
        case (.live, .end): .ended
        case (.ended, .replayReady): .replayReady
        default: nil
        }
    }

    /// Applies `transition` at `now`, or throws `invalid_state` (409) naming the state.
    mutating func apply(_ transition: Transition, at now: Date) throws {
        guard let next = Self.next(state, transition) else {
            throw AppError.conflict("invalid_state", "A class that is \(state.rawValue.replacingOccurrences(of: "_", with: " ")) cannot \(transition.rawValue.replacingOccurrences(of: "_", with: " ")).")
        }
        state = next
        switch transition {
        case .start: startedAt = now
        case .end:
            endedAt = now
            paused = false
            onAir = false
        case .cancel, .replayReady: break
        }
        updatedAt = now
    }
}

/// A class's replay: one WebM file (the teacher's picture, everyone's voices) under the data
/// folder's `live/`.
struct LiveReplay: Sendable, Equatable {
    /// The file's path relative to the replays' folder: `<class id>/replay.webm`.
    var file: String
    var bytes: Int64
    var seconds: Double
}

/// How someone takes part: the teacher publishes; an accepted student speaks (publishes their
/// microphone, and their camera only if they turn it on themselves); everyone else watches.
enum LiveRole: String, Sendable {
    case teacher, speaker, viewer
}

/// A student's raised hand, or their turn to speak once the teacher accepted it.
struct LiveHand: Sendable, Equatable {
    enum State: String, Sendable { case raised, speaking }
    var person: PersonRef
    var state: State
    var at: Date
    /// The feed a speaker publishes their microphone as in the class's room (nil until the
    /// teacher lets them speak, and without a media server): everyone else subscribes to it.
    var feed: Int64? = nil
}

/// The feed numbers publishers take in a class's Janus room. Janus lets whoever joins first take a
/// number, so they cannot be guessed: each is derived from the room's secret (which no browser
/// gets) — the teacher's, told to students only once the teacher holds it (on the air), and each
/// student's, told to everyone only once the teacher lets them speak. Pages subscribe only to
/// the feeds Tack names, so a feed published under any other number reaches nobody.
extension LiveClass {
    var teacherFeed: Int64? { feedNumber("teacher") }

    func speakerFeed(_ userID: User.ID) -> Int64? { feedNumber("speaker:\(userID.string)") }

    private func feedNumber(_ label: String) -> Int64? {
        guard let roomSecret else { return nil }
        let digest = HMAC<SHA256>.authenticationCode(for: Data(label.utf8), using: SymmetricKey(data: Data(roomSecret.utf8)))
        // 52 bits: a JavaScript number holds it exactly.
        let value = digest.prefix(7).reduce(Int64(0)) { $0 << 8 | Int64($1) } >> 4
        return max(value, 1)
    }
}

/// Watching live or the replay.
enum WatchMode: String, Sendable, CaseIterable {
    case live, replay
}

/// A person's watch time in one mode, accumulated from heartbeats sent while the video is on
/// screen, on any number of devices.
///
/// Each heartbeat credits the time since the last credited instant — capped at `maxGap`, since a
/// longer silence means the video was not watched — and moves that instant to now. Heartbeats
/// from two devices at once therefore share one timeline: the credited total never exceeds the
/// wall-clock time between the first and the last heartbeat.
struct WatchTime: Sendable, Equatable {
    /// Heartbeats come every 15 s while the video is visible; a gap longer than this is not
    /// credited in full.
    static let interval: TimeInterval = 15
    static let maxGap: TimeInterval = 20

    var seconds: Double
    var creditedUntil: Date
    var firstAt: Date
    var lastAt: Date

    /// A new record when someone opens the video at `now`: nothing credited yet.
    static func opened(at now: Date) -> WatchTime {
        WatchTime(seconds: 0, creditedUntil: now, firstAt: now, lastAt: now)
    }

    /// Opening the video again: a timeline that went quiet restarts at `now` (the silence is not
    /// watch time); one still running (another device) goes on.
    mutating func reopen(at now: Date) {
        if now.timeIntervalSince(creditedUntil) > Self.maxGap { creditedUntil = now }
    }

    /// Credits a heartbeat at `now`; returns the seconds credited. After a silence longer than
    /// `maxGap` (the tab hidden, the laptop asleep) only one interval is credited: the page
    /// sends its first heartbeat an interval after the video is back on screen.
    @discardableResult
    mutating func beat(at now: Date) -> Double {
        let gap = now.timeIntervalSince(creditedUntil)
        guard gap > 0 else { return 0 }
        let credit = gap > Self.maxGap ? Self.interval : gap
        seconds += credit
        creditedUntil = now
        lastAt = now
        return credit
    }
}

/// A student's watching of one class, for the teacher's statistics.
struct LiveWatchRow: Sendable, Equatable {
    enum Watched: String, Sendable { case live, replay, both, neither }
    var person: PersonRef
    var liveSeconds: Double
    var replaySeconds: Double

    var watched: Watched {
        switch (liveSeconds > 0, replaySeconds > 0) {
        case (true, true): .both
        case (true, false): .live
        case (false, true): .replay
        case (false, false): .neither
        }
    }

    /// Whole minutes, rounded to the nearest.
    var minutes: Int { Int(((liveSeconds + replaySeconds) / 60).rounded()) }
}
