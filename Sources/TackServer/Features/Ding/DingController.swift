import Foundation
import OpenAPIRuntime
import TackAPI

/// DING over HTTP.
extension APIHandler {
    func listDings(_ input: Operations.ListDings.Input) async throws -> Operations.ListDings.Output {
        let views = try await ding.list(try identity(), try parseID(input.path.orgId, "orgId"),
                                        box: input.query.box == .sent ? .sent : .received,
                                        unconfirmedOnly: input.query.unconfirmed ?? false, limit: input.query.limit ?? 50)
        return .ok(.init(body: .json(.init(items: views.map(\.api)))))
    }

    func createDing(_ input: Operations.CreateDing.Input) async throws -> Operations.CreateDing.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let new = DingService.NewDing(
            memberIDs: try body.memberIds.map { try parseID($0, "memberIds") }, text: body.text ?? "",
            channel: DeliveryChannel(rawValue: (body.channel ?? .app).rawValue) ?? .app, scheduledAt: body.scheduledAt,
            source: try body.source.map { Ding.Source(conversationID: try parseID($0.conversationId, "source.conversationId"), seq: $0.seq) })
        let view = try await ding.create(try identity(), try parseID(input.path.orgId, "orgId"), new, idempotencyKey: input.headers.idempotencyKey)
        return .created(.init(body: .json(view.api)))
    }

    func getDing(_ input: Operations.GetDing.Input) async throws -> Operations.GetDing.Output {
        .ok(.init(body: .json(try await ding.view(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.dingId, "dingId")).api)))
    }

    func confirmDing(_ input: Operations.ConfirmDing.Input) async throws -> Operations.ConfirmDing.Output {
        .ok(.init(body: .json(try await ding.confirm(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.dingId, "dingId")).api)))
    }

    func remindDing(_ input: Operations.RemindDing.Input) async throws -> Operations.RemindDing.Output {
        .ok(.init(body: .json(try await ding.remind(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.dingId, "dingId")).api)))
    }

    func cancelDing(_ input: Operations.CancelDing.Input) async throws -> Operations.CancelDing.Output {
        .ok(.init(body: .json(try await ding.cancel(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.dingId, "dingId")).api)))
    }

    func getDingPolicy(_ input: Operations.GetDingPolicy.Input) async throws -> Operations.GetDingPolicy.Output {
        .ok(.init(body: .json(try await ding.policy(try identity(), try parseID(input.path.orgId, "orgId")).api)))
    }

    func setDingPolicy(_ input: Operations.SetDingPolicy.Input) async throws -> Operations.SetDingPolicy.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let policy = DingPolicy(smsAfterMinutes: body.smsAfterMinutes, callAfterMinutes: body.callAfterMinutes,
                                callFallbackSMS: body.callFallbackSms, callsPer8Minutes: body.callsPer8Minutes, callsPerDay: body.callsPerDay)
        return .ok(.init(body: .json(try await ding.setPolicy(try identity(), try parseID(input.path.orgId, "orgId"), policy).api)))
    }

    func reportGatewayStatus(_ input: Operations.ReportGatewayStatus.Input) async throws -> Operations.ReportGatewayStatus.Output {
        guard let secret = gatewaySecret else {
            // Without a gateway there is nothing to report to: as if the address did not exist.
            throw AppError(.notFound, "gateway_not_configured", "No SMS/voice gateway is configured on this server.")
        }
        guard let raw = RawBody.current,
              GatewaySignature.verify(input.headers.xTackSignature, body: raw.readableBytesView, secret: secret, now: Date())
        else { throw AppError(.unauthorized, "invalid_signature", "The signature is missing, wrong or too old.") }
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        try await ding.gatewayStatus(attemptID: try parseID(body.id, "id"),
                                     status: DeliveryAttempt.Status(rawValue: body.status.rawValue) ?? .failed, detail: body.detail)
        return .noContent(.init())
    }
}
