import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Something to tell one person, on one channel.
struct OutgoingNotification: Sendable {
    /// Unique per attempt and stable across its retries: providers use it to deliver once.
    var id: String
    var channel: DeliveryChannel
    var orgID: Organization.ID
    var userID: User.ID
    /// A phone number (SMS, calls) or an e-mail address.
    var address: String?
    var subject: String
    var text: String
    /// The person's name, for the e-mail's To line.
    var name: String?
    /// The in-app event to publish (in-app only).
    var event: HubMessage?
}

/// What a provider did with a notification.
enum DeliveryOutcome: Sendable, Equatable {
    /// Shown or handed over for good (in-app; an e-mail the server accepted).
    case delivered
    /// Accepted by a gateway; its outcome comes later by callback.
    case accepted
}

/// Why a provider could not deliver.
enum DeliveryError: Error, Sendable {
    /// Worth trying again later (a timeout, a 5xx).
    case temporary(String)
    /// Will not work however often it is tried (a 4xx, a refused address).
    case permanent(String)
}

/// One way of reaching people. Providers: in-app (the real-time channel), SMS and voice through
/// the HTTP gateway, e-mail over SMTP.
protocol Notifier: Sendable {
    var channel: DeliveryChannel { get }
    /// Why this provider cannot be used (not configured), or nil when it can.
    var unavailableReason: String? { get }
    /// Why this provider cannot be used for one organisation (e-mail: no SMTP server set up).
    func unavailableReason(orgID: Organization.ID) async throws -> String?
    func deliver(_ notification: OutgoingNotification) async throws -> DeliveryOutcome
}

extension Notifier {
    func unavailableReason(orgID: Organization.ID) async throws -> String? { unavailableReason }
}

/// The providers of one installation, by channel.
struct Notifiers: Sendable {
    var providers: [DeliveryChannel: any Notifier]

    func provider(_ channel: DeliveryChannel) -> (any Notifier)? { providers[channel] }

    /// Why a channel cannot be used, or nil when it can.
    func unavailableReason(_ channel: DeliveryChannel) -> String? {
        guard let provider = providers[channel] else { return "No provider for \(channel.rawValue) is configured." }
        return provider.unavailableReason
    }

    /// Why a channel cannot be used in one organisation, or nil when it can.
    func unavailableReason(_ channel: DeliveryChannel, orgID: Organization.ID) async throws -> String? {
        guard let provider = providers[channel] else { return "No provider for \(channel.rawValue) is configured." }
        return try await provider.unavailableReason(orgID: orgID)
    }
}

/// In-app: publishes the notification's event to the person's open connections.
struct InAppNotifier: Notifier {
    let hub: any Hub
    var channel: DeliveryChannel { .app }
    var unavailableReason: String? { nil }

    func deliver(_ notification: OutgoingNotification) async throws -> DeliveryOutcome {
        if let event = notification.event { await hub.publish([event]) }
        return .delivered
    }

    /// Delivers `event` once the transaction of `outbox` commits (and never if it does not):
    /// in-app delivery recorded together with what caused it.
    func deliver(_ event: HubMessage, after outbox: Outbox) {
        outbox.add(event)
    }
}

/// SMS and phone calls through an HTTP gateway: a signed JSON POST per notification, and
/// signed delivery-status callbacks (`docs/gateway.md`).
struct GatewayNotifier: Notifier {
    let channel: DeliveryChannel
    let url: String?
    let secret: String?
    /// Where the gateway posts delivery statuses.
    let callbackURL: String
    let client: HTTPClient
    var timeout: TimeAmount = .seconds(10)

    var unavailableReason: String? {
        guard url != nil, secret != nil else {
            return "The SMS and voice gateway is not configured: set TACK_GATEWAY_URL and TACK_GATEWAY_SECRET (docs/gateway.md)."
        }
        return nil
    }

    struct Request: Codable, Sendable {
        var id: String
        var channel: String
        var to: String
        var subject: String
        var text: String
        var callbackUrl: String
    }

    func deliver(_ notification: OutgoingNotification) async throws -> DeliveryOutcome {
        guard let url, let secret else { throw DeliveryError.permanent(unavailableReason ?? "not configured") }
        guard let to = notification.address else { throw DeliveryError.permanent("No phone number.") }
        let body = try JSONEncoder.sorted.encode(Request(id: notification.id, channel: channel.rawValue, to: to, subject: notification.subject,
                                                         text: notification.text, callbackUrl: callbackURL))
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: GatewaySignature.header, value: GatewaySignature.sign(body: body, secret: secret, at: Date()))
        request.headers.add(name: "Idempotency-Key", value: notification.id)
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: timeout)
        } catch {
            throw DeliveryError.temporary("The gateway did not answer: \(error)")
        }
        let text = String(buffer: (try? await response.body.collect(upTo: 4096)) ?? ByteBuffer())
        switch response.status.code {
        case 200..<300: return .accepted
        case 408, 429, 500...: throw DeliveryError.temporary("The gateway answered \(response.status.code): \(text.prefix(200))")
        default: throw DeliveryError.permanent("The gateway refused it (\(response.status.code)): \(text.prefix(200))")
        }
    }
}

/// `X-Tack-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` on requests to
/// the gateway and on its callbacks.
enum GatewaySignature {
    static let header = "X-Tack-Signature"
    /// How far a signature's time may be from now.
    static let tolerance: TimeInterval = 300

    static func sign(body: some DataProtocol, secret: String, at date: Date) -> String {
        let t = Int(date.timeIntervalSince1970)
        return "t=\(t),v1=\(mac(t: t, body: body, secret: secret))"
    }

    static func verify(_ header: String?, body: some DataProtocol, secret: String, now: Date) -> Bool {
        guard let header else { return false }
        var t: Int?
        var given: [String] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { t = Int(pair[1]) } else if pair[0] == "v1" { given.append(pair[1]) }
        }
        guard let t, abs(now.timeIntervalSince1970 - Double(t)) <= tolerance else { return false }
        let expected = Array(mac(t: t, body: body, secret: secret).utf8)
        // Constant time for signatures of the right length.
        return given.contains { candidate in
            let bytes = Array(candidate.utf8)
            guard bytes.count == expected.count else { return false }
            return zip(bytes, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
        }
    }

    private static func mac(t: Int, body: some DataProtocol, secret: String) -> String {
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: Data(secret.utf8)))
        hmac.update(data: Data("\(t).".utf8))
        hmac.update(data: Data(body))
        return Secrets.hex(hmac.finalize())
    }
}

extension JSONEncoder {
    /// Sorted keys, no escaped slashes: the bytes that get signed.
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
