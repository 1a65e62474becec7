import Foundation
import SQLKit

/// Invitations and join requests (`invitations`, `join_requests`).
struct InvitationStore: Sendable {
    private static let invitationColumns = """
        id, org_id, code, token, department_id, role, requires_approval, expires_at, max_uses, uses, created_at, revoked_at
        """

    func insertInvitation(_ db: any SQLDatabase, _ invitation: Invitation, createdBy: User.ID) async throws {
        try await db.insert(into: "invitations")
            .columns("id", "org_id", "code", "token", "department_id", "role", "requires_approval", "expires_at",
                     "max_uses", "uses", "created_by", "created_at")
            .values(SQLBind(invitation.id), SQLBind(invitation.orgID), SQLBind(invitation.code), SQLBind(invitation.token),
                    SQLBind(invitation.departmentID), SQLBind(invitation.role.rawValue), SQLBind(invitation.requiresApproval),
                    SQLBind(invitation.expiresAt), SQLBind(invitation.maxUses), SQLBind(invitation.uses),
                    SQLBind(createdBy), SQLBind(invitation.createdAt))
            .run()
    }

    /// The invitation with this short code (any case) or link token.
    func fetchInvitation(_ db: any SQLDatabase, codeOrToken: String) async throws -> Invitation? {
        // Index: UNIQUE code, UNIQUE token.
        let row = try await db.raw("""
            SELECT \(unsafeRaw: Self.invitationColumns) FROM invitations
            WHERE code = \(bind: codeOrToken.uppercased()) OR token = \(bind: codeOrToken)
            """).first()
        return try row.map(Self.invitation)
    }

    func fetchInvitation(_ db: any SQLDatabase, orgID: Organization.ID, id: Invitation.ID) async throws -> Invitation? {
        let row = try await db.raw("SELECT \(unsafeRaw: Self.invitationColumns) FROM invitations WHERE org_id = \(bind: orgID) AND id = \(bind: id)").first()
        return try row.map(Self.invitation)
    }

    /// The organisation's invitations, newest first (at most 500).
    func fetchInvitations(_ db: any SQLDatabase, orgID: Organization.ID) async throws -> [Invitation] {
        try await db.raw("""
            SELECT \(unsafeRaw: Self.invitationColumns) FROM invitations WHERE org_id = \(bind: orgID)
            ORDER BY created_at DESC, id LIMIT 500
            """).all().map(Self.invitation)
    }

    func revokeInvitation(_ db: any SQLDatabase, orgID: Organization.ID, id: Invitation.ID, at now: Date) async throws {
        try await db.update("invitations").set("revoked_at", to: now)
            .where("org_id", .equal, orgID).where("id", .equal, id).where("revoked_at", .is, SQLLiteral.null).run()
    }

    /// Counts one use, unless the invitation is used up (then false: a concurrent joiner took the last use).
    func incrementUses(_ db: any SQLDatabase, id: Invitation.ID) async throws -> Bool {
        let rows = try await db.raw("""
            UPDATE invitations SET uses = uses + 1
            WHERE id = \(bind: id) AND (max_uses IS NULL OR uses < max_uses) RETURNING uses
            """).all()
        return !rows.isEmpty
    }

    static func invitation(_ row: any SQLRow) throws -> Invitation {
        Invitation(
            id: try row.decode(column: "id", as: Invitation.ID.self),
            orgID: try row.decode(column: "org_id", as: Organization.ID.self),
            code: try row.decode(column: "code", as: String.self),
            token: try row.decode(column: "token", as: String.self),
            departmentID: try row.decode(column: "department_id", as: Department.ID?.self),
            role: Role(rawValue: try row.decode(column: "role", as: String.self)) ?? .member,
            requiresApproval: try row.decode(column: "requires_approval", as: Bool.self),
            expiresAt: try row.decode(column: "expires_at", as: Date.self),
            maxUses: try row.decode(column: "max_uses", as: Int?.self),
            uses: try row.decode(column: "uses", as: Int.self),
            createdAt: try row.decode(column: "created_at", as: Date.self),
            revokedAt: try row.decode(column: "revoked_at", as: Date?.self))
    }

    // MARK: Join requests

    private static let requestColumns = """
        r.id, r.org_id, r.user_id, r.invitation_id, r.status, r.created_at, r.decided_at, u.name, u.email, u.phone
        """

    func insertJoinRequest(_ db: any SQLDatabase, _ request: JoinRequest) async throws {
        try await db.insert(into: "join_requests")
            .columns("id", "org_id", "user_id", "invitation_id", "status", "created_at")
            .values(SQLBind(request.id), SQLBind(request.orgID), SQLBind(request.userID), SQLBind(request.invitationID),
                    SQLBind(request.status.rawValue), SQLBind(request.createdAt))
            .run()
    }

    func fetchJoinRequest(_ db: any SQLDatabase, orgID: Organization.ID, id: JoinRequest.ID) async throws -> JoinRequest? {
        let row = try await db.raw("""
            SELECT \(unsafeRaw: Self.requestColumns) FROM join_requests r JOIN users u ON u.id = r.user_id
            WHERE r.org_id = \(bind: orgID) AND r.id = \(bind: id)
            """).first()
        return try row.map(Self.joinRequest)
    }

    func fetchPendingJoinRequest(_ db: any SQLDatabase, orgID: Organization.ID, userID: User.ID) async throws -> JoinRequest? {
        let row = try await db.raw("""
            SELECT \(unsafeRaw: Self.requestColumns) FROM join_requests r JOIN users u ON u.id = r.user_id
            WHERE r.org_id = \(bind: orgID) AND r.user_id = \(bind: userID) AND r.status = 'pending'
            """).first()
        return try row.map(Self.joinRequest)
    }

    /// A person's own pending requests, with the organisations' names and kinds.
    func fetchPendingJoinRequests(_ db: any SQLDatabase, userID: User.ID) async throws -> [(JoinRequest, String, Organization.Kind)] {
        let rows = try await db.raw("""
            SELECT \(unsafeRaw: Self.requestColumns), o.name AS org_name, o.kind AS org_kind
            FROM join_requests r JOIN users u ON u.id = r.user_id JOIN orgs o ON o.id = r.org_id
            WHERE r.user_id = \(bind: userID) AND r.status = 'pending'
            ORDER BY r.created_at, r.id
            """).all()
        return try rows.map {
            (try Self.joinRequest($0), try $0.decode(column: "org_name", as: String.self),
             Organization.Kind(rawValue: try $0.decode(column: "org_kind", as: String.self)) ?? .company)
        }
    }

    /// Join requests of an organisation, oldest first (at most 500).
    func fetchJoinRequests(_ db: any SQLDatabase, orgID: Organization.ID, status: JoinRequest.Status?) async throws -> [JoinRequest] {
        var sql: SQLQueryString = "SELECT \(unsafeRaw: Self.requestColumns) FROM join_requests r JOIN users u ON u.id = r.user_id WHERE r.org_id = \(bind: orgID)"
        if let status { sql += " AND r.status = \(bind: status.rawValue)" }
        sql += " ORDER BY r.created_at, r.id LIMIT 500"
        return try await db.raw(sql).all().map(Self.joinRequest)
    }

    /// Decides a pending request; false if it was no longer pending.
    func decideJoinRequest(_ db: any SQLDatabase, id: JoinRequest.ID, status: JoinRequest.Status, by user: User.ID, at now: Date) async throws -> Bool {
        let rows = try await db.update("join_requests")
            .set("status", to: status.rawValue).set("decided_at", to: now).set("decided_by", to: user)
            .where("id", .equal, id).where("status", .equal, JoinRequest.Status.pending.rawValue)
            .returning("id").all()
        return !rows.isEmpty
    }

    static func joinRequest(_ row: any SQLRow) throws -> JoinRequest {
        JoinRequest(
            id: try row.decode(column: "id", as: JoinRequest.ID.self),
            orgID: try row.decode(column: "org_id", as: Organization.ID.self),
            userID: try row.decode(column: "user_id", as: User.ID.self),
            invitationID: try row.decode(column: "invitation_id", as: Invitation.ID?.self),
            name: try row.decode(column: "name", as: String.self),
            email: try row.decode(column: "email", as: String?.self),
            phone: try row.decode(column: "phone", as: String?.self),
            status: JoinRequest.Status(rawValue: try row.decode(column: "status", as: String.self)) ?? .pending,
            createdAt: try row.decode(column: "created_at", as: Date.self),
            decidedAt: try row.decode(column: "decided_at", as: Date?.self))
    }
}
