import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Tells an organisation's admins how many read and confirmed an announcement — coalesced.
///
/// Reads and confirmations only mark an announcement dirty; every `interval` the notifier
/// counts each dirty announcement's recipients once and sends the admins one
/// `announcement.stats`. A thousand people opening an announcement within the interval cost one
/// count and one event (the pattern of chat's `ReceiptNotifier`).
final class AnnouncementNotifier: Service, Sendable {
    private let database: Database
    private let hub: any Hub
    private let logger: Logger
    private let interval: Duration
    private let dirty = Mutex<[Announcement.ID: Organization.ID]>([:])
    private let store = AnnouncementStore()

    init(database: Database, hub: any Hub, logger: Logger, interval: Duration = .milliseconds(250)) {
        self.database = database
        self.hub = hub
        self.logger = logger
        self.interval = interval
    }

    /// Someone read or confirmed `announcement` (called after that commit).
    func noteChanged(_ announcement: Announcement.ID, org: Organization.ID) {
        dirty.withLock { $0[announcement] = org }
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
        let pending = dirty.withLock { d -> [Announcement.ID: Organization.ID] in
            defer { d.removeAll() }
            return d
        }
        guard !pending.isEmpty else { return }
        do {
            let counts = try await database.read { db in try await store.fetchCounts(db, ids: Array(pending.keys)) }
            let messages = try pending.map { id, org in
                let c = counts[id] ?? .zero
                let data = try EventJSON.encode(AnnouncementStatsEvent(announcementId: id.string, recipientCount: c.recipients,
                                                                       readCount: c.read, confirmedCount: c.confirmed))
                return AnnouncementEvent.toAdmins(org, type: AnnouncementEvent.stats, data: data)
            }
            await hub.publish(messages)
        } catch {
            logger.error("announcement statistics update failed", metadata: ["error": "\(error)"])
        }
    }
}

struct AnnouncementStatsEvent: Codable, Sendable {
    var announcementId: String
    var recipientCount: Int
    var readCount: Int
    var confirmedCount: Int
}
