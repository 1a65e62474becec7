import Foundation
import Metrics
import OpenAPIRuntime
import Prometheus
import TackAPI
import Tagged

/// Implements the generated `APIProtocol`: one method per operation of `openapi.yaml`. Each
/// feature's controller file extends it with that feature's operations; they validate input,
/// call the feature's service and map its values to the API's schemas.
/// A class: the generated server copies its handler for every request, and a struct of this
/// many services was dozens of retains and releases per copy.
final class APIHandler: APIProtocol, Sendable {
    let auth: AuthService
    let directory: DirectoryService
    let invitations: InvitationService
    let chat: ChatService
    let ding: DingService
    let mail: MailService
    let announcements: AnnouncementService
    let health: HealthService
    let live: LiveService
    /// Verifies the SMS/voice gateway's callbacks (nil: no gateway).
    let gatewaySecret: String?
    let database: Database
    let prometheus: PrometheusCollectorRegistry
    let secureCookies: Bool

    init(auth: AuthService, directory: DirectoryService, invitations: InvitationService, chat: ChatService, ding: DingService,
         mail: MailService, announcements: AnnouncementService, health: HealthService, live: LiveService, gatewaySecret: String?,
         database: Database, prometheus: PrometheusCollectorRegistry, secureCookies: Bool) {
        (self.auth, self.directory, self.invitations, self.chat, self.ding) = (auth, directory, invitations, chat, ding)
        (self.mail, self.announcements, self.health, self.live) = (mail, announcements, health, live)
        (self.gatewaySecret, self.database, self.prometheus, self.secureCookies) = (gatewaySecret, database, prometheus, secureCookies)
    }

    /// The caller's identity, or 401.
    func identity() throws -> Identity { try RequestScope.current.requireIdentity() }

    // MARK: System

    func getHealth(_ input: Operations.GetHealth.Input) async throws -> Operations.GetHealth.Output {
        .ok(.init(body: .plainText("ok")))
    }

    func getReadiness(_ input: Operations.GetReadiness.Input) async throws -> Operations.GetReadiness.Output {
        do {
            try await database.ping()
        } catch {
            throw AppError(.serviceUnavailable, "database_unavailable", "The database does not answer.")
        }
        return .ok(.init(body: .plainText("ready")))
    }

    func getMetrics(_ input: Operations.GetMetrics.Input) async throws -> Operations.GetMetrics.Output {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16_384)
        prometheus.emit(into: &buffer)
        return .ok(.init(body: .plainText(HTTPBody(buffer))))
    }

    func openEventStream(_ input: Operations.OpenEventStream.Input) async throws -> Operations.OpenEventStream.Output {
        _ = try identity()
        throw AppError(.upgradeRequired, "upgrade_required", "Open this URL as a WebSocket.")
    }
}

/// Parses a path or query identifier, or 400 (the identifier is malformed) — never a database lookup.
func parseID<Tag>(_ text: String, _ field: String) throws -> Tagged<Tag, UUID> {
    guard let id = Tagged<Tag, UUID>(string: text) else {
        throw AppError(.badRequest, "invalid_id", "\(field) is not a valid identifier.",
                       errors: [FieldProblem(field: field, code: "invalid_id", message: "Not a valid identifier.")])
    }
    return id
}
