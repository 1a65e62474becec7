import Foundation
import Logging
import SQLKit
import TackAPI

/// The rules of chat. Every method takes the caller's identity and reaches a conversation only
/// through `accessConversation`, which answers 404 unless the caller is both a participant and
/// still a member of the organisation.
final class ChatService: Sendable {
    struct Limits: Sendable {
        /// Members of a group unless configured otherwise; groups never exceed `groupCeiling`.
        var groupMembers = 1000
        var groupCeiling = 10_000
        var attachmentBytes = 20 << 20
        var recallWindow: TimeInterval = 24 * 3600
        /// How long read receipts are gathered before senders hear of them.
        var receiptInterval: Duration = .milliseconds(250)
    }

    let transactor: Transactor
    private var database: Database { transactor.database }
    let store = ChatStore()
    let directory = DirectoryStore()
    let clock: WallClock
    let files: FileStore
    let limits: Limits
    let receipts: ReceiptNotifier
    private let sends: GroupCommitter<SendJob, SendOutcome>
    private let reads: GroupCommitter<ReadJob, ReadResult>

    /// Called in the transaction of a message that mentions people by name (not @all).
    typealias MentionHook = @Sendable (any SQLDatabase, Outbox, Organization.ID, Conversation.ID, Int64, [User.ID]) async throws -> Void

    init(transactor: Transactor, clock: WallClock, files: FileStore, limits: Limits, logger: Logger, mentioned: MentionHook? = nil) {
        self.transactor = transactor
        self.clock = clock
        self.files = files
        self.limits = limits
        receipts = ReceiptNotifier(database: transactor.database, hub: transactor.hub, logger: logger, interval: limits.receiptInterval)
        sends = GroupCommitter(transactor: transactor, logger: logger, batchWork: { db, outbox, jobs in
            try await ChatService.sendBatch(db, outbox, jobs, store: ChatStore(), mentioned: mentioned)
        })
        reads = GroupCommitter(transactor: transactor, logger: logger) { db, outbox, job in
            try await ChatService.read(db, outbox, job, store: ChatStore())
        }
    }

    // MARK: Access

    /// The conversation and the caller's place in it, or 404.
    func accessConversation(_ db: any SQLDatabase, _ identity: Identity, _ orgID: Organization.ID,
                            _ id: Conversation.ID) async throws -> (Conversation, Participant, PersonRef) {
        guard let conversation = try await store.fetchConversation(db, orgID: orgID, id: id),
              let (me, person) = try await store.fetchParticipant(db, conversationID: id, userID: identity.userID),
              person.memberID != nil  // still in the organisation
        else { throw AppError.notFound("Conversation") }
        return (conversation, me, person)
    }


    // MARK: Conversations

    /// Every conversation of a person, for routing real-time messages.
    func conversationIDs(_ user: User.ID) async throws -> [Conversation.ID] {
        try await database.read { db in try await store.fetchConversationIDs(db, userID: user) }
    }

    func conversations(_ identity: Identity, _ orgID: Organization.ID) async throws -> [ConversationView] {
        try await database.read { db in
            _ = try await directory.accessMember(db, identity, orgID)
            return try await store.fetchConversationViews(db, orgID: orgID, userID: identity.userID)
        }
    }

    func conversation(_ identity: Identity, _ orgID: Organization.ID, _ id: Conversation.ID) async throws -> ConversationView {
        try await database.read { db in try await view(db, identity, orgID, id) }
    }

    private func view(_ db: any SQLDatabase, _ identity: Identity, _ orgID: Organization.ID, _ id: Conversation.ID) async throws -> ConversationView {
        _ = try await accessConversation(db, identity, orgID, id)
        guard let view = try await store.fetchConversationViews(db, orgID: orgID, userID: identity.userID, only: id).first else {
            throw AppError.notFound("Conversation")
        }
        return view
    }

    /// The 1:1 conversation with another member, created on first use.
    func openDirect(_ identity: Identity, _ orgID: Organization.ID, with memberID: Member.ID) async throws -> ConversationView {
        let now = clock.now()
        let id = try await transactor.run { db, outbox -> Conversation.ID in
            _ = try await directory.accessMember(db, identity, orgID)
            guard let other = try await directory.fetchMember(db, orgID: orgID, id: memberID) else {
                throw AppError.invalid("memberId", "There is no such member in this organisation.", code: "unknown_member")
            }
            guard other.userID != identity.userID else {
                throw AppError.invalid("memberId", "A conversation needs someone else.", code: "self")
            }
            let key = [identity.userID, other.userID].map(\.string).sorted().joined(separator: ":")
            if let existing = try await store.fetchDirectConversation(db, orgID: orgID, key: key) { return existing.id }
            let conversation = Conversation(id: .random(), orgID: orgID, kind: .direct, name: "", departmentID: nil, lastSeq: 0,
                                            memberCount: 2, maxMembers: 2, updatedAt: now)
            try await store.insertConversation(db, conversation, directKey: key, createdBy: identity.userID, now: now)
            try await store.insertParticipants(db, conversation: conversation, users: [(identity.userID, .member), (other.userID, .member)],
                                               joinedSeq: 0, now: now)
            announceAdded(outbox, conversation, users: [identity.userID, other.userID])
            return conversation.id
        }
        return try await conversation(identity, orgID, id)
    }

    func createGroup(_ identity: Identity, _ orgID: Organization.ID, name: String, memberIDs: [Member.ID], idempotencyKey: String?) async throws -> ConversationView {
        let name = try Validate.name(name, field: "name")
        let now = clock.now()
        let id = try await transactor.runIdempotent(
            scope: identity.userID.string, key: idempotencyKey, operation: "createGroup",
            fingerprint: "\(orgID)\n\(name)\n" + memberIDs.map(\.string).sorted().joined(separator: ",")
        ) { db, outbox -> Conversation.ID in
            let me = try await directory.accessMember(db, identity, orgID)
            let others = try await resolveMembers(db, orgID, memberIDs).filter { $0.userID != identity.userID }
            guard others.count + 1 <= limits.groupMembers else {
                throw AppError.invalid("memberIds", "A group holds at most \(limits.groupMembers) members.", code: "too_many_members")
            }
            var conversation = Conversation(id: .random(), orgID: orgID, kind: .group, name: name, departmentID: nil, lastSeq: 0,
                                            memberCount: others.count + 1, maxMembers: limits.groupMembers, updatedAt: now)
            try await store.insertConversation(db, conversation, directKey: nil, createdBy: identity.userID, now: now)
            try await store.insertParticipants(db, conversation: conversation,
                                               users: [(identity.userID, .owner)] + others.map { ($0.userID, .member) }, joinedSeq: 0, now: now)
            let actor = PersonRef(userID: me.userID, memberID: me.id, name: me.name)
            conversation.lastSeq = try await systemMessage(db, outbox, conversation, actor: actor,
                                                           Message.SystemEvent(event: .created, actor: actor, people: [], name: name), now: now)
            announceAdded(outbox, conversation, users: [identity.userID] + others.map(\.userID))
            return conversation.id
        }
        return try await conversation(identity, orgID, id)
    }

    func renameGroup(_ identity: Identity, _ orgID: Organization.ID, _ id: Conversation.ID, name: String) async throws -> ConversationView {
        let name = try Validate.name(name, field: "name")
        let now = clock.now()
        try await transactor.run { db, outbox in
            let (conversation, me, person) = try await accessConversation(db, identity, orgID, id)
            try requireManagedGroup(conversation, me)
            try await store.updateConversationName(db, id: id, name: name)
            var renamed = conversation
            renamed.name = name
            _ = try await systemMessage(db, outbox, renamed, actor: person, Message.SystemEvent(event: .renamed, actor: person, people: [], name: name), now: now)
            announceUpdated(outbox, renamed)
        }
        return try await conversation(identity, orgID, id)
    }

    func participants(_ identity: Identity, _ orgID: Organization.ID, _ id: Conversation.ID) async throws -> [(Participant, PersonRef)] {
        try await database.read { db in
            _ = try await accessConversation(db, identity, orgID, id)
            return try await store.fetchParticipants(db, conversationID: id)
        }
    }

    func addParticipants(_ identity: Identity, _ orgID: Organization.ID, _ id: Conversation.ID, memberIDs: [Member.ID]) async throws -> ConversationView {
        let now = clock.now()
        try await transactor.run { db, outbox in
            var (conversation, me, person) = try await accessConversation(db, identity, orgID, id)
            try requireManagedGroup(conversation, me)
            let present = Set(try await store.fetchReceiptRows(db, conversationID: id).map(\.userID))
            let added = try await resolveMembers(db, orgID, memberIDs).filter { !present.contains($0.userID) }
            guard !added.isEmpty else { return }
            guard present.count + added.count <= conversation.maxMembers else {
                throw AppError.conflict("group_full", "This group holds at most \(conversation.maxMembers) members.")
            }
            try await store.insertParticipants(db, conversation: conversation, users: added.map { ($0.userID, .member) },
                                               joinedSeq: conversation.lastSeq, now: now)
            conversation.memberCount = try await store.refreshMemberCount(db, id: id)
            let people = added.map { PersonRef(userID: $0.userID, memberID: $0.id, name: $0.name) }
            conversation.lastSeq = try await systemMessage(db, outbox, conversation, actor: person,
                                                           Message.SystemEvent(event: .joined, actor: person, people: people, name: nil), now: now)
            announceAdded(outbox, conversation, users: added.map(\.userID))
            announceUpdated(outbox, conversation)
        }
        return try await conversation(identity, orgID, id)
    }

    /// Removes someone from a group (owners and admins), or lets someone leave.
    func removeParticipant(_ identity: Identity, _ orgID: Organization.ID, _ id: Conversation.ID, userID: User.ID) async throws {
        let now = clock.now()
        try await transactor.run { db, outbox in
            var (conversation, me, person) = try await accessConversation(db, identity, orgID, id)
            guard conversation.kind == .group else {
                throw AppError.conflict(conversation.kind == .department ? "department_group" : "direct_conversation",
                                        conversation.kind == .department ? "Department groups follow the directory." : "One cannot leave a 1:1 conversation.")
            }
            let everyone = try await store.fetchParticipants(db, conversationID: id)
            guard let (target, targetPerson) = everyone.first(where: { $0.0.userID == userID }) else { throw AppError.notFound("Participant") }
            let leaving = userID == identity.userID
            if !leaving {
                guard me.canManage else { throw AppError.forbidden("Only the group's owner and admins may remove members.") }
                guard target.role == .member || me.role == .owner else { throw AppError.forbidden("Only the owner may remove admins.") }
            }
            try await store.deleteParticipants(db, conversationID: id, users: [userID])
            if target.role == .owner, let heir = everyone.first(where: { $0.0.userID != userID && $0.0.role == .admin })
                ?? everyone.first(where: { $0.0.userID != userID }) {
                // A group is never left without an owner: an admin (or the longest member) takes over.
                try await store.updateParticipantRole(db, conversationID: id, userID: heir.0.userID, role: .owner)
            }
            conversation.memberCount = try await store.refreshMemberCount(db, id: id)
            conversation.lastSeq = try await systemMessage(
                db, outbox, conversation, actor: person,
                Message.SystemEvent(event: leaving ? .left : .removed, actor: person, people: [targetPerson], name: nil), now: now)
            announceRemoved(outbox, conversation, users: [userID])
            announceUpdated(outbox, conversation)
        }
    }

    func setParticipantRole(_ identity: Identity, _ orgID: Organization.ID, _ id: Conversation.ID, userID: User.ID,
                            role: Participant.Role) async throws -> (Participant, PersonRef) {
        try await transactor.run { db, outbox in
            let (conversation, me, _) = try await accessConversation(db, identity, orgID, id)
            guard conversation.kind == .group else { throw AppError.conflict("not_a_group", "Only groups have admins.") }
            guard me.role == .owner else { throw AppError.forbidden("Only the group's owner may make admins.") }
            guard role != .owner, userID != identity.userID else { throw AppError.conflict("owner_role", "The owner's role does not change here.") }
            guard let (_, person) = try await store.fetchParticipant(db, conversationID: id, userID: userID) else { throw AppError.notFound("Participant") }
            try await store.updateParticipantRole(db, conversationID: id, userID: userID, role: role)
            announceUpdated(outbox, conversation)
            guard let (updated, _) = try await store.fetchParticipant(db, conversationID: id, userID: userID) else { throw AppError.notFound("Participant") }
            return (updated, person)
        }
    }

    private func requireManagedGroup(_ conversation: Conversation, _ me: Participant) throws {
        guard conversation.kind == .group else {
            throw AppError.conflict(conversation.kind == .department ? "department_group" : "not_a_group",
                                    conversation.kind == .department ? "Department groups follow the directory." : "Only groups can be changed.")
        }
        guard me.canManage else { throw AppError.forbidden("Only the group's owner and admins may do this.") }
    }

    /// Organisation members by id, or 422 for any that is not one.
    private func resolveMembers(_ db: any SQLDatabase, _ orgID: Organization.ID, _ ids: [Member.ID]) async throws -> [Member] {
        guard ids.count <= limits.groupCeiling else {
            throw AppError.invalid("memberIds", "At most \(limits.groupCeiling) members at once.", code: "too_many_members")
        }
        var members: [Member] = []
        var seen = Set<Member.ID>()
        for id in ids where seen.insert(id).inserted {
            guard let member = try await directory.fetchMember(db, orgID: orgID, id: id) else {
                throw AppError.invalid("memberIds", "There is no such member in this organisation.", code: "unknown_member")
            }
            members.append(member)
        }
        return members
    }

    // MARK: Messages

    struct Page: Sendable {
        var messages: [Message]
        var lastSeq: Int64
        var hasMore: Bool
        /// Unread counts of the caller's own messages.
        var unread: [Int64: Int]
    }

    func messages(_ identity: Identity, _ orgID: Organization.ID, _ id: Conversation.ID, after: Int64?, before: Int64?, limit: Int) async throws -> Page {
        guard (1...200).contains(limit) else { throw AppError.invalidParameter("limit", "Must be between 1 and 200.") }
        if let after, after < 0 { throw AppError.invalidParameter("after", "Must not be negative.") }
        if let before, before < 1 { throw AppError.invalidParameter("before", "Must be at least 1.") }
        return try await database.read { db in
            let (conversation, _, _) = try await accessConversation(db, identity, orgID, id)
            var messages = try await store.fetchMessagePage(db, orgID: orgID, conversationID: id, after: after, before: before, limit: limit + 1)
            let hasMore = messages.count > limit
            if hasMore { if after != nil { messages.removeLast() } else { messages.removeFirst() } }
            let unread = try await unreadCounts(db, id, of: messages, by: identity.userID)
            return Page(messages: messages, lastSeq: conversation.lastSeq, hasMore: hasMore, unread: unread)
        }
    }

    private func unreadCounts(_ db: any SQLDatabase, _ id: Conversation.ID, of messages: [Message], by user: User.ID) async throws -> [Int64: Int] {
        let own = messages.filter { $0.sender.userID == user && $0.kind != .system }.map(\.seq)
        guard !own.isEmpty else { return [:] }
        return Receipts.unreadCounts(own, sender: user, members: try await store.fetchReceiptRows(db, conversationID: id))
    }

    /// A send: checked, numbered and stored in a shared transaction (group commit).
    struct SendJob: Sendable {
        let identity: Identity
        let orgID: Organization.ID
        let conversationID: Conversation.ID
        let message: OutgoingMessage
        let now: Date
        let limits: Limits
        /// The search tokens of a plain message (its text, a forwarded attachment's name),
        /// computed by the request before it queues for the writer, whose time is the limit.
        let searchTokens: String

        init(identity: Identity, orgID: Organization.ID, conversationID: Conversation.ID, message: OutgoingMessage, now: Date, limits: Limits) {
            self.identity = identity
            self.orgID = orgID
            self.conversationID = conversationID
            self.message = message
            self.now = now
            self.limits = limits
            searchTokens = SearchTokens.index(text: message.text, attachmentName: message.forwardedAttachment?.name)
        }
    }

    /// A stored message and how many have not read it yet.
    struct SendResult: Sendable {
        var message: Message
        var unread: Int
    }

    func send(_ identity: Identity, _ orgID: Organization.ID, _ id: Conversation.ID, _ outgoing: OutgoingMessage) async throws -> (Message, Int) {
        guard (1...100).contains(outgoing.clientKey.count) else { throw AppError.invalid("clientKey", "Must be 1 to 100 characters.") }
        if let text = outgoing.text, text.count > 10_000 { throw AppError.invalid("text", "A message has at most 10,000 characters.", code: "too_long") }
        // Only white space is no text (Unicode's White_Space: what `.whitespacesAndNewlines` holds,
        // without Foundation's bridging, which cost ~2 % of a send's CPU).
        let text = outgoing.text.flatMap { $0.unicodeScalars.allSatisfy(\.properties.isWhitespace) ? nil : $0 }
        guard text != nil || outgoing.attachmentID != nil || outgoing.forwardedAttachment != nil else {
            throw AppError.invalid("text", "A message needs text or an attachment.", code: "empty")
        }
        guard outgoing.mentions.count <= 100 else { throw AppError.invalid("mentions", "At most 100 mentions.") }
        var message = outgoing
        message.text = text
        let outcome = try await sends.submit(SendJob(identity: identity, orgID: orgID, conversationID: id, message: message, now: clock.now(), limits: limits),
                                             sortKey: id.string)
        switch outcome {
        case .sent(let sent): return (sent.message, sent.unread)
        case .refused(let error): throw error
        }
    }

    /// A send of a group commit: stored, or refused alone (the others of its batch go on).
    enum SendOutcome: Sendable {
        case sent(SendResult)
        case refused(AppError)
    }

    /// The writes of a group commit's sends. Plain messages (text or a forward: no mentions,
    /// reply or upload to check) are written together, a statement per table for the whole
    /// batch — one read each of their conversations, senders and client keys, one sequence
    /// update, one insert of the messages and one of their search tokens, one update of the
    /// senders' watermarks — instead of about nine statements per message. A conversation with
    /// any other send in the batch, or a retried client key, has its sends written one by one
    /// (`send(_:_:_:store:mentioned:)`, each in a savepoint), in order.
    ///
    /// On PostgreSQL the conversations written together are locked first (in id order, by the
    /// one update), those written one by one after: two nodes' batches can then deadlock, which
    /// PostgreSQL breaks and `Database.write` retries.
    static func sendBatch(_ db: any SQLDatabase, _ outbox: Outbox, _ jobs: [SendJob], store: ChatStore,
                          mentioned hook: MentionHook?) async throws -> [SendOutcome] {
        let clientKeys = jobs.map { ChatStore.ClientKey(conversationID: $0.conversationID, sender: $0.identity.userID, key: $0.message.clientKey) }
        let existing = try await store.existingClientKeys(db, clientKeys)
        // Conversations whose sends all are plain and new (no key twice in the batch either).
        var oneByOne: Set<Conversation.ID> = []
        var seen: Set<ChatStore.ClientKey> = []
        for (job, key) in zip(jobs, clientKeys) {
            let m = job.message
            if !m.mentions.isEmpty || m.mentionAll || m.replyToSeq != nil || m.attachmentID != nil || existing.contains(key) || !seen.insert(key).inserted {
                oneByOne.insert(job.conversationID)
            }
        }
        var outcomes = [SendOutcome?](repeating: nil, count: jobs.count)
        let together = jobs.indices.filter { !oneByOne.contains(jobs[$0].conversationID) }
        if !together.isEmpty {
            let conversations = try await store.fetchConversations(db, ids: together.map { jobs[$0].conversationID })
            let senders = try await store.fetchParticipants(db, pairs: together.map {
                ChatStore.ParticipantKey(conversationID: jobs[$0].conversationID, userID: jobs[$0].identity.userID)
            })
            var accepted: [(index: Int, conversation: Conversation, sender: PersonRef)] = []
            for i in together {
                let job = jobs[i]
                guard let conversation = conversations[job.conversationID], conversation.orgID == job.orgID,
                      let (_, sender) = senders[.init(conversationID: job.conversationID, userID: job.identity.userID)], sender.memberID != nil
                else { outcomes[i] = .refused(AppError.notFound("Conversation")); continue }
                accepted.append((i, conversation, sender))
            }
            let counts = Dictionary(accepted.map { ($0.conversation.id, 1) }, uniquingKeysWith: +)
            let last = try await store.advanceSeqs(db, counts, now: jobs[0].now)
            var next: [Conversation.ID: Int64] = [:]
            var messages: [Message] = []
            var tokens: [String] = []
            var watermarks: [ChatStore.ParticipantKey: Int64] = [:]
            for (i, conversation, sender) in accepted {
                let job = jobs[i]
                guard let top = last[conversation.id], let taken = counts[conversation.id] else { throw AppError.notFound("Conversation") }
                let seq = next[conversation.id] ?? (top - Int64(taken) + 1)
                next[conversation.id] = seq + 1
                let out = job.message
                let message = Message(
                    conversationID: conversation.id, seq: seq, id: .timeOrdered(), sender: sender,
                    kind: out.forwardedAttachment.map { $0.isImage ? .image : .file } ?? .text,
                    text: out.text, mentions: [], mentionAll: false, replyToSeq: nil, replyTo: nil,
                    attachment: out.forwardedAttachment, forwardedFrom: out.forwardedFrom, system: nil, clientKey: out.clientKey,
                    createdAt: job.now, recalledAt: nil, pinnedAt: nil, pinnedBy: nil)
                messages.append(message)
                tokens.append(job.searchTokens)
                // One's own message is read.
                watermarks[.init(conversationID: conversation.id, userID: sender.userID)] = seq
                // Everyone else was a member when it was sent and has not read it yet.
                let unread = max(0, conversation.memberCount - 1)
                outbox.add(.conversation(conversation.id, org: job.orgID, type: ChatEvent.messageCreated,
                                         data: try EventJSON.encode(message.api(viewer: nil, unread: unread))))
                outcomes[i] = .sent(SendResult(message: message, unread: unread))
            }
            try await store.insertMessages(db, messages, searchTokens: tokens)
            try await store.raiseReadSeqs(db, watermarks)
        }
        for i in jobs.indices where outcomes[i] == nil {
            try await db.raw("SAVEPOINT s").run()
            let local = Outbox()
            do {
                outcomes[i] = .sent(try await send(db, local, jobs[i], store: store, mentioned: hook))
                try await db.raw("RELEASE SAVEPOINT s").run()
                outbox.absorb(local)
            } catch let error as AppError {
                try await db.raw("ROLLBACK TO SAVEPOINT s").run()
                try await db.raw("RELEASE SAVEPOINT s").run()
                outcomes[i] = .refused(error)
            }
        }
        return outcomes.map { $0! }
    }

    /// The write of one send, inside the shared transaction.
    private static func send(_ db: any SQLDatabase, _ outbox: Outbox, _ job: SendJob, store: ChatStore,
                             mentioned hook: MentionHook?) async throws -> SendResult {
        let id = job.conversationID
        guard var conversation = try await store.fetchConversation(db, orgID: job.orgID, id: id),
              let (me, sender) = try await store.fetchParticipant(db, conversationID: id, userID: job.identity.userID), sender.memberID != nil
        else { throw AppError.notFound("Conversation") }
        let out = job.message
        // A retried send returns what the first one stored.
        if try await store.hasMessage(db, conversationID: id, sender: sender.userID, clientKey: out.clientKey),
           let existing = try await store.fetchMessage(db, orgID: job.orgID, conversationID: id, sender: sender.userID, clientKey: out.clientKey) {
            let members = try await store.fetchReceiptRows(db, conversationID: id)
            return SendResult(message: existing, unread: Receipts.unread(existing.seq, sender: sender.userID, members: members))
        }
        if out.mentionAll {
            guard conversation.kind != .direct, me.canManage else {
                throw AppError.forbidden("Only the group's owner and admins may mention everyone.")
            }
        }
        var mentioned: [User.ID] = []
        if !out.mentions.isEmpty {
            let members = Set(try await store.fetchReceiptRows(db, conversationID: id).map(\.userID))
            mentioned = Array(Set(out.mentions)).filter { $0 != sender.userID }
            guard mentioned.allSatisfy(members.contains) else {
                throw AppError.invalid("mentions", "Only members of this conversation can be mentioned.", code: "unknown_member")
            }
        }
        var quote: Message.Quote?
        if let reply = out.replyToSeq {
            guard reply <= conversation.lastSeq, let quoted = try await store.fetchMessage(db, orgID: job.orgID, conversationID: id, seq: reply) else {
                throw AppError.invalid("replyToSeq", "There is no such message in this conversation.", code: "unknown_message")
            }
            quote = Message.Quote(seq: quoted.seq, sender: quoted.sender, excerpt: quoted.recalled ? "" : String((quoted.text ?? quoted.attachment?.name ?? "").prefix(200)),
                                  recalled: quoted.recalled)
        }
        var attachment = out.forwardedAttachment
        if let attachmentID = out.attachmentID {
            guard let found = try await store.fetchAttachment(db, orgID: job.orgID, id: attachmentID),
                  found.conversationID == id, found.uploaderID == sender.userID
            else { throw AppError.invalid("attachmentId", "Upload the attachment to this conversation first.", code: "unknown_attachment") }
            attachment = found
        }
        let seq = try await store.nextSeq(db, id: id, now: job.now)
        let message = Message(
            conversationID: id, seq: seq, id: .timeOrdered(), sender: sender,
            kind: attachment.map { $0.isImage ? .image : .file } ?? .text,
            text: out.text, mentions: mentioned, mentionAll: out.mentionAll, replyToSeq: out.replyToSeq, replyTo: quote,
            attachment: attachment, forwardedFrom: out.forwardedFrom, system: nil, clientKey: out.clientKey, createdAt: job.now,
            recalledAt: nil, pinnedAt: nil, pinnedBy: nil)
        // The request's tokens hold unless the attachment is an upload, whose name only the writer read.
        try await store.insertMessages(db, [message], searchTokens: out.attachmentID == nil ? [job.searchTokens] : nil)
        var mentionRows = mentioned
        if out.mentionAll {
            mentionRows = try await store.fetchReceiptRows(db, conversationID: id).map(\.userID).filter { $0 != sender.userID }
        }
        if !mentionRows.isEmpty { try await store.insertMentions(db, conversationID: id, seq: seq, users: mentionRows) }
        if !mentioned.isEmpty { try await hook?(db, outbox, job.orgID, id, seq, mentioned) }
        // One's own message is read.
        try await store.raiseReadSeq(db, conversationID: id, userID: sender.userID, to: seq)
        conversation.lastSeq = seq
        // Everyone else was a member when it was sent and has not read it yet.
        let unread = max(0, conversation.memberCount - 1)
        outbox.add(.conversation(id, org: job.orgID, type: ChatEvent.messageCreated,
                                 data: try EventJSON.encode(message.api(viewer: nil, unread: unread))))
        return SendResult(message: message, unread: unread)
    }

    func recall(_ identity: Identity, _ orgID: Organization.ID, _ id: Conversation.ID, seq: Int64) async throws -> Message {
        let now = clock.now()
        return try await transactor.run { db, outbox in
            _ = try await accessConversation(db, identity, orgID, id)
            guard let message = try await store.fetchMessage(db, orgID: orgID, conversationID: id, seq: seq), message.kind != .system else {
                throw AppError.notFound("Message")
            }
            guard message.sender.userID == identity.userID else { throw AppError.forbidden("Only the sender may recall a message.") }
            if message.recalled { return message }
            guard now.timeIntervalSince(message.createdAt) <= limits.recallWindow else {
                throw AppError.conflict("recall_window_passed", "A message can be recalled within 24 hours of sending it.")
            }
            try await store.recallMessage(db, conversationID: id, seq: seq, at: now)
            var recalled = message
            recalled.recalledAt = now
            outbox.add(.conversation(id, org: orgID, type: ChatEvent.messageRecalled, data: try EventJSON.encode(recalled.api(viewer: nil))))
            return recalled
        }
    }

    func setPinned(_ identity: Identity, _ orgID: Organization.ID, _ id: Conversation.ID, seq: Int64, pinned: Bool) async throws -> Message {
        let now = clock.now()
        return try await transactor.run { db, outbox in
            let (_, _, person) = try await accessConversation(db, identity, orgID, id)
            guard var message = try await store.fetchMessage(db, orgID: orgID, conversationID: id, seq: seq), message.kind != .system else {
                throw AppError.notFound("Message")
            }
            if pinned && message.recalled { throw AppError.conflict("recalled", "A recalled message cannot be pinned.") }
            if (message.pinnedAt != nil) == pinned { return message }
            try await store.setPinned(db, conversationID: id, seq: seq, by: pinned ? identity.userID : nil, at: pinned ? now : nil)
            message.pinnedAt = pinned ? now : nil
            message.pinnedBy = pinned ? person : nil
            outbox.add(.conversation(id, org: orgID, type: pinned ? ChatEvent.messagePinned : ChatEvent.messageUnpinned,
                                     data: try EventJSON.encode(message.api(viewer: nil))))
            return message
        }
    }

    func pinned(_ identity: Identity, _ orgID: Organization.ID, _ id: Conversation.ID) async throws -> [Message] {
        try await database.read { db in
            _ = try await accessConversation(db, identity, orgID, id)
            return try await store.fetchPinnedMessages(db, orgID: orgID, conversationID: id)
        }
    }

    /// Copies a message into other conversations of the caller, marked as forwarded.
    func forward(_ identity: Identity, _ orgID: Organization.ID, _ id: Conversation.ID, seq: Int64, to targets: [Conversation.ID]) async throws -> [Message] {
        guard (1...20).contains(targets.count) else { throw AppError.invalid("conversationIds", "Forward to 1 to 20 conversations.") }
        let (original, sourceName) = try await database.read { db -> (Message, String) in
            _ = try await accessConversation(db, identity, orgID, id)
            guard let message = try await store.fetchMessage(db, orgID: orgID, conversationID: id, seq: seq), message.kind != .system else {
                throw AppError.notFound("Message")
            }
            guard !message.recalled else { throw AppError.conflict("recalled", "A recalled message cannot be forwarded.") }
            let view = try await store.fetchConversationViews(db, orgID: orgID, userID: identity.userID, only: id).first
            for target in targets { _ = try await accessConversation(db, identity, orgID, target) }
            return (message, view.map(Self.displayName) ?? "")
        }
        var copies: [Message] = []
        for target in Array(Set(targets)).sorted(by: { $0.string < $1.string }) {
            // Forwarded attachments get a row of their own in the target conversation (same file).
            var attachment: Attachment?
            if let a = original.attachment {
                var copy = a
                copy.id = .timeOrdered()
                copy.conversationID = target
                copy.uploaderID = identity.userID
                try await transactor.run { db, _ in try await store.insertAttachment(db, copy) }
                attachment = copy
            }
            let outgoing = OutgoingMessage(
                clientKey: "forward:\(original.id.string)", text: original.text, attachmentID: nil, mentions: [], mentionAll: false,
                replyToSeq: nil, forwardedFrom: Message.Forwarded(sender: original.sender, conversationName: sourceName, sentAt: original.createdAt),
                forwardedAttachment: attachment)
            copies.append(try await send(identity, orgID, target, outgoing).0)
        }
        return copies
    }

    /// Marks read up to `seq` (never backwards, never beyond the last message).
    struct ReadJob: Sendable {
        var identity: Identity
        var orgID: Organization.ID
        var conversationID: Conversation.ID
        var seq: Int64
    }

    struct ReadResult: Sendable {
        var readSeq: Int64
        var previous: Int64?
    }

    func markRead(_ identity: Identity, _ orgID: Organization.ID, _ id: Conversation.ID, seq: Int64) async throws -> Int64 {
        guard seq >= 0 else { throw AppError.invalid("seq", "Must not be negative.") }
        let result = try await reads.submit(ReadJob(identity: identity, orgID: orgID, conversationID: id, seq: seq), sortKey: id.string)
        if let previous = result.previous { receipts.noteRead(id, org: orgID, from: previous + 1, to: result.readSeq) }
        return result.readSeq
    }

    private static func read(_ db: any SQLDatabase, _ outbox: Outbox, _ job: ReadJob, store: ChatStore) async throws -> ReadResult {
        guard let conversation = try await store.fetchConversation(db, orgID: job.orgID, id: job.conversationID),
              let (me, person) = try await store.fetchParticipant(db, conversationID: job.conversationID, userID: job.identity.userID),
              person.memberID != nil
        else { throw AppError.notFound("Conversation") }
        let target = min(job.seq, conversation.lastSeq)
        guard let previous = try await store.advanceReadSeq(db, conversationID: job.conversationID, userID: me.userID, to: target) else {
            return ReadResult(readSeq: max(me.readSeq, target), previous: nil)
        }
        // The reader's other devices clear their unread marks.
        outbox.add(.personal(me.userID, type: ChatEvent.conversationRead,
                             data: #"{"conversationId":"\#(job.conversationID.string)","readSeq":\#(target)}"#))
        return ReadResult(readSeq: target, previous: previous)
    }

    /// Who has read a message and who has not, among those who were members when it was sent.
    func readers(_ identity: Identity, _ orgID: Organization.ID, _ id: Conversation.ID, seq: Int64) async throws -> (read: [PersonRef], unread: [PersonRef]) {
        try await database.read { db in
            _ = try await accessConversation(db, identity, orgID, id)
            guard let sender = try await store.fetchSender(db, conversationID: id, seq: seq) else { throw AppError.notFound("Message") }
            return try await store.fetchReaders(db, conversationID: id, sender: sender, seq: seq)
        }
    }

    /// Unread counts of the caller's own messages between two seqs.
    func receiptCounts(_ identity: Identity, _ orgID: Organization.ID, _ id: Conversation.ID, from: Int64, to: Int64) async throws -> [Int64: Int] {
        guard from >= 1, to >= from else { throw AppError.invalidParameter("to", "Give 1 ≤ from ≤ to.") }
        return try await database.read { db in
            _ = try await accessConversation(db, identity, orgID, id)
            let seqs = try await store.fetchOwnSeqs(db, conversationID: id, sender: identity.userID, from: from, to: to)
            guard !seqs.isEmpty else { return [:] }
            // A few messages (what a client asks when a count changes): one indexed COUNT each.
            // Many: the watermarks once, counted in memory.
            if seqs.count <= 4 {
                var counts: [Int64: Int] = [:]
                for seq in seqs { counts[seq] = try await store.countUnread(db, conversationID: id, sender: identity.userID, seq: seq) }
                return counts
            }
            return Receipts.unreadCounts(seqs, sender: identity.userID, members: try await store.fetchReceiptRows(db, conversationID: id))
        }
    }

    /// Messages of the caller's conversations that match `query`.
    func search(_ identity: Identity, _ orgID: Organization.ID, query: String, in conversationID: Conversation.ID?, limit: Int) async throws -> [(Message, String)] {
        guard (1...100).contains(limit) else { throw AppError.invalidParameter("limit", "Must be between 1 and 100.") }
        guard query.count <= 200 else { throw AppError.invalidParameter("q", "The search is longer than 200 characters.") }
        guard let tokens = SearchTokens.query(query) else { return [] }
        return try await database.read { db in
            _ = try await directory.accessMember(db, identity, orgID)
            let hits = try await store.searchMessages(db, orgID: orgID, userID: identity.userID, query: tokens, conversationID: conversationID, limit: limit)
            guard !hits.isEmpty else { return [] }
            let names = Dictionary(uniqueKeysWithValues: try await store.fetchConversationViews(db, orgID: orgID, userID: identity.userID)
                .map { ($0.conversation.id, Self.displayName($0)) })
            return hits.map { ($0, names[$0.conversationID] ?? "") }
        }
    }

    /// How a person sees a conversation's name: the other person's name for 1:1 chats.
    static func displayName(_ view: ConversationView) -> String {
        view.conversation.kind == .direct ? (view.peer?.name ?? "") : view.conversation.name
    }

    // MARK: Attachments

    func upload(_ identity: Identity, _ orgID: Organization.ID, _ id: Conversation.ID, name: String, bytes: [UInt8]) async throws -> Attachment {
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...255).contains(name.count), !name.contains("/"), !name.contains("\\"),
              !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { throw AppError.invalidParameter("name", "Give the file's name (no slashes or control characters).") }
        guard !bytes.isEmpty else { throw AppError.invalid("body", "The file is empty.", code: "empty") }
        guard bytes.count <= limits.attachmentBytes else { throw BodyLimitExceeded(limit: limits.attachmentBytes) }
        _ = try await database.read { db in try await accessConversation(db, identity, orgID, id) }
        let sniffed = ContentSniffer.sniff(bytes)
        // Content-addressed: the same file sent twice is stored once.
        let sha = try files.write(bytes, namespace: orgID.string)
        let attachment = Attachment(id: .random(), orgID: orgID, conversationID: id, uploaderID: identity.userID, name: name,
                                    contentType: sniffed.contentType, size: Int64(bytes.count), width: sniffed.width, height: sniffed.height,
                                    sha256: sha, createdAt: clock.now())
        try await transactor.run { db, _ in try await store.insertAttachment(db, attachment) }
        return attachment
    }

    /// An attachment and its bytes, for a participant of its conversation.
    func download(_ identity: Identity, _ orgID: Organization.ID, _ id: Attachment.ID) async throws -> (Attachment, Data) {
        let attachment = try await database.read { db -> Attachment in
            guard let attachment = try await store.fetchAttachment(db, orgID: orgID, id: id) else { throw AppError.notFound("Attachment") }
            _ = try await accessConversation(db, identity, orgID, attachment.conversationID)
            return attachment
        }
        guard let data = try? files.read(namespace: orgID.string, name: attachment.sha256) else { throw AppError.notFound("Attachment") }
        return (attachment, data)
    }

    // MARK: System messages and announcements

    /// Appends a system message (group created, joined, left, renamed, a live class); returns its seq.
    func systemMessage(_ db: any SQLDatabase, _ outbox: Outbox, _ conversation: Conversation, actor: PersonRef,
                               _ event: Message.SystemEvent, now: Date) async throws -> Int64 {
        let seq = try await store.nextSeq(db, id: conversation.id, now: now)
        let message = Message(conversationID: conversation.id, seq: seq, id: .timeOrdered(), sender: actor, kind: .system, text: nil,
                              mentions: [], mentionAll: false, replyToSeq: nil, replyTo: nil, attachment: nil, forwardedFrom: nil,
                              system: event, clientKey: nil, createdAt: now, recalledAt: nil, pinnedAt: nil, pinnedBy: nil)
        try await store.insertMessage(db, message)
        try await store.raiseReadSeq(db, conversationID: conversation.id, userID: actor.userID, to: seq)
        outbox.add(.conversation(conversation.id, org: conversation.orgID, type: ChatEvent.messageCreated,
                                 data: try EventJSON.encode(message.api(viewer: nil))))
        return seq
    }

    /// Tells people they are in a conversation now, and starts routing its messages to them.
    func announceAdded(_ outbox: Outbox, _ conversation: Conversation, users: [User.ID]) {
        for user in users {
            let view = ConversationView(conversation: conversation,
                                        me: Participant(conversationID: conversation.id, userID: user, role: .member,
                                                        joinedSeq: conversation.lastSeq, readSeq: conversation.lastSeq),
                                        unreadCount: 0, mentioned: false, peer: nil, lastMessage: nil)
            outbox.add(.personal(user, type: ChatEvent.conversationAdded, data: (try? EventJSON.encode(view.api)) ?? "{}",
                                 conversationChanges: [ConversationChange(userID: user, conversationID: conversation.id, joined: true)]))
        }
    }

    func announceRemoved(_ outbox: Outbox, _ conversation: Conversation, users: [User.ID]) {
        for user in users {
            outbox.add(.personal(user, type: ChatEvent.conversationRemoved, data: #"{"conversationId":"\#(conversation.id.string)"}"#,
                                 conversationChanges: [ConversationChange(userID: user, conversationID: conversation.id, joined: false)]))
        }
    }

    func announceUpdated(_ outbox: Outbox, _ conversation: Conversation) {
        outbox.add(.conversation(conversation.id, org: conversation.orgID, type: ChatEvent.conversationUpdated,
                                 data: #"{"conversationId":"\#(conversation.id.string)","name":\#(EventJSON.string(conversation.name)),"memberCount":\#(conversation.memberCount)}"#))
    }
}

/// The chat's event types (documented in `docs/events.md`).
enum ChatEvent {
    static let messageCreated = "message.created"
    static let messageRecalled = "message.recalled"
    static let messagePinned = "message.pinned"
    static let messageUnpinned = "message.unpinned"
    static let conversationUpdated = "conversation.updated"
    static let conversationAdded = "conversation.added"
    static let conversationRemoved = "conversation.removed"
    static let conversationRead = "conversation.read"
    static let receiptsUpdated = "receipts.updated"
}
