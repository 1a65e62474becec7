import Foundation
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
    func connection(_ user: User.ID, _ memberships: [Organization.ID: Bool], session: String = "s") -> RealtimeConnection {
        let c = RealtimeConnection(state: RealtimeSessionState(userID: user, sessionHash: session, memberships: memberships))
        c.stopWaitingForResume()
        return c
    }

    /// Everything queued so far, without waiting for more.
    func drain(_ c: RealtimeConnection) async -> [HubMessage.Payload] {
        c.finish()
        var out: [HubMessage.Payload] = []
        for await p in c.outgoing { out.append(p) }
        return out
    }

    @Test func routesByOrganisationPersonAndMembership() async {
        let hub = LocalHub()
        let org = Organization.ID.random()
        let alice = User.ID.random(), bob = User.ID.random()
        let a = connection(alice, [org: true]), b = connection(bob, [:])
        hub.register(a)
        hub.register(b)
        #expect(hub.connectionCount == 2)
        let first = StoredOrgEvent(orgID: org, seq: 1, type: "x", adminsOnly: false, data: "{}")
        await hub.publish([.orgEvent(first)])
        // Bob joins: the joining event reaches him too, and later events do.
        let joined = StoredOrgEvent(orgID: org, seq: 2, type: "member.joined", adminsOnly: false, data: "{}")
        await hub.publish([.orgEvent(joined, change: MembershipChange(userID: bob, orgID: org, isAdmin: false))])
        let third = StoredOrgEvent(orgID: org, seq: 3, type: "y", adminsOnly: true, data: "{}")
        await hub.publish([.orgEvent(third)])
        hub.unregister(a)
        hub.unregister(b)
        #expect(hub.connectionCount == 0)
        #expect(await drain(a) == [first, joined, third].map { .event(json: $0.envelope) })
        #expect(await drain(b) == [.event(json: joined.envelope)])
    }
}
