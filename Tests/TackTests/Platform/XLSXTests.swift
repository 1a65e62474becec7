import Foundation
import Testing
@testable import TackServer

#if canImport(FoundationXML)
import FoundationXML
#endif

@Suite("XLSX")
struct XLSXTests {
    @Test func crc32MatchesTheCheckValueAndABitwiseReference() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
        let bytes = (0..<5_003).map { UInt8(truncatingIfNeeded: $0 &* 7_919 &+ $0 >> 3) }
        #expect(CRC32.checksum(bytes) == bitwiseCRC32(bytes))
        // Eight bytes a step, then the rest one by one; and the state carried across updates.
        for length in 0...20 {
            #expect(CRC32.checksum(Array(bytes[3..<3 + length])) == bitwiseCRC32(Array(bytes[3..<3 + length])), "\(length)")
        }
        var crc = CRC32()
        for chunk in stride(from: 0, to: bytes.count, by: 13) {
            Array(bytes[chunk..<min(chunk + 13, bytes.count)]).withUnsafeBufferPointer { crc.update($0) }
        }
        #expect(crc.value == bitwiseCRC32(bytes))
        #expect(bitwiseCRC32(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    @Test func zipEntriesReadBack() throws {
        // 2020-02-03 08:00:13 UTC: DOS time keeps even seconds.
        var zip = ZIPWriter(modified: Date(timeIntervalSince1970: 1_580_716_813))
        zip.addFile("a.txt", contents: Array("hello".utf8))
        zip.beginFile("目录/名前.xml")
        zip.append(Array("<a>".utf8))
        zip.append([])
        zip.append(Array("é</a>".utf8))
        zip.endFile()
        zip.addFile("empty", contents: [])
        let archive = try ZIPArchive(zip.finish())

        #expect(archive.entries.map(\.name) == ["a.txt", "目录/名前.xml", "empty"])
        #expect(archive.text("a.txt") == "hello")
        #expect(archive.text("目录/名前.xml") == "<a>é</a>")
        #expect(archive.text("empty") == "")
        for entry in archive.entries {
            #expect(entry.flags == 1 << 11)
            #expect(entry.dosDate == UInt16(40 << 9 | 2 << 5 | 3))
            #expect(entry.dosTime == UInt16(8 << 11 | 0 << 5 | 6))
        }
        #expect(ZIPWriter.dosDateTime(Date(timeIntervalSince1970: 0)) == (UInt16(1 << 5 | 1), 0))
    }

    @Test func workbookHasEveryPartAndWellFormedXML() throws {
        var writer = XLSXWriter(sheetName: "Health 2020-02-03", columnWidths: [20, 0, 12.5])
        writer.addHeader(["Name", "Temperature", "Reported at"])
        writer.addRow([.text("Li Lei"), .number(36.6), .dateTime(Date(timeIntervalSince1970: 1_580_716_800))])
        let archive = try ZIPArchive(writer.finish())

        #expect(archive.entries.map(\.name) == [
            "[Content_Types].xml", "_rels/.rels", "xl/_rels/workbook.xml.rels", "xl/styles.xml",
            "xl/worksheets/sheet1.xml", "xl/workbook.xml",
        ])
        for entry in archive.entries { expectWellFormed(archive.text(entry.name), entry.name) }
        let workbook = archive.text("xl/workbook.xml")
        #expect(workbook.contains("<sheet name=\"Health 2020-02-03\" sheetId=\"1\" r:id=\"rId1\"/>"))
        #expect(workbook.contains(">&apos;Health 2020-02-03&apos;!$A$1:$C$2</definedName>"))
        let sheet = archive.text("xl/worksheets/sheet1.xml")
        #expect(sheet.contains("<cols><col min=\"1\" max=\"1\" width=\"20.0\" customWidth=\"1\"/>"
            + "<col min=\"3\" max=\"3\" width=\"12.5\" customWidth=\"1\"/></cols>"))
        #expect(sheet.contains("<pane ySplit=\"1\" topLeftCell=\"A2\" activePane=\"bottomLeft\" state=\"frozen\"/>"))
        #expect(sheet.contains("<autoFilter ref=\"A1:C2\"/>"))
        #expect(sheet.contains("<c r=\"A1\" s=\"1\" t=\"inlineStr\"><is><t>Name</t></is></c>"))
        #expect(sheet.contains("<c r=\"B2\"><v>36.6</v></c>"))
        #expect(sheet.contains("<c r=\"C2\" s=\"2\"><v>43864.333333333336</v></c>"))
    }

    @Test func textIsEscapedAndIllegalCharactersRemoved() throws {
        var writer = XLSXWriter(sheetName: "S")
        writer.addRow([.text("Tom & \"Jerry\" <b>'s</b>"), .text("a\u{0}b\u{1}c\u{8}d\u{B}\u{C}e\u{1F}f\u{FFFE}g\u{FFFF}h"),
                       .text("tab\tnew\nline\r\nend"), .text(" padded "), .text("=HYPERLINK(\"x\")"), .text("王芳 😀")])
        let sheet = try ZIPArchive(writer.finish()).text("xl/worksheets/sheet1.xml")
        expectWellFormed(sheet, "sheet")
        #expect(sheet.contains("<t>Tom &amp; &quot;Jerry&quot; &lt;b&gt;&apos;s&lt;/b&gt;</t>"))
        #expect(sheet.contains("<t>abcdefgh</t>"))
        #expect(sheet.contains("<t>tab\tnew\nline&#13;\nend</t>"))
        #expect(sheet.contains("<t xml:space=\"preserve\"> padded </t>"))
        #expect(sheet.contains("<c r=\"E1\" t=\"inlineStr\"><is><t>=HYPERLINK(&quot;x&quot;)</t></is></c>"))
        #expect(sheet.contains("<t>王芳 😀</t>"))
        #expect(!sheet.contains("<sheetViews>"))  // no header, nothing to freeze
        #expect(!sheet.contains("autoFilter"))

        let cells = try parseCells(sheet)
        #expect(cells["A1"] == "Tom & \"Jerry\" <b>'s</b>")
        #expect(cells["C1"] == "tab\tnew\nline\r\nend")
        #expect(cells["D1"] == " padded ")
    }

    @Test func overlongTextIsCutAtExcelsLimit() throws {
        var writer = XLSXWriter(sheetName: "S")
        writer.addRow([.text(String(repeating: "é", count: 40_000)), .text(String(repeating: "😀", count: 20_000))])
        let cells = try parseCells(ZIPArchive(writer.finish()).text("xl/worksheets/sheet1.xml"))
        #expect(cells["A1"]?.count == 32_767)
        #expect(cells["B1"]?.count == 16_383)  // two UTF-16 units each; a pair is never split
    }

    @Test func cellReferencesGoPastZ() throws {
        #expect(XLSXWriter.columnName(0) == Array("A".utf8))
        #expect(XLSXWriter.columnName(25) == Array("Z".utf8))
        #expect(XLSXWriter.columnName(26) == Array("AA".utf8))
        #expect(XLSXWriter.columnName(27) == Array("AB".utf8))
        #expect(XLSXWriter.columnName(701) == Array("ZZ".utf8))
        #expect(XLSXWriter.columnName(702) == Array("AAA".utf8))
        #expect(XLSXWriter.columnName(16_383) == Array("XFD".utf8))

        var writer = XLSXWriter(sheetName: "Wide")
        writer.addHeader((1...28).map { "H\($0)" })
        writer.addRow((1...28).map { .number(Double($0)) })
        let sheet = try ZIPArchive(writer.finish()).text("xl/worksheets/sheet1.xml")
        #expect(sheet.contains("<c r=\"Z2\"><v>26</v></c><c r=\"AA2\"><v>27</v></c><c r=\"AB2\"><v>28</v></c></row>"))
        #expect(sheet.contains("<autoFilter ref=\"A1:AB2\"/>"))
    }

    @Test func numbersAndDatesAreWrittenAsValues() throws {
        let date = try #require(FastDateTranscoder.parse("2020-02-03T08:00:00Z"))
        #expect(abs(XLSXWriter.serial(date) - 43_864.333_333_333) < 1e-9)
        #expect(XLSXWriter.serial(Date(timeIntervalSince1970: 0)) == 25_569)

        var writer = XLSXWriter(sheetName: "S")
        writer.addRow([.number(0), .number(-12), .number(0.1), .number(1e20), .number(.nan), .empty, .dateTime(date), .text("")])
        let sheet = try ZIPArchive(writer.finish()).text("xl/worksheets/sheet1.xml")
        #expect(sheet.contains("<row r=\"1\"><c r=\"A1\"><v>0</v></c><c r=\"B1\"><v>-12</v></c><c r=\"C1\"><v>0.1</v></c>"
            + "<c r=\"D1\"><v>1e+20</v></c><c r=\"E1\" t=\"e\"><v>#NUM!</v></c><c r=\"G1\" s=\"2\"><v>43864.333333333336</v></c></row>"))
        let value = try #require(parseCells(sheet)["G1"].flatMap(Double.init))
        #expect(abs(value - 43_864.333_333_333_33) < 1e-9)
    }

    @Test func sheetNamesFollowExcelsRules() {
        #expect(XLSXWriter.sanitizedSheetName("Report [1/2]: *?\\") == "Report _1_2__ ___")
        #expect(XLSXWriter.sanitizedSheetName("A very long sheet name that goes on and on") == "A very long sheet name that goe")
        #expect(XLSXWriter.sanitizedSheetName("'quoted'") == "quoted")
        #expect(XLSXWriter.sanitizedSheetName("  ") == "Sheet1")
        #expect(XLSXWriter.sanitizedSheetName("tab\there") == "tabhere")
        #expect(XLSXWriter.sanitizedSheetName("History") == "History_")
        #expect(XLSXWriter.sanitizedSheetName(String(repeating: "😀", count: 20)).utf16.count == 30)
    }

    /// Writes a 45,000 × 12 export to the path in `TACK_XLSX_SAMPLE`, to open with other readers
    /// (openpyxl from `e2e/requirements.txt`, LibreOffice), and prints how long it took.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["TACK_XLSX_SAMPLE"] != nil))
    func writesASampleForOtherReaders() throws {
        let path = try #require(ProcessInfo.processInfo.environment["TACK_XLSX_SAMPLE"])
        let start = ContinuousClock.now
        let bytes = Self.sample(rows: 45_000)
        let elapsed = ContinuousClock.now - start
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        print("XLSX sample: 45,000 × 12 in \(elapsed), \(bytes.count) bytes → \(path)")
    }

    /// Rows like the health report's, with text that needs escaping and cleaning.
    static func sample(rows: Int) -> [UInt8] {
        let start = Date(timeIntervalSince1970: 1_580_716_800)  // 2020-02-03T08:00:00Z
        var writer = XLSXWriter(sheetName: "Health 2020-02-03", columnWidths: [24, 14, 20, 16, 18, 10, 12, 20, 10, 30, 12, 40])
        writer.addHeader(["Name", "Employee no.", "Department", "Phone", "Title", "Status", "Temperature",
                          "Reported at", "Count", "Note", "Score", "Comment"])
        for i in 0..<rows {
            writer.addRow([
                .text(i.isMultiple(of: 2) ? "Member \(i)" : "成员 \(i) & <co>"), .text("E\(100_000 + i)"), .text("Dept \(i % 37)"),
                .text("+86 138 \(1000_0000 + i)"), .text("Nurse \"A\""), .text(i.isMultiple(of: 5) ? "late" : "ok"),
                .number(36 + Double(i % 20) / 10), .dateTime(start.addingTimeInterval(Double(i * 60))), .number(Double(i)),
                i.isMultiple(of: 3) ? .empty : .text(" spaced\tnote\u{1}\n"), .number(Double(i) / 7), .text("=1+1 'not a formula'"),
            ])
        }
        return writer.finish()
    }
}

// MARK: - A reader for what the writer makes

/// CRC-32 bit by bit, without a table: the reference the table-driven `CRC32` is checked against.
private func bitwiseCRC32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

private struct ZIPReadError: Error, CustomStringConvertible {
    var description: String
}

/// Reads a stored-only archive both ways: the central directory from the end record, and the local
/// headers walked from the start, which must agree entry by entry and end where the directory
/// begins. Every entry's CRC-32 is checked with `bitwiseCRC32`.
private struct ZIPArchive {
    struct Entry {
        var name: String
        var flags: UInt16
        var dosTime: UInt16
        var dosDate: UInt16
        var data: [UInt8]
    }

    var entries: [Entry] = []

    init(_ bytes: [UInt8]) throws {
        func u16(_ at: Int) throws -> UInt16 {
            guard at >= 0, at + 2 <= bytes.count else { throw ZIPReadError(description: "read past the end at \(at)") }
            return UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
        }
        func u32(_ at: Int) throws -> UInt32 { try UInt32(u16(at)) | UInt32(u16(at + 2)) << 16 }
        func check(_ condition: Bool, _ message: String) throws {
            if !condition { throw ZIPReadError(description: message) }
        }

        let end = bytes.count - 22  // no archive comment
        try check(u32(end) == 0x0605_4B50, "no end of central directory record")
        let count = Int(try u16(end + 10))
        try check(Int(u16(end + 8)) == count, "entry counts differ")
        let directorySize = Int(try u32(end + 12))
        let directoryOffset = Int(try u32(end + 16))
        try check(directoryOffset + directorySize == end, "central directory does not end at the end record")

        var central = directoryOffset
        var local = 0
        for _ in 0..<count {
            let c = central
            try check(u32(c) == 0x0201_4B50, "bad central header at \(c)")
            let flags = try u16(c + 8)
            try check(u16(c + 10) == 0, "not stored")
            let crc = try u32(c + 16)
            let size = Int(try u32(c + 24))
            try check(Int(u32(c + 20)) == size, "compressed and uncompressed sizes differ for a stored entry")
            let nameLength = Int(try u16(c + 28))
            let extraLength = Int(try u16(c + 30)), commentLength = Int(try u16(c + 32))
            let headerOffset = Int(try u32(c + 42))
            let name = Array(bytes[c + 46..<c + 46 + nameLength])
            central = c + 46 + nameLength + extraLength + commentLength

            try check(headerOffset == local, "entries are not contiguous")
            try check(u32(local) == 0x0403_4B50, "bad local header at \(local)")
            try check(u16(local + 6) == flags && u16(local + 8) == 0, "flags or method differ")
            try check(u16(local + 10) == u16(c + 12) && u16(local + 12) == u16(c + 14), "times differ")
            try check(u32(local + 14) == crc && Int(u32(local + 18)) == size && Int(u32(local + 22)) == size, "local header differs")
            try check(Int(u16(local + 26)) == nameLength, "name lengths differ")
            let localExtra = Int(try u16(local + 28))
            try check(Array(bytes[local + 30..<local + 30 + nameLength]) == name, "names differ")
            let dataStart = local + 30 + nameLength + localExtra
            let data = Array(bytes[dataStart..<dataStart + size])
            try check(bitwiseCRC32(data) == crc, "CRC-32 mismatch for \(String(decoding: name, as: UTF8.self))")
            entries.append(Entry(name: String(decoding: name, as: UTF8.self), flags: flags, dosTime: try u16(local + 10),
                                 dosDate: try u16(local + 12), data: data))
            local = dataStart + size
        }
        try check(local == directoryOffset && central == end, "stray bytes between entries and directory")
    }

    func text(_ name: String) -> String {
        String(decoding: entries.first { $0.name == name }?.data ?? [], as: UTF8.self)
    }
}

/// Collects `<c r="…">` cells of a sheet as text: the inline string, or the `<v>` value.
private final class CellCollector: NSObject, XMLParserDelegate {
    var cells: [String: String] = [:]
    private var reference: String?
    private var text = ""
    private var inValue = false

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        switch name {
        case "c": reference = attributes["r"]; text = ""
        case "t", "v": inValue = true
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inValue { text += string }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        switch name {
        case "t", "v": inValue = false
        case "c": if let reference { cells[reference] = text }
        default: break
        }
    }
}

private func parseCells(_ xml: String) throws -> [String: String] {
    let parser = XMLParser(data: Data(xml.utf8))
    let collector = CellCollector()
    parser.delegate = collector
    guard parser.parse() else { throw ZIPReadError(description: "XML error: \(String(describing: parser.parserError))") }
    return collector.cells
}

private func expectWellFormed(_ xml: String, _ name: String) {
    let parser = XMLParser(data: Data(xml.utf8))
    #expect(parser.parse(), "\(name): \(String(describing: parser.parserError))")
}
