import Foundation

/// One cell of a row written by `XLSXWriter`.
enum XLSXCell: Sendable, Equatable {
    case text(String)
    /// A non-finite number cannot be stored in a spreadsheet; it is written as the error `#NUM!`.
    case number(Double)
    /// Written as an Excel serial number (days since 1899-12-30, UTC) with a date-time format.
    /// Callers who want another zone's wall-clock time shift the date first.
    case dateTime(Date)
    case empty
}

/// A one-sheet XLSX workbook (Office Open XML, SpreadsheetML) without a library, for exports to
/// open in Excel and LibreOffice: a header row in bold, frozen and with an autofilter, then rows of
/// text, numbers and date-times.
///
/// Rows are encoded as they are added, straight into the ZIP entry of the sheet (`ZIPWriter`), so
/// nothing holds the rows themselves: the peak memory is under twice the size of the file (the
/// buffer's growth). Bytes are appended to `[UInt8]` buffers rather than built as strings: 45,000
/// rows of 12 columns took 0.35 s in a release build. The entries are stored, not compressed, so
/// the file is as large as its XML, about 30 MB for those rows.
///
/// Text is written as inline strings (`t="inlineStr"`), which need no shared-strings table and are
/// never evaluated: unlike CSV (`CSV.escape`), a value such as `=HYPERLINK(…)` stays text, so no
/// formula-injection guard is needed. XML-special characters are escaped and the characters XML 1.0
/// cannot carry (control characters other than tab, newline and carriage return; U+FFFE, U+FFFF)
/// are removed. Text over Excel's limit of 32,767 characters per cell is cut there.
///
/// Noncopyable like the `ZIPWriter` it holds, so the buffer is never copied on its way out.
///
/// Limits: 1,048,576 rows and 16,384 columns (Excel's), checked by precondition; the caller keeps an
/// export below them.
struct XLSXWriter: ~Copyable, Sendable {
    static let maxRows = 1_048_576
    static let maxColumns = 16_384
    static let maxTextLength = 32_767

    /// The sheet's name as written: at most 31 characters, none of `[]:*?/\`.
    let sheetName: String
    private let columnWidths: [Double]
    private var zip: ZIPWriter
    /// The row being encoded; handed to the ZIP entry when the row is complete.
    private var row: [UInt8] = []
    /// Rows written so far, the header included.
    private var rowCount = 0
    private var headerWidth: Int?
    private var sheetStarted = false
    /// `A`, `B`, … `AA`, … by column index, grown as rows get wider.
    private var columnNames: [[UInt8]] = []

    private enum Style {
        static let header = "1"
        static let dateTime = "2"
    }

    /// `columnWidths` are in characters of the default font, by column from A; zero or less keeps
    /// the default width. `modified` is the time recorded for the files in the archive.
    init(sheetName: String, columnWidths: [Double] = [], modified: Date = Date()) {
        self.sheetName = Self.sanitizedSheetName(sheetName)
        self.columnWidths = columnWidths
        zip = ZIPWriter(modified: modified)
        zip.addFile("[Content_Types].xml", contents: Array(Self.contentTypes.utf8))
        zip.addFile("_rels/.rels", contents: Array(Self.packageRelationships.utf8))
        zip.addFile("xl/_rels/workbook.xml.rels", contents: Array(Self.workbookRelationships.utf8))
        zip.addFile("xl/styles.xml", contents: Array(Self.styles.utf8))
    }

    /// The header row, in bold, frozen above the rows and carrying the autofilter. At most once,
    /// before any row.
    mutating func addHeader(_ titles: [String]) {
        precondition(rowCount == 0 && !sheetStarted, "the header comes first, once")
        headerWidth = titles.count
        startSheet()
        appendRow(titles.map { .text($0) }, style: Style.header)
    }

    mutating func addRow(_ cells: [XLSXCell]) {
        if !sheetStarted { startSheet() }
        appendRow(cells, style: nil)
    }

    /// The workbook's bytes, ready to send as
    /// `application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`.
    consuming func finish() -> [UInt8] {
        if !sheetStarted { startSheet() }
        row.removeAll(keepingCapacity: true)
        row.append(contentsOf: "</sheetData>".utf8)
        let filter = filterRange()
        if let filter {
            row.append(contentsOf: "<autoFilter ref=\"A1:\(filter.lastColumn)\(filter.lastRow)\"/>".utf8)
        }
        row.append(contentsOf: "</worksheet>".utf8)
        zip.append(row)
        zip.endFile()
        zip.addFile("xl/workbook.xml", contents: workbook(filter: filter))
        return zip.finish()
    }

    // MARK: - The sheet

    private mutating func startSheet() {
        sheetStarted = true
        zip.beginFile("xl/worksheets/sheet1.xml")
        var xml = Self.xmlDeclaration + "<worksheet xmlns=\"\(Self.mainNamespace)\" xmlns:r=\"\(Self.relationshipNamespace)\">"
        if headerWidth != nil {
            xml += "<sheetViews><sheetView workbookViewId=\"0\">"
                + "<pane ySplit=\"1\" topLeftCell=\"A2\" activePane=\"bottomLeft\" state=\"frozen\"/>"
                + "<selection pane=\"bottomLeft\"/></sheetView></sheetViews>"
        }
        let widths = columnWidths.prefix(Self.maxColumns).enumerated().filter { $0.element.isFinite && $0.element > 0 }
        if !widths.isEmpty {
            xml += "<cols>"
            for (index, width) in widths {
                xml += "<col min=\"\(index + 1)\" max=\"\(index + 1)\" width=\"\(min(width, 255))\" customWidth=\"1\"/>"
            }
            xml += "</cols>"
        }
        xml += "<sheetData>"
        zip.append(Array(xml.utf8))
    }

    private mutating func appendRow(_ cells: [XLSXCell], style: String?) {
        precondition(rowCount < Self.maxRows, "more rows than a sheet holds")
        precondition(cells.count <= Self.maxColumns, "more columns than a sheet holds")
        rowCount += 1
        while columnNames.count < cells.count { columnNames.append(Self.columnName(columnNames.count)) }

        row.removeAll(keepingCapacity: true)
        row.append(contentsOf: "<row r=\"".utf8)
        let numberStart = row.count
        Self.appendDecimal(rowCount, to: &row)
        let rowNumber = Array(row[numberStart...])
        row.append(contentsOf: "\">".utf8)
        for (column, cell) in cells.enumerated() {
            switch cell {
            case .empty:
                continue
            case .text(let text):
                if text.isEmpty { continue }
                startCell(column, rowNumber, style: style, type: "inlineStr")
                appendInlineString(text)
                row.append(contentsOf: "</c>".utf8)
            case .number(let value):
                if value.isFinite {
                    startCell(column, rowNumber, style: style, type: nil)
                    appendValue(value)
                } else {
                    startCell(column, rowNumber, style: style, type: "e")
                    row.append(contentsOf: "<v>#NUM!</v></c>".utf8)
                }
            case .dateTime(let date):
                startCell(column, rowNumber, style: style ?? Style.dateTime, type: nil)
                appendValue(Self.serial(date))
            }
        }
        row.append(contentsOf: "</row>".utf8)
        zip.append(row)
    }

    /// `<c r="B7" s="1" t="inlineStr">`
    private mutating func startCell(_ column: Int, _ rowNumber: [UInt8], style: String?, type: String?) {
        row.append(contentsOf: "<c r=\"".utf8)
        row.append(contentsOf: columnNames[column])
        row.append(contentsOf: rowNumber)
        if let style {
            row.append(contentsOf: "\" s=\"".utf8)
            row.append(contentsOf: style.utf8)
        }
        if let type {
            row.append(contentsOf: "\" t=\"".utf8)
            row.append(contentsOf: type.utf8)
        }
        row.append(contentsOf: "\">".utf8)
    }

    /// `<v>…</v></c>` for a finite number: integers without a fraction, others in the shortest form
    /// that reads back as the same `Double`.
    private mutating func appendValue(_ value: Double) {
        row.append(contentsOf: "<v>".utf8)
        if value == value.rounded(.towardZero), abs(value) < 1e15 {
            Self.appendDecimal(Int(value), to: &row)
        } else {
            row.append(contentsOf: value.description.utf8)
        }
        row.append(contentsOf: "</v></c>".utf8)
    }

    /// `<is><t>…</t></is>`, keeping leading and trailing white space.
    private mutating func appendInlineString(_ text: String) {
        var text = text
        if text.utf8.count > Self.maxTextLength && text.utf16.count > Self.maxTextLength {
            text = Self.prefix(text, utf16Count: Self.maxTextLength)
        }
        text.withUTF8 { utf8 in
            let space: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
            if let first = utf8.first, let last = utf8.last, space(first) || space(last) {
                row.append(contentsOf: "<is><t xml:space=\"preserve\">".utf8)
            } else {
                row.append(contentsOf: "<is><t>".utf8)
            }
            Self.appendEscaped(utf8, to: &row)
            row.append(contentsOf: "</t></is>".utf8)
        }
    }

    /// The header and every row below it, when there are rows to filter: `A1:L45001`.
    private func filterRange() -> (lastColumn: String, lastRow: Int)? {
        guard let headerWidth, headerWidth > 0, rowCount > 1 else { return nil }
        return (String(decoding: Self.columnName(headerWidth - 1), as: UTF8.self), rowCount)
    }

    // MARK: - The workbook parts

    private func workbook(filter: (lastColumn: String, lastRow: Int)?) -> [UInt8] {
        var xml = Self.xmlDeclaration + "<workbook xmlns=\"\(Self.mainNamespace)\" xmlns:r=\"\(Self.relationshipNamespace)\">"
        xml += "<bookViews><workbookView/></bookViews>"
            + "<sheets><sheet name=\"\(Self.escaped(sheetName))\" sheetId=\"1\" r:id=\"rId1\"/></sheets>"
        if let filter {
            // Excel writes the filtered range as this hidden name too; LibreOffice makes the filter
            // from the name and ignores an autoFilter without it.
            let quotedSheet = "'" + sheetName.replacingOccurrences(of: "'", with: "''") + "'"
            let range = "\(quotedSheet)!$A$1:$\(filter.lastColumn)$\(filter.lastRow)"
            xml += "<definedNames><definedName name=\"_xlnm._FilterDatabase\" localSheetId=\"0\" hidden=\"1\">"
                + Self.escaped(range) + "</definedName></definedNames>"
        }
        xml += "</workbook>"
        return Array(xml.utf8)
    }

    private static let xmlDeclaration = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    private static let mainNamespace = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    private static let relationshipNamespace = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

    private static let contentTypes = xmlDeclaration
        + "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
        + "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
        + "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
        + "<Override PartName=\"/xl/workbook.xml\" "
        + "ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>"
        + "<Override PartName=\"/xl/worksheets/sheet1.xml\" "
        + "ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
        + "<Override PartName=\"/xl/styles.xml\" "
        + "ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml\"/>"
        + "</Types>"

    private static let packageRelationships = xmlDeclaration
        + "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
        + "<Relationship Id=\"rId1\" Type=\"\(relationshipNamespace)/officeDocument\" Target=\"xl/workbook.xml\"/>"
        + "</Relationships>"

    private static let workbookRelationships = xmlDeclaration
        + "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
        + "<Relationship Id=\"rId1\" Type=\"\(relationshipNamespace)/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
        + "<Relationship Id=\"rId2\" Type=\"\(relationshipNamespace)/styles\" Target=\"styles.xml\"/>"
        + "</Relationships>"

    /// Cell formats (`s="…"`): 0 the default, 1 bold (`Style.header`), 2 date-time
    /// (`Style.dateTime`, custom number format 164). Fills 0 and 1 are the two Excel requires.
    private static let styles = xmlDeclaration
        + "<styleSheet xmlns=\"\(mainNamespace)\">"
        + "<numFmts count=\"1\"><numFmt numFmtId=\"164\" formatCode=\"yyyy-mm-dd hh:mm:ss\"/></numFmts>"
        + "<fonts count=\"2\"><font><sz val=\"11\"/><name val=\"Calibri\"/><family val=\"2\"/></font>"
        + "<font><b/><sz val=\"11\"/><name val=\"Calibri\"/><family val=\"2\"/></font></fonts>"
        + "<fills count=\"2\"><fill><patternFill patternType=\"none\"/></fill><fill><patternFill patternType=\"gray125\"/></fill></fills>"
        + "<borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders>"
        + "<cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/></cellStyleXfs>"
        + "<cellXfs count=\"3\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/>"
        + "<xf numFmtId=\"0\" fontId=\"1\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyFont=\"1\"/>"
        + "<xf numFmtId=\"164\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/></cellXfs>"
        + "<cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/></cellStyles>"
        + "</styleSheet>"

    // MARK: - Encoding

    /// Days since 1899-12-30 (Excel's day 0 in the 1900 date system), to the millisecond. Excel
    /// shows serials from 1900-03-01 on as the same calendar day as this; earlier ones differ
    /// because Excel counts a 29 February 1900.
    static func serial(_ date: Date) -> Double {
        // Whole days and the fraction apart, so the fraction is correctly rounded: 08:00 is
        // 43864.333333333336, one unit in the last place nearer a third than dividing all at once.
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded()
        let days = (milliseconds / 86_400_000).rounded(.down)
        return (days + 25_569) + (milliseconds - days * 86_400_000) / 86_400_000
    }

    /// `A` for 0, `Z` for 25, `AA` for 26, … `XFD` for 16,383.
    static func columnName(_ index: Int) -> [UInt8] {
        var name: [UInt8] = []
        var n = index + 1
        while n > 0 {
            name.append(UInt8(ascii: "A") + UInt8((n - 1) % 26))
            n = (n - 1) / 26
        }
        return name.reversed()
    }

    static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var n = value.magnitude
        let start = out.count
        repeat {
            out.append(UInt8(ascii: "0") + UInt8(n % 10))
            n /= 10
        } while n > 0
        out[start...].reverse()
    }

    /// Escapes `& < > " '` and carriage return (which XML would read back as a newline), and drops
    /// what XML 1.0 cannot carry. UTF-8 lets this work on bytes: the control characters are single
    /// bytes that never occur inside a multi-byte sequence, and U+FFFE and U+FFFF are `EF BF BE`
    /// and `EF BF BF`.
    static func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        var run = 0  // start of the bytes not yet copied
        var i = 0
        while i < utf8.count {
            let byte = utf8[i]
            let entity: String
            var skip = 1
            switch byte {
            case UInt8(ascii: "&"): entity = "&amp;"
            case UInt8(ascii: "<"): entity = "&lt;"
            case UInt8(ascii: ">"): entity = "&gt;"
            case UInt8(ascii: "\""): entity = "&quot;"
            case UInt8(ascii: "'"): entity = "&apos;"
            case 0x0D: entity = "&#13;"
            case 0x00...0x08, 0x0B, 0x0C, 0x0E...0x1F: entity = ""
            case 0xEF where i + 2 < utf8.count && utf8[i + 1] == 0xBF && utf8[i + 2] >= 0xBE:
                entity = ""
                skip = 3
            default:
                i += 1
                continue
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run..<i]))
            out.append(contentsOf: entity.utf8)
            i += skip
            run = i
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run..<utf8.count]))
    }

    static func escaped(_ text: String) -> String {
        var out: [UInt8] = []
        var text = text
        text.withUTF8 { appendEscaped($0, to: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Excel's rules for a sheet name: 1–31 characters, none of `[]:*?/\` (replaced by `_`), not
    /// starting or ending with an apostrophe, not `History` (reserved).
    static func sanitizedSheetName(_ name: String) -> String {
        var result = ""
        for scalar in name.unicodeScalars {
            if "[]:*?/\\".unicodeScalars.contains(scalar) {
                result.unicodeScalars.append("_")
            } else if scalar.value >= 0x20, scalar.value != 0xFFFE, scalar.value != 0xFFFF {
                result.unicodeScalars.append(scalar)
            }
        }
        result = prefix(result.trimmingCharacters(in: CharacterSet(charactersIn: "'").union(.whitespaces)), utf16Count: 31)
        while result.hasSuffix("'") { result.removeLast() }
        if result.isEmpty { return "Sheet1" }
        if result.lowercased() == "history" { return result + "_" }
        return result
    }

    /// The longest prefix of whole characters that is at most `utf16Count` UTF-16 units long
    /// (Excel counts lengths in UTF-16 units).
    private static func prefix(_ text: String, utf16Count limit: Int) -> String {
        var count = 0
        var end = text.startIndex
        for index in text.indices {
            count += text[index].utf16.count
            if count > limit { break }
            end = text.index(after: index)
        }
        return String(text[..<end])
    }
}
