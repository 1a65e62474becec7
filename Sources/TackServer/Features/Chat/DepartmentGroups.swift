import Foundation
import SQLKit

/// What changed in the directory, for the department groups to follow.
enum DirectoryChange: Sendable {
    /// These people's departments (or membership) changed.
    case people([User.ID])
    /// Someone left the organisation.
    case left(User.ID)
    /// The department tree changed, or many people at once (an import).
    case everything
}

extension ChatService {
    /// Keeps every department's group in step with the directory, inside the directory
    /// change's transaction: each department (the root included) has a group whose members are
    /// everyone in that department or below it. New members join at the group's latest message
    /// (earlier messages neither count as unread for them nor wait for them).
    func followDirectory(_ db: any SQLDatabase, _ outbox: Outbox, org: Organization.ID, change: DirectoryChange) async throws {
        let now = clock.now()
        if case .left(let user) = change {
            // They leave every group of the organisation; 1:1 histories stay for the other side
            // (and are closed to them: access needs organisation membership).
            let rows = try await db.raw("""
                SELECT c.id FROM conversations c JOIN conversation_members cm ON cm.conversation_id = c.id
                WHERE c.org_id = \(bind: org) AND cm.user_id = \(bind: user) AND c.kind <> 'direct'
                """).all(decodingColumn: "id", as: Conversation.ID.self)
            for id in rows {
                try await store.deleteParticipants(db, conversationID: id, users: [user])
                if var conversation = try await store.fetchConversation(db, orgID: org, id: id) {
                    conversation.memberCount = try await store.refreshMemberCount(db, id: id)
                    announceRemoved(outbox, conversation, users: [user])
                    announceUpdated(outbox, conversation)
                }
            }
            return
        }
        let departments = try await directory.fetchDepartments(db, orgID: org)
        var groups = try await store.fetchDepartmentConversations(db, orgID: org)
        // Every department has its group, named after it (department groups have no size limit:
        // they are as large as the department).
        for department in departments {
            if let group = groups[department.id] {
                if group.name != department.name {
                    try await store.updateConversationName(db, id: group.id, name: department.name)
                    var renamed = group
                    renamed.name = department.name
                    groups[department.id] = renamed
                    announceUpdated(outbox, renamed)
                }
            } else {
                let group = Conversation(id: .random(), orgID: org, kind: .department, name: department.name, departmentID: department.id,
                                         lastSeq: 0, memberCount: 0, maxMembers: Int(Int32.max), updatedAt: now)
                try await store.insertConversation(db, group, directKey: nil, createdBy: nil, now: now)
                groups[department.id] = group
            }
        }
        // Who belongs where: a member is in the group of each of their departments and of every
        // department above them.
        let parent = Dictionary(uniqueKeysWithValues: departments.map { ($0.id, $0.parentID) })
        var scope: [User.ID]?
        if case .people(let users) = change {
            // Nobody moved (a department was created): its group exists now, that is all.
            if users.isEmpty { return }
            scope = users
        }
        var placements: SQLQueryString = """
            SELECT md.department_id, m.user_id FROM member_departments md JOIN members m ON m.id = md.member_id
            WHERE md.org_id = \(bind: org)
            """
        if let scope { placements += " AND m.user_id IN \(SQLBind.group(scope))" }
        var desired: [Conversation.ID: Set<User.ID>] = [:]
        for row in try await db.raw(placements).all() {
            let user = try row.decode(column: "user_id", as: User.ID.self)
            var department: Department.ID? = try row.decode(column: "department_id", as: Department.ID.self)
            var steps = 0
            while let d = department, steps <= departments.count {
                if let group = groups[d] { desired[group.id, default: []].insert(user) }
                department = parent[d] ?? nil
                steps += 1
            }
        }
        var current = try await store.fetchDepartmentGroupMembers(db, orgID: org)
        if let scope {
            let people = Set(scope)
            current = current.mapValues { $0.intersection(people) }
        }
        for group in groups.values {
            let want = desired[group.id] ?? []
            let have = current[group.id] ?? []
            let added = Array(want.subtracting(have)), removed = Array(have.subtracting(want))
            guard !added.isEmpty || !removed.isEmpty else { continue }
            if !added.isEmpty {
                try await store.insertParticipants(db, conversation: group, users: added.map { ($0, .member) }, joinedSeq: group.lastSeq, now: now)
            }
            if !removed.isEmpty { try await store.deleteParticipants(db, conversationID: group.id, users: removed) }
            var updated = group
            updated.memberCount = try await store.refreshMemberCount(db, id: group.id)
            announceAdded(outbox, updated, users: added)
            announceRemoved(outbox, updated, users: removed)
            announceUpdated(outbox, updated)
        }
    }
}
