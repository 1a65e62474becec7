// swift-tools-version:6.2
// SQLite driver comparison for Tack: sqlite-kit, GRDB and Tack's own adapter (`SQLiteDriver`),
// on the message-store workload of shared/STORAGE.md. Build and run with `./run` (release,
// `-enable-testing` so that `@testable import TackServer` reaches the internal `SQLiteDriver`).
import PackageDescription

let package = Package(
    name: "sqlite-drivers",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "tack", path: "../.."),
        .package(url: "https://github.com/vapor/sqlite-kit.git", exact: "4.5.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/async-kit.git", from: "1.22.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "sqlite-drivers",
            dependencies: [
                .product(name: "TackServer", package: "tack"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "AsyncKit", package: "async-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ]
)
