import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOWebSocket
import Synchronization
import Testing
@testable import TackServer

/// A WebSocket client of the real-time channel for tests: received messages arrive in order on
/// `next()`; reading can be paused to play a client that does not keep up.
final class TestSocket: Sendable {
    private let received: AsyncStream<String>
    private let receivedInput: AsyncStream<String>.Continuation
    private let toSend: AsyncStream<String>.Continuation
    private let gate: AsyncStream<Void>.Continuation
    private let inbox: Inbox<String>
    /// How the server closed the connection.
    let closed: Task<WebSocketCloseFrame?, any Error>

    init(port: Int, token: String?, pauseAfter: Int? = nil) {
        let (received, receivedInput) = AsyncStream.makeStream(of: String.self)
        let (sendStream, toSend) = AsyncStream.makeStream(of: String.self)
        let (gateStream, gate) = AsyncStream.makeStream(of: Void.self)
        self.received = received
        self.receivedInput = receivedInput
        self.toSend = toSend
        self.gate = gate
        inbox = Inbox(received.makeAsyncIterator())
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        closed = Task {
            defer { receivedInput.finish() }
            return try await WebSocketClient.connect(
                url: "ws://127.0.0.1:\(port)/api/v1/events",
                configuration: .init(maxFrameSize: 1 << 20, additionalHeaders: headers, autoPing: .disabled),
                logger: ScratchDatabase.logger
            ) { inbound, outbound, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await text in sendStream { try await outbound.write(.text(text)) }
                    }
                    var count = 0
                    var gateIterator = gateStream.makeAsyncIterator()
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        if case .text(let text) = message { receivedInput.yield(text) }
                        count += 1
                        if count == pauseAfter { _ = await gateIterator.next() }
                    }
                    group.cancelAll()
                }
            }
        }
    }

    /// The next message, or nil once the connection has closed. (The suite's time limit catches
    /// a message that never comes.)
    func next() async -> JSON? {
        await inbox.next().map { (try? JSON(parsing: Data($0.utf8))) ?? .string($0) }
    }

    /// Messages until one of `type` arrives (which is returned).
    func next(ofType type: String) async -> JSON? {
        while let message = await next() {
            if message["type"].string == type { return message }
        }
        return nil
    }

    /// The opening of every session: `hello`, then `resume` with no cursors, until `resumed`.
    func start() async {
        _ = await next()
        send(#"{"type":"resume","cursors":{}}"#)
        _ = await next(ofType: "resumed")
    }

    func send(_ text: String) { toSend.yield(text) }
    func resumeReading() { gate.yield() }
    func close() {
        toSend.finish()
        closed.cancel()
    }
}

/// Hands out what a stream received one at a time, to any task.
actor Inbox<Element: Sendable> {
    private var iterator: AsyncStream<Element>.Iterator
    init(_ iterator: AsyncStream<Element>.Iterator) { self.iterator = iterator }
    func next() async -> Element? {
        // The iterator refers to the stream's shared storage: advancing a copy advances it.
        var copy = iterator
        let value = await copy.next(isolation: self)
        iterator = copy
        return value
    }
}
