import SQLKit

/// Batch statements in a few fixed shapes, so that a prepared statement is reused.
///
/// A statement built for a batch (`VALUES (…), (…), …` or `IN (?, ?, …)`) has a different text
/// for every batch size, and SQLite compiles each new text: about a millisecond for one of a few
/// hundred binds, on the single writer, and its statement cache (per connection, by text) fills
/// with one statement per size. Built from these pieces instead, a batch's statements have one
/// of a handful of texts whatever its size (`docs/architecture.md`, "Statement shapes").
extension Array {
    /// Consecutive pieces whose sizes are powers of two of at most `largest` (a power of two):
    /// as many `largest` as fit, then the binary digits of the rest — 37 is 32 + 4 + 1. A
    /// statement per piece; for `VALUES` lists, whose rows cannot be repeated.
    func statementChunks(largest: Int = 64) -> [ArraySlice<Element>] {
        precondition(largest > 0 && largest & (largest - 1) == 0, "a power of two")
        var pieces: [ArraySlice<Element>] = []
        var start = 0
        var size = largest
        while start < count {
            while size > count - start { size /= 2 }
            pieces.append(self[start..<(start + size)])
            start += size
        }
        return pieces
    }

    /// Pieces of at most `largest` (a power of two) elements, each padded to a power of two by
    /// repeating its last element: for `IN` lists, where a repeated value changes nothing. One
    /// statement per piece, and for up to `largest` elements only one.
    func inListChunks(largest: Int = 256) -> [[Element]] {
        precondition(largest > 0 && largest & (largest - 1) == 0, "a power of two")
        return stride(from: 0, to: count, by: largest).map { start in
            Array(self[start..<Swift.min(start + largest, count)]).paddedInList()
        }
    }

    /// The array padded to a power of two elements by repeating its last: an `IN` list of one of
    /// a few lengths (see `inListChunks`, for lists that may be long).
    func paddedInList() -> [Element] {
        var size = 1
        while size < count { size *= 2 }
        guard let last else { return self }
        return self + repeatElement(last, count: size - count)
    }
}

extension Sequence {
    /// `(…, …), (…, …), …`: the rows of a `VALUES` list, an expression per column of each element's
    /// row (binds, or e.g. a `CAST` where the engine must learn a column's type).
    func valueRows(_ row: (Element) -> [any SQLExpression]) -> SQLQueryString {
        var values = SQLQueryString("")
        for (i, element) in enumerated() {
            values.appendLiteral(i == 0 ? "(" : ", (")
            for (j, expression) in row(element).enumerated() {
                if j > 0 { values.appendLiteral(", ") }
                values.appendInterpolation(expression)
            }
            values.appendLiteral(")")
        }
        return values
    }
}
