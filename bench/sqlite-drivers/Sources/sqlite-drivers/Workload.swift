import Foundation

/// The message-store workload of shared/STORAGE.md: each insert is one counter-row upsert that
/// hands out the conversation's next sequence number, then one message row, both RETURNING.
enum Workload {
    static let schema = [
        "CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, last_seq INTEGER NOT NULL)",
        """
        CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, \
        seq INTEGER NOT NULL, author_id TEXT NOT NULL, body TEXT NOT NULL, created_at REAL NOT NULL, \
        UNIQUE (conversation_id, seq))
        """,
    ]
    static let upsertSQL = "INSERT INTO conversations (id, last_seq) VALUES (?, 1) ON CONFLICT (id) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq"
    static let insertSQL = "INSERT INTO messages (id, conversation_id, seq, author_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id, seq, created_at"

    static let conversations: [String] = (0..<100).map { _ in UUID().uuidString }
    static let authors: [String] = (0..<20).map { _ in UUID().uuidString }
    static let body = String(repeating: "A message of about a hundred characters, as people write them. ", count: 2).prefix(100).description
}

/// One message to insert.
struct NewMessage: Sendable {
    var conversation: String
    var author: String
    var body: String
    var createdAt: Double

    static func make(_ i: Int) -> NewMessage {
        NewMessage(conversation: Workload.conversations[i % Workload.conversations.count],
                   author: Workload.authors[i % Workload.authors.count], body: Workload.body,
                   createdAt: Date().timeIntervalSince1970)
    }
}

/// A driver under test: opens the database with WAL and synchronous=NORMAL (one writer), and
/// inserts messages one transaction per call.
protocol MessageStore: Sendable {
    /// e.g. "journal_mode=wal synchronous=1 sqlite=3.40.1"
    func settings() async throws -> String
    /// One transaction: for each message, the counter upsert then the insert.
    func insert(_ messages: [NewMessage]) async throws
    func close() async throws
}
