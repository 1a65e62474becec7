import Crypto
import Foundation

/// Files kept on disk under one folder (attachments), written so that a file the server has
/// acknowledged survives a crash: into a temporary file, flushed to disk, then renamed.
struct FileStore: Sendable {
    let root: URL

    init(root: String) { self.root = URL(fileURLWithPath: root, isDirectory: true) }

    /// Where a file lives: `<root>/<namespace>/<first two characters>/<name>`.
    func url(namespace: String, name: String) -> URL {
        root.appendingPathComponent(namespace, isDirectory: true)
            .appendingPathComponent(String(name.prefix(2)), isDirectory: true)
            .appendingPathComponent(name)
    }

    /// Writes `data` durably under its SHA-256 (hex), which it returns; the same content is
    /// stored once.
    func write(_ data: [UInt8], namespace: String) throws -> String {
        let name = Secrets.hex(SHA256.hash(data: data))
        let target = url(namespace: namespace, name: name)
        if FileManager.default.fileExists(atPath: target.path) { return name }
        let folder = target.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let temporary = folder.appendingPathComponent(".\(name).\(UUID().uuidString).tmp")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o640)
        guard fd >= 0 else { throw FileStoreError("cannot create \(temporary.path): \(errno)") }
        var written = 0
        let ok = data.withUnsafeBytes { buffer -> Bool in
            while written < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + written, buffer.count - written)
                if n <= 0 { return false }
                written += n
            }
            return fsync(fd) == 0
        }
        close(fd)
        guard ok else {
            unlink(temporary.path)
            throw FileStoreError("cannot write \(temporary.path)")
        }
        guard rename(temporary.path, target.path) == 0 else {
            unlink(temporary.path)
            throw FileStoreError("cannot move \(temporary.path) into place")
        }
        // Make the rename itself durable.
        let dir = open(folder.path, O_RDONLY)
        if dir >= 0 { fsync(dir); close(dir) }
        return name
    }

    func read(namespace: String, name: String) throws -> Data {
        try Data(contentsOf: url(namespace: namespace, name: name))
    }

    func delete(namespace: String, name: String) {
        try? FileManager.default.removeItem(at: url(namespace: namespace, name: name))
    }
}

struct FileStoreError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What a file is, from its first bytes — never from its name or the type a client claims.
enum ContentSniffer {
    struct Sniffed: Equatable {
        var contentType: String
        var width: Int?
        var height: Int?
    }

    static func sniff(_ bytes: [UInt8]) -> Sniffed {
        func starts(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + prefix.count && Array(bytes[offset..<(offset + prefix.count)]) == prefix
        }
        func be16(_ i: Int) -> Int { Int(bytes[i]) << 8 | Int(bytes[i + 1]) }
        func be32(_ i: Int) -> Int { Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]) }
        func le16(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 }
        func le24(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16 }

        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            let size = bytes.count >= 24 ? (be32(16), be32(20)) : (0, 0)
            return Sniffed(contentType: "image/png", width: size.0, height: size.1)
        }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) {
            return Sniffed(contentType: "image/gif", width: bytes.count >= 10 ? le16(6) : nil, height: bytes.count >= 10 ? le16(8) : nil)
        }
        if starts([0xFF, 0xD8, 0xFF]) {
            // Walk the segments to the first start-of-frame for the dimensions.
            var i = 2
            var size: (Int, Int)?
            while i + 9 < bytes.count, bytes[i] == 0xFF {
                let marker = bytes[i + 1]
                let length = be16(i + 2)
                if (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker) {
                    size = (be16(i + 7), be16(i + 5))
                    break
                }
                i += 2 + length
            }
            return Sniffed(contentType: "image/jpeg", width: size?.0, height: size?.1)
        }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) {
            var size: (Int, Int)?
            if starts(Array("VP8X".utf8), at: 12), bytes.count >= 30 { size = (le24(24) + 1, le24(27) + 1) }
            else if starts(Array("VP8L".utf8), at: 12), bytes.count >= 25 {
                let b = (Int(bytes[21]), Int(bytes[22]), Int(bytes[23]), Int(bytes[24]))
                size = (1 + (b.0 | (b.1 & 0x3F) << 8), 1 + ((b.1 >> 6) | b.2 << 2 | (b.3 & 0x0F) << 10))
            } else if starts(Array("VP8 ".utf8), at: 12), bytes.count >= 30 { size = (le16(26) & 0x3FFF, le16(28) & 0x3FFF) }
            return Sniffed(contentType: "image/webp", width: size?.0, height: size?.1)
        }
        if starts(Array("%PDF-".utf8)) { return Sniffed(contentType: "application/pdf") }
        if starts([0x50, 0x4B, 0x03, 0x04]) { return Sniffed(contentType: "application/zip") }
        if looksLikeText(bytes) { return Sniffed(contentType: "text/plain") }
        return Sniffed(contentType: "application/octet-stream")
    }

    /// UTF-8 without control characters other than whitespace, in the first 8 KiB.
    private static func looksLikeText(_ bytes: [UInt8]) -> Bool {
        let head = Array(bytes.prefix(8192))
        guard !head.isEmpty else { return false }
        if head.contains(where: { $0 < 0x20 && ![0x09, 0x0A, 0x0D, 0x0C].contains($0) }) { return false }
        // A multi-byte character cut at the end of the sample is fine.
        for cut in 0...3 where head.count > cut {
            if String(validating: head.dropLast(cut), as: UTF8.self) != nil { return true }
        }
        return false
    }
}
