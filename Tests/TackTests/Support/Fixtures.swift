import Foundation
import SQLKit
@testable import TackServer

/// Rows inserted straight through the stores, for store suites.
struct Fixtures {
    let db: any SQLDatabase
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func user(_ name: String = "Person", email: String? = nil, phone: String? = nil, password: String? = "hash") async throws -> User {
        let user = User(id: .random(), name: name, email: email ?? "\(UUID().uuidString.prefix(8))@example.com".lowercased(),
                        phone: phone, locale: nil, claimed: password != nil, createdAt: now)
        try await AccountStore().insertUser(db, user, passwordHash: password)
        return user
    }

    /// An organisation with its root department.
    func org(_ name: String = "Acme", owner: User) async throws -> (Organization, Department) {
        let org = Organization(id: .random(), name: name, kind: .company, timeZone: "UTC", createdAt: now, memberCount: 0, eventSeq: 0)
        try await DirectoryStore().insertOrganization(db, org, createdBy: owner.id)
        let root = Department(id: .random(), orgID: org.id, parentID: nil, name: name, kind: .department, sortOrder: 0, memberCount: 0)
        try await DirectoryStore().insertDepartment(db, root, now: now)
        return (org, root)
    }

    func department(_ name: String, in org: Organization, parent: Department, kind: Department.Kind = .department, sortOrder: Int = 0) async throws -> Department {
        let d = Department(id: .random(), orgID: org.id, parentID: parent.id, name: name, kind: kind, sortOrder: sortOrder, memberCount: 0)
        try await DirectoryStore().insertDepartment(db, d, now: now)
        return d
    }

    func member(_ user: User, of org: Organization, role: Role = .member, departments: [Department], title: String = "") async throws -> Member {
        let m = Member(id: .random(), orgID: org.id, userID: user.id, name: user.name, title: title, email: user.email, phone: user.phone,
                       role: role, capabilities: [], departmentIDs: departments.map(\.id), joinedAt: now, claimed: user.claimed)
        try await DirectoryStore().insertMember(db, m, now: now)
        return m
    }
}

/// Runs `body` in one write transaction on a scratch database of `engine`.
func withStore<R: Sendable>(_ engine: Engine, _ body: @Sendable (any SQLDatabase, Fixtures) async throws -> R) async throws -> R {
    try await withParts(engine) { parts, _ in
        try await parts.database.write { db in try await body(db, Fixtures(db: db)) }
    }
}
