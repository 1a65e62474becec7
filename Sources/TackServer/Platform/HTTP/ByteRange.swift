import Foundation

/// What a `Range` request header asks of a file of `size` bytes (RFC 9110 §14): the whole file,
/// one range of it, or nothing that can be served.
///
/// One `bytes` range is served (`a-b`, `a-`, `-n`); several ranges, or another unit, are answered
/// with the whole file, as the RFC allows. A malformed byte range, or one that starts at or past
/// the end, cannot be served (416).
enum ByteRange: Equatable, Sendable {
    case whole
    case part(ClosedRange<Int64>)
    case unsatisfiable

    init(header: String?, size: Int64) {
        guard let header = header?.trimmingCharacters(in: .whitespaces), !header.isEmpty else { self = .whole; return }
        let lowered = header.lowercased()
        guard lowered.hasPrefix("bytes=") else { self = .whole; return }
        let spec = lowered.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(",") else { self = .whole; return }
        guard let dash = spec.firstIndex(of: "-") else { self = .unsatisfiable; return }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces), last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        let digits = { (s: String) in !s.isEmpty && s.count <= 18 && s.allSatisfy(\.isASCII) && s.allSatisfy(\.isNumber) }
        if first.isEmpty {
            // The last n bytes.
            guard digits(last), let n = Int64(last), n > 0, size > 0 else { self = .unsatisfiable; return }
            self = .part(max(0, size - n)...(size - 1))
            return
        }
        guard digits(first), let start = Int64(first), last.isEmpty || digits(last) else { self = .unsatisfiable; return }
        guard start < size else { self = .unsatisfiable; return }
        if last.isEmpty {
            self = .part(start...(size - 1))
            return
        }
        guard let end = Int64(last), end >= start else { self = .unsatisfiable; return }
        self = .part(start...min(end, size - 1))
    }
}
