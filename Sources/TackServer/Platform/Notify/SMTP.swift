import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// How to reach an SMTP server. Its `description` never shows the password.
struct SMTPSettings: Sendable, Equatable, CustomStringConvertible {
    enum Security: String, Sendable, Codable, CaseIterable {
        /// Plain text first, then STARTTLS (refused if the server does not offer it).
        case starttls
        /// TLS from the first byte ("implicit TLS", port 465).
        case tls
        /// No TLS: a relay on the local network, never with credentials.
        case none
    }

    var host: String
    var port: Int
    var security: Security
    var username: String?
    var password: String?
    var fromAddress: String
    var fromName: String?

    var description: String {
        "SMTPSettings(\(host):\(port), \(security.rawValue), user: \(username ?? "-"), password: \(password == nil ? "none" : "<redacted>"))"
    }
}

/// One e-mail: plain text, and HTML if given (sent as multipart/alternative).
struct MailMessage: Sendable {
    var to: String
    var toName: String?
    var subject: String
    var text: String
    var html: String?
    /// Extra headers (e.g. `Auto-Submitted`); names and values are cleaned of line breaks.
    var headers: [(String, String)] = []
    /// The Message-ID's left part: stable per notification so a retried send can be recognised.
    var messageID: String

    /// The RFC 5322 message, with CRLF line ends and dot-stuffed for DATA.
    func rendered(from: String, fromName: String?, domain: String, date: Date) -> String {
        var lines: [String] = []
        lines.append("From: \(MIME.address(from, name: fromName))")
        lines.append("To: \(MIME.address(to, name: toName))")
        lines.append("Subject: \(MIME.encodedWord(subject))")
        lines.append("Date: \(MIME.date(date))")
        lines.append("Message-ID: <\(MIME.clean(messageID))@\(MIME.clean(domain))>")
        lines.append("MIME-Version: 1.0")
        for (name, value) in headers { lines.append("\(MIME.clean(name)): \(MIME.clean(value))") }
        if let html {
            let boundary = "tack-\(messageID.filter { $0.isLetter || $0.isNumber })"
            lines.append("Content-Type: multipart/alternative; boundary=\"\(boundary)\"")
            lines.append("")
            lines.append("--\(boundary)")
            lines += MIME.part(text, type: "text/plain")
            lines.append("--\(boundary)")
            lines += MIME.part(html, type: "text/html")
            lines.append("--\(boundary)--")
        } else {
            lines += MIME.part(text, type: "text/plain")
        }
        // Dot-stuffing: a line that starts with "." gets another (RFC 5321 4.5.2).
        return lines.map { $0.hasPrefix(".") ? "." + $0 : $0 }.joined(separator: "\r\n") + "\r\n"
    }
}

/// MIME pieces: encoded words for headers, base64 bodies.
enum MIME {
    /// A header value with no line breaks (no header injection).
    static func clean(_ value: String) -> String {
        String(value.unicodeScalars.filter { $0 != "\r" && $0 != "\n" && $0 != "\0" }.map(Character.init))
    }

    /// RFC 2047 `=?UTF-8?B?…?=` when the text is not plain printable ASCII.
    static func encodedWord(_ text: String) -> String {
        let text = clean(text)
        if text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) && !text.contains("=?") { return text }
        // Whole characters per word, each word's encoding at most 75 characters.
        var words: [String] = []
        var chunk = ""
        for character in text {
            if (chunk + String(character)).utf8.count > 45 {
                words.append(chunk)
                chunk = ""
            }
            chunk.append(character)
        }
        if !chunk.isEmpty { words.append(chunk) }
        return words.map { "=?UTF-8?B?\(Data($0.utf8).base64EncodedString())?=" }.joined(separator: "\r\n ")
    }

    static func address(_ address: String, name: String?) -> String {
        let address = clean(address)
        guard let name, !name.isEmpty else { return address }
        let clean = clean(name)
        if clean.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) {
            let quoted = clean.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"\(quoted)\" <\(address)>"
        }
        return "\(encodedWord(clean)) <\(address)>"
    }

    static func part(_ body: String, type: String) -> [String] {
        let encoded = Data(body.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        return ["Content-Type: \(type); charset=utf-8", "Content-Transfer-Encoding: base64", ""]
            + encoded.components(separatedBy: "\r\n")
    }

    private static let dateFormat: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter
    }()

    static func date(_ date: Date) -> String { dateFormat.string(from: date) }

    /// A plausible mailbox: one "@", something either side, no spaces or line breaks.
    static func isAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !parts[1].hasPrefix(".") && !parts[1].hasSuffix(".")
            && text.count <= 320 && !text.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" || $0 == "," })
    }
}

/// What went wrong talking to an SMTP server.
struct SMTPError: Error, CustomStringConvertible {
    enum Kind { case connect, tls, refused, protocolError, timeout }
    var kind: Kind
    var message: String
    /// The server's reply code, when it refused something.
    var code: Int?

    /// 4xx replies, timeouts and lost connections are worth another try; 5xx are not.
    var isTemporary: Bool {
        if let code { return code < 500 }
        return kind != .tls
    }

    var description: String { message }
}

/// An SMTP client (RFC 5321) on SwiftNIO: EHLO, STARTTLS or implicit TLS, AUTH PLAIN or LOGIN,
/// one message per connection. Credentials are never logged or put in errors.
struct SMTPClient: Sendable {
    /// Extra certificate authorities to trust (a PEM file), for servers with a private CA.
    var caFile: String?
    var timeout: TimeAmount = .seconds(30)
    /// The name this host gives in EHLO.
    var heloName: String = "tack.localhost"

    /// Sends `message` and returns the server's final reply to the message.
    func send(_ message: MailMessage, with settings: SMTPSettings, date: Date = Date()) async throws -> String {
        let tls = try makeTLSContext()
        let sniName = Self.isIPAddress(settings.host) ? nil : settings.host
        let session = try await SMTPSession.connect(host: settings.host, port: settings.port,
                                                    tls: settings.security == .tls ? (tls, sniName) : nil, timeout: timeout)
        do {
            let reply = try await session.conversation(message, settings: settings, starttls: settings.security == .starttls ? (tls, sniName) : nil,
                                                       helo: heloName, date: date)
            session.close()
            return reply
        } catch {
            session.close()
            throw error
        }
    }

    private func makeTLSContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caFile { configuration.additionalTrustRoots = [.file(caFile)] }
        do { return try NIOSSLContext(configuration: configuration) } catch {
            throw SMTPError(kind: .tls, message: "TLS could not be set up: \(error)")
        }
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}

/// One SMTP connection: commands out, replies in, in order.
private final class SMTPSession: Sendable {
    let channel: any Channel
    let replies: SMTPReplyHandler
    let timeout: TimeAmount

    private init(channel: any Channel, replies: SMTPReplyHandler, timeout: TimeAmount) {
        self.channel = channel
        self.replies = replies
        self.timeout = timeout
    }

    static func connect(host: String, port: Int, tls: (NIOSSLContext, String?)?, timeout: TimeAmount) async throws -> SMTPSession {
        let replies = SMTPReplyHandler()
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let (context, name) = tls {
                            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: name))
                        }
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPLineDecoder()))
                        try channel.pipeline.syncOperations.addHandler(replies)
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            throw SMTPError(kind: .connect, message: "Could not connect to \(host):\(port): \(Self.reason(error)).")
        }
        return SMTPSession(channel: channel, replies: replies, timeout: timeout)
    }

    func close() { channel.close(promise: nil) }

    /// Why a connection failed, in a few words (not NIO's nested error values).
    static func reason(_ error: any Error) -> String {
        if let failure = error as? NIOConnectionError {
            if let first = failure.connectionErrors.first { return reason(first.error) }
            if failure.dnsAError != nil || failure.dnsAAAAError != nil { return "the host name was not found" }
        }
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
        if let channel = error as? ChannelError, case .connectTimeout = channel { return "no answer in time" }
        return "\(error)"
    }

    /// The next reply, which must have one of `expected` codes.
    @discardableResult
    func expect(_ expected: Set<Int>, after command: String?, shown: String? = nil) async throws -> SMTPReply {
        let future = channel.eventLoop.flatSubmit { [replies, channel, timeout] in
            let next = replies.next(on: channel.eventLoop, timeout: timeout)
            if let command { channel.writeAndFlush(ByteBuffer(string: command + "\r\n"), promise: nil) }
            return next
        }
        let reply: SMTPReply
        do { reply = try await future.get() } catch let error as SMTPError { throw error } catch {
            throw SMTPError(kind: .protocolError, message: "The connection failed: \(error)")
        }
        guard expected.contains(reply.code) else {
            let what = shown ?? command.map { String($0.prefix(40)) } ?? "the greeting"
            throw SMTPError(kind: .refused, message: "The SMTP server answered \(what) with \(reply.code) \(reply.text)", code: reply.code)
        }
        return reply
    }

    func conversation(_ message: MailMessage, settings: SMTPSettings, starttls: (NIOSSLContext, String?)?, helo: String,
                      date: Date) async throws -> String {
        try await expect([220], after: nil)
        var ehlo = try await expect([250], after: "EHLO \(helo)")
        if let (context, name) = starttls {
            guard ehlo.extensions.contains("STARTTLS") else {
                throw SMTPError(kind: .tls, message: "The SMTP server does not offer STARTTLS; choose TLS or check the port.")
            }
            try await expect([220], after: "STARTTLS")
            do {
                try await channel.eventLoop.submit { [channel] in
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: name), position: .first)
                }.get()
            } catch {
                throw SMTPError(kind: .tls, message: "STARTTLS failed: \(error)")
            }
            ehlo = try await expect([250], after: "EHLO \(helo)")
        }
        if let username = settings.username, !username.isEmpty {
            let password = settings.password ?? ""
            let mechanisms = Set(ehlo.extensions.first { $0.hasPrefix("AUTH ") }?.split(separator: " ").dropFirst().map { $0.uppercased() } ?? [])
            if mechanisms.contains("PLAIN") || !mechanisms.contains("LOGIN") {
                let token = Data("\0\(username)\0\(password)".utf8).base64EncodedString()
                try await expect([235], after: "AUTH PLAIN \(token)", shown: "AUTH PLAIN")
            } else {
                try await expect([334], after: "AUTH LOGIN")
                try await expect([334], after: Data(username.utf8).base64EncodedString(), shown: "the username")
                try await expect([235], after: Data(password.utf8).base64EncodedString(), shown: "the password")
            }
        }
        let domain = settings.fromAddress.split(separator: "@").last.map(String.init) ?? "tack.localhost"
        try await expect([250], after: "MAIL FROM:<\(MIME.clean(settings.fromAddress))>")
        try await expect([250, 251], after: "RCPT TO:<\(MIME.clean(message.to))>")
        try await expect([354], after: "DATA")
        let body = message.rendered(from: settings.fromAddress, fromName: settings.fromName, domain: domain, date: date)
        let accepted = try await expect([250], after: body + ".", shown: "the message")
        _ = try? await expect([221], after: "QUIT")
        return "\(accepted.code) \(accepted.text)"
    }
}

/// One SMTP reply: its code, text lines, and (for EHLO) the extensions it lists.
struct SMTPReply: Sendable {
    var code: Int
    var lines: [String]
    var text: String { lines.joined(separator: " ") }
    /// EHLO's lines after the first, upper-cased (e.g. "STARTTLS", "AUTH PLAIN LOGIN").
    var extensions: [String] { lines.dropFirst().map { $0.uppercased() } }
}

/// Splits the stream into lines (CRLF or LF).
private struct SMTPLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = String

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let end = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > 4096 { throw SMTPError(kind: .protocolError, message: "An SMTP reply line was too long.") }
            return .needMoreData
        }
        let length = end - buffer.readerIndex
        var line = buffer.readString(length: length) ?? ""
        buffer.moveReaderIndex(forwardBy: 1)
        if line.hasSuffix("\r") { line.removeLast() }
        context.fireChannelRead(wrapInboundOut(line))
        return .continue
    }
}

/// Collects reply lines into replies and hands them to waiters in order. Used only on its
/// channel's event loop.
private final class SMTPReplyHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = String

    private var pending: [String] = []
    private var ready: [Result<SMTPReply, SMTPError>] = []
    private var waiters: [(EventLoopPromise<SMTPReply>, Scheduled<Void>)] = []
    /// Why the connection ended, once it has.
    private var ended: SMTPError?

    func next(on loop: any EventLoop, timeout: TimeAmount) -> EventLoopFuture<SMTPReply> {
        if !ready.isEmpty { return loop.makeCompletedFuture(ready.removeFirst().mapError { $0 as any Error }) }
        if let ended { return loop.makeFailedFuture(ended) }
        let promise = loop.makePromise(of: SMTPReply.self)
        let timer = loop.scheduleTask(in: timeout) {
            promise.fail(SMTPError(kind: .timeout, message: "The SMTP server did not answer in time."))
        }
        waiters.append((promise, timer))
        return promise.futureResult
    }

    private func complete(_ result: Result<SMTPReply, SMTPError>) {
        if waiters.isEmpty { ready.append(result); return }
        let (promise, timer) = waiters.removeFirst()
        timer.cancel()
        promise.completeWith(result.mapError { $0 as any Error })
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = unwrapInboundIn(data)
        guard line.count >= 3, let code = Int(line.prefix(3)) else {
            complete(.failure(SMTPError(kind: .protocolError, message: "Not an SMTP reply: \(line.prefix(80))")))
            return
        }
        pending.append(String(line.dropFirst(4)))
        // "250-…" continues; "250 …" (or just "250") ends the reply.
        if line.count > 3, line[line.index(line.startIndex, offsetBy: 3)] == "-" { return }
        let lines = pending
        pending = []
        complete(.success(SMTPReply(code: code, lines: lines)))
    }

    private func end(_ failure: SMTPError) {
        if ended == nil { ended = failure }
        for (promise, timer) in waiters {
            timer.cancel()
            promise.fail(ended ?? failure)
        }
        waiters = []
    }

    func channelInactive(context: ChannelHandlerContext) {
        end(SMTPError(kind: .protocolError, message: "The SMTP server closed the connection."))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let tls = error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError
        end(SMTPError(kind: tls ? .tls : .protocolError, message: "The connection to the SMTP server failed: \(error)"))
        context.close(promise: nil)
    }
}
