import Foundation
import OpenAPIRuntime
import HTTPTypes
import TackAPI

/// Live classes over HTTP.
extension APIHandler {
    func listLiveClasses(_ input: Operations.ListLiveClasses.Input) async throws -> Operations.ListLiveClasses.Output {
        let orgID: Organization.ID = try parseID(input.path.orgId, "orgId")
        let classes = try await live.list(try identity(), orgID, groupID: try parseID(input.query.groupId, "groupId"))
        return .ok(.init(body: .json(.init(items: classes.map(\.api)))))
    }

    func createLiveClass(_ input: Operations.CreateLiveClass.Input) async throws -> Operations.CreateLiveClass.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let draft = LiveService.Draft(title: body.title, groupIDs: try body.groupIds.map { try parseID($0, "groupIds") }, scheduledAt: body.scheduledAt,
                                      startNow: body.startNow ?? false, maxSpeakers: body.maxSpeakers)
        let created = try await live.create(try identity(), try parseID(input.path.orgId, "orgId"), draft, idempotencyKey: input.headers.idempotencyKey)
        return .created(.init(body: .json(created.api)))
    }

    func getLiveClass(_ input: Operations.GetLiveClass.Input) async throws -> Operations.GetLiveClass.Output {
        .ok(.init(body: .json(try await live.view(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.liveClassId, "liveClassId")).api)))
    }

    func transitionLiveClass(_ input: Operations.TransitionLiveClass.Input) async throws -> Operations.TransitionLiveClass.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let transition: LiveClass.Transition = switch body.action {
        case .start: .start
        case .end: .end
        case .cancel: .cancel
        }
        let result = try await live.transition(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.liveClassId, "liveClassId"), transition)
        return .ok(.init(body: .json(result.api)))
    }

    func setLiveControls(_ input: Operations.SetLiveControls.Input) async throws -> Operations.SetLiveControls.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let result = try await live.setControls(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.liveClassId, "liveClassId"),
                                                locked: body.locked, paused: body.paused)
        return .ok(.init(body: .json(result.api)))
    }

    func removeLiveParticipant(_ input: Operations.RemoveLiveParticipant.Input) async throws -> Operations.RemoveLiveParticipant.Output {
        try await live.remove(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.liveClassId, "liveClassId"),
                              userID: try parseID(input.path.userId, "userId"))
        return .noContent(.init())
    }

    func listLiveHands(_ input: Operations.ListLiveHands.Input) async throws -> Operations.ListLiveHands.Output {
        .ok(.init(body: .json(.init(items: try await live.hands(try identity(), try parseID(input.path.orgId, "orgId"),
                                                              try parseID(input.path.liveClassId, "liveClassId")).map(\.api)))))
    }

    func raiseLiveHand(_ input: Operations.RaiseLiveHand.Input) async throws -> Operations.RaiseLiveHand.Output {
        .ok(.init(body: .json(.init(items: try await live.raiseHand(try identity(), try parseID(input.path.orgId, "orgId"),
                                                                  try parseID(input.path.liveClassId, "liveClassId")).map(\.api)))))
    }

    func lowerLiveHand(_ input: Operations.LowerLiveHand.Input) async throws -> Operations.LowerLiveHand.Output {
        .ok(.init(body: .json(.init(items: try await live.lowerHand(try identity(), try parseID(input.path.orgId, "orgId"),
                                                                  try parseID(input.path.liveClassId, "liveClassId")).map(\.api)))))
    }

    func acceptLiveSpeaker(_ input: Operations.AcceptLiveSpeaker.Input) async throws -> Operations.AcceptLiveSpeaker.Output {
        .ok(.init(body: .json(.init(items: try await live.setSpeaker(try identity(), try parseID(input.path.orgId, "orgId"),
                                                                   try parseID(input.path.liveClassId, "liveClassId"),
                                                                   userID: try parseID(input.path.userId, "userId"), speaking: true).map(\.api)))))
    }

    func endLiveSpeaker(_ input: Operations.EndLiveSpeaker.Input) async throws -> Operations.EndLiveSpeaker.Output {
        .ok(.init(body: .json(.init(items: try await live.setSpeaker(try identity(), try parseID(input.path.orgId, "orgId"),
                                                                   try parseID(input.path.liveClassId, "liveClassId"),
                                                                   userID: try parseID(input.path.userId, "userId"), speaking: false).map(\.api)))))
    }

    func muteAllLiveSpeakers(_ input: Operations.MuteAllLiveSpeakers.Input) async throws -> Operations.MuteAllLiveSpeakers.Output {
        .ok(.init(body: .json(.init(items: try await live.muteAll(try identity(), try parseID(input.path.orgId, "orgId"),
                                                                try parseID(input.path.liveClassId, "liveClassId")).map(\.api)))))
    }

    func openLiveVideo(_ input: Operations.OpenLiveVideo.Input) async throws -> Operations.OpenLiveVideo.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let (view, media) = try await live.open(try identity(), try parseID(input.path.orgId, "orgId"),
                                                try parseID(input.path.liveClassId, "liveClassId"), mode: WatchMode(body.mode))
        return .ok(.init(body: .json(.init(liveClass: view.api, media: media.map {
            .init(url: $0.url, room: $0.room, token: $0.token, teacherFeed: $0.teacherFeed, publish: $0.publish, feed: $0.feed)
        }))))
    }

    func setLiveOnAir(_ input: Operations.SetLiveOnAir.Input) async throws -> Operations.SetLiveOnAir.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let result = try await live.setOnAir(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.liveClassId, "liveClassId"),
                                             onAir: body.onAir)
        return .ok(.init(body: .json(result.api)))
    }

    func sendLiveHeartbeat(_ input: Operations.SendLiveHeartbeat.Input) async throws -> Operations.SendLiveHeartbeat.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let mode = WatchMode(body.mode)
        let seconds = try await live.heartbeat(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.liveClassId, "liveClassId"),
                                               mode: mode)
        return .ok(.init(body: .json(.init(mode: .init(rawValue: mode.rawValue)!, seconds: seconds))))
    }

    func getLiveStatistics(_ input: Operations.GetLiveStatistics.Input) async throws -> Operations.GetLiveStatistics.Output {
        let (c, rows) = try await live.statistics(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.liveClassId, "liveClassId"))
        return .ok(.init(body: .json(.init(liveClassId: c.id.string, items: rows.map { row in
            .init(person: row.person.api, watched: .init(rawValue: row.watched.rawValue)!, liveSeconds: row.liveSeconds,
                  replaySeconds: row.replaySeconds, minutes: row.minutes)
        }))))
    }
}

extension APIHandler {
    func exportLiveStatistics(_ input: Operations.ExportLiveStatistics.Input) async throws -> Operations.ExportLiveStatistics.Output {
        let (c, rows) = try await live.statistics(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.liveClassId, "liveClassId"))
        let xlsx = input.query.format == .xlsx
        let file = Self.download(LiveService.exportTable(c, rows), xlsx: xlsx)
        return .ok(.init(body: xlsx ? .applicationVnd_openxmlformatsOfficedocument_spreadsheetml_sheet(file) : .csv(file)))
    }
}

private extension WatchMode {
    init(_ mode: Components.Schemas.LiveWatch.ModePayload) {
        self = mode == .live ? .live : .replay
    }
}

extension APIHandler {
    /// The replay, streamed from disk: the whole file, or the one byte range asked for.
    func getLiveReplay(_ input: Operations.GetLiveReplay.Input) async throws -> Operations.GetLiveReplay.Output {
        let (c, file) = try await live.replay(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.liveClassId, "liveClassId"))
        guard let size = FileChunks.size(of: file.path) else {
            throw AppError.notFound("Replay")
        }
        Self.setDownloadHeaders(name: "\(c.title).webm", inline: true)
        let headers = RequestScope.current.responseHeaders
        switch ByteRange(header: input.headers.range, size: size) {
        case .whole:
            let body = HTTPBody(FileChunks(path: file.path, range: 0...max(0, size - 1)), length: .known(size), iterationBehavior: .multiple)
            return .ok(.init(headers: .init(acceptRanges: .bytes), body: .videoWebm(size == 0 ? HTTPBody() : body)))
        case .part(let range):
            // Set here, not through the generated headers: the runtime percent-encodes values.
            headers.set(.contentRange, "bytes \(range.lowerBound)-\(range.upperBound)/\(size)")
            let body = HTTPBody(FileChunks(path: file.path, range: range), length: .known(Int64(range.count)), iterationBehavior: .multiple)
            return .partialContent(.init(headers: .init(acceptRanges: .bytes), body: .videoWebm(body)))
        case .unsatisfiable:
            var fields = HTTPFields()
            fields[.contentRange] = "bytes */\(size)"
            throw AppError(.rangeNotSatisfiable, "range_not_satisfiable", "The replay has \(size) bytes: ask for a range within them.", headers: fields)
        }
    }
}

/// Janus's events (its HTTP event handler): see `LiveService.check(_:)`.
extension APIHandler {
    func receiveJanusEvents(_ input: Operations.ReceiveJanusEvents.Input) async throws -> Operations.ReceiveJanusEvents.Output {
        guard let media = live.media else {
            throw AppError(.notFound, "media_not_configured", "No media server is configured on this server.")
        }
        guard let credentials = RequestScope.current.basicCredentials,
              Secrets.constantTimeEqual(credentials, "janus:\(media.settings.apiSecret)") else {
            throw AppError(.unauthorized, "invalid_credentials", "Janus signs its events with user janus and its API secret.")
        }
        guard let raw = RawBody.current, let events = try? JSONSerialization.jsonObject(with: Data(buffer: raw)) as? [Any] else {
            throw AppError.badRequest("invalid_body", "Send the events as a JSON array.")
        }
        await live.check(events.compactMap(Self.publisher))
        return .noContent(.init())
    }

    /// A VideoRoom event about a publisher (it joined, or its media started), or nil.
    static func publisher(_ event: Any) -> LiveService.Publisher? {
        guard let event = event as? [String: Any], event["type"].flatMap(JanusControl.int64) == 64,
              let body = event["event"] as? [String: Any], body["plugin"] as? String == JanusControl.videoRoom,
              let data = body["data"] as? [String: Any], ["joined", "published"].contains(data["event"] as? String),
              let room = data["room"].flatMap(JanusControl.int64), let feed = data["id"].flatMap(JanusControl.int64),
              let session = event["session_id"].flatMap(JanusControl.int64), let handle = event["handle_id"].flatMap(JanusControl.int64)
        else { return nil }
        return LiveService.Publisher(room: room, feed: feed, session: session, handle: handle)
    }
}
