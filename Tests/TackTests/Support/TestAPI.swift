import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
@testable import TackServer

/// A JSON value read from a response, with forgiving subscripts for assertions.
enum JSON: Sendable, Equatable, CustomStringConvertible, Decodable {
    case null, bool(Bool), number(Double), string(String), array([JSON]), object([String: JSON])

    init(parsing data: Data) throws {
        self = try JSONDecoder().decode(JSON.self, from: data)
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSON].self)) }
    }

    subscript(key: String) -> JSON { if case .object(let o) = self { o[key] ?? .null } else { .null } }
    subscript(index: Int) -> JSON { if case .array(let a) = self, a.indices.contains(index) { a[index] } else { .null } }
    var string: String? { if case .string(let s) = self { s } else { nil } }
    var int: Int? { if case .number(let n) = self { Int(n) } else { nil } }
    var double: Double? { if case .number(let n) = self { n } else { nil } }
    var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    var array: [JSON] { if case .array(let a) = self { a } else { [] } }
    var isNull: Bool { self == .null }
    var description: String {
        switch self {
        case .null: "null"
        case .bool(let b): "\(b)"
        case .number(let n): "\(n)"
        case .string(let s): "\"\(s)\""
        case .array(let a): "[\(a.map(\.description).joined(separator: ","))]"
        case .object(let o): "{\(o.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ","))}"
        }
    }
}

/// A response as tests see it.
struct Reply: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var text: String
    var json: JSON { (try? JSON(parsing: Data(text.utf8))) ?? .null }
    /// The problem's `code`, for error responses.
    var code: String? { json["code"].string }
}

/// A person signed up through the API, calling with their bearer token.
struct Person: Sendable {
    var token: String
    var userID: String
    var login: String
    var name: String
}

/// An HTTP client for the running application with helpers for the common steps.
struct API: Sendable {
    let client: any TestClientProtocol
    let parts: TackServerParts
    let configuration: TackConfiguration

    func call(_ method: HTTPRequest.Method, _ path: String, as person: Person? = nil, json: String? = nil,
              body: String? = nil, headers: HTTPFields = [:]) async throws -> Reply {
        var headers = headers
        if let person { headers[.authorization] = "Bearer \(person.token)" }
        var buffer: ByteBuffer?
        if let json {
            headers[.contentType] = "application/json"
            buffer = ByteBuffer(string: json)
        } else if let body {
            buffer = ByteBuffer(string: body)
        }
        return try await client.execute(uri: path, method: method, headers: headers, body: buffer) { response in
            Reply(status: response.status, headers: response.headers, text: String(buffer: response.body))
        }
    }

    /// Encodes a dictionary literal as JSON text.
    static func body(_ object: [String: Any?]) -> String {
        let data = try! JSONSerialization.data(withJSONObject: object.compactMapValues { $0 }, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    func signUp(_ name: String = "Person", login: String? = nil) async throws -> Person {
        let login = login ?? "\(UUID().uuidString.prefix(8).lowercased())@example.com"
        let reply = try await call(.post, "/api/v1/auth/signup", json: API.body(["name": name, "login": login, "password": "correct horse", "mode": "token"]))
        #expect(reply.status == .created, "sign-up failed: \(reply.text)")
        return Person(token: reply.json["token"].string ?? "", userID: reply.json["user"]["id"].string ?? "", login: login, name: name)
    }

    struct Org: Sendable {
        var id: String
        var rootDepartmentID: String
        var ownerMemberID: String
    }

    func createOrg(_ owner: Person, name: String = "Acme", kind: String = "company") async throws -> Org {
        let reply = try await call(.post, "/api/v1/orgs", as: owner, json: API.body(["name": name, "kind": kind]))
        #expect(reply.status == .created, "create organisation failed: \(reply.text)")
        return Org(id: reply.json["organization"]["id"].string ?? "", rootDepartmentID: reply.json["member"]["departmentIds"][0].string ?? "",
                   ownerMemberID: reply.json["member"]["id"].string ?? "")
    }

    /// Adds `person` to `org` through an invitation the owner creates; returns their member id.
    func join(_ person: Person, _ org: Org, owner: Person, role: String = "member") async throws -> String {
        let invitation = try await call(.post, "/api/v1/orgs/\(org.id)/invitations", as: owner, json: API.body(["role": role]))
        #expect(invitation.status == .created, "\(invitation.text)")
        let accepted = try await call(.post, "/api/v1/invitations/\(invitation.json["code"].string ?? "")/accept", as: person)
        #expect(accepted.json["status"].string == "joined", "\(accepted.text)")
        return accepted.json["member"]["id"].string ?? ""
    }

    func createDepartment(_ org: Org, as person: Person, name: String, parent: String? = nil, kind: String = "department") async throws -> String {
        let reply = try await call(.post, "/api/v1/orgs/\(org.id)/departments", as: person,
                                   json: API.body(["name": name, "parentId": parent ?? org.rootDepartmentID, "kind": kind]))
        #expect(reply.status == .created, "\(reply.text)")
        return reply.json["id"].string ?? ""
    }

    func memberCount(_ org: Org, as person: Person) async throws -> Int {
        try await call(.get, "/api/v1/orgs/\(org.id)", as: person).json["memberCount"].int ?? -1
    }
}

/// Runs `body` against a full application on a scratch database, in-process (`.router`) or on a
/// real socket (`.live`, needed for WebSockets).
func withAPI(
    _ engine: Engine, mode: TestingSetup = .router, clock: WallClock = .live,
    configure: @escaping (inout TackConfiguration) -> Void = { _ in },
    _ body: @escaping @Sendable (API) async throws -> Void
) async throws {
    let scratch = try await ScratchDatabase.make(engine)
    var configured = scratch.configuration
    configure(&configured)
    let configuration = configured
    do {
        // The application runs the database's services and the migrations itself.
        let parts = try buildParts(configuration, clock: clock, logger: ScratchDatabase.logger)
        let app = try buildApplication(configuration, parts: parts, logger: ScratchDatabase.logger)
        try await app.test(mode) { client in
            try await body(API(client: client, parts: parts, configuration: configuration))
        }
    } catch {
        await scratch.drop()
        throw error
    }
    await scratch.drop()
}
