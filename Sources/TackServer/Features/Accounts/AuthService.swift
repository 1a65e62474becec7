import Foundation
import Logging
import SQLKit

/// Sign-up, sign-in, sessions and passwords.
final class AuthService: Sendable {
    struct Limits: Sendable {
        /// A session not used for this long ends.
        var sessionIdleLifetime: TimeInterval = 30 * 86_400
        /// Failed-or-not sign-in attempts per account, and per client address.
        var signInPerAccount = RateLimiter.Rule(limit: 10, window: 15 * 60)
        var signInPerAddress = RateLimiter.Rule(limit: 60, window: 15 * 60)
        /// Generous: a whole school behind one address signs up on the first morning.
        var signUpPerAddress = RateLimiter.Rule(limit: 300, window: 60 * 60)
    }

    private let transactor: Transactor
    private var database: Database { transactor.database }
    private let store = AccountStore()
    private let hasher: PasswordHasher
    private let clock: WallClock
    private let limits: Limits
    private let perAccount: RateLimiter
    private let perAddress: RateLimiter
    private let signUps: RateLimiter
    /// Sessions read recently; the hub forgets the ones that end (`buildParts` wires it).
    let sessions: SessionCache
    /// Announces that a person's name (or claimed state) changed, inside the transaction that
    /// changed it: the directory emits `member.updated` in each of their organisations.
    private let profileChanged: @Sendable (any SQLDatabase, Outbox, User.ID) async throws -> Void

    init(transactor: Transactor, hasher: PasswordHasher, clock: WallClock, limits: Limits = Limits(), sessions: SessionCache = SessionCache(),
         profileChanged: @escaping @Sendable (any SQLDatabase, Outbox, User.ID) async throws -> Void = { _, _, _ in }) {
        self.transactor = transactor
        self.profileChanged = profileChanged
        self.hasher = hasher
        self.clock = clock
        self.limits = limits
        self.sessions = sessions
        perAccount = RateLimiter(limits.signInPerAccount, clock: clock)
        perAddress = RateLimiter(limits.signInPerAddress, clock: clock)
        signUps = RateLimiter(limits.signUpPerAddress, clock: clock)
    }

    /// A new session's secret (returned once) and its lifetime.
    struct IssuedSession: Sendable {
        var user: User
        var token: String
        var kind: SessionKind
    }

    // MARK: Sign-up and sign-in

    func signUp(name: String, login loginText: String, password: String, locale: String?, kind: SessionKind,
                clientAddress: String, idempotencyKey: String?) async throws -> IssuedSession {
        let name = try Validate.name(name, field: "name")
        guard let login = Login(loginText) else {
            throw AppError.invalid("login", "Enter an e-mail address or a phone number.", code: "invalid_login")
        }
        try Validate.password(password, field: "password")
        if let wait = signUps.hit(clientAddress) { throw AppError.rateLimited(retryAfter: wait) }
        let hash = try await hasher.hash(password)
        let now = clock.now()
        let user = try await transactor.runIdempotent(
            scope: "signup:" + login.text, key: idempotencyKey, operation: "signUp", fingerprint: name
        ) { db, outbox -> User in
            if let (existing, existingHash) = try await store.fetchUser(db, login: login) {
                guard existingHash == nil else {
                    throw AppError.conflict("login_taken", "An account with this e-mail address or phone number already exists.")
                }
                // An imported person claims their account.
                guard try await store.claimUser(db, id: existing.id, name: name, passwordHash: hash, locale: locale, now: now) else {
                    throw AppError.conflict("login_taken", "An account with this e-mail address or phone number already exists.")
                }
                try await profileChanged(db, outbox, existing.id)
                var claimed = existing
                claimed.name = name
                claimed.locale = locale
                claimed.claimed = true
                return claimed
            }
            let user = User(id: .random(), name: name, email: login.email, phone: login.phone, locale: locale, claimed: true, createdAt: now)
            do {
                try await store.insertUser(db, user, passwordHash: hash)
            } catch where DatabaseErrors.isUniqueViolation(error) {
                throw AppError.conflict("login_taken", "An account with this e-mail address or phone number already exists.")
            }
            return user
        }
        // On a replayed sign-up the stored user is returned; the password must still be theirs.
        guard let (current, storedHash) = try await database.read({ db in try await store.fetchUser(db, id: user.id) }),
              let storedHash, try await hasher.verify(password, hash: storedHash)
        else { throw AppError.conflict("login_taken", "An account with this e-mail address or phone number already exists.") }
        return try await issueSession(for: current, kind: kind)
    }

    func signIn(login loginText: String, password: String, kind: SessionKind, clientAddress: String) async throws -> IssuedSession {
        let login = Login(loginText)
        let accountKey = login?.text ?? loginText.lowercased()
        if let wait = perAddress.hit(clientAddress) ?? perAccount.hit(accountKey) {
            throw AppError.rateLimited(retryAfter: wait, "Too many sign-in attempts; try again later.")
        }
        let found: (User, String?)? = if let login { try await database.read { db in try await store.fetchUser(db, login: login) } } else { nil }
        guard let (user, hash) = found, let hash else {
            // Spend the same time as a real check so that timing does not reveal accounts.
            _ = try await hasher.verify(password, hash: try await hasher.dummyHash())
            throw AppError(.unauthorized, "invalid_credentials", "The e-mail address, phone number or password is wrong.")
        }
        guard try await hasher.verify(password, hash: hash) else {
            throw AppError(.unauthorized, "invalid_credentials", "The e-mail address, phone number or password is wrong.")
        }
        perAccount.reset(accountKey)
        return try await issueSession(for: user, kind: kind)
    }

    private func issueSession(for user: User, kind: SessionKind) async throws -> IssuedSession {
        let token = Secrets.token()
        let now = clock.now()
        let session = Session(tokenHash: Secrets.sha256(token), userID: user.id, kind: kind,
                              expiresAt: now.addingTimeInterval(limits.sessionIdleLifetime))
        try await transactor.run { db, _ in try await store.insertSession(db, session, now: now) }
        return IssuedSession(user: user, token: token, kind: kind)
    }

    /// Ends the caller's session and closes its WebSockets.
    func signOut(_ identity: Identity) async throws {
        try await transactor.run { db, outbox in
            try await store.deleteSession(db, tokenHash: identity.sessionHash)
            for message in HubMessage.endSessions([identity.sessionHash]) { outbox.add(message) }
        }
    }

    // MARK: Sessions

    /// The identity a session token stands for, or nil if it is unknown or expired.
    ///
    /// A primary-key read on a reader connection, kept in `sessions` for a few seconds so that a
    /// client's next requests skip it. Signing out, a password change or an admin's reset still
    /// end a session at once on every node: they publish `HubMessage.endSessions`, which makes
    /// every node's hub forget it (`SessionCache`). Expiry slides forward at most once a day per
    /// session.
    func authenticate(token: String) async throws -> Identity? {
        guard !token.isEmpty, token.count <= 200 else { return nil }
        let hash = Secrets.sha256(token)
        let now = clock.now()
        let session: Session
        switch sessions.lookup(hash, now: now) {
        case .hit(let cached):
            session = cached
        case .miss(let generation):
            guard let stored = try await database.read({ db in try await store.fetchSession(db, tokenHash: hash) }) else { return nil }
            sessions.remember(stored, readAt: now, generation: generation)
            session = stored
        }
        guard session.expiresAt > now else { return nil }
        let renewed = now.addingTimeInterval(limits.sessionIdleLifetime)
        if renewed.timeIntervalSince(session.expiresAt) > 86_400 {
            try await transactor.run { db, _ in try await store.extendSession(db, tokenHash: hash, expiresAt: renewed, now: now) }
            sessions.extended(hash, to: renewed)
        }
        return Identity(userID: session.userID, sessionHash: hash, kind: session.kind)
    }

    // MARK: The signed-in person

    func user(_ id: User.ID) async throws -> User {
        guard let (user, _) = try await database.read({ db in try await store.fetchUser(db, id: id) }) else {
            throw AppError.unauthenticated()
        }
        return user
    }

    func updateMe(_ identity: Identity, name: String?, locale: String?) async throws -> User {
        let name = try name.map { try Validate.name($0, field: "name") }
        let now = clock.now()
        try await transactor.run { db, outbox in
            try await store.updateUser(db, id: identity.userID, name: name, locale: locale, now: now)
            if name != nil { try await profileChanged(db, outbox, identity.userID) }
        }
        return try await user(identity.userID)
    }

    /// Changes the caller's password and ends all their other sessions.
    func changePassword(_ identity: Identity, current: String, new: String) async throws {
        try Validate.password(new, field: "newPassword")
        guard let (_, hash) = try await database.read({ db in try await store.fetchUser(db, id: identity.userID) }),
              let hash, try await hasher.verify(current, hash: hash)
        else { throw AppError(.forbidden, "wrong_password", "The current password is wrong.") }
        let newHash = try await hasher.hash(new)
        let now = clock.now()
        try await transactor.run { db, outbox in
            try await store.updatePasswordHash(db, id: identity.userID, hash: newHash, now: now)
            let ended = try await store.deleteSessions(db, userID: identity.userID, keeping: identity.sessionHash)
            for message in HubMessage.endSessions(ended) { outbox.add(message) }
        }
    }

    /// Sets a new password for a person (the `tack admin reset-password` command) and ends all
    /// their sessions.
    func resetPassword(login loginText: String, to password: String) async throws -> User {
        guard let login = Login(loginText) else { throw AppError.invalid("login", "Not an e-mail address or phone number.") }
        try Validate.password(password, field: "password")
        let hash = try await hasher.hash(password)
        let now = clock.now()
        return try await transactor.run { db, outbox in
            guard let (user, _) = try await store.fetchUser(db, login: login) else { throw AppError.notFound("Person") }
            try await store.updatePasswordHash(db, id: user.id, hash: hash, now: now)
            let ended = try await store.deleteSessions(db, userID: user.id, keeping: nil)
            for message in HubMessage.endSessions(ended) { outbox.add(message) }
            return user
        }
    }

    /// Of the given sessions, those that ended (signed out, reset elsewhere, expired).
    func endedSessions(among tokenHashes: Set<String>) async throws -> Set<String> {
        guard !tokenHashes.isEmpty else { return [] }
        let now = clock.now()
        let live = try await database.read { db in
            try await store.fetchLiveSessionHashes(db, among: Array(tokenHashes), now: now)
        }
        return tokenHashes.subtracting(live)
    }

    /// Deletes expired sessions (run periodically).
    func deleteExpiredSessions() async throws {
        let now = clock.now()
        try await transactor.run { db, _ in try await store.deleteExpiredSessions(db, now: now) }
    }
}

/// Shared input rules.
enum Validate {
    /// A display name: trimmed, 1–100 characters, no control characters.
    static func name(_ text: String, field: String, max: Int = 100) throws -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw AppError.invalid(field, "This must not be empty.", code: "empty") }
        guard trimmed.count <= max else { throw AppError.invalid(field, "This is longer than \(max) characters.", code: "too_long") }
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw AppError.invalid(field, "This contains control characters.", code: "invalid_characters")
        }
        return trimmed
    }

    static func password(_ password: String, field: String) throws {
        guard password.count >= 8 else { throw AppError.invalid(field, "The password must have at least 8 characters.", code: "too_short") }
        guard password.utf8.count <= 72 else {
            // bcrypt reads only the first 72 bytes; refuse rather than silently ignore the rest.
            throw AppError.invalid(field, "The password must be at most 72 bytes.", code: "too_long")
        }
    }
}
