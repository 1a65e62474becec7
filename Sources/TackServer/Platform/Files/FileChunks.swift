import Foundation

/// Bytes `range` of a file on disk, read in chunks of 64 KiB as a response body is sent: a large
/// file (a class's replay) never sits in memory whole. Each iteration opens the file afresh; a
/// file that cannot be read ends the body with an error.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ArraySlice<UInt8>
    let path: String
    let range: ClosedRange<Int64>
    static let chunk = 64 << 10

    func makeAsyncIterator() -> Iterator { Iterator(path: path, range: range) }

    /// A regular file's size in bytes; nil if there is no such file.
    static func size(of path: String) -> Int64? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(info.st_size)
    }

    final class Iterator: AsyncIteratorProtocol {
        private let path: String
        private var offset: Int64
        private let end: Int64
        private var fd: Int32 = -1

        init(path: String, range: ClosedRange<Int64>) {
            self.path = path
            offset = range.lowerBound
            end = range.upperBound + 1
        }

        deinit { if fd >= 0 { close(fd) } }

        func next() async throws -> ArraySlice<UInt8>? {
            guard offset < end else {
                if fd >= 0 { close(fd); fd = -1 }
                return nil
            }
            if fd < 0 {
                fd = open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw FileStoreError("cannot open \(path): \(errno)") }
            }
            var buffer = [UInt8](repeating: 0, count: Int(Swift.min(Int64(FileChunks.chunk), end - offset)))
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
            guard n > 0 else { throw FileStoreError("cannot read \(path) at \(offset): \(n < 0 ? errno : 0)") }
            offset += Int64(n)
            return buffer[..<n]
        }
    }
}
