import Foundation

/// A converted replay: its size and length.
public struct ReplayFile: Sendable, Equatable {
    public var bytes: Int64
    public var seconds: Double
}

/// Turns a class's recording folder into its replay: a dependency with a live value (Janus's
/// `janus-pp-rec` and `ffmpeg`) and fakes in tests.
struct ReplayConverter: Sendable {
    /// Converts the `.mjr` recordings in `recordings` into one WebM at `output`, which appears
    /// whole or not at all (it is written beside it and renamed into place). Returns nil, and
    /// writes nothing, when the folder holds no recording with media (no folder, nobody
    /// published). `teacherFeed` is the feed whose video is the picture (the class's teacher's).
    var convert: @Sendable (_ recordings: URL, _ output: URL, _ teacherFeed: String?) async throws -> ReplayFile?

    /// The real conversion, with the tools found on `PATH`.
    static let live = ReplayConverter { recordings, output, teacherFeed in
        try await JanusRecordingConverter(teacherFeed: teacherFeed).convert(recordings, to: output)
    }
}

/// Makes one WebM (VP8/VP9 video, Opus audio) of everything Janus recorded in a class's room:
/// the teacher's picture, and every voice — the teacher's and each student's who spoke — mixed,
/// each placed on one timeline by the time of its first packet.
///
/// Janus writes one `.mjr` per publisher and medium (`videoroom-<room>-user-<feed>-<time>-audio-0.mjr`,
/// `…-video-1.mjr`), and a new one each time someone publishes again. Each file's header (`janus-pp-rec
/// -j`) says its kind, its codec and `u`, when its first packet was written (µs since the epoch);
/// a file with no packet has no `u` and is left out. The picture is the teacher's feed (the
/// class's `teacherFeed`), or, without it or in recordings not made by Tack, the first feed that
/// sent video.
///
/// One video file (the usual case) is copied as it is, shifted to its start; several (the
/// teacher published again after a reload) are re-encoded onto one black canvas. Audio is
/// always re-encoded: mixing needs it, and Opus is cheap.
struct JanusRecordingConverter: Sendable {
    var janusPPRec = "janus-pp-rec"
    var ffmpeg = "ffmpeg"
    var ffprobe = "ffprobe"
    /// The feed the teacher published as.
    var teacherFeed: String? = nil

    /// One `.mjr` file as its header describes it.
    struct Track: Sendable, Equatable {
        enum Kind: String, Sendable { case audio = "a", video = "v" }
        var file: URL
        var kind: Kind
        var codec: String
        /// The publisher's feed id, from the file's name (nil if it does not follow Janus's naming).
        var feed: String?
        /// When its first packet was written, µs since the epoch.
        var start: Int64
    }

    /// The publisher's feed in a VideoRoom recording's file name.
    static func feed(inFileName name: String) -> String? {
        guard let range = name.range(of: "-user-") else { return nil }
        let rest = name[range.upperBound...]
        let feed = rest.prefix { $0 != "-" }
        return feed.isEmpty ? nil : String(feed)
    }

    /// Which tracks make the replay: the picture's video files, in order, and every audio file.
    static func choose(_ tracks: [Track], teacherFeed: String?) -> (video: [Track], audio: [Track]) {
        let videos = tracks.filter { $0.kind == .video }.sorted { $0.start < $1.start }
        let feed = videos.contains { $0.feed == teacherFeed } ? teacherFeed : videos.first?.feed
        let picture = videos.filter { $0.feed == feed }
        return (picture, tracks.filter { $0.kind == .audio }.sorted { $0.start < $1.start })
    }

    func header(_ file: URL) async throws -> Track? {
        let text = try await ChildProcess(janusPPRec, ["-j", file.path], timeout: 60).output()
        // janus-pp-rec prints the JSON header on a line of its own.
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("{") }),
              let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let kind = (json["t"] as? String).flatMap(Track.Kind.init(rawValue:)),
              let start = Self.integer(json["u"]), start > 0 else { return nil }
        return Track(file: file, kind: kind, codec: (json["c"] as? String ?? "").lowercased(), feed: Self.feed(inFileName: file.lastPathComponent),
                     start: start)
    }

    func convert(_ recordings: URL, to output: URL) async throws -> ReplayFile? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: recordings.path)) ?? []
        var tracks: [Track] = []
        for name in names.sorted() where name.hasSuffix(".mjr") {
            if let track = try await header(recordings.appendingPathComponent(name)) { tracks.append(track) }
        }
        let (video, audio) = Self.choose(tracks, teacherFeed: teacherFeed)
        guard !video.isEmpty || !audio.isEmpty else { return nil }

        let folder = output.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let work = folder.appendingPathComponent(".work-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }

        // Each recording as a file ffmpeg reads: VP8/VP9 as WebM, Opus as Ogg, others as Matroska/WAV.
        var inputs: [(file: URL, track: Track)] = []
        for (index, track) in (video + audio).enumerated() {
            let ext = switch (track.kind, track.codec) {
            case (.video, "vp8"), (.video, "vp9"): "webm"
            case (.video, _): "mkv"
            case (.audio, "opus"): "opus"
            case (.audio, _): "wav"
            }
            let file = work.appendingPathComponent("\(index).\(ext)")
            _ = try await ChildProcess(janusPPRec, [track.file.path, file.path]).output()
            inputs.append((file, track))
        }
        let t0 = inputs.map(\.track.start).min()!
        func offset(_ track: Track) -> Double { Double(track.start - t0) / 1_000_000 }

        var arguments = ["-v", "error", "-nostdin", "-y"]
        var filters: [String] = []
        var maps: [String] = []
        let pictures = inputs.filter { $0.track.kind == .video }
        let voices = inputs.filter { $0.track.kind == .audio }
        let copyVideo = pictures.count == 1 && ["vp8", "vp9"].contains(pictures[0].track.codec)
        if copyVideo {
            arguments += ["-itsoffset", Self.seconds(offset(pictures[0].track)), "-i", pictures[0].file.path]
            maps += ["-map", "0:v", "-c:v", "copy"]
        } else if !pictures.isEmpty {
            // A black canvas as long as the whole recording, each video file laid on it at its time.
            var end = 0.0
            for input in pictures + voices {
                let length = try await duration(input.file)
                end = max(end, offset(input.track) + length)
            }
            arguments += ["-f", "lavfi", "-i", "color=c=black:s=1280x720:r=25:d=\(Self.seconds(end))"]
            var base = "[0:v]"
            for (index, picture) in pictures.enumerated() {
                arguments += ["-i", picture.file.path]
                let input = index + 1
                filters.append("[\(input):v]scale=1280:720:force_original_aspect_ratio=decrease,pad=1280:720:(ow-iw)/2:(oh-ih)/2,"
                               + "setpts=PTS-STARTPTS+\(Self.seconds(offset(picture.track)))/TB[p\(input)]")
                filters.append("\(base)[p\(input)]overlay=eof_action=pass[v\(input)]")
                base = "[v\(input)]"
            }
            maps += ["-map", base, "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1M"]
        }
        if !voices.isEmpty {
            let first = arguments.filter { $0 == "-i" }.count
            var mixed: [String] = []
            for (index, voice) in voices.enumerated() {
                arguments += ["-i", voice.file.path]
                let delay = Int((offset(voice.track) * 1000).rounded())
                filters.append("[\(first + index):a]aresample=48000,adelay=\(delay):all=1[a\(index)]")
                mixed.append("[a\(index)]")
            }
            if voices.count == 1 {
                filters.append("[a0]anull[aout]")
            } else {
                filters.append("\(mixed.joined())amix=inputs=\(voices.count):duration=longest:dropout_transition=0:normalize=0[aout]")
            }
            maps += ["-map", "[aout]", "-c:a", "libopus", "-b:a", "64k"]
        }
        if !filters.isEmpty { arguments += ["-filter_complex", filters.joined(separator: ";")] }
        let temporary = folder.appendingPathComponent(".\(output.lastPathComponent).\(UUID().uuidString).tmp")
        defer { unlink(temporary.path) }
        arguments += maps + ["-f", "webm", temporary.path]
        _ = try await ChildProcess(ffmpeg, arguments).output()

        let seconds = try await duration(temporary)
        let bytes = FileChunks.size(of: temporary.path) ?? 0
        let fd = open(temporary.path, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
        guard rename(temporary.path, output.path) == 0 else {
            throw ChildProcess.Failure(description: "cannot move the replay into place at \(output.path): \(String(cString: strerror(errno)))")
        }
        let dir = open(folder.path, O_RDONLY)
        if dir >= 0 { fsync(dir); close(dir) }
        return ReplayFile(bytes: bytes, seconds: seconds)
    }

    /// Seconds with three decimals, as ffmpeg's options take them.
    static func seconds(_ value: Double) -> String { String(format: "%.3f", value) }

    /// A JSON number as `JSONSerialization` gives it on this platform.
    static func integer(_ value: Any?) -> Int64? {
        switch value {
        case let v as Int: Int64(v)
        case let v as Int64: v
        case let v as Double: Int64(v)
        case let v as NSNumber: v.int64Value
        default: nil
        }
    }

    /// A media file's length in seconds, as ffprobe reads it.
    func duration(_ file: URL) async throws -> Double {
        let text = try await ChildProcess(ffprobe, ["-v", "error", "-show_entries", "format=duration", "-of", "default=noprint_wrappers=1:nokey=1", file.path],
                                          timeout: 120).output()
        guard let seconds = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ChildProcess.Failure(description: "ffprobe gave no duration for \(file.lastPathComponent): \(text.prefix(200))")
        }
        return seconds
    }
}
