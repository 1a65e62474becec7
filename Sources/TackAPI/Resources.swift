import Foundation

/// Files of the API contract.
public enum TackAPIResources {
    /// `openapi.yaml`, the source of truth of the HTTP API, served at `/openapi.yaml`.
    public static var specURL: URL? { Bundle.module.url(forResource: "openapi", withExtension: "yaml") }
}
