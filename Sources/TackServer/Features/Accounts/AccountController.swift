import Foundation
import OpenAPIRuntime
import TackAPI

/// Sign-up, sign-in, sign-out and the signed-in person.
extension APIHandler {
    static let sessionCookie = "tack_session"

    /// Sets the session cookie (cookie mode only).
    private func setSessionCookie(_ issued: AuthService.IssuedSession) {
        guard issued.kind == .cookie else { return }
        // Persistent, so the person stays signed in across browser restarts; the server ends the
        // session after 30 days without use.
        RequestScope.current.responseHeaders.setCookie(
            "\(Self.sessionCookie)=\(issued.token); Path=/; Max-Age=34560000; HttpOnly; SameSite=Lax\(secureCookies ? "; Secure" : "")")
    }

    private func result(_ issued: AuthService.IssuedSession) -> Components.Schemas.SignInResult {
        .init(user: issued.user.api, token: issued.kind == .token ? issued.token : nil)
    }

    func signUp(_ input: Operations.SignUp.Input) async throws -> Operations.SignUp.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let issued = try await auth.signUp(
            name: body.name, login: body.login, password: body.password, locale: body.locale?.rawValue,
            kind: body.mode == .token ? .token : .cookie, clientAddress: RequestScope.current.clientAddress,
            idempotencyKey: input.headers.idempotencyKey)
        setSessionCookie(issued)
        return .created(.init(body: .json(result(issued))))
    }

    func signIn(_ input: Operations.SignIn.Input) async throws -> Operations.SignIn.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let issued = try await auth.signIn(login: body.login, password: body.password, kind: body.mode == .token ? .token : .cookie,
                                           clientAddress: RequestScope.current.clientAddress)
        setSessionCookie(issued)
        return .ok(.init(body: .json(result(issued))))
    }

    func signOut(_ input: Operations.SignOut.Input) async throws -> Operations.SignOut.Output {
        try await auth.signOut(try identity())
        RequestScope.current.responseHeaders.setCookie("\(Self.sessionCookie)=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax\(secureCookies ? "; Secure" : "")")
        return .noContent(.init())
    }

    func getMe(_ input: Operations.GetMe.Input) async throws -> Operations.GetMe.Output {
        let identity = try identity()
        return .ok(.init(body: .json(try await me(identity))))
    }

    func updateMe(_ input: Operations.UpdateMe.Input) async throws -> Operations.UpdateMe.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let identity = try identity()
        _ = try await auth.updateMe(identity, name: body.name, locale: body.locale?.rawValue)
        return .ok(.init(body: .json(try await me(identity))))
    }

    private func me(_ identity: Identity) async throws -> Components.Schemas.Me {
        let user = try await auth.user(identity.userID)
        let memberships = try await directory.memberships(identity)
        let pending = try await invitations.pendingJoinRequests(identity)
        return .init(user: user.api, memberships: memberships.map(membershipAPI),
                     pendingJoinRequests: pending.map { request, name, kind in
                         .init(joinRequest: request.api, organizationName: name, organizationKind: .init(rawValue: kind.rawValue)!)
                     })
    }

    func changePassword(_ input: Operations.ChangePassword.Input) async throws -> Operations.ChangePassword.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        try await auth.changePassword(try identity(), current: body.currentPassword, new: body.newPassword)
        return .noContent(.init())
    }
}
