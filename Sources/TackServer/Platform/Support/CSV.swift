/// RFC 4180 CSV: fields separated by commas, optionally quoted with `"` (a quote inside a quoted
/// field is doubled), records ending in CRLF or LF. A leading UTF-8 byte-order mark is skipped.
enum CSV {
    struct ParseError: Error, Equatable {
        var line: Int
        var message: String
    }

    /// One record and the line on which it starts (1-based).
    struct Record: Equatable {
        var line: Int
        var fields: [String]
    }

    static func parse(_ text: String) throws(ParseError) -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field = ""
        var inQuotes = false
        var afterQuote = false
        var line = 1
        var recordLine = 1
        var scalars = text.unicodeScalars[...]
        if scalars.first == "\u{FEFF}" { scalars = scalars.dropFirst() }
        var iterator = scalars.makeIterator()
        var pending: Unicode.Scalar? = nil

        func endRecord() {
            fields.append(field)
            field = ""
            // Skip blank lines.
            if !(fields.count == 1 && fields[0].isEmpty) { records.append(Record(line: recordLine, fields: fields)) }
            fields = []
        }

        while let c = pending ?? iterator.next() {
            pending = nil
            if inQuotes {
                if c == "\"" {
                    let next = iterator.next()
                    if next == "\"" { field.unicodeScalars.append("\"") } else {
                        inQuotes = false
                        afterQuote = true
                        pending = next
                    }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case ",":
                fields.append(field)
                field = ""
                afterQuote = false
            case "\r":
                let next = iterator.next()
                if next != "\n" { pending = next }
                endRecord()
                line += 1
                recordLine = line
                afterQuote = false
            case "\n":
                endRecord()
                line += 1
                recordLine = line
                afterQuote = false
            case "\"":
                guard field.isEmpty, !afterQuote else { throw ParseError(line: line, message: "A quote in the middle of a field.") }
                inQuotes = true
            default:
                if afterQuote { throw ParseError(line: line, message: "Text after a closing quote.") }
                field.unicodeScalars.append(c)
            }
        }
        if inQuotes { throw ParseError(line: recordLine, message: "A quoted field is not closed.") }
        if !field.isEmpty || !fields.isEmpty || afterQuote { endRecord() }
        return records
    }

    /// Quotes a field for writing when it needs it. Fields starting with `=`, `+`, `-`, `@`, a
    /// tab or a carriage return are prefixed with `'` so spreadsheets do not run them as formulas.
    static func escape(_ field: String) -> String {
        var value = field
        if let first = value.first, "=+-@\t\r".contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
