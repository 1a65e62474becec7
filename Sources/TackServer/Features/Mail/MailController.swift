import Foundation
import OpenAPIRuntime
import TackAPI

/// E-mail settings and preferences over HTTP.
extension APIHandler {
    func getMailSettings(_ input: Operations.GetMailSettings.Input) async throws -> Operations.GetMailSettings.Output {
        .ok(.init(body: .json(MailSettings.api(try await mail.settings(try identity(), try parseID(input.path.orgId, "orgId"))))))
    }

    func setMailSettings(_ input: Operations.SetMailSettings.Input) async throws -> Operations.SetMailSettings.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let settings = try await mail.setSettings(
            try identity(), try parseID(input.path.orgId, "orgId"),
            .init(host: body.host, port: body.port, security: SMTPSettings.Security(rawValue: body.security.rawValue) ?? .starttls,
                  username: body.username, password: body.password, fromAddress: body.fromAddress, fromName: body.fromName))
        return .ok(.init(body: .json(MailSettings.api(settings))))
    }

    func deleteMailSettings(_ input: Operations.DeleteMailSettings.Input) async throws -> Operations.DeleteMailSettings.Output {
        try await mail.deleteSettings(try identity(), try parseID(input.path.orgId, "orgId"))
        return .noContent(.init())
    }

    func sendTestMail(_ input: Operations.SendTestMail.Input) async throws -> Operations.SendTestMail.Output {
        let (to, reply) = try await mail.sendTest(try identity(), try parseID(input.path.orgId, "orgId"))
        return .ok(.init(body: .json(.init(to: to, reply: reply))))
    }

    func getEmailPreferences(_ input: Operations.GetEmailPreferences.Input) async throws -> Operations.GetEmailPreferences.Output {
        .ok(.init(body: .json(try await mail.preferences(try identity(), try parseID(input.path.orgId, "orgId")).api)))
    }

    func setEmailPreferences(_ input: Operations.SetEmailPreferences.Input) async throws -> Operations.SetEmailPreferences.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let preferences = EmailPreferences(dings: body.dings, mentions: body.mentions, announcements: body.announcements)
        return .ok(.init(body: .json(try await mail.setPreferences(try identity(), try parseID(input.path.orgId, "orgId"), preferences).api)))
    }
}

extension MailSettings {
    static func api(_ settings: MailSettings?) -> Components.Schemas.MailSettings {
        guard let settings else { return .init(configured: false) }
        let smtp = settings.smtp
        return .init(configured: true, host: smtp.host, port: smtp.port, security: .init(rawValue: smtp.security.rawValue),
                     username: smtp.username, passwordSet: smtp.password != nil, fromAddress: smtp.fromAddress, fromName: smtp.fromName,
                     updatedAt: settings.updatedAt)
    }
}

extension EmailPreferencesView {
    var api: Components.Schemas.EmailPreferences {
        .init(dings: preferences.dings, mentions: preferences.mentions, announcements: preferences.announcements, address: address,
              available: available)
    }
}
