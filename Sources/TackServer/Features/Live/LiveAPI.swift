import Foundation
import TackAPI

// How live classes look in the API: the schemas of `openapi.yaml`.

extension LiveService.LiveClassView {
    var api: Components.Schemas.LiveClass {
        let c = liveClass
        return .init(id: c.id.string, orgId: c.orgID.string, title: c.title, teacher: c.teacher.api, groupIds: c.groupIDs.map(\.string),
                     scheduledAt: c.scheduledAt, state: .init(rawValue: c.state.rawValue)!, startedAt: c.startedAt, endedAt: c.endedAt,
                     locked: c.locked, paused: c.paused, maxSpeakers: c.maxSpeakers, onAir: c.onAir, mediaAvailable: mediaAvailable, watching: watching,
                     replay: c.replay.map { .init(seconds: $0.seconds, bytes: $0.bytes) }, replayFailed: c.replayFailed, createdAt: c.createdAt, updatedAt: c.updatedAt,
                     me: .init(removed: viewer.removed, role: .init(rawValue: viewer.role.rawValue)!, canRun: viewer.canRun,
                               seesStatistics: viewer.seesStatistics, hand: viewer.hand.map { .init(rawValue: $0.rawValue)! }))
    }
}

extension LiveHand {
    var api: Components.Schemas.LiveHand { .init(person: person.api, state: .init(rawValue: state.rawValue)!, at: at, feed: feed) }
}
