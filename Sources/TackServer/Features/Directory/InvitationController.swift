import Foundation
import TackAPI

/// Invitations and join requests over HTTP.
extension APIHandler {
    func createInvitation(_ input: Operations.CreateInvitation.Input) async throws -> Operations.CreateInvitation.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let request = InvitationService.NewInvitation(
            departmentID: try body.departmentId.map { try parseID($0, "departmentId") },
            role: body.role == .admin ? .admin : .member, requiresApproval: body.requiresApproval ?? false,
            expiresInHours: body.expiresInHours ?? 168, maxUses: body.maxUses)
        let invitation = try await invitations.createInvitation(try identity(), try parseID(input.path.orgId, "orgId"), request,
                                                                idempotencyKey: input.headers.idempotencyKey)
        return .created(.init(body: .json(invitation.api)))
    }

    func listInvitations(_ input: Operations.ListInvitations.Input) async throws -> Operations.ListInvitations.Output {
        let list = try await invitations.invitations(try identity(), try parseID(input.path.orgId, "orgId"))
        return .ok(.init(body: .json(.init(items: list.map(\.api)))))
    }

    func revokeInvitation(_ input: Operations.RevokeInvitation.Input) async throws -> Operations.RevokeInvitation.Output {
        try await invitations.revokeInvitation(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.invitationId, "invitationId"))
        return .noContent(.init())
    }

    func previewInvitation(_ input: Operations.PreviewInvitation.Input) async throws -> Operations.PreviewInvitation.Output {
        let (invitation, org) = try await invitations.preview(codeOrToken: input.path.code, clientAddress: RequestScope.current.clientAddress)
        return .ok(.init(body: .json(.init(organizationName: org.name, organizationKind: .init(rawValue: org.kind.rawValue)!,
                                           requiresApproval: invitation.requiresApproval, expiresAt: invitation.expiresAt))))
    }

    func acceptInvitation(_ input: Operations.AcceptInvitation.Input) async throws -> Operations.AcceptInvitation.Output {
        let outcome = try await invitations.accept(try identity(), codeOrToken: input.path.code, clientAddress: RequestScope.current.clientAddress)
        let body: Components.Schemas.AcceptInvitationResult = switch outcome {
        case .joined(let org, let member): .init(status: .joined, organization: org.api, member: member.api)
        case .alreadyMember(let org, let member): .init(status: .alreadyMember, organization: org.api, member: member.api)
        case .pending(let org, let request): .init(status: .pending, organization: org.api, joinRequest: request.api)
        }
        return .ok(.init(body: .json(body)))
    }

    func listJoinRequests(_ input: Operations.ListJoinRequests.Input) async throws -> Operations.ListJoinRequests.Output {
        let list = try await invitations.joinRequests(try identity(), try parseID(input.path.orgId, "orgId"),
                                                      status: input.query.status.flatMap { JoinRequest.Status(rawValue: $0.rawValue) })
        return .ok(.init(body: .json(.init(items: list.map(\.api)))))
    }

    func approveJoinRequest(_ input: Operations.ApproveJoinRequest.Input) async throws -> Operations.ApproveJoinRequest.Output {
        let request = try await invitations.decide(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.requestId, "requestId"), approve: true)
        return .ok(.init(body: .json(request.api)))
    }

    func rejectJoinRequest(_ input: Operations.RejectJoinRequest.Input) async throws -> Operations.RejectJoinRequest.Output {
        let request = try await invitations.decide(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.requestId, "requestId"), approve: false)
        return .ok(.init(body: .json(request.api)))
    }
}
