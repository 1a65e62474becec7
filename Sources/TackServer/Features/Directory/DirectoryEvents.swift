import Foundation
import SQLKit
import TackAPI

/// The directory's event types (documented in `docs/events.md`).
enum DirectoryEvent {
    static let orgUpdated = "org.updated"
    static let departmentCreated = "department.created"
    static let departmentUpdated = "department.updated"
    static let departmentDeleted = "department.deleted"
    static let memberJoined = "member.joined"
    static let memberUpdated = "member.updated"
    static let memberLeft = "member.left"
    static let membersImported = "members.imported"
    static let invitationCreated = "invitation.created"
    static let invitationRevoked = "invitation.revoked"
    static let joinRequestCreated = "joinRequest.created"
    static let joinRequestUpdated = "joinRequest.updated"
    // Personal events.
    static let membershipAdded = "membership.added"
    static let membershipRemoved = "membership.removed"
}

/// Appends directory events to the organisation's log and queues them for the hub.
struct DirectoryEventWriter: Sendable {
    let log: EventLogStore
    let clock: WallClock

    /// Appends an organisation event with `payload` (an API schema value) and queues it.
    @discardableResult
    func emit<T: Encodable>(_ db: any SQLDatabase, _ outbox: Outbox, org: Organization.ID, _ type: String,
                            adminsOnly: Bool = false, _ payload: T, change: MembershipChange? = nil) async throws -> StoredOrgEvent {
        let event = try await log.append(db, org: org, type: type, adminsOnly: adminsOnly, payload: payload, at: clock.now())
        outbox.add(.orgEvent(event, change: change))
        return event
    }

    /// Queues a personal event for one person.
    func emitPersonal<T: Encodable>(_ outbox: Outbox, to user: User.ID, _ type: String, _ payload: T, change: MembershipChange? = nil) throws {
        outbox.add(.personal(user, type: type, data: try EventJSON.encode(payload), change: change))
    }
}
