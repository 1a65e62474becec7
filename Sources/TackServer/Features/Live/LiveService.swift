import Foundation
import Logging
import SQLKit

/// Live classes — the control plane: who teaches, which groups watch, the class's life from
/// scheduled to replay, raised hands and who may speak, the teacher's controls (remove, lock,
/// pause), and watch time from heartbeats.
///
/// Permissions: a teacher (the `teacher` capability, an organisation admin, or an owner/admin of
/// the group) creates a class for groups they belong to; members of those groups watch; only the
/// teacher runs it. Someone removed from a class does not come back to it; while it is locked
/// nobody joins who was not there before; while it is paused nobody raises a hand or speaks.
struct LiveService: Sendable {
    static let maxGroups = 20
    static let maxSpeakersLimit = 8
    static let defaultMaxSpeakers = 4

    let transactor: Transactor
    let clock: WallClock
    /// Posts the class's notices into its groups.
    let messages: ChatService
    /// The media server, if this installation has one (without it classes run without video).
    let media: JanusControl?
    /// Queues the conversion of an ended class's recording (`live.replay`).
    let jobs: JobQueue
    /// Where replays are kept: `<data folder>/live`, a folder per class.
    let replayDirectory: URL
    /// How long a class's raw recordings are kept once its replay is made (`live.recordings`).
    var recordingsKeptFor: TimeInterval = 7 * 86_400
    /// When each class's likes were last announced (`live.liked`, at most one a second).
    let likeAnnouncements = LikeAnnouncements()
    let logger: Logger
    let store = LiveStore()
    let chat = ChatStore()
    let directory = DirectoryStore()

    var database: Database { transactor.database }

    // MARK: Access

    /// How the caller relates to a class.
    struct Viewer: Sendable, Equatable {
        var role: LiveRole
        /// The teacher, and organisation admins, run the class.
        var canRun: Bool
        /// Whether they see watch statistics: the teacher, organisation admins, and owners and
        /// admins of the class's groups.
        var seesStatistics: Bool
        var hand: LiveHand.State?
        /// The teacher removed them from the class.
        var removed = false
    }

    /// A class as one person sees it.
    struct LiveClassView: Sendable, Equatable {
        var liveClass: LiveClass
        var viewer: Viewer
        /// Whether this installation carries video (has a Janus).
        var mediaAvailable = false
        /// For whoever runs a live class: how many watch it now (a heartbeat in the last 30 s).
        var watching: Int? = nil
    }

    /// A viewer counts as watching for this long after their last heartbeat (two intervals).
    static let watchingWindow: TimeInterval = 2 * WatchTime.interval

    /// Where and how a person's browser joins the class's media: Janus's WebSocket, the room, a
    /// token of their own, the teacher's feed (for students, once the teacher is on the air), and
    /// whether they publish.
    struct Media: Sendable, Equatable {
        var url: String
        var room: Int64
        var token: String
        var teacherFeed: Int64?
        var publish: Bool
        /// The feed this person publishes as: the teacher's, or theirs once they may speak.
        var feed: Int64
    }

    private func viewer(_ db: any SQLDatabase, _ identity: Identity, _ c: LiveClass, member: Member) async throws -> Viewer {
        let standing = try await store.standing(db, identity, c, member: member)
        let hand = try await store.fetchHands(db, classID: c.id).first { $0.person.userID == identity.userID }?.state
        return Viewer(role: standing.isTeacher ? .teacher : hand == .speaking ? .speaker : .viewer, canRun: standing.canRun,
                      seesStatistics: standing.canRun || standing.groupRole == .owner || standing.groupRole == .admin, hand: hand,
                      removed: standing.removed)
    }

    /// The class and the caller's part in it. In a write transaction (`db` from `transactor.run`)
    /// the class's row is locked first: what is read stays true until the commit.
    func load(_ db: any SQLDatabase, _ identity: Identity, _ orgID: Organization.ID, _ id: LiveClass.ID,
                      writing: Bool = true) async throws -> (LiveClass, Viewer, Member) {
        if writing { try await store.lockClass(db, orgID: orgID, id: id) }
        let member = try await directory.accessMember(db, identity, orgID)
        guard let c = try await store.fetchClass(db, orgID: orgID, id: id) else { throw AppError.notFound("Live class") }
        return (c, try await viewer(db, identity, c, member: member), member)
    }

    private func requireRunner(_ viewer: Viewer) throws {
        guard viewer.canRun else { throw AppError.forbidden("Only the class's teacher runs it.") }
    }

    // MARK: Creating

    struct Draft: Sendable, Codable {
        var title: String
        var groupIDs: [Conversation.ID]
        var scheduledAt: Date?
        var startNow: Bool
        var maxSpeakers: Int?
    }

    func create(_ identity: Identity, _ orgID: Organization.ID, _ draft: Draft, idempotencyKey: String?) async throws -> LiveClassView {
        let now = clock.now()
        let title = draft.title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(title.count) else { throw AppError.invalid("title", "A title of 1 to 200 characters.", code: "invalid_title") }
        let groups = draft.groupIDs.reduce(into: [Conversation.ID]()) { if !$0.contains($1) { $0.append($1) } }
        guard (1...Self.maxGroups).contains(groups.count) else {
            throw AppError.invalid("groupIds", "One to \(Self.maxGroups) groups.", code: "invalid_groups")
        }
        let maxSpeakers = draft.maxSpeakers ?? Self.defaultMaxSpeakers
        guard (1...Self.maxSpeakersLimit).contains(maxSpeakers) else {
            throw AppError.invalid("maxSpeakers", "Between 1 and \(Self.maxSpeakersLimit).", code: "invalid_max_speakers")
        }
        if !draft.startNow {
            guard let at = draft.scheduledAt else { throw AppError.invalid("scheduledAt", "A time, or start now.", code: "missing_time") }
            guard at > now else { throw AppError.invalid("scheduledAt", "A time in the future.", code: "time_in_past") }
        }
        let fingerprint = String(decoding: try JSONEncoder.tack.encode(draft), as: UTF8.self)
        // A class that starts now gets its Janus room before the transaction: a slow or absent
        // Janus never holds the database's writer.
        let classID = LiveClass.ID.random()
        let room = draft.startNow ? try await makeRoom(for: classID, title: title, maxSpeakers: maxSpeakers) : nil
        let stored: LiveClass.ID
        do {
            stored = try await create(identity, orgID, draft, classID: classID, title: title, groups: groups, maxSpeakers: maxSpeakers,
                                      room: room, fingerprint: fingerprint, idempotencyKey: idempotencyKey, now: now)
        } catch {
            await discard(room)
            throw error
        }
        if stored != classID { await discard(room) }  // a retry: the class was made the first time
        return try await view(identity, orgID, stored)
    }

    private func create(_ identity: Identity, _ orgID: Organization.ID, _ draft: Draft, classID: LiveClass.ID, title: String,
                        groups: [Conversation.ID], maxSpeakers: Int, room: Room?, fingerprint: String, idempotencyKey: String?,
                        now: Date) async throws -> LiveClass.ID {
        try await transactor.runIdempotent(scope: "live:\(identity.userID.string)", key: idempotencyKey, operation: "createLiveClass",
                                                    fingerprint: fingerprint) { db, outbox -> LiveClass.ID in
            let member = try await directory.accessMember(db, identity, orgID)
            for groupID in groups {
                guard let group = try await chat.fetchConversation(db, orgID: orgID, id: groupID), group.kind != .direct,
                      let participant = try await chat.fetchParticipant(db, conversationID: groupID, userID: identity.userID)?.0 else {
                    throw AppError.invalid("groupIds", "You are not in a group \(groupID.string) of this organisation.", code: "unknown_group")
                }
                guard member.capabilities.contains(.teacher) || member.role.isAdmin || participant.canManage else {
                    throw AppError.forbidden("Teachers, admins and the group's owners and admins start live classes.")
                }
            }
            var c = LiveClass(id: classID, orgID: orgID,
                              teacher: PersonRef(userID: identity.userID, memberID: member.id, name: member.name), title: title,
                              groupIDs: groups, scheduledAt: draft.startNow ? nil : draft.scheduledAt, state: draft.startNow ? .live : .scheduled,
                              startedAt: draft.startNow ? now : nil, endedAt: nil, locked: false, paused: false, maxSpeakers: maxSpeakers,
                              createdAt: now, updatedAt: now)
            c.janusRoom = room?.id
            c.roomSecret = room?.secret
            try await store.insertClass(db, c)
            try await notify(db, outbox, c, draft.startNow ? .liveStarted : .liveScheduled, now: now)
            try await enqueueReminder(db, outbox, c)
            return c.id
        }
    }

    /// A line in each of the class's groups: scheduled, live now, or its replay is ready.
    func notify(_ db: any SQLDatabase, _ outbox: Outbox, _ c: LiveClass, _ event: Message.SystemEvent.Event, now: Date) async throws {
        for groupID in c.groupIDs {
            guard let group = try await chat.fetchConversation(db, orgID: c.orgID, id: groupID) else { continue }
            _ = try await messages.systemMessage(db, outbox, group, actor: c.teacher,
                                                 Message.SystemEvent(event: event, actor: c.teacher, people: [], name: c.title,
                                                                     liveClassID: c.id.rawValue, at: c.scheduledAt), now: now)
        }
    }

    /// Tells the class's groups that it changed (its state, the teacher's switches, hands or
    /// speakers): open class pages fetch it afresh.
    static func changed(_ outbox: Outbox, _ c: LiveClass) {
        for groupID in c.groupIDs {
            outbox.add(.conversation(groupID, org: c.orgID, type: "live.updated", data: #"{"liveClassId":"\#(c.id.string)"}"#))
        }
    }

    // MARK: Reading

    func view(_ identity: Identity, _ orgID: Organization.ID, _ id: LiveClass.ID) async throws -> LiveClassView {
        try await database.read { db in
            let (c, viewer, _) = try await load(db, identity, orgID, id, writing: false)
            var view = LiveClassView(liveClass: c, viewer: viewer, mediaAvailable: media != nil)
            if viewer.canRun, c.state == .live {
                view.watching = try await store.countWatching(db, c, since: clock.now().addingTimeInterval(-Self.watchingWindow))
            }
            return view
        }
    }

    /// The classes of a group the caller is in, the latest first.
    func list(_ identity: Identity, _ orgID: Organization.ID, groupID: Conversation.ID) async throws -> [LiveClassView] {
        try await database.read { db in
            let member = try await directory.accessMember(db, identity, orgID)
            guard try await chat.fetchConversation(db, orgID: orgID, id: groupID) != nil,
                  try await chat.fetchParticipant(db, conversationID: groupID, userID: identity.userID) != nil else {
                throw AppError.notFound("Group")
            }
            var views: [LiveClassView] = []
            for c in try await store.fetchClasses(db, orgID: orgID, groupID: groupID, limit: 100) {
                views.append(LiveClassView(liveClass: c, viewer: try await viewer(db, identity, c, member: member), mediaAvailable: media != nil))
            }
            return views
        }
    }

    // MARK: Running

    /// Start, end or cancel (the teacher). Ending lowers every hand.
    func transition(_ identity: Identity, _ orgID: Organization.ID, _ id: LiveClass.ID, _ transition: LiveClass.Transition) async throws -> LiveClassView {
        let now = clock.now()
        guard transition != .replayReady else { throw AppError.forbidden("The replay is made by the server.") }
        // Starting: the room is made first, outside the transaction (see `create`).
        var room: Room?
        if transition == .start {
            let current = try await view(identity, orgID, id)
            try requireRunner(current.viewer)
            if LiveClass.next(current.liveClass.state, .start) != nil {
                room = try await makeRoom(for: current.liveClass.id, title: current.liveClass.title, maxSpeakers: current.liveClass.maxSpeakers)
            }
        }
        let closing: LiveClass, tokens: [String]
        do {
            (closing, tokens) = try await self.transition(identity, orgID, id, transition, room: room, now: now)
        } catch {
            await discard(room)
            throw error
        }
        await closeRoom(closing, tokens: tokens)
        return try await view(identity, orgID, id)
    }

    private func transition(_ identity: Identity, _ orgID: Organization.ID, _ id: LiveClass.ID, _ transition: LiveClass.Transition,
                            room: Room?, now: Date) async throws -> (LiveClass, [String]) {
        try await transactor.run { db, outbox -> (LiveClass, [String]) in
            var (c, viewer, _) = try await load(db, identity, orgID, id)
            try requireRunner(viewer)
            let before = c
            try c.apply(transition, at: now)
            if c.state == .live {
                c.janusRoom = room?.id
                c.roomSecret = room?.secret
                c.onAir = false
            }
            var tokens: [String] = []
            if c.state != .live {
                c.janusRoom = nil
                c.roomSecret = nil
                tokens = try await store.deleteTokens(db, classID: c.id)
            }
            try await store.updateClass(db, c)
            if c.state != .live { try await store.deleteHands(db, classID: c.id) }
            if c.state == .live { try await notify(db, outbox, c, .liveStarted, now: now) }
            // A class that had a (recorded) room gets its replay made once it has ended: queued
            // here, so that the end and the job commit together.
            if c.state == .ended, let room = before.janusRoom {
                try await enqueueReplay(db, outbox, before, room: room, now: now)
            }
            Self.changed(outbox, c)
            return (before, tokens)
        }
    }

    /// The teacher's switches: lock (nobody new joins), pause (nobody raises a hand or speaks:
    /// every hand is lowered).
    func setControls(_ identity: Identity, _ orgID: Organization.ID, _ id: LiveClass.ID, locked: Bool?, paused: Bool?) async throws -> LiveClassView {
        let now = clock.now()
        let (c, ended) = try await transactor.run { db, outbox -> (LiveClass, [User.ID]) in
            var (c, viewer, _) = try await load(db, identity, orgID, id)
            try requireRunner(viewer)
            guard c.state == .live else { throw AppError.conflict("not_live", "The class is not live.") }
            if let locked { c.locked = locked }
            var ended: [User.ID] = []
            if let paused {
                c.paused = paused
                if paused {
                    ended = try await speakers(db, c)
                    try await store.deleteHands(db, classID: c.id)
                }
            }
            c.updatedAt = now
            try await store.updateClass(db, c)
            Self.changed(outbox, c)
            return (c, ended)
        }
        await endTurns(c, ended)
        return try await view(identity, orgID, id)
    }

    /// Removes someone from the class (the teacher): their hand is lowered and they cannot
    /// rejoin it.
    func remove(_ identity: Identity, _ orgID: Organization.ID, _ id: LiveClass.ID, userID: User.ID) async throws {
        let now = clock.now()
        let (c, spoke, tokens) = try await transactor.run { db, outbox -> (LiveClass, [User.ID], [String]) in
            let (c, viewer, _) = try await load(db, identity, orgID, id)
            try requireRunner(viewer)
            guard userID != c.teacher.userID else { throw AppError.conflict("teacher", "The teacher cannot be removed from their class.") }
            guard try await store.groupRole(db, classID: c.id, userID: userID) != nil else { throw AppError.notFound("Participant") }
            try await store.insertRemoved(db, classID: c.id, userID: userID, by: identity.userID, at: now)
            let spoke = try await speakers(db, c).filter { $0 == userID }
            try await store.deleteHands(db, classID: c.id, userID: userID)
            Self.changed(outbox, c)
            return (c, spoke, try await store.deleteTokens(db, classID: c.id, userID: userID))
        }
        await endTurns(c, spoke)
        for token in tokens { await disconnect(token: token) }
    }

    // MARK: Hands

    /// A student raises their hand (while the class is live and not paused).
    func raiseHand(_ identity: Identity, _ orgID: Organization.ID, _ id: LiveClass.ID) async throws -> [LiveHand] {
        let now = clock.now()
        return try await transactor.run { db, outbox in
            let (c, viewer, _) = try await load(db, identity, orgID, id)
            guard viewer.role != .teacher else { throw AppError.conflict("teacher", "The teacher is always heard.") }
            try await requireParticipant(db, c, identity)
            try Self.requireActive(c)
            if viewer.hand == nil {
                try await store.saveHand(db, classID: c.id, userID: identity.userID, state: .raised, at: now)
                Self.changed(outbox, c)
            }
            return try await handsWithFeeds(db, c)
        }
    }

    /// A student lowers their hand or stops speaking.
    func lowerHand(_ identity: Identity, _ orgID: Organization.ID, _ id: LiveClass.ID) async throws -> [LiveHand] {
        let (c, spoke, hands) = try await transactor.run { db, outbox -> (LiveClass, Bool, [LiveHand]) in
            let (c, viewer, _) = try await load(db, identity, orgID, id)
            if viewer.hand != nil {
                try await store.deleteHands(db, classID: c.id, userID: identity.userID)
                Self.changed(outbox, c)
            }
            return (c, viewer.hand == .speaking, try await handsWithFeeds(db, c))
        }
        if spoke { await endTurns(c, [identity.userID]) }
        return hands
    }

    /// The teacher lets a student with a raised hand speak (at most `maxSpeakers` at once), or
    /// ends their turn.
    func setSpeaker(_ identity: Identity, _ orgID: Organization.ID, _ id: LiveClass.ID, userID: User.ID, speaking: Bool) async throws -> [LiveHand] {
        let now = clock.now()
        let (c, ended, result) = try await transactor.run { db, outbox -> (LiveClass, [User.ID], [LiveHand]) in
            let (c, viewer, _) = try await load(db, identity, orgID, id)
            try requireRunner(viewer)
            let hands = try await store.fetchHands(db, classID: c.id)
            guard speaking else {
                try await store.deleteHands(db, classID: c.id, userID: userID)
                Self.changed(outbox, c)
                let ended = hands.filter { $0.person.userID == userID && $0.state == .speaking }.map(\.person.userID)
                return (c, ended, try await handsWithFeeds(db, c))
            }
            try Self.requireActive(c)
            guard let hand = hands.first(where: { $0.person.userID == userID }),
                  !(try await store.isRemoved(db, classID: c.id, userID: userID)) else {
                throw AppError.conflict("no_raised_hand", "Only a student who raised their hand is let speak.")
            }
            guard hand.state != .speaking else { return (c, [], Self.withFeeds(hands, c)) }
            guard hands.filter({ $0.state == .speaking }).count < c.maxSpeakers else {
                throw AppError.conflict("too_many_speakers", "At most \(c.maxSpeakers) students speak at once: end someone's turn first.")
            }
            try await store.saveHand(db, classID: c.id, userID: userID, state: .speaking, at: now)
            Self.changed(outbox, c)
            return (c, [], try await handsWithFeeds(db, c))
        }
        await endTurns(c, ended)
        return result
    }

    /// Mute everyone: every speaker's turn ends (raised hands stay).
    func muteAll(_ identity: Identity, _ orgID: Organization.ID, _ id: LiveClass.ID) async throws -> [LiveHand] {
        let (c, ended, hands) = try await transactor.run { db, outbox -> (LiveClass, [User.ID], [LiveHand]) in
            let (c, viewer, _) = try await load(db, identity, orgID, id)
            try requireRunner(viewer)
            try Self.requireActive(c)
            let ended = try await speakers(db, c)
            try await store.deleteHands(db, classID: c.id, state: .speaking)
            Self.changed(outbox, c)
            return (c, ended, try await handsWithFeeds(db, c))
        }
        await endTurns(c, ended)
        return hands
    }

    /// Who speaks now.
    private func speakers(_ db: any SQLDatabase, _ c: LiveClass) async throws -> [User.ID] {
        try await store.fetchHands(db, classID: c.id).filter { $0.state == .speaking }.map(\.person.userID)
    }

    func hands(_ identity: Identity, _ orgID: Organization.ID, _ id: LiveClass.ID) async throws -> [LiveHand] {
        try await database.read { db in
            let (c, _, _) = try await load(db, identity, orgID, id, writing: false)
            return try await handsWithFeeds(db, c)
        }
    }

    /// The class's hands, each speaker's with the feed they publish as.
    private func handsWithFeeds(_ db: any SQLDatabase, _ c: LiveClass) async throws -> [LiveHand] {
        Self.withFeeds(try await store.fetchHands(db, classID: c.id), c)
    }

    private static func withFeeds(_ hands: [LiveHand], _ c: LiveClass) -> [LiveHand] {
        hands.map { hand in
            var hand = hand
            hand.feed = hand.state == .speaking ? c.speakerFeed(hand.person.userID) : nil
            return hand
        }
    }

    private static func requireActive(_ c: LiveClass) throws {
        guard c.state == .live else { throw AppError.conflict("not_live", "The class is not live.") }
        guard !c.paused else { throw AppError.conflict("class_paused", "The teacher has paused the class.") }
    }

    func requireParticipant(_ db: any SQLDatabase, _ c: LiveClass, _ identity: Identity) async throws {
        guard c.teacher.userID != identity.userID else { return }
        if try await store.isRemoved(db, classID: c.id, userID: identity.userID) {
            throw AppError(.forbidden, "removed", "The teacher removed you from this class.")
        }
    }

    // MARK: Watching

    /// Opens the video, live or the replay: checks that the caller may watch it now and starts
    /// (or resumes) their watch time.
    func open(_ identity: Identity, _ orgID: Organization.ID, _ id: LiveClass.ID, mode: WatchMode) async throws -> (LiveClassView, Media?) {
        let now = clock.now()
        // A new token is asked of Janus before the transaction (never while holding the writer).
        var fresh: String?
        if mode == .live, let media {
            let known = try await database.read { db in try await store.fetchToken(db, classID: id, userID: identity.userID) }
            let current = try await view(identity, orgID, id)
            if current.liveClass.state == .live { try await mediaCall { try await restoreRoom(current.liveClass) } }
            if known == nil, current.liveClass.janusRoom != nil { fresh = try await mediaCall { try await media.addToken() } }
        }
        var unused = fresh
        defer { if let unused { Task { [self] in await revoke(unused) } } }
        let joined = try await transactor.run { db, _ -> Media? in
            let (c, viewer, _) = try await load(db, identity, orgID, id)
            try await requireParticipant(db, c, identity)
            try Self.requireWatchable(c, mode)
            var watch = try await store.fetchWatch(db, classID: c.id, userID: identity.userID, mode: mode)
            if mode == .live, c.locked, watch == nil, viewer.role != .teacher {
                throw AppError(.forbidden, "class_locked", "The teacher has locked the class: nobody new joins.")
            }
            if watch == nil { watch = .opened(at: now) } else { watch!.reopen(at: now) }
            try await store.saveWatch(db, classID: c.id, userID: identity.userID, mode: mode, watch!)
            guard mode == .live, let media, let room = c.janusRoom else { return nil }
            var token = try await store.fetchToken(db, classID: c.id, userID: identity.userID)
            if token == nil {
                guard let fresh else { throw AppError.conflict("retry", "The class's media changed: open it again.") }
                try await store.saveToken(db, classID: c.id, userID: identity.userID, token: fresh, at: now)
                token = fresh
            }
            let isTeacher = viewer.role == .teacher, teacherFeed = c.teacherFeed ?? 0
            return Media(url: media.settings.webSocketURL, room: room, token: token!, teacherFeed: isTeacher || c.onAir ? teacherFeed : nil,
                         publish: isTeacher, feed: isTeacher ? teacherFeed : c.speakerFeed(identity.userID) ?? 0)
        }
        if joined?.token == fresh { unused = nil }
        return (try await view(identity, orgID, id), joined)
    }

    /// The teacher's camera went on (or off) the air: students subscribe to it.
    func setOnAir(_ identity: Identity, _ orgID: Organization.ID, _ id: LiveClass.ID, onAir: Bool) async throws -> LiveClassView {
        let now = clock.now()
        try await transactor.run { db, outbox in
            var (c, _, _) = try await load(db, identity, orgID, id)
            guard c.teacher.userID == identity.userID else { throw AppError.forbidden("Only the class's teacher broadcasts.") }
            guard c.state == .live, c.janusRoom != nil else { throw AppError.conflict("not_live", "The class is not live with video.") }
            guard c.onAir != onAir else { return }
            c.onAir = onAir
            c.updatedAt = now
            try await store.updateClass(db, c)
            Self.changed(outbox, c)
        }
        return try await view(identity, orgID, id)
    }

    // MARK: Media rooms

    /// A class's Janus room: its number and secret.
    struct Room: Sendable {
        var id: Int64
        var secret: String
    }

    /// A recorded Janus room for a class that goes live (nil without Janus); `503
    /// media_unavailable` if Janus does not answer, and the class does not start.
    private func makeRoom(for classID: LiveClass.ID, title: String, maxSpeakers: Int) async throws -> Room? {
        guard let media else { return nil }
        let room = Room(id: Int64.random(in: 1...(1 << 52)), secret: (0..<4).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 16) }.joined())
        let directory = recordingDirectory(classID).path
        try await mediaCall {
            try await media.createRoom(room.id, secret: room.secret, publishers: 1 + maxSpeakers, description: title, recordingDirectory: directory)
        }
        return room
    }

    /// Janus forgets its rooms and tokens when it restarts: a live class's room is made again
    /// when someone opens the class (the pages do after their connection dropped) — the same
    /// number and secret, so the feeds keep their numbers, recording into the same folder (the
    /// replay joins the files) — and the class's tokens are given back to Janus.
    private func restoreRoom(_ c: LiveClass) async throws {
        guard let media, let room = c.janusRoom, let secret = c.roomSecret, try await !media.roomExists(room) else { return }
        do {
            try await media.createRoom(room, secret: secret, publishers: 1 + c.maxSpeakers, description: c.title,
                                       recordingDirectory: recordingDirectory(c.id).path)
        } catch let failure as JanusControl.Failure where failure.code == JanusControl.roomAlreadyExists {
            // Made by someone else at the same moment.
        }
        logger.notice("made a live class's Janus room again", metadata: ["class": "\(c.id.string)"])
        for token in try await database.read({ db in try await store.fetchTokens(db, classID: c.id) }) {
            do {
                try await media.addToken(token)
            } catch {
                logger.warning("could not give a token back to Janus", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Destroys a room that no class took (the transaction failed, or a retry found the class).
    private func discard(_ room: Room?) async {
        guard let media, let room else { return }
        do {
            try await media.destroyRoom(room.id, secret: room.secret)
        } catch {
            logger.warning("could not destroy an unused Janus room", metadata: ["error": "\(error)"])
        }
    }

    /// Destroys an ended class's room (its recording files are closed) and revokes its tokens. A
    /// failure is logged: the class has ended either way.
    private func closeRoom(_ c: LiveClass, tokens: [String]) async {
        guard let media, let room = c.janusRoom, let secret = c.roomSecret else { return }
        do {
            try await media.destroyRoom(room, secret: secret)
        } catch {
            logger.warning("could not destroy the Janus room of a live class", metadata: ["class": "\(c.id.string)", "error": "\(error)"])
        }
        for token in tokens { await revoke(token) }
    }

    private func revoke(_ token: String) async {
        do {
            try await media?.removeToken(token)
        } catch {
            logger.warning("could not revoke a Janus token", metadata: ["error": "\(error)"])
        }
    }

    /// Runs a call to Janus; its failure is `503 media_unavailable` (the details go to the log).
    private func mediaCall<R>(_ call: () async throws -> R) async throws -> R {
        do {
            return try await call()
        } catch {
            logger.error("Janus failed", metadata: ["error": "\(error)"])
            throw AppError(.serviceUnavailable, "media_unavailable", "The media server does not answer: try again in a moment.")
        }
    }

    /// A heartbeat from a page showing the video: credits the time since the last one (see
    /// `WatchTime`). Returns the seconds watched in that mode so far.
    func heartbeat(_ identity: Identity, _ orgID: Organization.ID, _ id: LiveClass.ID, mode: WatchMode) async throws -> Double {
        let now = clock.now()
        return try await transactor.run { db, _ in
            let (c, _, _) = try await load(db, identity, orgID, id)
            try await requireParticipant(db, c, identity)
            try Self.requireWatchable(c, mode)
            guard var watch = try await store.fetchWatch(db, classID: c.id, userID: identity.userID, mode: mode) else {
                throw AppError.conflict("not_open", "Open the class's video first.")
            }
            watch.beat(at: now)
            try await store.saveWatch(db, classID: c.id, userID: identity.userID, mode: mode, watch)
            return watch.seconds
        }
    }

    static func requireWatchable(_ c: LiveClass, _ mode: WatchMode) throws {
        switch mode {
        case .live: guard c.state == .live else { throw AppError.conflict("not_live", "The class is not live.") }
        case .replay: guard c.state == .replayReady else { throw AppError.conflict("no_replay", "The class has no replay yet.") }
        }
    }

    /// The statistics as a table to download: minutes live, on the replay and in all.
    static func exportTable(_ c: LiveClass, _ rows: [LiveWatchRow]) -> ExportTable {
        ExportTable(title: "\(c.title) — watching", sheetName: "Watching", zone: .gmt,
                    header: ["Name", "Watched", "Live (minutes)", "Replay (minutes)", "Minutes"], columnWidths: [28, 12, 16, 16, 10],
                    rows: rows.map { row in
                        [.text(row.person.name), .text(row.watched.rawValue), .integer(Int((row.liveSeconds / 60).rounded())),
                         .integer(Int((row.replaySeconds / 60).rounded())), .integer(row.minutes)]
                    })
    }

    /// Each student's watching (everyone in the class's groups but the teacher), by name.
    func statistics(_ identity: Identity, _ orgID: Organization.ID, _ id: LiveClass.ID) async throws -> (LiveClass, [LiveWatchRow]) {
        try await database.read { db in
            let (c, viewer, _) = try await load(db, identity, orgID, id, writing: false)
            guard viewer.seesStatistics else { throw AppError.forbidden("The teacher and the groups' admins see who watched.") }
            let totals = try await store.fetchWatchTotals(db, classID: c.id)
            let rows = try await store.fetchAudience(db, classID: c.id).filter { $0.userID != c.teacher.userID }.map { person in
                LiveWatchRow(person: person, liveSeconds: totals[person.userID]?[.live] ?? 0, replaySeconds: totals[person.userID]?[.replay] ?? 0)
            }
            return (c, rows)
        }
    }
}
