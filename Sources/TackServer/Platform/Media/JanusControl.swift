import AsyncHTTPClient
import Foundation
import NIOCore

/// Where Tack finds its Janus (the WebRTC media server) and the secrets it drives it with. The
/// secrets stay on the server: browsers get a token of their own per class.
public struct JanusSettings: Sendable, Equatable {
    /// The variables, as `scripts/janus` writes them into `endpoints.env` and `secrets.env` (with
    /// `TACK_` before each when set for Tack).
    static let variables = ["JANUS_HTTP_URL", "JANUS_WS_URL", "JANUS_ADMIN_URL", "JANUS_API_SECRET", "JANUS_ADMIN_SECRET",
                            "JANUS_ROOM_ADMIN_KEY", "JANUS_RECORDINGS_DIR"]

    /// From `TACK_JANUS_DIR` (a folder `scripts/janus` started Janus in: its `endpoints.env` and
    /// `secrets.env`), or from the seven `TACK_JANUS_…` variables; nil when neither is set.
    static func from(_ environment: [String: String]) throws -> JanusSettings? {
        var values: [String: String] = [:]
        if let dir = environment["TACK_JANUS_DIR"], !dir.isEmpty {
            for file in ["endpoints.env", "secrets.env"] {
                let path = URL(fileURLWithPath: dir).appendingPathComponent(file).path
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw ConfigurationError("TACK_JANUS_DIR: \(path) cannot be read")
                }
                for line in text.split(separator: "\n") {
                    guard let eq = line.firstIndex(of: "=") else { continue }
                    values[String(line[..<eq])] = String(line[line.index(after: eq)...])
                }
            }
        }
        for name in variables { if let v = environment["TACK_\(name)"], !v.isEmpty { values[name] = v } }
        let given = variables.filter { values[$0] != nil }
        guard !given.isEmpty else { return nil }
        guard given.count == variables.count else {
            throw ConfigurationError("Janus needs all of \(variables.map { "TACK_\($0)" }.joined(separator: ", ")) (or TACK_JANUS_DIR); missing "
                                     + variables.filter { values[$0] == nil }.map { "TACK_\($0)" }.joined(separator: ", "))
        }
        for name in ["JANUS_HTTP_URL", "JANUS_ADMIN_URL"] {
            guard let url = URL(string: values[name]!), ["http", "https"].contains(url.scheme ?? "") else {
                throw ConfigurationError("TACK_\(name) must be an http:// or https:// URL")
            }
        }
        guard let ws = URL(string: values["JANUS_WS_URL"]!), ["ws", "wss"].contains(ws.scheme ?? "") else {
            throw ConfigurationError("TACK_JANUS_WS_URL must be a ws:// or wss:// URL")
        }
        return JanusSettings(httpURL: values["JANUS_HTTP_URL"]!, webSocketURL: values["JANUS_WS_URL"]!, adminURL: values["JANUS_ADMIN_URL"]!,
                             apiSecret: values["JANUS_API_SECRET"]!, adminSecret: values["JANUS_ADMIN_SECRET"]!,
                             roomAdminKey: values["JANUS_ROOM_ADMIN_KEY"]!, recordingsDirectory: values["JANUS_RECORDINGS_DIR"]!)
    }

    /// The Janus API over HTTP, as Tack reaches it (e.g. `http://127.0.0.1:8088/janus`).
    public var httpURL: String
    /// The Janus API over WebSocket, as browsers reach it (e.g. `wss://media.example.org/janus`).
    public var webSocketURL: String
    /// The admin API over HTTP (e.g. `http://127.0.0.1:7088/admin`).
    public var adminURL: String
    public var apiSecret: String
    public var adminSecret: String
    /// The VideoRoom plugin's `admin_key`: only its holder creates rooms.
    public var roomAdminKey: String
    /// Where Janus writes recordings (as Janus sees the path; Tack reads them from the same path).
    public var recordingsDirectory: String

    public init(httpURL: String, webSocketURL: String, adminURL: String, apiSecret: String, adminSecret: String, roomAdminKey: String,
                recordingsDirectory: String) {
        self.httpURL = httpURL
        self.webSocketURL = webSocketURL
        self.adminURL = adminURL
        self.apiSecret = apiSecret
        self.adminSecret = adminSecret
        self.roomAdminKey = roomAdminKey
        self.recordingsDirectory = recordingsDirectory
    }
}

/// Tack's side of Janus: VideoRoom rooms and participants' tokens, through Janus's HTTP API (with
/// the API secret and the rooms' admin key) and its admin API (with the admin secret).
struct JanusControl: Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        /// Janus's error code, when it answered with one.
        var code: Int? = nil
    }

    static let videoRoom = "janus.plugin.videoroom"

    let settings: JanusSettings
    let client: HTTPClient
    var timeout: TimeAmount = .seconds(10)

    /// Creates a recorded room for `publishers` publishers (the teacher and the students who
    /// speak); participants cannot switch its recording off.
    func createRoom(_ room: Int64, secret: String, publishers: Int, description: String, recordingDirectory: String) async throws {
        _ = try await videoRoom([
            "request": "create", "room": room, "admin_key": settings.roomAdminKey, "secret": secret, "description": description,
            "publishers": publishers, "videocodec": "vp8", "audiocodec": "opus", "record": true, "rec_dir": recordingDirectory,
            "lock_record": true, "is_private": true,
        ])
    }

    /// Destroys a room: its participants are sent away and its recording files are closed.
    func destroyRoom(_ room: Int64, secret: String) async throws {
        _ = try await videoRoom(["request": "destroy", "room": room, "secret": secret])
    }

    /// A token that lets one browser use the VideoRoom plugin (and nothing else): a new one, or
    /// `token` again (Janus forgets its tokens when it restarts).
    @discardableResult
    func addToken(_ token: String? = nil) async throws -> String {
        let token = token ?? UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "") + UUID().uuidString.lowercased().prefix(8)
        _ = try await admin(settings.adminURL, ["janus": "add_token", "token": token, "plugins": [Self.videoRoom]])
        return token
    }

    /// Whether Janus has the room (it forgets its rooms when it restarts).
    func roomExists(_ room: Int64) async throws -> Bool {
        try await videoRoom(["request": "exists", "room": room])["exists"] as? Bool ?? false
    }

    func removeToken(_ token: String) async throws {
        _ = try await admin(settings.adminURL, ["janus": "remove_token", "token": token])
    }

    /// Sends a publisher out of a room (its media stops, its slot is free); false if no
    /// participant has that number.
    @discardableResult
    func kick(room: Int64, secret: String, feed: Int64) async throws -> Bool {
        do {
            _ = try await videoRoom(["request": "kick", "room": room, "secret": secret, "id": feed])
            return true
        } catch let failure as Failure where failure.code == Self.noSuchParticipant {
            return false
        }
    }

    /// The token a handle was attached with (admin API `handle_info`); nil if the handle is gone.
    func token(session: Int64, handle: Int64) async throws -> String? {
        let reply: [String: Any]
        do {
            reply = try await admin("\(settings.adminURL)/\(session)/\(handle)", ["janus": "handle_info"])
        } catch let failure as Failure where failure.code == Self.noSuchSession || failure.code == Self.noSuchHandle {
            return nil
        }
        return (reply["info"] as? [String: Any])?["token"] as? String
    }

    /// Ends every Janus session that has a handle attached with `token`: its peer connections
    /// close at once (revoking a token only stops new requests). Returns how many ended.
    @discardableResult
    func endSessions(token: String) async throws -> Int {
        let sessions = try await admin(settings.adminURL, ["janus": "list_sessions"])["sessions"] as? [Any] ?? []
        var ended = 0
        for session in sessions.compactMap(Self.int64) {
            let handles: [Int64]
            do {
                handles = (try await admin("\(settings.adminURL)/\(session)", ["janus": "list_handles"])["handles"] as? [Any] ?? []).compactMap(Self.int64)
            } catch let failure as Failure where failure.code == Self.noSuchSession {
                continue
            }
            for handle in handles where try await self.token(session: session, handle: handle) == token {
                do {
                    _ = try await admin("\(settings.adminURL)/\(session)", ["janus": "destroy_session"])
                    ended += 1
                } catch let failure as Failure where failure.code == Self.noSuchSession {}
                break
            }
        }
        return ended
    }

    /// Janus's error codes that mean "already gone".
    static let noSuchSession = 458, noSuchHandle = 459, noSuchParticipant = 428, roomAlreadyExists = 427

    /// One synchronous VideoRoom request on a short-lived session; returns the plugin's answer.
    func videoRoom(_ body: [String: any Sendable]) async throws -> [String: Any] {
        let created = try await api(settings.httpURL, ["janus": "create"])
        guard let session = Self.id(created["data"]) else {
            throw Failure(description: "Janus created no session: \(created)")
        }
        do {
            let attached = try await api("\(settings.httpURL)/\(session)", ["janus": "attach", "plugin": Self.videoRoom])
            guard let handle = Self.id(attached["data"]) else { throw Failure(description: "Janus attached no handle: \(attached)") }
            let reply = try await api("\(settings.httpURL)/\(session)/\(handle)", ["janus": "message", "body": body])
            _ = try? await api("\(settings.httpURL)/\(session)", ["janus": "destroy"])
            guard let data = (reply["plugindata"] as? [String: Any])?["data"] as? [String: Any] else {
                throw Failure(description: "Janus answered without plugin data: \(reply)")
            }
            if let error = data["error"] {
                throw Failure(description: "VideoRoom: \(error) (\(data["error_code"] ?? ""))", code: data["error_code"].flatMap(Self.int64).map(Int.init))
            }
            return data
        } catch {
            _ = try? await api("\(settings.httpURL)/\(session)", ["janus": "destroy"])
            throw error
        }
    }

    private static func id(_ data: Any?) -> Int64? {
        (data as? [String: Any])?["id"].flatMap(int64)
    }

    static func int64(_ value: Any) -> Int64? {
        value as? Int64 ?? (value as? Int).map(Int64.init) ?? (value as? NSNumber)?.int64Value
    }

    private func admin(_ url: String, _ body: [String: any Sendable]) async throws -> [String: Any] {
        var body = body
        body["admin_secret"] = settings.adminSecret
        return try await call(url, body)
    }

    private func api(_ url: String, _ body: [String: any Sendable]) async throws -> [String: Any] {
        var body = body
        body["apisecret"] = settings.apiSecret
        return try await call(url, body)
    }

    /// POSTs one JSON request with a fresh transaction id; a Janus error is thrown.
    private func call(_ url: String, _ body: [String: any Sendable]) async throws -> [String: Any] {
        var body = body
        body["transaction"] = UUID().uuidString
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: timeout)
        } catch {
            throw Failure(description: "Janus did not answer at \(url): \(error)")
        }
        let bytes = try await response.body.collect(upTo: 1 << 20)
        guard response.status.code == 200,
              let reply = try JSONSerialization.jsonObject(with: Data(buffer: bytes)) as? [String: Any] else {
            throw Failure(description: "Janus answered \(response.status.code) at \(url)")
        }
        if reply["janus"] as? String == "error" {
            let error = reply["error"] as? [String: Any]
            throw Failure(description: "Janus: \(error?["reason"] ?? reply)", code: error?["code"].flatMap(Self.int64).map(Int.init))
        }
        return reply
    }
}
