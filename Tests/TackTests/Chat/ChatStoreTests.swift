import Foundation
import SQLKit
import Testing
@testable import TackServer

@Suite("Chat store")
struct ChatStoreTests {
    let store = ChatStore()

    func conversation(_ org: Organization, kind: Conversation.Kind = .group, name: String = "Team") -> Conversation {
        Conversation(id: .random(), orgID: org.id, kind: kind, name: name, departmentID: nil, lastSeq: 0, memberCount: 0,
                     maxMembers: 1000, updatedAt: Date(timeIntervalSince1970: 1_800_000_000))
    }

    func message(_ c: Conversation, _ seq: Int64, from user: User, text: String?, key: String? = nil, kind: Message.Kind = .text) -> Message {
        Message(conversationID: c.id, seq: seq, id: .random(), sender: PersonRef(userID: user.id, memberID: nil, name: user.name),
                kind: kind, text: text, mentions: [], mentionAll: false, replyToSeq: nil, replyTo: nil, attachment: nil,
                forwardedFrom: nil, system: nil, clientKey: key, createdAt: Date(timeIntervalSince1970: 1_800_000_000 + Double(seq)),
                recalledAt: nil, pinnedAt: nil, pinnedBy: nil)
    }

    /// An organisation with members Ann and Bob in a group conversation.
    func setUp(_ db: any SQLDatabase, _ f: Fixtures) async throws -> (Organization, Conversation, User, User) {
        let ann = try await f.user("Ann"), bob = try await f.user("Bob")
        let (org, root) = try await f.org(owner: ann)
        _ = try await f.member(ann, of: org, departments: [root])
        _ = try await f.member(bob, of: org, departments: [root])
        let c = conversation(org)
        try await store.insertConversation(db, c, directKey: nil, createdBy: ann.id, now: f.now)
        try await store.insertParticipants(db, conversation: c, users: [(ann.id, .owner), (bob.id, .member)], joinedSeq: 0, now: f.now)
        return (org, c, ann, bob)
    }

    @Test("conversations, counters and participants", arguments: Engine.all)
    func conversations(engine: Engine) async throws {
        try await withStore(engine) { db, f in
            let (org, c, ann, bob) = try await setUp(db, f)
            #expect(try await store.fetchConversation(db, orgID: org.id, id: c.id)?.name == "Team")
            #expect(try await store.fetchConversation(db, orgID: .random(), id: c.id) == nil, "scoped to its organisation")
            #expect(try await store.nextSeq(db, id: c.id, now: f.now) == 1)
            #expect(try await store.nextSeq(db, id: c.id, now: f.now) == 2)
            #expect(try await store.refreshMemberCount(db, id: c.id) == 2)
            let people = try await store.fetchParticipants(db, conversationID: c.id)
            #expect(people.map(\.1.name) == ["Ann", "Bob"])
            #expect(people.first?.0.role == .owner)
            #expect(people.allSatisfy { $0.1.memberID != nil })
            #expect(try await store.advanceReadSeq(db, conversationID: c.id, userID: bob.id, to: 2) == 0)
            #expect(try await store.advanceReadSeq(db, conversationID: c.id, userID: bob.id, to: 1) == nil, "never backwards")
            try await store.updateParticipantRole(db, conversationID: c.id, userID: bob.id, role: .admin)
            #expect(try await store.fetchParticipant(db, conversationID: c.id, userID: bob.id)?.0.role == .admin)
            #expect(try await store.fetchConversationIDs(db, userID: ann.id) == [c.id])
            try await store.deleteParticipants(db, conversationID: c.id, users: [bob.id])
            #expect(try await store.fetchParticipant(db, conversationID: c.id, userID: bob.id) == nil)
            let direct = conversation(org, kind: .direct, name: "")
            try await store.insertConversation(db, direct, directKey: "a:b", createdBy: ann.id, now: f.now)
            #expect(try await store.fetchDirectConversation(db, orgID: org.id, key: "a:b")?.id == direct.id)
            do {
                try await store.insertConversation(db, conversation(org, kind: .direct), directKey: "a:b", createdBy: ann.id, now: f.now)
                Issue.record("two direct conversations for one pair")
            } catch { #expect(DatabaseErrors.isUniqueViolation(error)) }
        }
    }

    @Test("messages: pages, client keys, quotes, pins, recalls", arguments: Engine.all)
    func messages(engine: Engine) async throws {
        try await withStore(engine) { db, f in
            let (org, c, ann, bob) = try await setUp(db, f)
            for i in 1...5 {
                let seq = try await store.nextSeq(db, id: c.id, now: f.now)
                var m = message(c, seq, from: i.isMultiple(of: 2) ? bob : ann, text: "message \(i)", key: "k\(i)")
                if i == 5 { m.replyToSeq = 2 }
                try await store.insertMessage(db, m)
            }
            #expect(try await store.fetchMessagePage(db, orgID: org.id, conversationID: c.id, after: 2, before: nil, limit: 2).map(\.seq) == [3, 4])
            #expect(try await store.fetchMessagePage(db, orgID: org.id, conversationID: c.id, after: nil, before: 5, limit: 2).map(\.seq) == [3, 4])
            #expect(try await store.fetchMessagePage(db, orgID: org.id, conversationID: c.id, after: nil, before: nil, limit: 10).map(\.seq) == [1, 2, 3, 4, 5])
            let fifth = try #require(try await store.fetchMessage(db, orgID: org.id, conversationID: c.id, seq: 5))
            #expect(fifth.replyTo?.excerpt == "message 2")
            #expect(fifth.replyTo?.sender.name == "Bob")
            #expect(fifth.sender.memberID != nil)
            #expect(try await store.fetchMessage(db, orgID: org.id, conversationID: c.id, sender: bob.id, clientKey: "k4")?.seq == 4)
            #expect(try await store.fetchMessage(db, orgID: org.id, conversationID: c.id, sender: ann.id, clientKey: "k4") == nil)
            try await store.setPinned(db, conversationID: c.id, seq: 3, by: bob.id, at: f.now)
            #expect(try await store.fetchPinnedMessages(db, orgID: org.id, conversationID: c.id).map(\.seq) == [3])
            #expect(try await store.fetchMessage(db, orgID: org.id, conversationID: c.id, seq: 3)?.pinnedBy?.name == "Bob")
            try await store.recallMessage(db, conversationID: c.id, seq: 2, at: f.now)
            #expect(try await store.fetchMessage(db, orgID: org.id, conversationID: c.id, seq: 5)?.replyTo?.recalled == true)
            #expect(try await store.fetchSenders(db, conversationID: c.id, from: 1, to: 5, limit: 3).map(\.0) == [5, 4, 3])
            #expect(try await store.fetchOwnSeqs(db, conversationID: c.id, sender: ann.id, from: 1, to: 5) == [1, 3, 5])
        }
    }

    @Test("a batch's client keys and participants: exactly the pairs asked for", arguments: Engine.all)
    func batchLookups(engine: Engine) async throws {
        try await withStore(engine) { db, f in
            let (org, c, ann, bob) = try await setUp(db, f)
            let cat = try await f.user("Cat")
            _ = try await f.member(cat, of: org, departments: [])
            let other = conversation(org, name: "Other")
            try await store.insertConversation(db, other, directKey: nil, createdBy: bob.id, now: f.now)
            try await store.insertParticipants(db, conversation: other, users: [(bob.id, .owner), (cat.id, .member)], joinedSeq: 0, now: f.now)
            try await store.insertMessage(db, message(c, try await store.nextSeq(db, id: c.id, now: f.now), from: ann, text: "a", key: "k1"))
            try await store.insertMessage(db, message(other, try await store.nextSeq(db, id: other.id, now: f.now), from: bob, text: "b", key: "k2"))
            // Each conversation, sender and key below is in some stored key, but only two triples are.
            let asked = [ChatStore.ClientKey(conversationID: c.id, sender: ann.id, key: "k1"),
                         .init(conversationID: c.id, sender: bob.id, key: "k1"), .init(conversationID: c.id, sender: ann.id, key: "k2"),
                         .init(conversationID: other.id, sender: ann.id, key: "k2"), .init(conversationID: other.id, sender: bob.id, key: "k1"),
                         .init(conversationID: other.id, sender: bob.id, key: "k2"), .init(conversationID: other.id, sender: bob.id, key: "k2")]
            #expect(try await store.existingClientKeys(db, asked) == [asked[0], asked[5]])
            // Ann and Bob are in c, Bob and Cat in other: Cat in c and Ann in other are not found.
            let pairs = [ChatStore.ParticipantKey(conversationID: c.id, userID: ann.id), .init(conversationID: c.id, userID: cat.id),
                         .init(conversationID: other.id, userID: ann.id), .init(conversationID: other.id, userID: cat.id),
                         .init(conversationID: other.id, userID: bob.id)]
            let found = try await store.fetchParticipants(db, pairs: pairs)
            #expect(Set(found.keys) == [pairs[0], pairs[3], pairs[4]])
            #expect(found[pairs[4]]?.0.role == .owner)
            #expect(found[pairs[3]]?.1.name == "Cat")
            #expect(found[pairs[3]]?.1.memberID != nil)
        }
    }

    @Test("search finds Chinese and English in one's own conversations only", arguments: Engine.all)
    func search(engine: Engine) async throws {
        try await withStore(engine) { db, f in
            let (org, c, ann, bob) = try await setUp(db, f)
            let eve = try await f.user("Eve")
            _ = try await f.member(eve, of: org, departments: [])
            let texts = ["今天下午三点开会", "Quarterly report is ready", "明天不开会了", "lunch?"]
            for (i, text) in texts.enumerated() { try await store.insertMessage(db, message(c, Int64(i + 1), from: ann, text: text)) }
            func find(_ q: String, as user: User) async throws -> [String] {
                try await store.searchMessages(db, orgID: org.id, userID: user.id, query: SearchTokens.query(q)!, conversationID: nil, limit: 10)
                    .compactMap(\.text)
            }
            #expect(try await find("开会", as: bob) == ["明天不开会了", "今天下午三点开会"])
            #expect(try await find("三点开会", as: bob) == ["今天下午三点开会"])
            #expect(try await find("quart", as: bob) == ["Quarterly report is ready"])
            #expect(try await find("REPORT ready", as: bob) == ["Quarterly report is ready"])
            #expect(try await find("开会", as: eve).isEmpty, "not a member of the conversation")
            try await store.recallMessage(db, conversationID: c.id, seq: 1, at: f.now)
            #expect(try await find("三点", as: bob).isEmpty, "a recalled message is not found")
        }
    }

    @Test("the conversation list counts unread and mentions", arguments: Engine.all)
    func views(engine: Engine) async throws {
        try await withStore(engine) { db, f in
            let (org, c, ann, bob) = try await setUp(db, f)
            for i in 1...4 {
                let seq = try await store.nextSeq(db, id: c.id, now: f.now)
                try await store.insertMessage(db, message(c, seq, from: i == 4 ? bob : ann, text: "m\(i)", kind: i == 3 ? .system : .text))
            }
            try await store.insertMentions(db, conversationID: c.id, seq: 2, users: [bob.id])
            let forBob = try #require(try await store.fetchConversationViews(db, orgID: org.id, userID: bob.id).first)
            #expect(forBob.unreadCount == 2, "two messages by others; system messages and one's own do not count")
            #expect(forBob.mentioned)
            #expect(forBob.lastMessage?.seq == 4)
            _ = try await store.advanceReadSeq(db, conversationID: c.id, userID: bob.id, to: 2)
            let later = try #require(try await store.fetchConversationViews(db, orgID: org.id, userID: bob.id, only: c.id).first)
            #expect(later.unreadCount == 0)
            #expect(!later.mentioned)
            #expect(try await store.fetchConversationViews(db, orgID: org.id, userID: ann.id).first?.unreadCount == 1)
        }
    }

    @Test("attachments belong to their organisation", arguments: Engine.all)
    func attachments(engine: Engine) async throws {
        try await withStore(engine) { db, f in
            let (org, c, ann, _) = try await setUp(db, f)
            let a = Attachment(id: .random(), orgID: org.id, conversationID: c.id, uploaderID: ann.id, name: "报告.pdf", contentType: "application/pdf",
                               size: 1234, width: nil, height: nil, sha256: "ab", createdAt: f.now)
            try await store.insertAttachment(db, a)
            #expect(try await store.fetchAttachment(db, orgID: org.id, id: a.id) == a)
            #expect(try await store.fetchAttachment(db, orgID: .random(), id: a.id) == nil)
        }
    }
}
