import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization
import Testing
@testable import TackServer

/// An SMS/voice gateway on 127.0.0.1 for the tests: records what Tack sends it (checking the
/// signature) and answers as planned.
final class GatewaySimulator: Sendable {
    struct Received: Sendable {
        var id: String
        var channel: String
        var to: String
        var text: String
        var callbackUrl: String
        var signatureValid: Bool
        var idempotencyKey: String?
    }

    enum Answer: Sendable { case status(Int), hang }

    static let secret = "a-test-gateway-secret"
    let received = Mutex<[Received]>([])
    /// Answers for the next requests, in order; then 202.
    let plan = Mutex<[Answer]>([])

    var requests: [Received] { received.withLock { $0 } }
    func answer(_ answers: Answer...) { plan.withLock { $0 += answers } }

    /// Runs a simulator on a free port for the duration of `body`, which gets its URL.
    static func run<R: Sendable>(_ body: @escaping @Sendable (GatewaySimulator, String) async throws -> R) async throws -> R {
        let simulator = GatewaySimulator()
        let router = Router()
        router.post("/send") { request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 1 << 20)
            let valid = GatewaySignature.verify(request.headers[HTTPField.Name(GatewaySignature.header)!], body: buffer.readableBytesView,
                                                secret: secret, now: Date())
            let sent = try JSONDecoder().decode(GatewayNotifier.Request.self, from: buffer)
            simulator.received.withLock {
                $0.append(Received(id: sent.id, channel: sent.channel, to: sent.to, text: sent.text, callbackUrl: sent.callbackUrl,
                                   signatureValid: valid, idempotencyKey: request.headers[HTTPField.Name("Idempotency-Key")!]))
            }
            switch simulator.plan.withLock({ $0.isEmpty ? Answer.status(202) : $0.removeFirst() }) {
            case .status(let code): return Response(status: .init(code: code))
            case .hang:
                try? await Task.sleep(for: .seconds(8))
                return Response(status: .gatewayTimeout)
            }
        }
        let port = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "gateway-simulator")
        logger.logLevel = .critical  // its shutdown at the end of each test is not news
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in port.continuation.yield(channel.localAddress?.port ?? 0) },
                              logger: logger)
        return try await withThrowingTaskGroup(of: R?.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []); return nil }
            var ports = port.stream.makeAsyncIterator()
            let url = "http://127.0.0.1:\(await ports.next() ?? 0)/send"
            group.addTask { try await body(simulator, url) }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let result { return result }
            }
            throw CancellationError()
        }
    }
}

/// Ann (owner), Bob and Cat (members, with phone numbers) of one organisation.
struct DingFixture {
    var api: API
    var org: API.Org
    var ann: Person, bob: Person, cat: Person
    var bobMember: String, catMember: String

    static func make(_ api: API) async throws -> DingFixture {
        let ann = try await api.signUp("Ann")
        let bob = try await api.signUp("Bob", login: "+86 138 0000 0001"), cat = try await api.signUp("Cat", login: "+86 138 0000 0002")
        let org = try await api.createOrg(ann)
        let bobMember = try await api.join(bob, org, owner: ann), catMember = try await api.join(cat, org, owner: ann)
        return DingFixture(api: api, org: org, ann: ann, bob: bob, cat: cat, bobMember: bobMember, catMember: catMember)
    }

    var dings: String { "/api/v1/orgs/\(org.id)/dings" }

    func ding(_ members: [String], text: String = "Fire drill at 10", channel: String = "app", scheduledAt: String? = nil,
              as person: Person? = nil, key: String? = nil) async throws -> Reply {
        var headers = HTTPFields()
        if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
        return try await api.call(.post, dings, as: person ?? ann, json: API.body(["memberIds": members, "text": text, "channel": channel,
                                                                                  "scheduledAt": scheduledAt]), headers: headers)
    }

    func get(_ id: String, as person: Person) async throws -> Reply { try await api.call(.get, "\(dings)/\(id)", as: person) }
    func confirm(_ id: String, as person: Person) async throws -> Reply { try await api.call(.post, "\(dings)/\(id)/confirm", as: person) }

    /// The attempts to reach one recipient, as the sender sees them.
    func attempts(_ id: String, of person: Person) async throws -> [JSON] {
        let recipients = try await get(id, as: ann).json["recipients"].array
        return recipients.first { $0["person"]["userId"].string == person.userID }?["attempts"].array ?? []
    }

    func setPolicy(sms: Int?, call: Int?, fallback: Bool = true, per8: Int = 3, perDay: Int = 8) async throws -> Reply {
        var body: [String: Any?] = ["callFallbackSms": fallback, "callsPer8Minutes": per8, "callsPerDay": perDay]
        body["smsAfterMinutes"] = sms ?? NSNull()
        body["callAfterMinutes"] = call ?? NSNull()
        return try await api.call(.put, "/api/v1/orgs/\(org.id)/ding-policy", as: ann, json: API.body(body))
    }

    /// A delivery status from the gateway, signed (or not).
    func status(_ id: String, _ status: String, secret: String = GatewaySimulator.secret, at date: Date = Date()) async throws -> Reply {
        let body = API.body(["id": id, "status": status])
        var headers = HTTPFields()
        headers[HTTPField.Name(GatewaySignature.header)!] = GatewaySignature.sign(body: Data(body.utf8), secret: secret, at: date)
        return try await api.call(.post, "/api/v1/gateway/status", json: body, headers: headers)
    }
}

func iso(_ date: Date) -> String { FastDateTranscoder.format(date) }

@Suite("DING")
struct DingTests {
    /// Jobs run by hand (`runDue`) on a manual clock.
    static func manual(_ gateway: String? = nil, timeout: TimeInterval = 10) -> (WallClock, ManualTime, (inout TackConfiguration) -> Void) {
        let (clock, time) = WallClock.manual(Date())
        return (clock, time, { c in
            c.runJobs = false
            c.gatewayURL = gateway
            c.gatewaySecret = gateway == nil ? nil : GatewaySimulator.secret
            c.gatewayTimeout = timeout
        })
    }

    @Test("a DING reaches its recipients in-app; they confirm; the sender sees who did", arguments: Engine.all)
    func sendAndConfirm(engine: Engine) async throws {
        let (clock, _, configure) = Self.manual()
        try await withAPI(engine, clock: clock, configure: configure) { api in
            let f = try await DingFixture.make(api)
            let created = try await f.ding([f.bobMember, f.catMember], key: "k1")
            #expect(created.status == .created, "\(created.text)")
            let id = created.json["id"].string!
            #expect(try await f.ding([f.bobMember, f.catMember], key: "k1").json["id"].string == id, "a retried create is stored once")
            #expect(created.json["recipientCount"].int == 2)
            try await api.parts.jobs.runDue()
            for person in [f.bob, f.cat] {
                let attempts = try await f.attempts(id, of: person)
                #expect(attempts.map { $0["channel"].string } == ["app"])
                #expect(attempts.first?["status"].string == "delivered")
            }
            let inbox = try await api.call(.get, "\(f.dings)?unconfirmed=true", as: f.bob).json["items"].array
            #expect(inbox.map { $0["id"].string } == [id])
            #expect(inbox.first?["recipients"].isNull == true, "recipients do not see the others")
            let confirmed = try await f.confirm(id, as: f.bob)
            #expect(confirmed.status == .ok)
            #expect(confirmed.json["myConfirmedAt"].string != nil)
            #expect(try await f.confirm(id, as: f.bob).status == .ok, "confirming again is harmless")
            #expect(try await api.call(.get, "\(f.dings)?unconfirmed=true", as: f.bob).json["items"].array.isEmpty)
            let view = try await f.get(id, as: f.ann).json
            #expect(view["confirmedCount"].int == 1)
            let states = Dictionary(uniqueKeysWithValues: view["recipients"].array.map { ($0["person"]["name"].string ?? "", $0["confirmedAt"].isNull) })
            #expect(states == ["Bob": false, "Cat": true])
            #expect(try await api.call(.get, "\(f.dings)?box=sent", as: f.ann).json["items"].array.count == 1)
            // Someone who is not a recipient does not see it.
            let dan = try await api.signUp("Dan")
            _ = try await api.join(dan, f.org, owner: f.ann)
            #expect(try await f.get(id, as: dan).status == .notFound)
            #expect(try await f.confirm(id, as: dan).status == .notFound)
            // Jobs ran once: nothing is left to do.
            #expect(try await api.parts.jobs.runDue() == 0)
        }
    }

    @Test("bad DINGs are refused and create nothing", arguments: Engine.all)
    func badInput(engine: Engine) async throws {
        let (clock, time, configure) = Self.manual()
        try await withAPI(engine, clock: clock, configure: configure) { api in
            let f = try await DingFixture.make(api)
            let cases: [(Reply, String)] = [
                (try await f.ding([]), "empty"),
                (try await f.ding([UUID().uuidString]), "unknown_member"),
                (try await f.ding([f.org.ownerMemberID]), "self"),
                (try await f.ding([f.bobMember], text: "  "), "empty"),
                (try await f.ding([f.bobMember], scheduledAt: iso(time.current.addingTimeInterval(-60))), "in_the_past"),
                (try await f.ding([f.bobMember], channel: "sms"), "channel_unavailable"),
            ]
            for (reply, code) in cases {
                #expect(reply.status == .unprocessableContent, "\(reply.text)")
                #expect(reply.json["errors"][0]["code"].string == code, "\(reply.text)")
            }
            #expect(try await f.ding([f.bobMember], channel: "fax").status == .badRequest)
            for limit in ["0", "-5", "201"] {
                #expect(try await api.call(.get, "\(f.dings)?limit=\(limit)", as: f.ann).code == "invalid_parameter")
            }
            #expect(try await api.call(.get, "\(f.dings)?box=sent", as: f.ann).json["items"].array.isEmpty)
            #expect(try await api.parts.jobs.runDue() == 0)
            // Another organisation's members are unknown here.
            let eve = try await api.signUp("Eve")
            let other = try await api.createOrg(eve, name: "Other")
            let reply = try await f.ding([other.ownerMemberID])
            #expect(reply.json["errors"][0]["code"].string == "unknown_member")
        }
    }

    @Test("a scheduled DING goes out at its minute, not before; it can be cancelled until then", arguments: Engine.all)
    func scheduled(engine: Engine) async throws {
        let (clock, time, configure) = Self.manual()
        try await withAPI(engine, clock: clock, configure: configure) { api in
            let f = try await DingFixture.make(api)
            let at = time.current.addingTimeInterval(600)
            let created = try await f.ding([f.bobMember], scheduledAt: iso(at))
            #expect(created.status == .created, "\(created.text)")
            let id = created.json["id"].string!
            #expect(created.json["sentAt"].isNull)
            try await api.parts.jobs.runDue()
            #expect(try await f.get(id, as: f.bob).status == .notFound, "not visible before it goes out")
            #expect(try await f.confirm(id, as: f.bob).status == .notFound)
            let cancelled = try await f.ding([f.catMember], scheduledAt: iso(at))
            #expect(try await api.call(.post, "\(f.dings)/\(cancelled.json["id"].string!)/cancel", as: f.ann).status == .ok)
            time.advance(by: 600)
            #expect(try await api.parts.jobs.runDue() == 1, "the send job, which also notifies in-app")
            #expect(try await f.get(id, as: f.bob).json["sentAt"].string != nil)
            #expect(try await api.call(.get, f.dings, as: f.cat).json["items"].array.isEmpty, "the cancelled one never went out")
            #expect(try await api.call(.post, "\(f.dings)/\(id)/cancel", as: f.ann).status == .conflict)
        }
    }

    @Test("remind again reaches only the unconfirmed: at once, then at most once every 5 minutes", arguments: Engine.all)
    func remind(engine: Engine) async throws {
        let (clock, time, configure) = Self.manual()
        try await withAPI(engine, clock: clock, configure: configure) { api in
            let f = try await DingFixture.make(api)
            let id = try await f.ding([f.bobMember, f.catMember]).json["id"].string!
            try await api.parts.jobs.runDue()
            _ = try await f.confirm(id, as: f.bob)
            #expect(try await api.call(.post, "\(f.dings)/\(id)/remind", as: f.bob).status == .forbidden)
            // The first reminder may come at once…
            #expect(try await api.call(.post, "\(f.dings)/\(id)/remind", as: f.ann).status == .ok)
            #expect(try await api.parts.jobs.runDue() == 1)
            #expect(try await f.attempts(id, of: f.cat).map { $0["reason"].string } == ["initial", "reminder"])
            #expect(try await f.attempts(id, of: f.bob).count == 1, "Bob confirmed: not reminded")
            // …the next only 5 minutes after it.
            time.advance(by: 200)
            let early = try await api.call(.post, "\(f.dings)/\(id)/remind", as: f.ann)
            #expect(early.status == .tooManyRequests)
            #expect(early.headers[.retryAfter] == "100")
            time.advance(by: 100)
            #expect(try await api.call(.post, "\(f.dings)/\(id)/remind", as: f.ann).status == .ok)
            #expect(try await api.parts.jobs.runDue() == 1)
            #expect(try await f.attempts(id, of: f.cat).map { $0["reason"].string } == ["initial", "reminder", "reminder"])
        }
    }

    @Test("escalation: SMS, then a call, an unanswered call falls back to SMS; the confirmed are left alone", arguments: Engine.all)
    func escalation(engine: Engine) async throws {
        try await GatewaySimulator.run { gateway, url in
            let (clock, time, configure) = Self.manual(url)
            try await withAPI(engine, clock: clock, configure: configure) { api in
                let f = try await DingFixture.make(api)
                #expect(try await f.setPolicy(sms: 10, call: 30).status == .ok)
                let id = try await f.ding([f.bobMember, f.catMember]).json["id"].string!
                try await api.parts.jobs.runDue()
                time.advance(by: 300)
                _ = try await f.confirm(id, as: f.bob)
                time.advance(by: 300)
                try await api.parts.jobs.runDue()
                #expect(gateway.requests.map(\.channel) == ["sms"])
                let sms = gateway.requests[0]
                #expect(sms.signatureValid)
                #expect(sms.to == "+8613800000002")
                #expect(sms.text.contains("Fire drill"))
                #expect(sms.idempotencyKey == sms.id)
                #expect(sms.callbackUrl.hasSuffix("/api/v1/gateway/status"))
                #expect(try await f.attempts(id, of: f.cat).map { $0["status"].string } == ["delivered", "sent"])
                #expect(try await f.status(sms.id, "delivered").status == .noContent)
                time.advance(by: 1200)
                try await api.parts.jobs.runDue()
                #expect(gateway.requests.map(\.channel) == ["sms", "call"])
                let call = gateway.requests[1]
                time.advance(by: 60)
                #expect(try await f.status(call.id, "not_answered").status == .noContent)
                try await api.parts.jobs.runDue()
                #expect(gateway.requests.map(\.channel) == ["sms", "call", "sms"])
                let cat = try await f.attempts(id, of: f.cat)
                #expect(cat.map { $0["channel"].string ?? "" } == ["app", "sms", "call", "sms"])
                #expect(cat.map { $0["status"].string ?? "" } == ["delivered", "delivered", "not_answered", "sent"])
                #expect(cat.map { $0["reason"].string ?? "" } == ["initial", "escalation", "escalation", "fallback"])
                #expect(try await f.attempts(id, of: f.bob).count == 1, "Bob confirmed: no SMS, no call")
                // Callbacks must be signed, recent, and about a known attempt.
                #expect(try await f.status(call.id, "answered", secret: "wrong-secret-wrong-secret").status == .unauthorized)
                #expect(try await f.status(call.id, "answered", at: Date().addingTimeInterval(-600)).status == .unauthorized)
                #expect(try await f.status(UUID().uuidString, "answered").status == .notFound)
            }
        }
    }

    @Test("gateway failures: 5xx and timeouts are retried, 4xx fails; every attempt is recorded", arguments: [Engine.sqlite])
    func gatewayFailures(engine: Engine) async throws {
        try await GatewaySimulator.run { gateway, url in
            let (clock, time, configure) = Self.manual(url, timeout: 2)  // a hang is 8 s: a timeout however busy the machine
            try await withAPI(engine, clock: clock, configure: configure) { api in
                let f = try await DingFixture.make(api)
                gateway.answer(.status(503), .hang, .status(202), .status(400))
                let retried = try await f.ding([f.bobMember], channel: "sms").json["id"].string!
                try await api.parts.jobs.runDue()
                #expect(try await f.attempts(retried, of: f.bob).last?["status"].string == "pending")
                time.advance(by: 31)
                try await api.parts.jobs.runDue()  // times out
                #expect(try await f.attempts(retried, of: f.bob).last?["detail"].string?.contains("Retrying") == true)
                time.advance(by: 61)
                try await api.parts.jobs.runDue()
                let ok = try await f.attempts(retried, of: f.bob)
                #expect(ok.map { $0["status"].string } == ["delivered", "sent"])
                #expect(Set(gateway.requests.map(\.id)).count == 1, "one attempt id across its retries")
                let refused = try await f.ding([f.catMember], channel: "sms").json["id"].string!
                try await api.parts.jobs.runDue()
                let failed = try await f.attempts(refused, of: f.cat)
                #expect(failed.last?["status"].string == "failed")
                #expect(failed.last?["detail"].string?.contains("400") == true)
            }
        }
    }

    @Test("an escalation to a provider that is not configured is skipped, plainly, and the DING stands", arguments: [Engine.sqlite])
    func unconfigured(engine: Engine) async throws {
        let (clock, time, configure) = Self.manual()
        try await withAPI(engine, clock: clock, configure: configure) { api in
            let f = try await DingFixture.make(api)
            let policy = try await f.setPolicy(sms: 1, call: nil)
            #expect(policy.json["providers"].array.first { $0["channel"].string == "sms" }?["available"].bool == false)
            #expect(policy.json["providers"].array.first { $0["channel"].string == "sms" }?["reason"].string?.contains("TACK_GATEWAY_URL") == true)
            let id = try await f.ding([f.bobMember]).json["id"].string!
            try await api.parts.jobs.runDue()
            time.advance(by: 60)
            try await api.parts.jobs.runDue()
            let attempts = try await f.attempts(id, of: f.bob)
            #expect(attempts.map { $0["status"].string } == ["delivered", "skipped"])
            #expect(attempts.last?["detail"].string?.contains("not configured") == true)
            #expect(try await f.confirm(id, as: f.bob).status == .ok)
            // No gateway: nothing may report to it.
            let status = try await f.status(UUID().uuidString, "delivered")
            #expect(status.status == .notFound)
            #expect(status.code == "gateway_not_configured")
            // Only owners and admins set the policy; values are checked.
            #expect(try await api.call(.put, "/api/v1/orgs/\(f.org.id)/ding-policy", as: f.bob,
                                       json: API.body(["callFallbackSms": true, "callsPer8Minutes": 3, "callsPerDay": 8])).status == .forbidden)
            #expect(try await f.setPolicy(sms: 30, call: 10).status == .unprocessableContent)
            #expect(try await f.setPolicy(sms: 0, call: nil).status == .unprocessableContent)
        }
    }

    @Test("per-recipient call limits: a call over the limit is skipped and an SMS goes instead", arguments: [Engine.sqlite])
    func callLimits(engine: Engine) async throws {
        try await GatewaySimulator.run { gateway, url in
            let (clock, time, configure) = Self.manual(url)
            try await withAPI(engine, clock: clock, configure: configure) { api in
                let f = try await DingFixture.make(api)
                _ = try await f.setPolicy(sms: nil, call: nil, per8: 1, perDay: 2)
                for _ in 0..<2 {
                    _ = try await f.ding([f.bobMember], channel: "call")
                    try await api.parts.jobs.runDue()
                    time.advance(by: 60)
                }
                try await api.parts.jobs.runDue()
                #expect(gateway.requests.map(\.channel) == ["call", "sms"])
                let sent = try await api.call(.get, "\(f.dings)?box=sent", as: f.ann).json["items"].array
                let second = try await f.attempts(sent[0]["id"].string!, of: f.bob)
                #expect(second.map { $0["status"].string ?? "" } == ["delivered", "skipped", "sent"])
                #expect(second[1]["detail"].string?.contains("Call limit") == true)
                time.advance(by: 600)  // the 8-minute window has passed; the day's has not
                _ = try await f.ding([f.bobMember], channel: "call")
                try await api.parts.jobs.runDue()
                #expect(gateway.requests.map(\.channel) == ["call", "sms", "call"])
                _ = try await f.ding([f.bobMember], channel: "call")
                time.advance(by: 600)
                try await api.parts.jobs.runDue()
                #expect(gateway.requests.map(\.channel) == ["call", "sms", "call", "sms"], "2 calls a day at most")
            }
        }
    }

    @Test("the recipient's open app gets the DING at once; the sender's sees the confirmation", arguments: [Engine.sqlite])
    func realtime(engine: Engine) async throws {
        try await withAPI(engine, mode: .live) { api in
            let f = try await DingFixture.make(api)
            let bobSocket = TestSocket(port: api.client.port!, token: f.bob.token)
            let annSocket = TestSocket(port: api.client.port!, token: f.ann.token)
            defer { bobSocket.close(); annSocket.close() }
            for socket in [bobSocket, annSocket] { await socket.start() }
            let id = try await f.ding([f.bobMember], text: "Come to room 3").json["id"].string!
            let received = await bobSocket.next(ofType: "ding.received")
            #expect(received?["data"]["id"].string == id)
            #expect(received?["data"]["text"].string == "Come to room 3")
            _ = try await f.confirm(id, as: f.bob)
            let confirmed = await annSocket.next(ofType: "ding.confirmed")
            #expect(confirmed?["data"]["dingId"].string == id)
            #expect(confirmed?["data"]["confirmedCount"].int == 1)
            #expect(await bobSocket.next(ofType: "ding.confirmed")?["data"]["userId"].string == f.bob.userID)
        }
    }
}
