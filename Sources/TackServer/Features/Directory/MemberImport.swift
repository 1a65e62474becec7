import Foundation
import SQLKit

/// A member list read from CSV and checked row by row, before anything is written.
struct MemberImportFile: Sendable, Equatable {
    struct Row: Sendable, Equatable {
        var line: Int
        var name: String
        var email: String?
        var phone: String?
        /// Department names from below the root, e.g. ["Grade 8", "Class 2"]; empty for none.
        var departmentPath: [String]
        var title: String?
        var role: Role?
        var capabilities: [Capability]?
    }

    static let maxRows = 50_000
    /// At most this many problems are reported; the file is refused either way.
    static let maxReported = 1_000

    var rows: [Row]

    private enum Column: String, CaseIterable { case name, email, phone, department, title, role }
    private static let aliases: [String: Column] = [
        "name": .name, "姓名": .name, "名字": .name,
        "email": .email, "e-mail": .email, "邮箱": .email, "电子邮件": .email,
        "phone": .phone, "mobile": .phone, "手机": .phone, "手机号": .phone, "电话": .phone,
        "department": .department, "部门": .department, "班级": .department,
        "title": .title, "职位": .title, "职务": .title,
        "role": .role, "roles": .role, "角色": .role,
    ]
    private static let roleWords: [String: Role] = ["member": .member, "admin": .admin, "成员": .member, "管理员": .admin]
    private static let capabilityWords: [String: Capability] = [
        "health_officer": .healthOfficer, "attendance_admin": .attendanceAdmin, "teacher": .teacher, "student": .student,
        "parent": .parent, "健康专员": .healthOfficer, "考勤管理员": .attendanceAdmin, "老师": .teacher, "教师": .teacher,
        "学生": .student, "家长": .parent,
    ]

    /// Parses and checks a whole file; throws a 422 listing every bad row if any row is bad.
    static func parse(_ text: String) throws -> MemberImportFile {
        let records: [CSV.Record]
        do { records = try CSV.parse(text) } catch {
            throw problem([FieldProblem(row: error.line, code: "csv_syntax", message: error.message)])
        }
        guard let header = records.first else {
            throw problem([FieldProblem(row: 1, code: "empty_file", message: "The file is empty.")])
        }
        var columns: [Int: Column] = [:]
        var problems: [FieldProblem] = []
        for (index, raw) in header.fields.enumerated() {
            let name = raw.trimmingCharacters(in: .whitespaces).lowercased()
            guard let column = aliases[name] else {
                problems.append(FieldProblem(row: header.line, field: raw, code: "unknown_column",
                                             message: "Unknown column \"\(raw)\"; use name, email, phone, department, title, role."))
                continue
            }
            if columns.values.contains(column) {
                problems.append(FieldProblem(row: header.line, field: raw, code: "duplicate_column", message: "The column \(column.rawValue) appears twice."))
            }
            columns[index] = column
        }
        if !columns.values.contains(.name) {
            problems.append(FieldProblem(row: header.line, field: "name", code: "missing_column", message: "The file needs a name column."))
        }
        if !columns.values.contains(.email) && !columns.values.contains(.phone) {
            problems.append(FieldProblem(row: header.line, field: "email", code: "missing_column", message: "The file needs an email or a phone column."))
        }
        guard problems.isEmpty else { throw problem(problems) }
        if records.count - 1 > maxRows {
            throw problem([FieldProblem(row: records[maxRows + 1].line, code: "too_many_rows", message: "A file may hold at most \(maxRows) people.")])
        }

        var rows: [Row] = []
        var seenEmails: [String: Int] = [:]
        var seenPhones: [String: Int] = [:]
        for record in records.dropFirst() {
            var values: [Column: String] = [:]
            if record.fields.count > header.fields.count {
                problems.append(FieldProblem(row: record.line, code: "too_many_fields", message: "This row has more fields than the header."))
                continue
            }
            for (index, value) in record.fields.enumerated() {
                if let column = columns[index] { values[column] = value.trimmingCharacters(in: .whitespacesAndNewlines) }
            }
            func fail(_ field: Column, _ code: String, _ message: String) {
                problems.append(FieldProblem(row: record.line, field: field.rawValue, code: code, message: message))
            }
            let name = values[.name] ?? ""
            if name.isEmpty { fail(.name, "empty", "The name is missing.") }
            else if name.count > 100 { fail(.name, "too_long", "The name is longer than 100 characters.") }
            var email: String?, phone: String?
            if let text = values[.email], !text.isEmpty {
                if let login = Login(text), let e = login.email { email = e } else { fail(.email, "invalid_email", "\"\(text)\" is not an e-mail address.") }
            }
            if let text = values[.phone], !text.isEmpty {
                if let login = Login(text), let p = login.phone { phone = p } else { fail(.phone, "invalid_phone", "\"\(text)\" is not a phone number.") }
            }
            if email == nil && phone == nil && (values[.email] ?? "").isEmpty && (values[.phone] ?? "").isEmpty {
                fail(.email, "missing_login", "Each person needs an e-mail address or a phone number.")
            }
            if let email {
                if let first = seenEmails[email] { fail(.email, "duplicate", "The same e-mail address is on line \(first).") } else { seenEmails[email] = record.line }
            }
            if let phone {
                if let first = seenPhones[phone] { fail(.phone, "duplicate", "The same phone number is on line \(first).") } else { seenPhones[phone] = record.line }
            }
            var path: [String] = []
            if let text = values[.department], !text.isEmpty {
                path = text.split(separator: "/", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                if path.contains(where: \.isEmpty) || path.contains(where: { $0.count > 100 }) || path.count > 10 {
                    fail(.department, "invalid_department", "Write departments as a path like Grade 8/Class 2 (at most 10 levels).")
                    path = []
                }
            }
            let title = values[.title].flatMap { $0.isEmpty ? nil : $0 }
            if let title, title.count > 100 { fail(.title, "too_long", "The title is longer than 100 characters.") }
            var role: Role?
            var capabilities: [Capability]?
            if let text = values[.role], !text.isEmpty {
                var caps: [Capability] = []
                for word in text.split(whereSeparator: { ";|、 ".contains($0) }).map({ $0.lowercased() }) {
                    if let r = roleWords[word] {
                        role = r
                    } else if let c = capabilityWords[word] {
                        if !caps.contains(c) { caps.append(c) }
                    } else {
                        fail(.role, "invalid_role", "Unknown role \"\(word)\"; use member, admin, teacher, student, parent, health_officer or attendance_admin.")
                    }
                }
                capabilities = caps
            }
            rows.append(Row(line: record.line, name: name, email: email, phone: phone, departmentPath: path,
                            title: title, role: role, capabilities: capabilities))
        }
        guard problems.isEmpty else { throw problem(problems) }
        if rows.isEmpty { throw problem([FieldProblem(row: 2, code: "no_rows", message: "The file has a header but no people.")]) }
        return MemberImportFile(rows: rows)
    }

    static func problem(_ problems: [FieldProblem]) -> AppError {
        let more = problems.count - min(problems.count, maxReported)
        return AppError(.unprocessableContent, "import_invalid",
                        "The file was not imported: \(problems.count) problem\(problems.count == 1 ? "" : "s") to fix\(more > 0 ? " (the first \(maxReported) are listed)" : "").",
                        errors: Array(problems.prefix(maxReported)))
    }
}

/// What an import did, or would do.
struct MemberImportResult: Codable, Sendable, Equatable {
    var rows: Int
    var created: Int
    var updated: Int
    var departmentsCreated: Int
    var dryRun: Bool
}

extension DirectoryService {
    /// Imports a checked file in one transaction: all rows or none. People are matched by e-mail
    /// address or phone number; people without an account get an unclaimed one; departments in
    /// the paths are created under the root when missing.
    func importMembers(_ identity: Identity, _ orgID: Organization.ID, csv: String, dryRun: Bool, idempotencyKey: String?) async throws -> MemberImportResult {
        let file = try MemberImportFile.parse(csv)
        let now = clock.now()
        if dryRun {
            // Plan inside a transaction that is rolled back, so a dry run sees exactly what an import would.
            do {
                _ = try await transactor.database.write { db -> MemberImportResult in
                    throw DryRunFinished(result: try await applyImport(db, Outbox(), identity, orgID, file, now: now, dryRun: true))
                }
            } catch let finished as DryRunFinished {
                return finished.result
            }
        }
        return try await transactor.runIdempotent(
            scope: identity.userID.string, key: idempotencyKey, operation: "importMembers", fingerprint: "\(orgID)\n" + Secrets.sha256(csv)
        ) { db, outbox in
            try await applyImport(db, outbox, identity, orgID, file, now: now, dryRun: false)
        }
    }

    private struct DryRunFinished: Error { var result: MemberImportResult }

    private func applyImport(_ db: any SQLDatabase, _ outbox: Outbox, _ identity: Identity, _ orgID: Organization.ID,
                             _ file: MemberImportFile, now: Date, dryRun: Bool) async throws -> MemberImportResult {
        let caller = try await accessAdmin(db, identity, orgID)
        if caller.role != .owner, let row = file.rows.first(where: { $0.role == .admin }) {
            throw MemberImportFile.problem([FieldProblem(row: row.line, field: "role", code: "forbidden_role", message: "Only an owner may import admins.")])
        }

        // Departments: resolve each path, creating what is missing.
        let departments = try await store.fetchDepartments(db, orgID: orgID)
        guard let root = departments.first(where: { $0.parentID == nil }) else { throw AppError.notFound("Organisation") }
        var byParentAndName: [String: Department.ID] = [:]
        for d in departments { if let p = d.parentID { byParentAndName["\(p.string)/\(d.name)"] = d.id } }
        var createdDepartments: [Department] = []
        func resolve(_ path: [String]) async throws -> Department.ID {
            var parent = root.id
            for name in path {
                let key = "\(parent.string)/\(name)"
                if let id = byParentAndName[key] { parent = id; continue }
                let department = Department(id: .random(), orgID: orgID, parentID: parent, name: name, kind: .department, sortOrder: 0, memberCount: 0)
                if !dryRun { try await store.insertDepartment(db, department, now: now) }
                createdDepartments.append(department)
                byParentAndName[key] = department.id
                parent = department.id
            }
            return parent
        }

        // People: match existing accounts by e-mail and phone, a chunk at a time.
        let usersByEmail = try await fetchUserIDs(db, column: "email", values: file.rows.compactMap(\.email))
        let usersByPhone = try await fetchUserIDs(db, column: "phone", values: file.rows.compactMap(\.phone))
        var problems: [FieldProblem] = []
        var plans: [(row: MemberImportFile.Row, userID: User.ID?)] = []
        for row in file.rows {
            let byEmail = row.email.flatMap { usersByEmail[$0] }
            let byPhone = row.phone.flatMap { usersByPhone[$0] }
            if let byEmail, let byPhone, byEmail != byPhone {
                problems.append(FieldProblem(row: row.line, field: "phone", code: "different_people",
                                             message: "The e-mail address and the phone number belong to two different people."))
            }
            plans.append((row, byEmail ?? byPhone))
        }
        guard problems.isEmpty else { throw MemberImportFile.problem(problems) }

        let existing = try await fetchMembersByUser(db, orgID: orgID)
        var created = 0, updated = 0
        /// New members, with the account to create for those who have none.
        var newMembers: [(member: Member, newAccount: User?)] = []
        var changedMembers: [Member] = []
        for (row, userID) in plans {
            let departmentIDs = row.departmentPath.isEmpty ? nil : [try await resolve(row.departmentPath)]
            if let userID, var member = existing[userID] {
                var changed = member
                if let title = row.title { changed.title = title }
                if let role = row.role, member.role != .owner { changed.role = role }
                if let capabilities = row.capabilities { changed.capabilities = Capability.allCases.filter(capabilities.contains) }
                if let departmentIDs { changed.departmentIDs = departmentIDs }
                if changed != member {
                    member = changed
                    changedMembers.append(member)
                    updated += 1
                }
                continue
            }
            let user = User(id: userID ?? .random(), name: row.name, email: row.email, phone: row.phone, locale: nil,
                            claimed: false, createdAt: now)
            let member = Member(id: .random(), orgID: orgID, userID: user.id, name: row.name, title: row.title ?? "",
                                email: row.email, phone: row.phone, role: row.role ?? .member,
                                capabilities: Capability.allCases.filter((row.capabilities ?? []).contains),
                                departmentIDs: departmentIDs ?? [root.id], joinedAt: now, claimed: false)
            newMembers.append((member, userID == nil ? user : nil))
            created += 1
        }
        let result = MemberImportResult(rows: file.rows.count, created: created, updated: updated,
                                        departmentsCreated: createdDepartments.count, dryRun: dryRun)
        if dryRun { return result }

        // Writes, in multi-row statements.
        let accountsToCreate = newMembers.compactMap(\.newAccount)
        for chunk in accountsToCreate.chunked(500) {
            var insert = db.insert(into: "users").columns("id", "name", "email", "phone", "locale", "password_hash", "created_at", "updated_at")
            for u in chunk {
                insert = insert.values(SQLBind(u.id), SQLBind(u.name), SQLBind(u.email), SQLBind(u.phone), SQLBind(String?.none),
                                       SQLBind(String?.none), SQLBind(now), SQLBind(now))
            }
            try await insert.run()
        }
        let membersToCreate = newMembers.map(\.member)
        for chunk in membersToCreate.chunked(500) {
            var insert = db.insert(into: "members").columns("id", "org_id", "user_id", "role", "capabilities", "title", "sort_name", "joined_at", "updated_at")
            var links = DirectoryStore.insertDepartmentLinks(db)
            for m in chunk {
                insert = insert.values(SQLBind(m.id), SQLBind(orgID), SQLBind(m.userID), SQLBind(m.role.rawValue),
                                       SQLBind(DirectoryStore.encode(m.capabilities)), SQLBind(m.title), SQLBind(m.name.lowercased()),
                                       SQLBind(now), SQLBind(now))
                for d in m.departmentIDs { links = DirectoryStore.link(links, m, d) }
            }
            try await insert.run()
            try await links.run()
        }
        for member in changedMembers {
            try await store.updateMember(db, member, now: now)
            try await store.replaceDepartments(db, member)
        }
        try await directoryChanged(db, outbox, orgID, .everything)
        try await events.emit(db, outbox, org: orgID, DirectoryEvent.membersImported,
                              ["created": created, "updated": updated, "departmentsCreated": createdDepartments.count])
        // People who already had an account see the organisation appear at once.
        if let org = try await store.fetchOrganization(db, id: orgID) {
            for (member, newAccount) in newMembers where newAccount == nil {
                var shown = member
                shown.claimed = true
                try events.emitPersonal(outbox, to: member.userID, DirectoryEvent.membershipAdded, membershipAPI(org, shown),
                                        change: MembershipChange(userID: member.userID, orgID: orgID, isAdmin: member.role.isAdmin))
            }
        }
        return result
    }

    private func fetchUserIDs(_ db: any SQLDatabase, column: String, values: [String]) async throws -> [String: User.ID] {
        var result: [String: User.ID] = [:]
        for chunk in values.chunked(500) {
            let rows = try await db.select().columns("id", column).from("users").where(SQLIdentifier(column), .in, SQLBind.group(Array(chunk))).all()
            for row in rows { result[try row.decode(column: column, as: String.self)] = try row.decode(column: "id", as: User.ID.self) }
        }
        return result
    }

    private func fetchMembersByUser(_ db: any SQLDatabase, orgID: Organization.ID) async throws -> [User.ID: Member] {
        var result: [User.ID: Member] = [:]
        var cursor: (sortName: String, id: Member.ID)?
        while true {
            let page = try await store.fetchMemberPage(db, orgID: orgID, query: nil, departmentID: nil, after: cursor, limit: 1000)
            for member in page { result[member.userID] = member }
            guard page.count == 1000, let last = page.last else { break }
            cursor = (store.sortName(of: last), last.id)
        }
        return result
    }
}

extension Array {
    /// The array in consecutive pieces of at most `size` elements.
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
