import Foundation
import HTTPTypes
import Testing
@testable import TackServer

/// Sign-up, sign-in, cookies with CSRF, bearer tokens, passwords, and the protections around them.
@Suite("Auth API")
struct AuthAPITests {
    /// A browser: keeps cookies and echoes the CSRF cookie like the web app does.
    struct Browser {
        var cookies: [String: String] = [:]
        var origin: String? = nil

        mutating func call(_ api: API, _ method: HTTPRequest.Method, _ path: String, json: String? = nil, csrf: Bool = true) async throws -> Reply {
            var headers = HTTPFields()
            if !cookies.isEmpty { headers[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
            if csrf, let token = cookies[CSRF.cookieName] { headers[CSRF.headerName] = token }
            if let origin { headers[.origin] = origin }
            let reply = try await api.call(method, path, json: json, headers: headers)
            for field in reply.headers[values: .setCookie] {
                let pair = field.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
                let value = pair.count > 1 ? String(pair[1]) : ""
                if field.contains("Max-Age=0") { cookies[String(pair[0])] = nil } else { cookies[String(pair[0])] = value }
            }
            return reply
        }
    }

    @Test("a browser signs up, stays signed in with its cookie, and signs out", arguments: Engine.all)
    func cookieSession(engine: Engine) async throws {
        try await withAPI(engine) { api in
            var browser = Browser()
            _ = try await browser.call(api, .get, "/healthz")
            #expect(browser.cookies[CSRF.cookieName] != nil, "the CSRF cookie is handed out")
            let signUp = try await browser.call(api, .post, "/api/v1/auth/signup",
                                                json: API.body(["name": "Ann", "login": "ann@example.com", "password": "correct horse"]))
            #expect(signUp.status == .created)
            #expect(signUp.json["token"].isNull, "cookie mode does not reveal the token")
            let setCookie = signUp.headers[values: .setCookie].first { $0.hasPrefix("tack_session=") } ?? ""
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Lax") && setCookie.contains("Max-Age="))
            #expect(try await browser.call(api, .get, "/api/v1/me").json["user"]["email"].string == "ann@example.com")
            // An unsafe request without the CSRF header is refused and changes nothing.
            let forged = try await browser.call(api, .post, "/api/v1/orgs", json: API.body(["name": "Forged"]), csrf: false)
            #expect(forged.status == .forbidden)
            #expect(forged.code == "csrf_failed")
            #expect(try await browser.call(api, .get, "/api/v1/me").json["memberships"].array.isEmpty)
            #expect(try await browser.call(api, .post, "/api/v1/orgs", json: API.body(["name": "Real"])).status == .created)
            #expect(try await browser.call(api, .post, "/api/v1/auth/signout").status == .noContent)
            #expect(try await browser.call(api, .get, "/api/v1/me").status == .unauthorized)
            // Signing in again.
            let signIn = try await browser.call(api, .post, "/api/v1/auth/signin", json: API.body(["login": "ANN@example.com", "password": "correct horse"]))
            #expect(signIn.status == .ok)
            #expect(try await browser.call(api, .get, "/api/v1/me").json["memberships"].array.count == 1)
        }
    }

    @Test("a sign-in from another site is refused", arguments: [Engine.sqlite])
    func crossSiteSignIn(engine: Engine) async throws {
        try await withAPI(engine) { api in
            _ = try await api.signUp("Ann", login: "ann@example.com")
            var browser = Browser(origin: "https://evil.example")
            let reply = try await browser.call(api, .post, "/api/v1/auth/signin", json: API.body(["login": "ann@example.com", "password": "correct horse"]))
            #expect(reply.status == .forbidden)
            #expect(reply.code == "csrf_failed")
        }
    }

    @Test("API clients use bearer tokens; a bad token is 401", arguments: Engine.all)
    func bearer(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let ann = try await api.signUp("Ann")
            #expect(ann.token.count > 30)
            #expect(try await api.call(.get, "/api/v1/me", as: ann).json["user"]["name"].string == "Ann")
            var forged = ann
            forged.token = "not-a-token"
            let reply = try await api.call(.get, "/api/v1/me", as: forged)
            #expect(reply.status == .unauthorized)
            #expect(reply.code == "invalid_token")
            #expect(try await api.call(.post, "/api/v1/auth/signout", as: ann).status == .noContent)
            #expect(try await api.call(.get, "/api/v1/me", as: ann).status == .unauthorized, "a revoked token no longer works")
            #expect(try await api.call(.get, "/healthz", as: forged).status == .ok, "public operations ignore a bad token")
            #expect(try await api.call(.get, "/api/v1/invitations/ZZZZ2345", as: forged).code == "invitation_not_found")
        }
    }

    @Test("bad sign-ups are refused and create nothing", arguments: Engine.all)
    func badSignUps(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let cases: [(String, HTTPResponse.Status, String)] = [
                (API.body(["name": "A", "login": "not a login", "password": "correct horse", "mode": "token"]), .unprocessableContent, "validation_failed"),
                (API.body(["name": "A", "login": "a@example.com", "password": "short", "mode": "token"]), .unprocessableContent, "validation_failed"),
                (API.body(["name": "   ", "login": "a@example.com", "password": "correct horse", "mode": "token"]), .unprocessableContent, "validation_failed"),
                (API.body(["login": "a@example.com", "password": "correct horse"]), .badRequest, "invalid_body"),
                ("{\"name\": ", .badRequest, "invalid_body"),
                (API.body(["name": "A", "login": "a@example.com", "password": "correct horse", "mode": "sideways"]), .badRequest, "invalid_body"),
            ]
            for (body, status, code) in cases {
                let reply = try await api.call(.post, "/api/v1/auth/signup", json: body)
                #expect(reply.status == status, "\(body) → \(reply.text)")
                #expect(reply.code == code)
                #expect(reply.headers[.contentType] == "application/problem+json")
            }
            let signIn = try await api.call(.post, "/api/v1/auth/signin", json: API.body(["login": "a@example.com", "password": "correct horse"]))
            #expect(signIn.status == .unauthorized, "no account was created by the bad sign-ups")
            _ = try await api.signUp("A", login: "a@example.com")
            let again = try await api.call(.post, "/api/v1/auth/signup", json: API.body(["name": "B", "login": "A@EXAMPLE.com", "password": "another pass"]))
            #expect(again.status == .conflict)
            #expect(again.code == "login_taken")
        }
    }

    @Test("a retried sign-up with the same idempotency key signs in the same person", arguments: [Engine.sqlite])
    func idempotentSignUp(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let body = API.body(["name": "Ann", "login": "+86 138 0000 0001", "password": "correct horse", "mode": "token"])
            let first = try await api.call(.post, "/api/v1/auth/signup", json: body, headers: [HTTPField.Name("Idempotency-Key")!: "k-1"])
            let second = try await api.call(.post, "/api/v1/auth/signup", json: body, headers: [HTTPField.Name("Idempotency-Key")!: "k-1"])
            #expect(first.status == .created)
            #expect(second.status == .created)
            #expect(first.json["user"]["id"] == second.json["user"]["id"])
            #expect(first.json["user"]["phone"].string == "+8613800000001")
            var wrong = body
            wrong = wrong.replacingOccurrences(of: "correct horse", with: "wrong password")
            let stolen = try await api.call(.post, "/api/v1/auth/signup", json: wrong, headers: [HTTPField.Name("Idempotency-Key")!: "k-1"])
            #expect(stolen.status == .conflict, "a replay still needs the password")
        }
    }

    @Test("wrong passwords are rate-limited per account", arguments: [Engine.sqlite])
    func rateLimit(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let ann = try await api.signUp("Ann")
            var statuses: [HTTPResponse.Status] = []
            var last: Reply?
            for _ in 0..<11 {
                let reply = try await api.call(.post, "/api/v1/auth/signin", json: API.body(["login": ann.login, "password": "wrong password"]))
                statuses.append(reply.status)
                last = reply
            }
            #expect(statuses.prefix(10).allSatisfy { $0 == .unauthorized })
            #expect(statuses.last == .tooManyRequests)
            #expect(last?.code == "rate_limited")
            #expect(Int(last?.headers[.retryAfter] ?? "") ?? 0 > 0)
            let right = try await api.call(.post, "/api/v1/auth/signin", json: API.body(["login": ann.login, "password": "correct horse"]))
            #expect(right.status == .tooManyRequests, "the limit holds even for the right password")
        }
    }

    @Test("changing the password ends the other sessions", arguments: Engine.all)
    func changePassword(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let ann = try await api.signUp("Ann")
            let other = try await api.call(.post, "/api/v1/auth/signin", json: API.body(["login": ann.login, "password": "correct horse", "mode": "token"]))
            var otherDevice = ann
            otherDevice.token = other.json["token"].string ?? ""
            let wrong = try await api.call(.post, "/api/v1/me/password", as: ann, json: API.body(["currentPassword": "nope nope", "newPassword": "new password 1"]))
            #expect(wrong.status == .forbidden)
            #expect(try await api.call(.get, "/api/v1/me", as: otherDevice).status == .ok, "a refused change ends nothing")
            let changed = try await api.call(.post, "/api/v1/me/password", as: ann, json: API.body(["currentPassword": "correct horse", "newPassword": "new password 1"]))
            #expect(changed.status == .noContent)
            #expect(try await api.call(.get, "/api/v1/me", as: ann).status == .ok)
            #expect(try await api.call(.get, "/api/v1/me", as: otherDevice).status == .unauthorized)
            let signIn = try await api.call(.post, "/api/v1/auth/signin", json: API.body(["login": ann.login, "password": "new password 1", "mode": "token"]))
            #expect(signIn.status == .ok)
        }
    }

    @Test("one's own name and language", arguments: [Engine.sqlite])
    func updateMe(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let ann = try await api.signUp("Ann")
            let reply = try await api.call(.patch, "/api/v1/me", as: ann, json: API.body(["name": "安妮", "locale": "zh-CN"]))
            #expect(reply.json["user"]["name"].string == "安妮")
            #expect(reply.json["user"]["locale"].string == "zh-CN")
            #expect(try await api.call(.patch, "/api/v1/me", as: ann, json: API.body(["locale": "fr"])).status == .badRequest)
        }
    }

    @Test("the admin command resets a password and signs the person out", arguments: [Engine.sqlite])
    func adminReset(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let ann = try await api.signUp("Ann")
            #expect(try await api.call(.get, "/api/v1/me", as: ann).status == .ok, "the session is now in the server's cache")
            _ = try await api.parts.auth.resetPassword(login: ann.login, to: "brand new pass")
            #expect(try await api.call(.get, "/api/v1/me", as: ann).status == .unauthorized)
            let signIn = try await api.call(.post, "/api/v1/auth/signin", json: API.body(["login": ann.login, "password": "brand new pass"]))
            #expect(signIn.status == .ok)
        }
    }
}

/// The sessions a node keeps for a few seconds instead of reading them on every request.
@Suite("Session cache")
struct SessionCacheTests {
    @Test("a session deleted without the hub (by another process) works here for at most the cache's lifetime", arguments: [Engine.sqlite])
    func deletedBehindTheServersBack(engine: Engine) async throws {
        let (clock, time) = WallClock.manual(Date())
        try await withAPI(engine, clock: clock) { api in
            let ann = try await api.signUp("Ann"), bob = try await api.signUp("Bob")
            #expect(try await api.call(.get, "/api/v1/me", as: ann).status == .ok)
            // As `tack admin reset-password` does from its own process: no hub message here.
            let annID = try #require(User.ID(string: ann.userID))
            _ = try await api.parts.database.write { db in try await AccountStore().deleteSessions(db, userID: annID, keeping: nil) }
            #expect(try await api.call(.get, "/api/v1/me", as: ann).status == .ok, "still cached")
            time.advance(by: api.parts.auth.sessions.lifetime)
            #expect(try await api.call(.get, "/api/v1/me", as: ann).status == .unauthorized, "read again once the entry is too old")
            #expect(try await api.call(.get, "/api/v1/me", as: bob).status == .ok)
        }
    }

    func session(_ n: Int) -> Session {
        Session(tokenHash: "hash\(n)", userID: .random(), kind: .token, expiresAt: Date().addingTimeInterval(3600))
    }

    @Test("a read that began before a session ended is not remembered after it")
    func readRacingAnEnd() {
        let cache = SessionCache(lifetime: 5)
        let now = Date()
        guard case .miss(let generation) = cache.lookup("hash1", now: now) else { Issue.record("empty cache hit"); return }
        // The session is deleted and its end delivered while the read was on its way.
        cache.forget("hash1")
        cache.remember(session(1), readAt: now, generation: generation)
        guard case .miss(let next) = cache.lookup("hash1", now: now) else { Issue.record("a stale read was kept"); return }
        cache.remember(session(1), readAt: now, generation: next)
        guard case .hit(let hit) = cache.lookup("hash1", now: now) else { Issue.record("a fresh read was not kept"); return }
        #expect(hit.tokenHash == "hash1")
        #expect(cache.lookup("hash1", now: now.addingTimeInterval(5)).isMiss, "trusted for the lifetime only")
    }

    @Test("the cache holds at most its capacity, dropping stale entries first")
    func capacity() {
        let cache = SessionCache(lifetime: 5, capacity: 4)
        let start = Date()
        for n in 0..<2 { cache.remember(session(n), readAt: start, generation: 0) }
        for n in 2..<4 { cache.remember(session(n), readAt: start.addingTimeInterval(4), generation: 0) }
        cache.remember(session(4), readAt: start.addingTimeInterval(6), generation: 0)
        #expect(cache.count == 3, "the two stale entries made room")
        #expect(!cache.lookup("hash3", now: start.addingTimeInterval(6)).isMiss)
        for n in 5..<7 { cache.remember(session(n), readAt: start.addingTimeInterval(6), generation: 0) }
        #expect(cache.count <= 4)
        #expect(!cache.lookup("hash6", now: start.addingTimeInterval(6)).isMiss)
    }
}

extension SessionCache.Lookup {
    var isMiss: Bool { if case .miss = self { true } else { false } }
}

/// What every response carries and how the server answers what it does not understand.
@Suite("HTTP platform")
struct HTTPPlatformTests {
    @Test("with a media server, the pages may also connect to its WebSocket's origin, and nowhere else")
    func mediaServerIsAConnectSource() {
        #expect(SecurityPolicy.source(of: "wss://media.example.org:8989/janus") == "wss://media.example.org:8989")
        #expect(SecurityPolicy.source(of: "ws://127.0.0.1:18701/") == "ws://127.0.0.1:18701")
        #expect(SecurityPolicy.source(of: "not a url") == nil)
        let csp = SecurityPolicy.contentSecurityPolicy(connectSources: ["wss://media.example.org"])
        #expect(csp.contains("connect-src 'self' wss://media.example.org;"))
        #expect(SecurityPolicy.contentSecurityPolicy().contains("connect-src 'self';"))
    }

    @Test("security headers on pages, API answers and errors", arguments: [Engine.sqlite])
    func securityHeaders(engine: Engine) async throws {
        try await withAPI(engine) { api in
            for path in ["/", "/healthz", "/api/v1/me", "/no/such/page"] {
                let reply = try await api.call(.get, path)
                let csp = reply.headers[.contentSecurityPolicy] ?? ""
                #expect(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "\(path)")
                #expect(reply.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
                #expect(reply.headers[HTTPField.Name("X-Request-ID")!] != nil)
            }
        }
    }

    @Test("unknown routes, bad ids and oversized bodies are problems", arguments: [Engine.sqlite])
    func problems(engine: Engine) async throws {
        try await withAPI(engine, configure: { $0.maxBodyBytes = 1024 }) { api in
            let ann = try await api.signUp("Ann")
            let unknown = try await api.call(.get, "/api/v1/nothing-here", as: ann)
            #expect(unknown.status == .notFound)
            #expect(unknown.code == "not_found")
            #expect(unknown.headers[.contentType] == "application/problem+json")
            let wrongMethod = try await api.call(.put, "/api/v1/orgs", as: ann)
            #expect(wrongMethod.status == .methodNotAllowed)
            #expect(wrongMethod.headers[.allow] == "POST")
            #expect(try await api.call(.delete, "/api/v1/me", as: ann).headers[.allow] == "GET, PATCH")
            let badID = try await api.call(.get, "/api/v1/orgs/not-a-uuid", as: ann)
            #expect(badID.status == .badRequest)
            #expect(badID.code == "invalid_id")
            let big = try await api.call(.post, "/api/v1/orgs", as: ann, json: API.body(["name": String(repeating: "x", count: 5000)]))
            #expect(big.status == .contentTooLarge)
            #expect(big.code == "payload_too_large")
            #expect(try await api.call(.get, "/api/v1/me", as: ann).json["memberships"].array.isEmpty, "nothing was created")
            let wrongType = try await api.call(.post, "/api/v1/orgs", as: ann, json: #"{"name": 42}"#)
            #expect(wrongType.status == .badRequest)
            #expect(wrongType.json["errors"][0]["field"].string == "name")
        }
    }

    @Test("health, readiness, metrics and the OpenAPI document are served", arguments: Engine.all)
    func systemEndpoints(engine: Engine) async throws {
        try await withAPI(engine) { api in
            #expect(try await api.call(.get, "/healthz").text == "ok")
            #expect(try await api.call(.get, "/readyz").text == "ready")
            let spec = try await api.call(.get, "/openapi.yaml")
            #expect(spec.status == .ok)
            #expect(spec.text.hasPrefix("openapi: 3.1.0"))
            let ann = try await api.signUp("Ann")
            _ = try await api.call(.get, "/api/v1/me", as: ann)
            let metrics = try await api.call(.get, "/metrics").text
            #expect(metrics.contains("hb_requests"))
            #expect(metrics.contains("http_server_request_duration"))
            #expect(metrics.contains("tack_websocket_connections"))
            #expect(metrics.contains("tack_db_read_seconds"))
        }
    }

    @Test("the web app is served with its index", arguments: [Engine.sqlite])
    func webApp(engine: Engine) async throws {
        try await withAPI(engine) { api in
            let index = try await api.call(.get, "/")
            #expect(index.status == .ok)
            #expect(index.text.contains("<script type=\"module\""))
        }
    }
}
