import Foundation
import OpenAPIRuntime
import TackAPI

/// Organisations, departments and members over HTTP.
extension APIHandler {
    // MARK: Organisations

    func createOrganization(_ input: Operations.CreateOrganization.Input) async throws -> Operations.CreateOrganization.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let created = try await directory.createOrganization(
            try identity(), name: body.name, kind: body.kind.flatMap { Organization.Kind(rawValue: $0.rawValue) } ?? .company,
            timeZone: body.timeZone, idempotencyKey: input.headers.idempotencyKey)
        return .created(.init(body: .json(membershipAPI(created.organization, created.member))))
    }

    func getOrganization(_ input: Operations.GetOrganization.Input) async throws -> Operations.GetOrganization.Output {
        let org = try await directory.organization(try identity(), try parseID(input.path.orgId, "orgId"))
        return .ok(.init(body: .json(org.api)))
    }

    func updateOrganization(_ input: Operations.UpdateOrganization.Input) async throws -> Operations.UpdateOrganization.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let org = try await directory.updateOrganization(
            try identity(), try parseID(input.path.orgId, "orgId"), name: body.name,
            kind: body.kind.flatMap { Organization.Kind(rawValue: $0.rawValue) }, timeZone: body.timeZone)
        return .ok(.init(body: .json(org.api)))
    }

    func listOrganizationEvents(_ input: Operations.ListOrganizationEvents.Input) async throws -> Operations.ListOrganizationEvents.Output {
        let orgID: Organization.ID = try parseID(input.path.orgId, "orgId")
        let replay = try await directory.events(try identity(), orgID, after: input.query.after, limit: input.query.limit ?? 500)
        switch replay {
        case .resync(let latest):
            return .ok(.init(body: .json(.init(items: [], resync: true, latestSeq: latest))))
        case .events(let events, let latest):
            let items = try events.map { event in
                Components.Schemas.Event(
                    _type: event.type, org: orgID.string, seq: event.seq,
                    data: try JSONDecoder().decode(Components.Schemas.Event.DataPayload.self, from: Data(event.data.utf8)))
            }
            return .ok(.init(body: .json(.init(items: items, resync: false, latestSeq: latest))))
        }
    }

    // MARK: Departments

    func listDepartments(_ input: Operations.ListDepartments.Input) async throws -> Operations.ListDepartments.Output {
        let departments = try await directory.departments(try identity(), try parseID(input.path.orgId, "orgId"))
        return .ok(.init(body: .json(.init(items: departments.map(\.api)))))
    }

    func createDepartment(_ input: Operations.CreateDepartment.Input) async throws -> Operations.CreateDepartment.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let department = try await directory.createDepartment(
            try identity(), try parseID(input.path.orgId, "orgId"), name: body.name, parentID: try parseID(body.parentId, "parentId"),
            kind: body.kind.flatMap { Department.Kind(rawValue: $0.rawValue) } ?? .department, sortOrder: body.sortOrder,
            idempotencyKey: input.headers.idempotencyKey)
        return .created(.init(body: .json(department.api)))
    }

    func updateDepartment(_ input: Operations.UpdateDepartment.Input) async throws -> Operations.UpdateDepartment.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let department = try await directory.updateDepartment(
            try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.departmentId, "departmentId"),
            name: body.name, parentID: try body.parentId.map { try parseID($0, "parentId") },
            kind: body.kind.flatMap { Department.Kind(rawValue: $0.rawValue) }, sortOrder: body.sortOrder)
        return .ok(.init(body: .json(department.api)))
    }

    func deleteDepartment(_ input: Operations.DeleteDepartment.Input) async throws -> Operations.DeleteDepartment.Output {
        try await directory.deleteDepartment(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.departmentId, "departmentId"))
        return .noContent(.init())
    }

    // MARK: Members

    func listMembers(_ input: Operations.ListMembers.Input) async throws -> Operations.ListMembers.Output {
        let page = try await directory.members(
            try identity(), try parseID(input.path.orgId, "orgId"), query: input.query.q,
            departmentID: try input.query.departmentId.map { try parseID($0, "departmentId") },
            cursor: input.query.cursor, limit: input.query.limit ?? 100)
        return .ok(.init(body: .json(.init(items: page.members.map(\.api), nextCursor: page.nextCursor))))
    }

    func getMember(_ input: Operations.GetMember.Input) async throws -> Operations.GetMember.Output {
        let member = try await directory.member(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.memberId, "memberId"))
        return .ok(.init(body: .json(member.api)))
    }

    func updateMember(_ input: Operations.UpdateMember.Input) async throws -> Operations.UpdateMember.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let changes = DirectoryService.MemberChanges(
            title: body.title, role: body.role.flatMap { Role(rawValue: $0.rawValue) },
            capabilities: body.capabilities?.compactMap { Capability(rawValue: $0.rawValue) },
            departmentIDs: try body.departmentIds?.map { try parseID($0, "departmentIds") })
        let member = try await directory.updateMember(try identity(), try parseID(input.path.orgId, "orgId"),
                                                      try parseID(input.path.memberId, "memberId"), changes)
        return .ok(.init(body: .json(member.api)))
    }

    func removeMember(_ input: Operations.RemoveMember.Input) async throws -> Operations.RemoveMember.Output {
        try await directory.removeMember(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.memberId, "memberId"))
        return .noContent(.init())
    }

    func importMembers(_ input: Operations.ImportMembers.Input) async throws -> Operations.ImportMembers.Output {
        guard case .csv(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send text/csv.") }
        let identity = try identity()
        let orgID: Organization.ID = try parseID(input.path.orgId, "orgId")
        // The body limit middleware has already bounded the size.
        let bytes = try await [UInt8](collecting: body, upTo: .max)
        guard let csv = String(validating: bytes, as: UTF8.self) else {
            throw MemberImportFile.problem([FieldProblem(row: 1, code: "not_utf8", message: "The file is not UTF-8 text; save it as CSV UTF-8.")])
        }
        let result = try await directory.importMembers(identity, orgID, csv: csv, dryRun: input.query.dryRun ?? false,
                                                       idempotencyKey: input.headers.idempotencyKey)
        return .ok(.init(body: .json(.init(rows: result.rows, created: result.created, updated: result.updated,
                                           departmentsCreated: result.departmentsCreated, dryRun: result.dryRun))))
    }
}
