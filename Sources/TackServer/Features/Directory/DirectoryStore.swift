import Foundation
import SQLKit

/// Organisations, departments and members (`orgs`, `departments`, `members`, `member_departments`).
struct DirectoryStore: Sendable {
    // MARK: Organisations

    func insertOrganization(_ db: any SQLDatabase, _ org: Organization, createdBy: User.ID) async throws {
        try await db.insert(into: "orgs")
            .columns("id", "name", "kind", "time_zone", "created_by", "created_at", "event_seq")
            .values(SQLBind(org.id), SQLBind(org.name), SQLBind(org.kind.rawValue), SQLBind(org.timeZone), SQLBind(createdBy), SQLBind(org.createdAt),
                    SQLBind(org.eventSeq))
            .run()
    }

    func fetchOrganization(_ db: any SQLDatabase, id: Organization.ID) async throws -> Organization? {
        let row = try await db.raw("""
            SELECT o.id, o.name, o.kind, o.time_zone, o.created_at, o.event_seq,
                   (SELECT COUNT(*) FROM members m WHERE m.org_id = o.id) AS member_count
            FROM orgs o WHERE o.id = \(bind: id)
            """).first()
        return try row.map(Self.organization)
    }

    func updateOrganization(_ db: any SQLDatabase, id: Organization.ID, name: String?, kind: Organization.Kind?, timeZone: String? = nil) async throws {
        guard name != nil || kind != nil || timeZone != nil else { return }
        var update = db.update("orgs")
        if let name { update = update.set("name", to: name) }
        if let kind { update = update.set("kind", to: kind.rawValue) }
        if let timeZone { update = update.set("time_zone", to: timeZone) }
        try await update.where("id", .equal, id).run()
    }

    /// Every organisation a person belongs to, with their membership, by organisation name.
    func fetchMemberships(_ db: any SQLDatabase, userID: User.ID) async throws -> [(Organization, Member)] {
        let rows = try await db.raw("""
            SELECT o.id AS org_id, o.name AS org_name, o.kind AS org_kind, o.time_zone AS org_time_zone, o.created_at AS org_created_at, o.event_seq,
                   (SELECT COUNT(*) FROM members x WHERE x.org_id = o.id) AS member_count,
                   \(unsafeRaw: Self.memberColumns(db))
            FROM members m JOIN orgs o ON o.id = m.org_id JOIN users u ON u.id = m.user_id
            WHERE m.user_id = \(bind: userID)
            ORDER BY o.name, o.id
            """).all()
        let members = try rows.map(Self.member)
        return try zip(rows, members).map { row, member in
            (Organization(
                id: try row.decode(column: "org_id", as: Organization.ID.self),
                name: try row.decode(column: "org_name", as: String.self),
                kind: Organization.Kind(rawValue: try row.decode(column: "org_kind", as: String.self)) ?? .company,
                timeZone: try row.decode(column: "org_time_zone", as: String.self),
                createdAt: try row.decode(column: "org_created_at", as: Date.self),
                memberCount: try row.decode(column: "member_count", as: Int.self),
                eventSeq: try row.decode(column: "event_seq", as: Int64.self)), member)
        }
    }

    /// The organisations a person belongs to and whether they are an admin in each (for the
    /// real-time channel).
    func fetchMembershipRoles(_ db: any SQLDatabase, userID: User.ID) async throws -> [Organization.ID: Bool] {
        // Index: members_user.
        let rows = try await db.select().columns("org_id", "role").from("members").where("user_id", .equal, userID).all()
        var result: [Organization.ID: Bool] = [:]
        for row in rows {
            let role = Role(rawValue: try row.decode(column: "role", as: String.self)) ?? .member
            result[try row.decode(column: "org_id", as: Organization.ID.self)] = role.isAdmin
        }
        return result
    }

    static func organization(_ row: any SQLRow) throws -> Organization {
        Organization(
            id: try row.decode(column: "id", as: Organization.ID.self),
            name: try row.decode(column: "name", as: String.self),
            kind: Organization.Kind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .company,
            timeZone: try row.decode(column: "time_zone", as: String.self),
            createdAt: try row.decode(column: "created_at", as: Date.self),
            memberCount: try row.decode(column: "member_count", as: Int.self),
            eventSeq: try row.decode(column: "event_seq", as: Int64.self))
    }

    // MARK: Departments

    func insertDepartment(_ db: any SQLDatabase, _ department: Department, now: Date) async throws {
        try await db.insert(into: "departments")
            .columns("id", "org_id", "parent_id", "name", "kind", "sort_order", "created_at")
            .values(SQLBind(department.id), SQLBind(department.orgID), SQLBind(department.parentID), SQLBind(department.name),
                    SQLBind(department.kind.rawValue), SQLBind(department.sortOrder), SQLBind(now))
            .run()
    }

    /// All departments of an organisation with their direct member counts, parents before
    /// children (ordered by depth, then sort order and name). Without `memberCounts` every
    /// count is 0 and nothing is counted (for walking the tree: a count reads every link).
    func fetchDepartments(_ db: any SQLDatabase, orgID: Organization.ID, memberCounts: Bool = true) async throws -> [Department] {
        let count: SQLQueryString = memberCounts ? "(SELECT COUNT(*) FROM member_departments md WHERE md.department_id = d.id)" : "0"
        let rows = try await db.raw("""
            SELECT d.id, d.org_id, d.parent_id, d.name, d.kind, d.sort_order, \(count) AS member_count
            FROM departments d WHERE d.org_id = \(bind: orgID)
            ORDER BY d.sort_order, d.name, d.id
            """).all()
        return Self.parentsFirst(try rows.map(Self.department))
    }

    /// Each department's children in `tree`.
    static func children(in tree: [Department]) -> [Department.ID: [Department.ID]] {
        var children: [Department.ID: [Department.ID]] = [:]
        for d in tree { if let p = d.parentID { children[p, default: []].append(d.id) } }
        return children
    }

    /// `roots` and every department below them in `tree`.
    static func closure(of roots: some Sequence<Department.ID>, in tree: [Department]) -> Set<Department.ID> {
        let children = children(in: tree)
        var reached = Set<Department.ID>()
        var pending = Array(roots)
        while let next = pending.popLast() {
            guard reached.insert(next).inserted else { continue }
            pending += children[next] ?? []
        }
        return reached
    }

    /// Which of `departments` belong to the organisation.
    func fetchDepartmentIDs(_ db: any SQLDatabase, orgID: Organization.ID, among departments: [Department.ID]) async throws -> Set<Department.ID> {
        guard !departments.isEmpty else { return [] }
        return Set(try await db.raw("""
            SELECT id FROM departments WHERE org_id = \(bind: orgID) AND id IN \(SQLBind.group(departments))
            """).all(decodingColumn: "id", as: Department.ID.self))
    }

    func fetchDepartment(_ db: any SQLDatabase, orgID: Organization.ID, id: Department.ID) async throws -> Department? {
        let row = try await db.raw("""
            SELECT d.id, d.org_id, d.parent_id, d.name, d.kind, d.sort_order,
                   (SELECT COUNT(*) FROM member_departments md WHERE md.department_id = d.id) AS member_count
            FROM departments d WHERE d.org_id = \(bind: orgID) AND d.id = \(bind: id)
            """).first()
        return try row.map(Self.department)
    }

    func fetchRootDepartment(_ db: any SQLDatabase, orgID: Organization.ID) async throws -> Department? {
        let row = try await db.raw("""
            SELECT d.id, d.org_id, d.parent_id, d.name, d.kind, d.sort_order,
                   (SELECT COUNT(*) FROM member_departments md WHERE md.department_id = d.id) AS member_count
            FROM departments d WHERE d.org_id = \(bind: orgID) AND d.parent_id IS NULL
            """).first()
        return try row.map(Self.department)
    }

    func updateDepartment(_ db: any SQLDatabase, _ department: Department) async throws {
        try await db.update("departments")
            .set("name", to: department.name).set("kind", to: department.kind.rawValue)
            .set("parent_id", to: department.parentID).set("sort_order", to: department.sortOrder)
            .where("org_id", .equal, department.orgID).where("id", .equal, department.id)
            .run()
    }

    func deleteDepartment(_ db: any SQLDatabase, orgID: Organization.ID, id: Department.ID) async throws {
        try await db.delete(from: "departments").where("org_id", .equal, orgID).where("id", .equal, id).run()
    }

    func countChildren(_ db: any SQLDatabase, id: Department.ID) async throws -> Int {
        try await db.raw("SELECT COUNT(*) AS n FROM departments WHERE parent_id = \(bind: id)").first()?.decode(column: "n", as: Int.self) ?? 0
    }

    static func department(_ row: any SQLRow) throws -> Department {
        Department(
            id: try row.decode(column: "id", as: Department.ID.self),
            orgID: try row.decode(column: "org_id", as: Organization.ID.self),
            parentID: try row.decode(column: "parent_id", as: Department.ID?.self),
            name: try row.decode(column: "name", as: String.self),
            kind: Department.Kind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .department,
            sortOrder: try row.decode(column: "sort_order", as: Int.self),
            memberCount: try row.decode(column: "member_count", as: Int.self))
    }

    /// Orders a tree breadth-first (parents before children), keeping sibling order.
    static func parentsFirst(_ departments: [Department]) -> [Department] {
        var children: [Department.ID?: [Department]] = [:]
        for d in departments { children[d.parentID, default: []].append(d) }
        var result: [Department] = []
        result.reserveCapacity(departments.count)
        var queue: [Department.ID?] = [nil]
        var index = 0
        while index < queue.count {
            for child in children[queue[index]] ?? [] {
                result.append(child)
                queue.append(child.id)
            }
            index += 1
        }
        return result
    }

    // MARK: Members

    /// The columns of a member row, with its departments aggregated into one text column so that
    /// a page of members is one statement (its text the same for every page size).
    ///
    /// Dialect branch: `string_agg(… ORDER BY …)` on PostgreSQL, `group_concat` over an ordered
    /// subquery on SQLite. Index: primary key (member_id, department_id) — O(1) per member.
    static func memberColumns(_ db: any SQLDatabase) -> String {
        let departments = db.dialect.name == "sqlite"
            ? "(SELECT group_concat(d, ',') FROM (SELECT md.department_id AS d FROM member_departments md WHERE md.member_id = m.id ORDER BY md.department_id))"
            : "(SELECT string_agg(md.department_id::text, ',' ORDER BY md.department_id) FROM member_departments md WHERE md.member_id = m.id)"
        return """
            m.id, m.org_id, m.user_id, m.role, m.capabilities, m.title, m.joined_at, m.sort_name,
            u.name, u.email, u.phone, u.password_hash IS NOT NULL AS claimed, \(departments) AS department_ids
            """
    }

    func insertMember(_ db: any SQLDatabase, _ member: Member, now: Date) async throws {
        try await db.insert(into: "members")
            .columns("id", "org_id", "user_id", "role", "capabilities", "title", "sort_name", "joined_at", "updated_at")
            .values(SQLBind(member.id), SQLBind(member.orgID), SQLBind(member.userID), SQLBind(member.role.rawValue),
                    SQLBind(Self.encode(member.capabilities)), SQLBind(member.title), SQLBind(member.name.lowercased()),
                    SQLBind(member.joinedAt), SQLBind(now))
            .run()
        try await replaceDepartments(db, member)
    }

    func updateMember(_ db: any SQLDatabase, _ member: Member, now: Date) async throws {
        try await db.update("members")
            .set("role", to: member.role.rawValue).set("capabilities", to: Self.encode(member.capabilities))
            .set("title", to: member.title).set("updated_at", to: now)
            .where("org_id", .equal, member.orgID).where("id", .equal, member.id)
            .run()
    }

    /// Makes the member's departments `member.departmentIDs`.
    func replaceDepartments(_ db: any SQLDatabase, _ member: Member) async throws {
        try await db.delete(from: "member_departments").where("member_id", .equal, member.id).run()
        guard !member.departmentIDs.isEmpty else { return }
        var insert = Self.insertDepartmentLinks(db)
        for department in member.departmentIDs { insert = Self.link(insert, member, department) }
        try await insert.run()
    }

    /// An insert of member–department links; add rows with `link`. Each link carries the
    /// member's organisation and user, so that counts by department need no join to members.
    static func insertDepartmentLinks(_ db: any SQLDatabase) -> SQLInsertBuilder {
        db.insert(into: "member_departments").columns("member_id", "department_id", "org_id", "user_id")
    }

    static func link(_ insert: SQLInsertBuilder, _ member: Member, _ department: Department.ID) -> SQLInsertBuilder {
        insert.values(SQLBind(member.id), SQLBind(department), SQLBind(member.orgID), SQLBind(member.userID))
    }

    func deleteMember(_ db: any SQLDatabase, orgID: Organization.ID, id: Member.ID) async throws {
        try await db.delete(from: "members").where("org_id", .equal, orgID).where("id", .equal, id).run()
    }

    func fetchMember(_ db: any SQLDatabase, orgID: Organization.ID, id: Member.ID) async throws -> Member? {
        try await fetchMembers(db, where: "m.org_id = \(bind: orgID) AND m.id = \(bind: id)").first
    }

    /// The caller's membership of `orgID`, or 404 if they are not a member (or it does not exist):
    /// the access check of every organisation-scoped action.
    func accessMember(_ db: any SQLDatabase, _ identity: Identity, _ orgID: Organization.ID) async throws -> Member {
        guard let member = try await fetchMember(db, orgID: orgID, userID: identity.userID) else {
            throw AppError.notFound("Organisation")
        }
        return member
    }

    func fetchMember(_ db: any SQLDatabase, orgID: Organization.ID, userID: User.ID) async throws -> Member? {
        // Index: the UNIQUE (org_id, user_id) constraint.
        try await fetchMembers(db, where: "m.org_id = \(bind: orgID) AND m.user_id = \(bind: userID)").first
    }

    func countOwners(_ db: any SQLDatabase, orgID: Organization.ID) async throws -> Int {
        try await db.raw("SELECT COUNT(*) AS n FROM members WHERE org_id = \(bind: orgID) AND role = 'owner'")
            .first()?.decode(column: "n", as: Int.self) ?? 0
    }

    /// A page of members ordered by name, after the keyset `cursor` (name, id).
    ///
    /// Index: `members_org_name (org_id, sort_name, id)` serves both the order and the cursor, so
    /// a page costs O(limit) however large the organisation; a name search scans the
    /// organisation's members.
    func fetchMemberPage(_ db: any SQLDatabase, orgID: Organization.ID, query: String?, departmentID: Department.ID?,
                         after cursor: (sortName: String, id: Member.ID)?, limit: Int) async throws -> [Member] {
        var condition: SQLQueryString = "m.org_id = \(bind: orgID)"
        if let query, !query.isEmpty {
            let pattern = "%" + Self.escapeLike(query.lowercased()) + "%"
            condition += """
                 AND (m.sort_name LIKE \(bind: pattern) ESCAPE '\\' OR u.email LIKE \(bind: pattern) ESCAPE '\\'
                      OR u.phone LIKE \(bind: pattern) ESCAPE '\\')
                """
        }
        if let departmentID {
            condition += " AND EXISTS (SELECT 1 FROM member_departments md WHERE md.member_id = m.id AND md.department_id = \(bind: departmentID))"
        }
        if let cursor {
            condition += " AND (m.sort_name > \(bind: cursor.sortName) OR (m.sort_name = \(bind: cursor.sortName) AND m.id > \(bind: cursor.id)))"
        }
        return try await fetchMembers(db, where: condition, orderedAndLimit: limit)
    }

    private func fetchMembers(_ db: any SQLDatabase, where condition: SQLQueryString, orderedAndLimit limit: Int? = nil) async throws -> [Member] {
        var sql: SQLQueryString = "SELECT \(unsafeRaw: Self.memberColumns(db)) FROM members m JOIN users u ON u.id = m.user_id WHERE "
        sql += condition
        if let limit { sql += " ORDER BY m.sort_name, m.id LIMIT \(literal: limit)" }
        return try await db.raw(sql).all().map(Self.member)
    }

    /// The sort key of a member, for page cursors.
    func sortName(of member: Member) -> String { member.name.lowercased() }

    static func member(_ row: any SQLRow) throws -> Member {
        Member(
            id: try row.decode(column: "id", as: Member.ID.self),
            orgID: try row.decode(column: "org_id", as: Organization.ID.self),
            userID: try row.decode(column: "user_id", as: User.ID.self),
            name: try row.decode(column: "name", as: String.self),
            title: try row.decode(column: "title", as: String.self),
            email: try row.decode(column: "email", as: String?.self),
            phone: try row.decode(column: "phone", as: String?.self),
            role: Role(rawValue: try row.decode(column: "role", as: String.self)) ?? .member,
            capabilities: decodeCapabilities(try row.decode(column: "capabilities", as: String.self)),
            departmentIDs: (try row.decode(column: "department_ids", as: String?.self) ?? "")
                .split(separator: ",").compactMap { UUIDText.parse(String($0)).map(Department.ID.init(rawValue:)) },
            joinedAt: try row.decode(column: "joined_at", as: Date.self),
            claimed: try row.decode(column: "claimed", as: Bool.self))
    }

    /// Capabilities are stored as one comma-separated column: few, small, read with the member.
    static func encode(_ capabilities: [Capability]) -> String {
        Capability.allCases.filter(capabilities.contains).map(\.rawValue).joined(separator: ",")
    }

    static func decodeCapabilities(_ text: String) -> [Capability] {
        text.split(separator: ",").compactMap { Capability(rawValue: String($0)) }
    }

    static func escapeLike(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }
}
