// swift-tools-version:6.2
// A bare Hummingbird 2 WebSocket server speaking just enough of Tack's /api/v1/events protocol
// (hello, resume → resumed, pings) for bench/ws_idle_client.py, to see how much of the memory per
// idle connection is Hummingbird/NIO's and how much Tack's. No auth, no database.
import PackageDescription

let package = Package(
    name: "ws-baseline",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
    ],
    targets: [
        .executableTarget(
            name: "ws-baseline",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            ]
        ),
    ]
)
