import Foundation
import OpenAPIRuntime

/// A table to download as CSV or XLSX (an export of a list: health reports, live-class
/// statistics).
struct ExportTable: Sendable {
    enum Cell: Sendable, Equatable {
        case text(String)
        /// Written with one decimal (a temperature).
        case number(Double)
        case integer(Int)
        case time(Date)
        case empty
    }

    /// The file's name, without extension.
    var title: String
    var sheetName: String
    /// Times are written in this zone (spreadsheets have no time zones).
    var zone: TimeZone
    var header: [String]
    /// Column widths in characters (XLSX); missing ones are 20.
    var columnWidths: [Double]
    var rows: [[Cell]]

    /// RFC 4180 CSV with a byte-order mark (Excel then reads UTF-8), formulas defused.
    func csv() -> [UInt8] {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = zone
        formatter.formatOptions = [.withInternetDateTime]
        var out: [UInt8] = [0xEF, 0xBB, 0xBF]
        func line(_ fields: [String]) {
            out += Array(fields.map(CSV.escape).joined(separator: ",").utf8)
            out += [13, 10]
        }
        line(header)
        for row in rows {
            line(row.map { cell in
                switch cell {
                case .text(let t): t
                case .number(let n): String(format: "%.1f", n)
                case .integer(let n): String(n)
                case .time(let d): formatter.string(from: d)
                case .empty: ""
                }
            })
        }
        return out
    }

    /// An XLSX workbook of one sheet; times as local times of `zone`.
    func xlsx() -> [UInt8] {
        let widths = header.indices.map { $0 < columnWidths.count ? columnWidths[$0] : 20 }
        var writer = XLSXWriter(sheetName: sheetName, columnWidths: widths)
        writer.addHeader(header)
        for row in rows {
            writer.addRow(row.map { cell in
                switch cell {
                case .text(let t): .text(t)
                case .number(let n): .number(n)
                case .integer(let n): .number(Double(n))
                case .time(let d): .dateTime(d.addingTimeInterval(TimeInterval(zone.secondsFromGMT(for: d))))
                case .empty: .empty
                }
            })
        }
        return writer.finish()
    }
}

extension APIHandler {
    /// An export as a download: CSV, or XLSX (the download headers are set on the response).
    static func download(_ table: ExportTable, xlsx: Bool) -> HTTPBody {
        setDownloadHeaders(name: "\(table.title).\(xlsx ? "xlsx" : "csv")", inline: false)
        return HTTPBody(xlsx ? table.xlsx() : table.csv())
    }
}
