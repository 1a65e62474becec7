import Dispatch
import Foundation
import Synchronization
import Testing
@testable import TackServer

@Suite("Real-time session state")
struct RealtimeSessionStateTests {
    let user = User.ID.random()
    let org = Organization.ID.random()
    let other = Organization.ID.random()

    func event(_ seq: Int64, org: Organization.ID? = nil, adminsOnly: Bool = false) -> HubMessage {
        .orgEvent(StoredOrgEvent(orgID: org ?? self.org, seq: seq, type: "t", adminsOnly: adminsOnly, data: "{}"))
    }

    func json(_ action: RealtimeSessionState.Action) -> String? {
        if case .send(.event(let json)) = action { json } else { nil }
    }

    @Test func holdsLiveEventsUntilTheReplayIsDone() {
        var state = RealtimeSessionState(userID: user, sessionHash: "s", memberships: [org: false])
        #expect(state.offer(event(5)) == .buffer)
        #expect(state.offer(event(6)) == .buffer)
        state.beginResume()
        // The replay from the log covered up to 5; only 6 is still new.
        let flushed = state.finishResume(replayedUpTo: [org: 5])
        #expect(flushed == [event(6).payload])
        #expect(state.mode == .live)
        #expect(json(state.offer(event(6))) == nil, "an event already sent must not be sent twice")
        #expect(json(state.offer(event(7))) != nil)
    }

    @Test func deliversOnlyToItsAudience() {
        var state = RealtimeSessionState(userID: user, sessionHash: "s", memberships: [org: false])
        _ = state.finishResume(replayedUpTo: [:])
        #expect(state.offer(event(1, org: other)) == .drop, "another organisation's event")
        #expect(state.offer(event(2, adminsOnly: true)) == .drop, "an admins-only event to a member")
        #expect(json(state.offer(event(3))) != nil)
        #expect(json(state.offer(.personal(user, type: "p", data: "{}"))) != nil)
        #expect(state.offer(.personal(.random(), type: "p", data: "{}")) == .drop)
        state.apply(MembershipChange(userID: user, orgID: org, isAdmin: true))
        #expect(json(state.offer(event(4, adminsOnly: true))) != nil, "promoted to admin")
        state.apply(MembershipChange(userID: user, orgID: org, isAdmin: nil))
        #expect(state.offer(event(5)) == .drop, "left the organisation")
    }

    @Test func overflowsWhenTheClientFallsBehind() {
        var state = RealtimeSessionState(userID: user, sessionHash: "s", memberships: [org: false], limit: 3)
        for seq in 1...3 { #expect(state.offer(event(Int64(seq))) == .buffer) }
        #expect(state.offer(event(4)) == .overflow)
        #expect(state.mode == .closed)
        #expect(state.offer(event(5)) == .drop)
    }

    @Test func closesTheSessionsThatEnded() {
        var state = RealtimeSessionState(userID: user, sessionHash: "mine", memberships: [:])
        let others = HubMessage.endSessions(["theirs"])[0]
        #expect(state.offer(others) == .drop)
        let mine = HubMessage.endSessions(["mine"])[0]
        #expect(state.offer(mine) == .send(.close(code: 4001, reason: "session ended")))
        #expect(state.mode == .closed)
    }

    @Test func goesLiveWhenNoResumeComes() {
        var state = RealtimeSessionState(userID: user, sessionHash: "s", memberships: [org: false])
        _ = state.offer(event(1))
        #expect(state.stopWaitingForResume() == [event(1).payload])
        #expect(state.mode == .live)
        state.beginResume()
        #expect(state.stopWaitingForResume() == [], "a resume in progress is not cut short")
    }
}

@Suite("Local hub")
struct LocalHubTests {
    /// What a connection writes, in order, as the test awaits it.
    final class Recorder: Sendable {
        let written = Mutex<[HubMessage.Payload]>([])
        private let stream = AsyncStream<HubMessage.Payload>.makeStream()
        var payloads: [HubMessage.Payload] { written.withLock { $0 } }

        func record(_ payload: HubMessage.Payload) {
            written.withLock { $0.append(payload) }
            stream.continuation.yield(payload)
        }

        /// Everything written up to and including a close.
        func untilClose() async -> [HubMessage.Payload] {
            var result: [HubMessage.Payload] = []
            for await payload in stream.stream {
                result.append(payload)
                if case .close = payload { break }
            }
            return result
        }

        /// The first `count` payloads written, waiting for them as they come.
        func first(_ count: Int) async -> [HubMessage.Payload] {
            var result: [HubMessage.Payload] = []
            for await payload in stream.stream {
                result.append(payload)
                if result.count == count { break }
            }
            return result
        }
    }

    func connection(_ user: User.ID, _ memberships: [Organization.ID: Bool], recorder: Recorder, limit: Int = 1024) -> RealtimeConnection {
        let c = RealtimeConnection(state: RealtimeSessionState(userID: user, sessionHash: "s", memberships: memberships, limit: limit)) { payload in
            recorder.record(payload)
        }
        c.stopWaitingForResume()
        return c
    }

    @Test func routesByOrganisationPersonAndMembership() async {
        let hub = LocalHub()
        let org = Organization.ID.random()
        let alice = User.ID.random(), bob = User.ID.random()
        let ra = Recorder(), rb = Recorder()
        let a = connection(alice, [org: true], recorder: ra), b = connection(bob, [:], recorder: rb)
        hub.register(a, conversations: [])
        hub.register(b, conversations: [])
        #expect(hub.connectionCount == 2)
        let first = StoredOrgEvent(orgID: org, seq: 1, type: "x", adminsOnly: false, data: "{}")
        await hub.publish([.orgEvent(first)])
        // Bob joins: the joining event reaches him too, and later events do.
        let joined = StoredOrgEvent(orgID: org, seq: 2, type: "member.joined", adminsOnly: false, data: "{}")
        await hub.publish([.orgEvent(joined, change: MembershipChange(userID: bob, orgID: org, isAdmin: false))])
        let third = StoredOrgEvent(orgID: org, seq: 3, type: "y", adminsOnly: true, data: "{}")
        await hub.publish([.orgEvent(third)])
        // The writers run on their own tasks; closing is queued last and marks the end.
        a.close(code: 1000, reason: "")
        b.close(code: 1000, reason: "")
        let toA = await ra.first(4), toB = await rb.first(2)
        #expect(toA == [first, joined, third].map { .event(json: $0.envelope) } + [.close(code: 1000, reason: "")])
        #expect(toB == [.event(json: joined.envelope), .close(code: 1000, reason: "")])
        hub.unregister(a)
        hub.unregister(b)
        #expect(hub.connectionCount == 0)
    }

    @Test func routesConversationMessagesToParticipants() async {
        let hub = LocalHub()
        let chat = Conversation.ID.random(), org = Organization.ID.random()
        let alice = User.ID.random(), bob = User.ID.random()
        let ra = Recorder(), rb = Recorder()
        let a = connection(alice, [:], recorder: ra), b = connection(bob, [:], recorder: rb)
        hub.register(a, conversations: [chat])
        hub.register(b, conversations: [])
        let first = HubMessage.conversation(chat, org: org, type: "message.created", data: "1")
        await hub.publish([first])
        let joined = HubMessage.personal(bob, type: "conversation.added", data: "{}",
                                         conversationChanges: [ConversationChange(userID: bob, conversationID: chat, joined: true)])
        let second = HubMessage.conversation(chat, org: org, type: "message.created", data: "2")
        await hub.publish([joined, second])
        let left = HubMessage.personal(bob, type: "conversation.removed", data: "{}",
                                       conversationChanges: [ConversationChange(userID: bob, conversationID: chat, joined: false)])
        let third = HubMessage.conversation(chat, org: org, type: "message.created", data: "3")
        await hub.publish([left, third])
        a.close(code: 1000, reason: "")
        b.close(code: 1000, reason: "")
        #expect(await ra.first(4) == [first.payload, second.payload, third.payload, .close(code: 1000, reason: "")])
        #expect(await rb.first(4) == [joined.payload, second.payload, left.payload, .close(code: 1000, reason: "")])
    }

    @Test func aClientThatDoesNotReadIsClosedWith4008() async {
        let recorder = Recorder()
        let gate = AsyncStream<Void>.makeStream()
        let c = RealtimeConnection(state: RealtimeSessionState(userID: .random(), sessionHash: "s", memberships: [:], limit: 4)) { payload in
            // The socket is stuck on the first write until the gate opens.
            if recorder.payloads.isEmpty { var it = gate.stream.makeAsyncIterator(); _ = await it.next() }
            recorder.record(payload)
        }
        c.stopWaitingForResume()
        for i in 0..<10 { c.send(.event(json: "\(i)")) }
        #expect(c.didOverflow)
        gate.continuation.yield()
        let written = await recorder.untilClose()
        // The four queued behind the stuck write (one more if the writer took the first before
        // the rest arrived), in order, then the close; the rest were refused.
        let events = written.dropLast()
        #expect((4...5).contains(events.count))
        #expect(Array(events) == (0..<events.count).map { HubMessage.Payload.event(json: "\($0)") })
        #expect(written.last == .close(code: 4008, reason: "send queue overflow"))
    }

    @Test func keepaliveClosesSilentConnections() async {
        let hub = LocalHub()
        let recorder = Recorder()
        let c = RealtimeConnection(state: RealtimeSessionState(userID: .random(), sessionHash: "s", memberships: [:])) { payload in
            recorder.record(payload)
        }
        hub.register(c, conversations: [])
        let keepalive = RealtimeKeepalive(hub: hub)
        keepalive.sweepOnce(now: c.openedAt + 5_000_000_000)
        c.heard()
        keepalive.sweepOnce(now: c.openedAt - 1)  // heard after the sweep read the clock
        #expect(recorder.payloads.isEmpty)
        keepalive.sweepOnce(now: DispatchTime.now().uptimeNanoseconds + 80_000_000_000)
        #expect(await recorder.first(1) == [.close(code: 4002, reason: "no ping")])
    }
}
