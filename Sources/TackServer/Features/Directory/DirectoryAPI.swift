import Foundation
import TackAPI

// How the directory's values look in the API (and in events): the schemas of `openapi.yaml`.

extension Organization {
    var api: Components.Schemas.Organization {
        .init(id: id.string, name: name, kind: .init(rawValue: kind.rawValue)!, timeZone: timeZone, createdAt: createdAt,
              memberCount: memberCount, eventSeq: eventSeq)
    }
}

extension Department {
    var api: Components.Schemas.Department {
        .init(id: id.string, orgId: orgID.string, parentId: parentID?.string, name: name,
              kind: .init(rawValue: kind.rawValue)!, sortOrder: sortOrder, memberCount: memberCount)
    }
}

extension Member {
    var api: Components.Schemas.Member {
        .init(id: id.string, orgId: orgID.string, userId: userID.string, name: name, title: title, email: email, phone: phone,
              role: .init(rawValue: role.rawValue)!, capabilities: capabilities.map { .init(rawValue: $0.rawValue)! },
              departmentIds: departmentIDs.map(\.string), joinedAt: joinedAt, claimed: claimed)
    }
}

extension Invitation {
    var api: Components.Schemas.Invitation {
        .init(id: id.string, orgId: orgID.string, code: code, token: token, departmentId: departmentID?.string,
              role: .init(rawValue: role.rawValue)!, requiresApproval: requiresApproval, expiresAt: expiresAt,
              maxUses: maxUses, uses: uses, createdAt: createdAt, revokedAt: revokedAt)
    }
}

extension JoinRequest {
    var api: Components.Schemas.JoinRequest {
        .init(id: id.string, orgId: orgID.string, userId: userID.string, name: name, email: email, phone: phone,
              status: .init(rawValue: status.rawValue)!, createdAt: createdAt, decidedAt: decidedAt)
    }
}

extension User {
    var api: Components.Schemas.User {
        .init(id: id.string, name: name, email: email, phone: phone, locale: locale.flatMap { .init(rawValue: $0) })
    }
}

/// A person's membership as the API shows it.
func membershipAPI(_ org: Organization, _ member: Member) -> Components.Schemas.Membership {
    .init(organization: org.api, member: member.api)
}
