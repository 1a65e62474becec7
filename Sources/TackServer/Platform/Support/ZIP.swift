import Foundation

/// A ZIP archive built in memory, for the office formats we export (`XLSXWriter`). Entries are
/// stored, not deflated: that needs no compression library, and exports are small enough that the
/// size is the price (the archive is as large as its contents). Names are UTF-8 (flag bit 11).
///
/// An entry is either added whole (`addFile`) or streamed (`beginFile`, `append`…, `endFile`):
/// streamed bytes go straight into the archive and the CRC-32 is updated as they come, so a large
/// entry is never held twice. Since the archive is in memory, the local header's CRC and sizes are
/// patched when the entry ends instead of following the data in a data descriptor.
///
/// Noncopyable, so `finish` takes the buffer over instead of copying it: with a copyable writer the
/// caller's copy kept the buffer shared and every later append copied the whole archive.
///
/// Limits: no ZIP64, so at most 65,535 entries and 4 GiB in all (a precondition).
struct ZIPWriter: ~Copyable, Sendable {
    private struct Entry: Sendable {
        var name: [UInt8]
        var headerOffset: Int
        var crc: UInt32
        var size: Int
    }

    private var archive: [UInt8] = []
    private var entries: [Entry] = []
    private var open: Entry?
    private var crc = CRC32()
    private let dosTime: UInt16
    private let dosDate: UInt16

    /// `modified` is every entry's modification time, in UTC (a DOS time has no zone).
    init(modified: Date = Date()) {
        (dosDate, dosTime) = Self.dosDateTime(modified)
    }

    /// Adds one complete entry.
    mutating func addFile(_ name: String, contents: [UInt8]) {
        beginFile(name)
        append(contents)
        endFile()
    }

    /// Starts an entry whose contents follow in `append` calls, up to `endFile`.
    mutating func beginFile(_ name: String) {
        precondition(open == nil, "endFile the previous entry first")
        precondition(entries.count < 0xFFFF, "ZIP64 is not supported")
        let entry = Entry(name: Array(name.utf8), headerOffset: archive.count, crc: 0, size: 0)
        precondition(entry.name.count <= 0xFFFF, "entry name too long")
        archive.appendLE(UInt32(0x0403_4B50))  // local file header
        archive.appendLE(UInt16(20))  // version needed to extract: 2.0
        archive.appendLE(Self.utf8Names)
        archive.appendLE(UInt16(0))  // method: stored
        archive.appendLE(dosTime)
        archive.appendLE(dosDate)
        archive.appendLE(UInt32(0))  // CRC-32, patched by endFile
        archive.appendLE(UInt32(0))  // compressed size, patched
        archive.appendLE(UInt32(0))  // uncompressed size, patched
        archive.appendLE(UInt16(entry.name.count))
        archive.appendLE(UInt16(0))  // extra field length
        archive.append(contentsOf: entry.name)
        open = entry
        crc = CRC32()
    }

    /// Appends to the entry begun by `beginFile`.
    mutating func append(_ bytes: [UInt8]) {
        precondition(open != nil, "beginFile first")
        bytes.withUnsafeBufferPointer { crc.update($0) }
        archive.append(contentsOf: bytes)
    }

    /// Ends the open entry: its CRC-32 and sizes go into the local header.
    mutating func endFile() {
        guard var entry = open else { preconditionFailure("beginFile first") }
        entry.crc = crc.value
        entry.size = archive.count - (entry.headerOffset + 30 + entry.name.count)
        precondition(archive.count <= 0xFFFF_FFFF, "ZIP64 is not supported")
        archive.patchLE(entry.crc, at: entry.headerOffset + 14)
        archive.patchLE(UInt32(entry.size), at: entry.headerOffset + 18)
        archive.patchLE(UInt32(entry.size), at: entry.headerOffset + 22)
        entries.append(entry)
        open = nil
    }

    /// The archive: the entries, then the central directory and its end record.
    consuming func finish() -> [UInt8] {
        if open != nil { endFile() }
        let directoryOffset = archive.count
        for entry in entries {
            archive.appendLE(UInt32(0x0201_4B50))  // central directory file header
            archive.appendLE(UInt16(20))  // version made by: 2.0, MS-DOS attributes
            archive.appendLE(UInt16(20))  // version needed to extract
            archive.appendLE(Self.utf8Names)
            archive.appendLE(UInt16(0))  // method: stored
            archive.appendLE(dosTime)
            archive.appendLE(dosDate)
            archive.appendLE(entry.crc)
            archive.appendLE(UInt32(entry.size))
            archive.appendLE(UInt32(entry.size))
            archive.appendLE(UInt16(entry.name.count))
            archive.appendLE(UInt16(0))  // extra field length
            archive.appendLE(UInt16(0))  // comment length
            archive.appendLE(UInt16(0))  // disk number start
            archive.appendLE(UInt16(0))  // internal attributes
            archive.appendLE(UInt32(0))  // external attributes
            archive.appendLE(UInt32(entry.headerOffset))
            archive.append(contentsOf: entry.name)
        }
        let directorySize = archive.count - directoryOffset
        precondition(archive.count <= 0xFFFF_FFFF, "ZIP64 is not supported")
        archive.appendLE(UInt32(0x0605_4B50))  // end of central directory
        archive.appendLE(UInt16(0))  // this disk
        archive.appendLE(UInt16(0))  // disk with the central directory
        archive.appendLE(UInt16(entries.count))  // entries on this disk
        archive.appendLE(UInt16(entries.count))  // entries in all
        archive.appendLE(UInt32(directorySize))
        archive.appendLE(UInt32(directoryOffset))
        archive.appendLE(UInt16(0))  // comment length
        return archive
    }

    /// General-purpose flag bit 11: names (and comments) are UTF-8.
    private static let utf8Names: UInt16 = 1 << 11

    /// MS-DOS date and time: 2-second resolution, years 1980–2107 (clamped).
    static func dosDateTime(_ date: Date) -> (date: UInt16, time: UInt16) {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = FastDateTranscoder.civil(fromDays: days)
        if year < 1980 { return (UInt16(1 << 5 | 1), 0) }  // 1980-01-01 00:00
        if year > 2107 { return (UInt16(127 << 9 | 12 << 5 | 31), UInt16(23 << 11 | 59 << 5 | 29)) }
        let dosDate = (year - 1980) << 9 | month << 5 | day
        let dosTime = (secondOfDay / 3600) << 11 | (secondOfDay / 60 % 60) << 5 | (secondOfDay % 60) / 2
        return (UInt16(dosDate), UInt16(dosTime))
    }
}

/// CRC-32 as ZIP, gzip and PNG use it (IEEE 802.3, reflected polynomial 0xEDB88320). Eight bytes
/// a step with eight tables ("slicing-by-8"): one table lookup per byte made this a quarter of the
/// time of writing a 45,000-row workbook; eight tables bring it to about a tenth.
struct CRC32: Sendable {
    private var state: UInt32 = 0xFFFF_FFFF

    var value: UInt32 { ~state }

    mutating func update(_ bytes: UnsafeBufferPointer<UInt8>) {
        var crc = state
        Self.tables.withUnsafeBufferPointer { t in
            let raw = UnsafeRawBufferPointer(bytes)
            var i = 0
            while i + 8 <= raw.count {
                let low = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt32.self)) ^ crc
                let high = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self))
                crc = t[7 * 256 + Int(low & 0xFF)] ^ t[6 * 256 + Int(low >> 8 & 0xFF)]
                    ^ t[5 * 256 + Int(low >> 16 & 0xFF)] ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xFF)] ^ t[2 * 256 + Int(high >> 8 & 0xFF)]
                    ^ t[256 + Int(high >> 16 & 0xFF)] ^ t[Int(high >> 24)]
                i += 8
            }
            while i < raw.count {
                crc = t[Int((crc ^ UInt32(raw[i])) & 0xFF)] ^ (crc >> 8)
                i += 1
            }
        }
        state = crc
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc = CRC32()
        bytes.withUnsafeBufferPointer { crc.update($0) }
        return crc.value
    }

    /// Table k (entries k·256 ..< (k+1)·256) is the CRC of a byte followed by k zero bytes.
    private static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            tables[n] = c
        }
        for k in 1..<8 {
            for n in 0..<256 {
                let previous = tables[(k - 1) * 256 + n]
                tables[k * 256 + n] = tables[Int(previous & 0xFF)] ^ (previous >> 8)
            }
        }
        return tables
    }()
}

extension [UInt8] {
    /// Appends an integer in little-endian byte order, as ZIP records are written.
    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    /// Overwrites `MemoryLayout<T>.size` bytes at `offset` with an integer in little-endian order.
    mutating func patchLE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        Swift.withUnsafeBytes(of: value.littleEndian) { bytes in
            for (i, byte) in bytes.enumerated() { self[offset + i] = byte }
        }
    }
}
