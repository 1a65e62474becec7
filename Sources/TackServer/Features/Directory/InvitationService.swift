import Foundation
import SQLKit
import TackAPI

/// Invitations by link or short code, and the approval of join requests.
final class InvitationService: Sendable {
    private let directory: DirectoryService
    private var transactor: Transactor { directory.transactor }
    private var database: Database { transactor.database }
    private var events: DirectoryEventWriter { directory.events }
    private let store = InvitationStore()
    private let clock: WallClock
    /// Guessing codes is slowed per client address.
    private let lookups: RateLimiter

    init(directory: DirectoryService, clock: WallClock, lookupsPerAddress: RateLimiter.Rule = .init(limit: 60, window: 60)) {
        self.directory = directory
        self.clock = clock
        lookups = RateLimiter(lookupsPerAddress, clock: clock)
    }

    struct NewInvitation: Sendable {
        var departmentID: Department.ID?
        var role: Role = .member
        var requiresApproval = false
        var expiresInHours = 168
        var maxUses: Int?
    }

    func createInvitation(_ identity: Identity, _ orgID: Organization.ID, _ request: NewInvitation, idempotencyKey: String?) async throws -> Invitation {
        guard (1...8760).contains(request.expiresInHours) else {
            throw AppError.invalid("expiresInHours", "Must be between 1 and 8760 hours.")
        }
        if let maxUses = request.maxUses, !(1...100_000).contains(maxUses) {
            throw AppError.invalid("maxUses", "Must be between 1 and 100000.")
        }
        guard request.role != .owner else { throw AppError.invalid("role", "An invitation cannot make owners.") }
        let now = clock.now()
        return try await transactor.runIdempotent(
            scope: identity.userID.string, key: idempotencyKey, operation: "createInvitation",
            fingerprint: "\(orgID)\n\(String(describing: request.departmentID))\n\(request.role)\n\(request.requiresApproval)\n\(request.expiresInHours)\n\(String(describing: request.maxUses))"
        ) { db, outbox in
            let caller = try await directory.accessAdmin(db, identity, orgID)
            if request.role == .admin, caller.role != .owner {
                throw AppError.forbidden("Only an owner may invite admins.")
            }
            if let departmentID = request.departmentID,
               try await directory.store.fetchDepartment(db, orgID: orgID, id: departmentID) == nil {
                throw AppError.invalid("departmentId", "There is no such department in this organisation.", code: "unknown_department")
            }
            let invitation = Invitation(
                id: .random(), orgID: orgID, code: Secrets.shortCode(), token: Secrets.token(bytes: 24),
                departmentID: request.departmentID, role: request.role, requiresApproval: request.requiresApproval,
                expiresAt: now.addingTimeInterval(Double(request.expiresInHours) * 3600), maxUses: request.maxUses,
                uses: 0, createdAt: now, revokedAt: nil)
            try await store.insertInvitation(db, invitation, createdBy: identity.userID)
            try await events.emit(db, outbox, org: orgID, DirectoryEvent.invitationCreated, adminsOnly: true, invitation.api)
            return invitation
        }
    }

    func invitations(_ identity: Identity, _ orgID: Organization.ID) async throws -> [Invitation] {
        try await database.read { db in
            _ = try await directory.accessAdmin(db, identity, orgID)
            return try await store.fetchInvitations(db, orgID: orgID)
        }
    }

    func revokeInvitation(_ identity: Identity, _ orgID: Organization.ID, _ id: Invitation.ID) async throws {
        let now = clock.now()
        try await transactor.run { db, outbox in
            _ = try await directory.accessAdmin(db, identity, orgID)
            guard var invitation = try await store.fetchInvitation(db, orgID: orgID, id: id) else { throw AppError.notFound("Invitation") }
            guard invitation.revokedAt == nil else { return }
            try await store.revokeInvitation(db, orgID: orgID, id: id, at: now)
            invitation.revokedAt = now
            try await events.emit(db, outbox, org: orgID, DirectoryEvent.invitationRevoked, adminsOnly: true, invitation.api)
        }
    }

    /// What an invitation joins; anyone with the code may ask.
    func preview(codeOrToken: String, clientAddress: String) async throws -> (Invitation, Organization) {
        if let wait = lookups.hit(clientAddress) { throw AppError.rateLimited(retryAfter: wait) }
        return try await database.read { db in
            let (invitation, org) = try await usableInvitation(db, codeOrToken)
            return (invitation, org)
        }
    }

    private func usableInvitation(_ db: any SQLDatabase, _ codeOrToken: String) async throws -> (Invitation, Organization) {
        guard let invitation = try await store.fetchInvitation(db, codeOrToken: codeOrToken.trimmingCharacters(in: .whitespaces)),
              let org = try await directory.store.fetchOrganization(db, id: invitation.orgID)
        else { throw AppError(.notFound, "invitation_not_found", "No invitation has this code.") }
        if let reason = invitation.unusableReason(at: clock.now()) { throw reason }
        return (invitation, org)
    }

    enum AcceptOutcome: Sendable {
        case joined(Organization, Member)
        case pending(Organization, JoinRequest)
        case alreadyMember(Organization, Member)
    }

    /// Joins with an invitation, or files a join request when it needs approval.
    func accept(_ identity: Identity, codeOrToken: String, clientAddress: String) async throws -> AcceptOutcome {
        if let wait = lookups.hit(clientAddress) { throw AppError.rateLimited(retryAfter: wait) }
        let now = clock.now()
        return try await transactor.run { db, outbox in
            let (invitation, org) = try await usableInvitation(db, codeOrToken)
            if let member = try await directory.store.fetchMember(db, orgID: org.id, userID: identity.userID) {
                return .alreadyMember(org, member)
            }
            guard let (user, _) = try await directory.accounts.fetchUser(db, id: identity.userID) else { throw AppError.unauthenticated() }
            if invitation.requiresApproval {
                if let pending = try await store.fetchPendingJoinRequest(db, orgID: org.id, userID: user.id) {
                    return .pending(org, pending)
                }
                let request = JoinRequest(id: .random(), orgID: org.id, userID: user.id, invitationID: invitation.id, name: user.name,
                                          email: user.email, phone: user.phone, status: .pending, createdAt: now, decidedAt: nil)
                try await store.insertJoinRequest(db, request)
                try await events.emit(db, outbox, org: org.id, DirectoryEvent.joinRequestCreated, adminsOnly: true, request.api)
                return .pending(org, request)
            }
            guard try await store.incrementUses(db, id: invitation.id) else {
                throw AppError(.gone, "invitation_used_up", "This invitation has been used as often as allowed.")
            }
            let member = try await join(db, outbox, user: user, org: org.id, invitation: invitation, now: now)
            var joinedOrg = org
            joinedOrg.memberCount += 1
            return .joined(joinedOrg, member)
        }
    }

    private func join(_ db: any SQLDatabase, _ outbox: Outbox, user: User, org: Organization.ID, invitation: Invitation?, now: Date) async throws -> Member {
        let departments = try await directory.validDepartments(db, orgID: org, invitation?.departmentID.map { [$0] } ?? [])
        let member = Member(id: .random(), orgID: org, userID: user.id, name: user.name, title: "", email: user.email,
                            phone: user.phone, role: invitation?.role ?? .member, capabilities: [], departmentIDs: departments,
                            joinedAt: now, claimed: user.claimed)
        try await directory.addMember(db, outbox, member, now: now)
        return member
    }

    /// The caller's own requests that wait for an admin.
    func pendingJoinRequests(_ identity: Identity) async throws -> [(JoinRequest, String, Organization.Kind)] {
        try await database.read { db in try await store.fetchPendingJoinRequests(db, userID: identity.userID) }
    }

    func joinRequests(_ identity: Identity, _ orgID: Organization.ID, status: JoinRequest.Status?) async throws -> [JoinRequest] {
        try await database.read { db in
            _ = try await directory.accessAdmin(db, identity, orgID)
            return try await store.fetchJoinRequests(db, orgID: orgID, status: status)
        }
    }

    /// Approves (the person becomes a member) or rejects a pending request.
    func decide(_ identity: Identity, _ orgID: Organization.ID, _ id: JoinRequest.ID, approve: Bool) async throws -> JoinRequest {
        let now = clock.now()
        return try await transactor.run { db, outbox in
            _ = try await directory.accessAdmin(db, identity, orgID)
            guard var request = try await store.fetchJoinRequest(db, orgID: orgID, id: id) else { throw AppError.notFound("Join request") }
            guard request.status == .pending,
                  try await store.decideJoinRequest(db, id: id, status: approve ? .approved : .rejected, by: identity.userID, at: now)
            else { throw AppError.conflict("already_decided", "This request was already \(request.status.rawValue).") }
            request.status = approve ? .approved : .rejected
            request.decidedAt = now
            if approve, try await directory.store.fetchMember(db, orgID: orgID, userID: request.userID) == nil {
                guard let (user, _) = try await directory.accounts.fetchUser(db, id: request.userID) else { throw AppError.notFound("Person") }
                let invitation = try await request.invitationID.asyncFlatMap { try await store.fetchInvitation(db, orgID: orgID, id: $0) }
                _ = try await join(db, outbox, user: user, org: orgID, invitation: invitation, now: now)
            }
            try await events.emit(db, outbox, org: orgID, DirectoryEvent.joinRequestUpdated, adminsOnly: true, request.api)
            try events.emitPersonal(outbox, to: request.userID, DirectoryEvent.joinRequestUpdated, request.api)
            return request
        }
    }
}

extension Optional {
    func asyncFlatMap<U>(_ transform: (Wrapped) async throws -> U?) async rethrows -> U? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
