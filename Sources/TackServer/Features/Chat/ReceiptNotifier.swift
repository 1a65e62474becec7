import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Tells senders how many have not read their messages — coalesced.
///
/// Reads only mark a conversation's range of sequence numbers dirty; every `interval` the
/// notifier computes, per dirty conversation, the unread counts of the messages in that range
/// from the members' watermarks, and sends each sender one `receipts.updated` with all of their
/// messages that changed. A thousand members reading a message within the interval cost its
/// sender one event.
final class ReceiptNotifier: Service, Sendable {
    private struct Dirty {
        var org: Organization.ID
        var from: Int64
        var to: Int64
    }

    private let database: Database
    private let hub: any Hub
    private let logger: Logger
    private let interval: Duration
    private let dirty = Mutex<[Conversation.ID: Dirty]>([:])
    private let store = ChatStore()

    init(database: Database, hub: any Hub, logger: Logger, interval: Duration = .milliseconds(250)) {
        self.database = database
        self.hub = hub
        self.logger = logger
        self.interval = interval
    }

    /// Someone's watermark in `conversation` moved over `from...to`.
    func noteRead(_ conversation: Conversation.ID, org: Organization.ID, from: Int64, to: Int64) {
        guard from <= to else { return }
        dirty.withLock { d in
            if var range = d[conversation] {
                range.from = min(range.from, from)
                range.to = max(range.to, to)
                d[conversation] = range
            } else {
                d[conversation] = Dirty(org: org, from: from, to: to)
            }
        }
    }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while true {
                try await Task.sleep(for: self.interval)
                await self.flush()
            }
        }
    }

    /// Sends the pending updates now.
    func flush() async {
        let pending = dirty.withLock { d -> [Conversation.ID: Dirty] in
            defer { d.removeAll() }
            return d
        }
        for (conversation, range) in pending {
            do {
                let messages = try await database.read { db -> [HubMessage] in
                    // The newest 500 messages of the range: older ones are off everyone's screen.
                    let senders = try await store.fetchSenders(db, conversationID: conversation, from: range.from, to: range.to, limit: 500)
                    guard !senders.isEmpty else { return [] }
                    let members = try await store.fetchReceiptRows(db, conversationID: conversation)
                    return Dictionary(grouping: senders, by: \.1).map { sender, own in
                        let counts = Receipts.unreadCounts(own.map(\.0), sender: sender, members: members)
                        let items = counts.sorted { $0.key < $1.key }.map { #"{"seq":\#($0.key),"unread":\#($0.value)}"# }.joined(separator: ",")
                        return HubMessage.personal(sender, type: ChatEvent.receiptsUpdated,
                                                   data: #"{"conversationId":"\#(conversation.string)","counts":[\#(items)]}"#)
                    }
                }
                await hub.publish(messages)
            } catch {
                logger.error("receipt update failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
