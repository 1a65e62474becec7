import Foundation
import HTTPTypes
import Hummingbird

/// The operations of `openapi.yaml` by path template, to answer a known path with an unknown
/// method by 405 and an `Allow` header instead of 404.
struct APIRouteTable: Sendable {
    private let routes: [(segments: [Substring], methods: [String])]

    /// Reads the `paths` of an OpenAPI document written as ours is (two-space indentation).
    init(spec: String) {
        var routes: [(segments: [Substring], methods: [String])] = []
        for line in spec.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  /"), line.hasSuffix(":") {
                routes.append((line.dropFirst(2).dropLast().split(separator: "/"), []))
            } else if !routes.isEmpty, let method = ["get", "put", "post", "delete", "patch"].first(where: { line == "    \($0):" }) {
                routes[routes.count - 1].methods.append(method.uppercased())
            }
        }
        self.routes = routes
    }

    /// The methods the API has for `path`, or nil if it has no such path.
    func methods(for path: String) -> [String]? {
        let segments = path.split(separator: "/")
        let found = routes.filter { route in
            route.segments.count == segments.count
                && zip(route.segments, segments).allSatisfy { template, actual in template.hasPrefix("{") || template == actual }
        }
        return found.isEmpty ? nil : found.flatMap(\.methods)
    }
}

/// Turns the router's 404 for a known path into 405 with `Allow`.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    let table: APIRouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            guard let methods = table.methods(for: request.uri.path), !methods.contains(request.method.rawValue) else { throw error }
            var headers = HTTPFields()
            headers[.allow] = methods.joined(separator: ", ")
            throw AppError(.methodNotAllowed, "method_not_allowed", "\(request.method.rawValue) is not allowed here.", headers: headers)
        }
    }
}
