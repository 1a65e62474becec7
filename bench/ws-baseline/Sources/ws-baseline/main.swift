import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import Synchronization

// ws-baseline PORT VARIANT
//   bare:  the handler sends hello, answers each message with `resumed`, nothing else.
//   bare-noping: bare, with Hummingbird's automatic ping (one task per connection) disabled.
//   lean:  automatic ping disabled, a bounded AsyncStream send queue drained by ONE child task,
//          the reader loop inline in the handler's own task (a leaner shape Tack could take).
//   ondemand: automatic ping disabled, reader inline, and NO long-lived writer task: a send
//          starts a short-lived task that drains the queue and ends (idle connections have no
//          task but the handler's own).
//   tasks: Tack's shape (RealtimeSocket.run): a bounded AsyncStream as send queue and a task
//          group of writer, reader and a 10 s timer task, and a Mutex'd registry of connections.
//   broadcast: `ondemand`'s connections in a registry, and `POST /broadcast`, which writes its
//          body as one text frame to every connected socket (no auth, no persistence): the
//          ceiling of a fan-out on this stack, for bench/chat-fanout.

let open = Atomic<Int>(0)

final class Conn: Sendable {
    let stream: AsyncStream<String>
    let continuation: AsyncStream<String>.Continuation
    init() { (stream, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingOldest(1024)) }
}
let registry = Mutex<[ObjectIdentifier: Conn]>([:])
let broadcastWriters = Mutex<[ObjectIdentifier: OnDemandWriter]>([:])

/// A send queue whose writer task exists only while there is something to send.
final class OnDemandWriter: Sendable {
    private struct State { var queue: [String] = []; var running = false }
    private let state = Mutex(State())
    private let outbound: WebSocketOutboundWriter
    init(_ outbound: WebSocketOutboundWriter) { self.outbound = outbound }

    func send(_ text: String) {
        let start = state.withLock { s -> Bool in
            s.queue.append(text)
            if s.running { return false }
            s.running = true
            return true
        }
        if start { Task { await self.drain() } }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { s -> [String] in
                let b = s.queue
                s.queue = []
                if b.isEmpty { s.running = false }
                return b
            }
            if batch.isEmpty { return }
            for text in batch { try? await outbound.write(.text(text)) }
        }
    }
}

func run() async throws {
    let port = Int(CommandLine.arguments[1])!
    let variant = CommandLine.arguments[2]
    var logger = Logger(label: "ws-baseline")
    logger.logLevel = .warning

    let router = Router()
    router.get("/readyz") { _, _ in "ok" }
    router.get("/metrics") { _, _ in "tack_websocket_connections \(open.load(ordering: .relaxed))\n" }
    router.post("/broadcast") { request, _ -> Response in
        let body = try await request.body.collect(upTo: 1 << 16)
        let text = String(decoding: body.readableBytesView, as: UTF8.self)
        for writer in broadcastWriters.withLock({ Array($0.values) }) { writer.send(text) }
        return Response(status: .created)
    }

    let wsRouter = Router(context: BasicWebSocketRequestContext.self)
    wsRouter.ws("/api/v1/events") { inbound, outbound, _ in
        open.add(1, ordering: .relaxed)
        defer { open.subtract(1, ordering: .relaxed) }
        let hello = #"{"type":"hello","data":{"userId":"x","connectionId":"\#(UUID().uuidString.lowercased())","pingInterval":30}}"#
        let resumed = #"{"type":"resumed","data":{"cursors":{}}}"#
        if variant.hasPrefix("bare") {
            try await outbound.write(.text(hello))
            for try await _ in inbound.messages(maxSize: 1 << 16) { try await outbound.write(.text(resumed)) }
            return
        }
        if variant == "broadcast" {
            let writer = OnDemandWriter(outbound)
            let key = ObjectIdentifier(writer)
            broadcastWriters.withLock { $0[key] = writer }
            defer { _ = broadcastWriters.withLock { $0.removeValue(forKey: key) } }
            writer.send(hello)
            for try await message in inbound.messages(maxSize: 1 << 16) {
                guard case .text(let text) = message else { continue }
                writer.send(text.contains("\"ping\"") ? #"{"type":"pong"}"# : resumed)
            }
            return
        }
        if variant == "ondemand" {
            let writer = OnDemandWriter(outbound)
            writer.send(hello)
            for try await _ in inbound.messages(maxSize: 1 << 16) { writer.send(resumed) }
            return
        }
        if variant == "lean" {
            let conn = Conn()
            registry.withLock { $0[ObjectIdentifier(conn)] = conn }
            defer {
                _ = registry.withLock { $0.removeValue(forKey: ObjectIdentifier(conn)) }
                conn.continuation.finish()
            }
            conn.continuation.yield(hello)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await text in conn.stream { try await outbound.write(.text(text)) }
                }
                for try await _ in inbound.messages(maxSize: 1 << 16) { conn.continuation.yield(resumed) }
                group.cancelAll()
            }
            return
        }
        let conn = Conn()
        registry.withLock { $0[ObjectIdentifier(conn)] = conn }
        defer {
            _ = registry.withLock { $0.removeValue(forKey: ObjectIdentifier(conn)) }
            conn.continuation.finish()
        }
        conn.continuation.yield(hello)
        enum Ended { case writer, reader, timer }
        try await withThrowingTaskGroup(of: Ended.self) { group in
            group.addTask {
                for await text in conn.stream { try await outbound.write(.text(text)) }
                return .writer
            }
            group.addTask {
                for try await _ in inbound.messages(maxSize: 1 << 16) { conn.continuation.yield(resumed) }
                return .reader
            }
            group.addTask {
                try await Task.sleep(for: .seconds(10))
                return .timer
            }
            while let ended = try await group.next() {
                if ended != .timer { break }
            }
            group.cancelAll()
        }
    }

    let app = Application(
        router: router,
        server: .http1WebSocketUpgrade(webSocketRouter: wsRouter, configuration: .init(ws: .init(
            maxFrameSize: 1 << 16, autoPing: ["bare-noping", "lean", "ondemand", "broadcast"].contains(variant) ? .disabled : .enabled(timePeriod: .seconds(30))))),
        configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: nil),
        logger: logger)
    try await app.runService()
}

try await run()
