import Foundation
import Tagged

/// A tenant: a company or a school. Everything else belongs to exactly one.
public struct Organization: Sendable, Equatable, Codable {
    public typealias ID = Tagged<Organization, UUID>
    public enum Kind: String, Sendable, Codable, CaseIterable { case company, school }
    public var id: ID
    public var name: String
    public var kind: Kind
    /// IANA identifier: what "today" and a daily report's window mean for this organisation.
    public var timeZone: String
    public var createdAt: Date
    public var memberCount: Int
    public var eventSeq: Int64

    /// The organisation's zone (UTC if the stored identifier is no longer known).
    var zone: TimeZone { TimeZone(identifier: timeZone) ?? LocalDate.utc }

    /// A zone identifier as sent: known to this system.
    static func validTimeZone(_ identifier: String, field: String = "timeZone") throws -> String {
        guard identifier.count <= 64, let zone = TimeZone(identifier: identifier) else {
            throw AppError.invalid(field, "Not a known time zone (e.g. Asia/Shanghai, Europe/London).", code: "unknown_time_zone")
        }
        return zone.identifier
    }

    /// The server's own zone: the default of new organisations that send none.
    static var serverTimeZone: String { TimeZone.current.identifier }
}

/// A node of an organisation's department tree; the root stands for the organisation itself.
public struct Department: Sendable, Equatable, Codable {
    public typealias ID = Tagged<Department, UUID>
    /// `class` is a school class; it behaves as a department.
    public enum Kind: String, Sendable, Codable, CaseIterable { case department, `class` }
    public var id: ID
    public var orgID: Organization.ID
    public var parentID: ID?
    public var name: String
    public var kind: Kind
    public var sortOrder: Int
    public var memberCount: Int
}

/// A member's rank: exactly one per member.
public enum Role: String, Sendable, Codable, CaseIterable, Comparable {
    case owner, admin, member

    /// Owners and admins manage the organisation.
    var isAdmin: Bool { self != .member }

    private var rank: Int { switch self { case .owner: 2; case .admin: 1; case .member: 0 } }
    public static func < (a: Role, b: Role) -> Bool { a.rank < b.rank }
}

/// What a member may do besides their role; any number per member.
public enum Capability: String, Sendable, Codable, CaseIterable {
    case healthOfficer = "health_officer"
    case attendanceAdmin = "attendance_admin"
    case teacher
    case student
    case parent
}

/// A person's membership of one organisation, with their place in it.
public struct Member: Sendable, Equatable, Codable {
    public typealias ID = Tagged<Member, UUID>
    public var id: ID
    public var orgID: Organization.ID
    public var userID: User.ID
    public var name: String
    public var title: String
    public var email: String?
    public var phone: String?
    public var role: Role
    public var capabilities: [Capability]
    public var departmentIDs: [Department.ID]
    public var joinedAt: Date
    public var claimed: Bool
}

/// An invitation link (long token) and short code to join an organisation.
public struct Invitation: Sendable, Equatable, Codable {
    public typealias ID = Tagged<Invitation, UUID>
    public var id: ID
    public var orgID: Organization.ID
    public var code: String
    public var token: String
    public var departmentID: Department.ID?
    public var role: Role
    public var requiresApproval: Bool
    public var expiresAt: Date
    public var maxUses: Int?
    public var uses: Int
    public var createdAt: Date
    public var revokedAt: Date?

    /// Why the invitation cannot be used now, if it cannot.
    func unusableReason(at now: Date) -> AppError? {
        if revokedAt != nil { return AppError(.gone, "invitation_revoked", "This invitation was revoked.") }
        if expiresAt <= now { return AppError(.gone, "invitation_expired", "This invitation has expired.") }
        if let maxUses, uses >= maxUses { return AppError(.gone, "invitation_used_up", "This invitation has been used as often as allowed.") }
        return nil
    }
}

/// A request to join that waits for an admin.
public struct JoinRequest: Sendable, Equatable, Codable {
    public typealias ID = Tagged<JoinRequest, UUID>
    public enum Status: String, Sendable, Codable, CaseIterable { case pending, approved, rejected }
    public var id: ID
    public var orgID: Organization.ID
    public var userID: User.ID
    public var invitationID: Invitation.ID?
    public var name: String
    public var email: String?
    public var phone: String?
    public var status: Status
    public var createdAt: Date
    public var decidedAt: Date?
}
