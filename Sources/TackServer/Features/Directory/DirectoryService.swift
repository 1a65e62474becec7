import Foundation
import SQLKit
import TackAPI

/// The directory's rules: organisations, departments and members. Every method takes the
/// caller's identity and reaches an organisation only through `accessMember`, so a person who
/// is not a member gets 404 for everything in it.
final class DirectoryService: Sendable {
    let transactor: Transactor
    private var database: Database { transactor.database }
    let store = DirectoryStore()
    let accounts = AccountStore()
    let events: DirectoryEventWriter
    let log: EventLogStore
    let clock: WallClock
    /// Tells chat what changed, inside the change's transaction, so that department groups
    /// follow the directory.
    let directoryChanged: @Sendable (any SQLDatabase, Outbox, Organization.ID, DirectoryChange) async throws -> Void

    init(transactor: Transactor, log: EventLogStore, clock: WallClock,
         directoryChanged: @escaping @Sendable (any SQLDatabase, Outbox, Organization.ID, DirectoryChange) async throws -> Void = { _, _, _, _ in }) {
        self.transactor = transactor
        self.log = log
        self.clock = clock
        self.directoryChanged = directoryChanged
        events = DirectoryEventWriter(log: log, clock: clock)
    }

    // MARK: Access

    /// The caller's membership of `orgID`, or 404 if they are not a member (or it does not exist).
    func accessMember(_ db: any SQLDatabase, _ identity: Identity, _ orgID: Organization.ID) async throws -> Member {
        try await store.accessMember(db, identity, orgID)
    }

    /// The caller's membership if they are an owner or admin of `orgID`; 404 for outsiders, 403 for members.
    func accessAdmin(_ db: any SQLDatabase, _ identity: Identity, _ orgID: Organization.ID) async throws -> Member {
        let member = try await accessMember(db, identity, orgID)
        guard member.role.isAdmin else { throw AppError.forbidden("Only the organisation's owners and admins may do this.") }
        return member
    }

    // MARK: Organisations

    func memberships(_ identity: Identity) async throws -> [(Organization, Member)] {
        try await database.read { db in try await store.fetchMemberships(db, userID: identity.userID) }
    }

    /// The organisations a person belongs to and whether they administer each (real-time routing).
    func membershipRoles(_ userID: User.ID) async throws -> [Organization.ID: Bool] {
        try await database.read { db in try await store.fetchMembershipRoles(db, userID: userID) }
    }

    struct CreatedOrganization: Codable, Sendable {
        var organization: Organization
        var member: Member
    }

    func createOrganization(_ identity: Identity, name: String, kind: Organization.Kind, timeZone: String? = nil,
                            idempotencyKey: String?) async throws -> CreatedOrganization {
        let name = try Validate.name(name, field: "name")
        let zone = try timeZone.map { try Organization.validTimeZone($0) } ?? Organization.serverTimeZone
        let now = clock.now()
        return try await transactor.runIdempotent(
            scope: identity.userID.string, key: idempotencyKey, operation: "createOrganization", fingerprint: "\(name)\n\(kind)\n\(zone)"
        ) { db, outbox in
            guard let (user, _) = try await accounts.fetchUser(db, id: identity.userID) else { throw AppError.unauthenticated() }
            var org = Organization(id: .random(), name: name, kind: kind, timeZone: zone, createdAt: now, memberCount: 1, eventSeq: 0)
            try await store.insertOrganization(db, org, createdBy: user.id)
            let root = Department(id: .random(), orgID: org.id, parentID: nil, name: name, kind: .department, sortOrder: 0, memberCount: 1)
            try await store.insertDepartment(db, root, now: now)
            let member = Member(id: .random(), orgID: org.id, userID: user.id, name: user.name, title: "", email: user.email,
                                phone: user.phone, role: .owner, capabilities: [], departmentIDs: [root.id], joinedAt: now, claimed: true)
            try await addMember(db, outbox, member, now: now)
            org.eventSeq = try await log.fetchLatestSeq(db, org: org.id)
            return CreatedOrganization(organization: org, member: member)
        }
    }

    func organization(_ identity: Identity, _ orgID: Organization.ID) async throws -> Organization {
        try await database.read { db in
            _ = try await accessMember(db, identity, orgID)
            guard let org = try await store.fetchOrganization(db, id: orgID) else { throw AppError.notFound("Organisation") }
            return org
        }
    }

    func updateOrganization(_ identity: Identity, _ orgID: Organization.ID, name: String?, kind: Organization.Kind?,
                            timeZone: String? = nil) async throws -> Organization {
        let name = try name.map { try Validate.name($0, field: "name") }
        let zone = try timeZone.map { try Organization.validTimeZone($0) }
        return try await transactor.run { db, outbox in
            _ = try await accessAdmin(db, identity, orgID)
            try await store.updateOrganization(db, id: orgID, name: name, kind: kind, timeZone: zone)
            guard let org = try await store.fetchOrganization(db, id: orgID) else { throw AppError.notFound("Organisation") }
            try await events.emit(db, outbox, org: orgID, DirectoryEvent.orgUpdated, org.api)
            return org
        }
    }

    /// Events of the organisation after `after`, for clients that poll.
    func events(_ identity: Identity, _ orgID: Organization.ID, after: Int64, limit: Int) async throws -> EventLogStore.Replay {
        guard after >= 0 else { throw AppError.invalidParameter("after", "Must not be negative.") }
        guard (1...1000).contains(limit) else { throw AppError.invalidParameter("limit", "Must be between 1 and 1000.") }
        return try await database.read { db in
            let member = try await accessMember(db, identity, orgID)
            return try await log.fetchEvents(db, org: orgID, after: after, limit: limit, isAdmin: member.role.isAdmin)
        }
    }

    // MARK: Departments

    func departments(_ identity: Identity, _ orgID: Organization.ID) async throws -> [Department] {
        try await database.read { db in
            _ = try await accessMember(db, identity, orgID)
            return try await store.fetchDepartments(db, orgID: orgID)
        }
    }

    func createDepartment(_ identity: Identity, _ orgID: Organization.ID, name: String, parentID: Department.ID,
                          kind: Department.Kind, sortOrder: Int?, idempotencyKey: String?) async throws -> Department {
        let name = try Validate.name(name, field: "name")
        let now = clock.now()
        return try await transactor.runIdempotent(
            scope: identity.userID.string, key: idempotencyKey, operation: "createDepartment",
            fingerprint: "\(orgID)\n\(parentID)\n\(name)\n\(kind)\n\(sortOrder ?? 0)"
        ) { db, outbox in
            _ = try await accessAdmin(db, identity, orgID)
            guard try await store.fetchDepartment(db, orgID: orgID, id: parentID) != nil else {
                throw AppError.invalid("parentId", "There is no such department in this organisation.", code: "unknown_department")
            }
            let department = Department(id: .random(), orgID: orgID, parentID: parentID, name: name, kind: kind,
                                        sortOrder: sortOrder ?? 0, memberCount: 0)
            do {
                try await store.insertDepartment(db, department, now: now)
            } catch where DatabaseErrors.isUniqueViolation(error) {
                throw AppError.conflict("department_exists", "A department with this name already exists here.")
            }
            try await events.emit(db, outbox, org: orgID, DirectoryEvent.departmentCreated, department.api)
            try await directoryChanged(db, outbox, orgID, .people([]))
            return department
        }
    }

    func updateDepartment(_ identity: Identity, _ orgID: Organization.ID, _ id: Department.ID, name: String?,
                          parentID: Department.ID?, kind: Department.Kind?, sortOrder: Int?) async throws -> Department {
        let name = try name.map { try Validate.name($0, field: "name") }
        return try await transactor.run { db, outbox in
            _ = try await accessAdmin(db, identity, orgID)
            let all = try await store.fetchDepartments(db, orgID: orgID)
            guard var department = all.first(where: { $0.id == id }) else { throw AppError.notFound("Department") }
            if let parentID, parentID != department.parentID {
                guard department.parentID != nil else {
                    throw AppError.conflict("root_department", "The organisation's root department cannot be moved.")
                }
                guard all.contains(where: { $0.id == parentID }) else {
                    throw AppError.invalid("parentId", "There is no such department in this organisation.", code: "unknown_department")
                }
                guard !Self.isSelfOrDescendant(parentID, of: id, in: all) else {
                    throw AppError.conflict("department_cycle", "A department cannot move into itself or one of its sub-departments.")
                }
                department.parentID = parentID
            }
            if let name { department.name = name }
            if let kind { department.kind = kind }
            if let sortOrder { department.sortOrder = sortOrder }
            do {
                try await store.updateDepartment(db, department)
            } catch where DatabaseErrors.isUniqueViolation(error) {
                throw AppError.conflict("department_exists", "A department with this name already exists here.")
            }
            try await events.emit(db, outbox, org: orgID, DirectoryEvent.departmentUpdated, department.api)
            try await directoryChanged(db, outbox, orgID, .everything)
            return department
        }
    }

    func deleteDepartment(_ identity: Identity, _ orgID: Organization.ID, _ id: Department.ID) async throws {
        try await transactor.run { db, outbox in
            _ = try await accessAdmin(db, identity, orgID)
            guard let department = try await store.fetchDepartment(db, orgID: orgID, id: id) else { throw AppError.notFound("Department") }
            guard department.parentID != nil else {
                throw AppError.conflict("root_department", "The organisation's root department cannot be deleted.")
            }
            guard department.memberCount == 0, try await store.countChildren(db, id: id) == 0 else {
                throw AppError.conflict("department_not_empty", "Move its members and sub-departments elsewhere first.")
            }
            try await store.deleteDepartment(db, orgID: orgID, id: id)
            try await events.emit(db, outbox, org: orgID, DirectoryEvent.departmentDeleted, ["id": id.string])
        }
    }

    static func isSelfOrDescendant(_ candidate: Department.ID, of ancestor: Department.ID, in all: [Department]) -> Bool {
        let parent = Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0.parentID) })
        var current: Department.ID? = candidate
        var steps = 0
        while let c = current, steps <= all.count {
            if c == ancestor { return true }
            current = parent[c] ?? nil
            steps += 1
        }
        return false
    }

    // MARK: Members

    struct MemberPage: Sendable {
        var members: [Member]
        var nextCursor: String?
    }

    func members(_ identity: Identity, _ orgID: Organization.ID, query: String?, departmentID: Department.ID?,
                 cursor: String?, limit: Int) async throws -> MemberPage {
        guard (1...1000).contains(limit) else { throw AppError.invalidParameter("limit", "Must be between 1 and 1000.") }
        let query = query?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let query, query.count > 100 { throw AppError.invalidParameter("q", "The search is longer than 100 characters.") }
        let after = try cursor.map(Self.decodeCursor)
        return try await database.read { db in
            _ = try await accessMember(db, identity, orgID)
            // One more than asked tells whether there is a next page.
            var members = try await store.fetchMemberPage(db, orgID: orgID, query: query, departmentID: departmentID,
                                                          after: after, limit: limit + 1)
            var next: String?
            if members.count > limit {
                members.removeLast()
                next = Self.encodeCursor(sortName: store.sortName(of: members[members.count - 1]), id: members[members.count - 1].id)
            }
            return MemberPage(members: members, nextCursor: next)
        }
    }

    static func encodeCursor(sortName: String, id: Member.ID) -> String {
        Data((sortName + "\u{0}" + id.string).utf8).base64EncodedString()
    }

    static func decodeCursor(_ text: String) throws -> (sortName: String, id: Member.ID) {
        guard let data = Data(base64Encoded: text), let decoded = String(data: data, encoding: .utf8),
              let separator = decoded.lastIndex(of: "\u{0}"),
              let id = Member.ID(string: String(decoded[decoded.index(after: separator)...]))
        else { throw AppError.badRequest("invalid_cursor", "The cursor is not one this server gave out.") }
        return (String(decoded[..<separator]), id)
    }

    func member(_ identity: Identity, _ orgID: Organization.ID, _ id: Member.ID) async throws -> Member {
        try await database.read { db in
            _ = try await accessMember(db, identity, orgID)
            guard let member = try await store.fetchMember(db, orgID: orgID, id: id) else { throw AppError.notFound("Member") }
            return member
        }
    }

    struct MemberChanges: Sendable {
        var title: String?
        var role: Role?
        var capabilities: [Capability]?
        var departmentIDs: [Department.ID]?
    }

    func updateMember(_ identity: Identity, _ orgID: Organization.ID, _ id: Member.ID, _ changes: MemberChanges) async throws -> Member {
        let title = try changes.title.map { t -> String in
            let trimmed = t.trimmingCharacters(in: .whitespacesAndNewlines)
            guard trimmed.count <= 100 else { throw AppError.invalid("title", "The title is longer than 100 characters.", code: "too_long") }
            return trimmed
        }
        let now = clock.now()
        return try await transactor.run { db, outbox in
            let caller = try await accessMember(db, identity, orgID)
            guard var member = try await store.fetchMember(db, orgID: orgID, id: id) else { throw AppError.notFound("Member") }
            let onlyOwnTitle = changes.role == nil && changes.capabilities == nil && changes.departmentIDs == nil && member.id == caller.id
            guard caller.role.isAdmin || onlyOwnTitle else {
                throw AppError.forbidden("Only the organisation's owners and admins may change other members.")
            }
            let wasAdmin = member.role.isAdmin
            if member.role != .member, caller.role != .owner, member.id != caller.id {
                throw AppError.forbidden("Only an owner may change owners and admins.")
            }
            if let role = changes.role, role != member.role {
                // Owners and admins are made and unmade only by an owner.
                guard caller.role == .owner || (role == .member && member.role == .member) else {
                    throw AppError.forbidden("Only an owner may grant or remove the owner and admin roles.")
                }
                if member.role == .owner, try await store.countOwners(db, orgID: orgID) <= 1 {
                    throw AppError.conflict("last_owner", "An organisation needs at least one owner.")
                }
                member.role = role
            }
            if let capabilities = changes.capabilities { member.capabilities = Capability.allCases.filter(capabilities.contains) }
            if let title { member.title = title }
            if let departmentIDs = changes.departmentIDs {
                member.departmentIDs = try await validDepartments(db, orgID: orgID, departmentIDs)
                try await store.replaceDepartments(db, member)
                try await directoryChanged(db, outbox, orgID, .people([member.userID]))
            }
            try await store.updateMember(db, member, now: now)
            let change = member.role.isAdmin != wasAdmin ? MembershipChange(userID: member.userID, orgID: orgID, isAdmin: member.role.isAdmin) : nil
            try await events.emit(db, outbox, org: orgID, DirectoryEvent.memberUpdated, member.api, change: change)
            return member
        }
    }

    /// Checks that the departments exist in the organisation; none means the root.
    func validDepartments(_ db: any SQLDatabase, orgID: Organization.ID, _ ids: [Department.ID]) async throws -> [Department.ID] {
        let all = try await store.fetchDepartments(db, orgID: orgID)
        let known = Set(all.map(\.id))
        var result: [Department.ID] = []
        for id in ids where !result.contains(id) {
            guard known.contains(id) else {
                throw AppError.invalid("departmentIds", "There is no such department in this organisation.", code: "unknown_department")
            }
            result.append(id)
        }
        if result.isEmpty, let root = all.first(where: { $0.parentID == nil }) { result = [root.id] }
        return result
    }

    /// Removes a member (admins), or lets a member leave.
    func removeMember(_ identity: Identity, _ orgID: Organization.ID, _ id: Member.ID) async throws {
        try await transactor.run { db, outbox in
            let caller = try await accessMember(db, identity, orgID)
            guard let member = try await store.fetchMember(db, orgID: orgID, id: id) else { throw AppError.notFound("Member") }
            if member.id != caller.id {
                guard caller.role.isAdmin else { throw AppError.forbidden("Only the organisation's owners and admins may remove members.") }
                guard member.role == .member || caller.role == .owner else {
                    throw AppError.forbidden("Only an owner may remove owners and admins.")
                }
            }
            if member.role == .owner, try await store.countOwners(db, orgID: orgID) <= 1 {
                throw AppError.conflict("last_owner", "An organisation needs at least one owner.")
            }
            try await store.deleteMember(db, orgID: orgID, id: id)
            try await directoryChanged(db, outbox, orgID, .left(member.userID))
            let change = MembershipChange(userID: member.userID, orgID: orgID, isAdmin: nil)
            try await events.emit(db, outbox, org: orgID, DirectoryEvent.memberLeft, ["id": member.id.string, "userId": member.userID.string], change: change)
            try events.emitPersonal(outbox, to: member.userID, DirectoryEvent.membershipRemoved, ["orgId": orgID.string])
        }
    }

    /// Emits `member.updated` in every organisation of a person whose name or account changed
    /// (inside the transaction that changed it).
    func announceProfileChange(_ db: any SQLDatabase, _ outbox: Outbox, _ userID: User.ID) async throws {
        for (org, member) in try await store.fetchMemberships(db, userID: userID) {
            try await events.emit(db, outbox, org: org.id, DirectoryEvent.memberUpdated, member.api)
        }
    }

    /// Adds a member inside the caller's transaction and queues the events that announce it.
    func addMember(_ db: any SQLDatabase, _ outbox: Outbox, _ member: Member, now: Date) async throws {
        try await store.insertMember(db, member, now: now)
        try await directoryChanged(db, outbox, member.orgID, .people([member.userID]))
        let change = MembershipChange(userID: member.userID, orgID: member.orgID, isAdmin: member.role.isAdmin)
        try await events.emit(db, outbox, org: member.orgID, DirectoryEvent.memberJoined, member.api, change: change)
        if let org = try await store.fetchOrganization(db, id: member.orgID) {
            try events.emitPersonal(outbox, to: member.userID, DirectoryEvent.membershipAdded, membershipAPI(org, member))
        }
    }
}
