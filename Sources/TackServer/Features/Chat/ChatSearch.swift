import Foundation

/// Turns text into search tokens that work for Chinese as well as English, on both engines.
///
/// Words of letters and digits become lower-case tokens. Runs of CJK characters (which have no
/// spaces between words) become every single character and every pair of neighbours ("bigrams",
/// as Lucene's CJK analyzer does), so that any run of two or more characters is found by its
/// bigrams and a single character by itself. The tokens are stored space-separated and indexed by
/// SQLite's FTS5 (unicode61 tokenizer) or PostgreSQL's `tsvector` ('simple' configuration).
enum SearchTokens {
    /// Tokens to index for a message: its text and its attachment's name.
    static func index(text: String?, attachmentName: String?) -> String {
        index([text, attachmentName].compactMap { $0 }.joined(separator: " "))
    }

    /// Tokens to index for a text.
    static func index(_ text: String) -> String {
        var tokens: [String] = []
        for run in runs(text) {
            switch run {
            case .word(let w): tokens.append(w)
            case .cjk(let chars):
                tokens.append(contentsOf: chars.map { String($0) })
                if chars.count > 1 { for i in 0..<(chars.count - 1) { tokens.append(String(chars[i]) + String(chars[i + 1])) } }
            }
        }
        return tokens.joined(separator: " ")
    }

    /// A search as tokens that must all match; the last word may match as a prefix.
    struct Query: Equatable {
        var tokens: [String]
        var lastIsPrefix: Bool
    }

    static func query(_ text: String) -> Query? {
        var tokens: [String] = []
        var lastIsPrefix = false
        for run in runs(text) {
            switch run {
            case .word(let w):
                tokens.append(w)
                lastIsPrefix = true
            case .cjk(let chars):
                if chars.count == 1 {
                    tokens.append(String(chars[0]))
                } else {
                    for i in 0..<(chars.count - 1) { tokens.append(String(chars[i]) + String(chars[i + 1])) }
                }
                lastIsPrefix = false
            }
        }
        guard !tokens.isEmpty else { return nil }
        var seen = Set<String>()
        tokens = tokens.filter { seen.insert($0).inserted }
        return Query(tokens: Array(tokens.prefix(32)), lastIsPrefix: lastIsPrefix)
    }

    /// The FTS5 MATCH expression: quoted tokens, all required.
    static func fts5(_ q: Query) -> String {
        q.tokens.enumerated().map { i, t in
            "\"\(t)\"" + (i == q.tokens.count - 1 && q.lastIsPrefix ? "*" : "")
        }.joined(separator: " ")
    }

    /// The PostgreSQL `to_tsquery('simple', …)` text.
    static func tsquery(_ q: Query) -> String {
        q.tokens.enumerated().map { i, t in
            "'\(t)'" + (i == q.tokens.count - 1 && q.lastIsPrefix ? ":*" : "")
        }.joined(separator: " & ")
    }

    private enum Run { case word(String), cjk([Character]) }

    /// Splits text into words and CJK runs; everything else separates them. Tokens only hold
    /// letters, digits and CJK characters, so quoting them in either query language is safe.
    private static func runs(_ text: String) -> [Run] {
        var result: [Run] = []
        var word = ""
        var cjk: [Character] = []
        func flush() {
            if !word.isEmpty { result.append(.word(String(word.prefix(64)))); word = "" }
            if !cjk.isEmpty { result.append(.cjk(cjk)); cjk = [] }
        }
        // NFKC (full-width letters and digits as their plain forms) leaves ASCII text as it is.
        let folded = text.utf8.allSatisfy { $0 < 0x80 } ? text.lowercased() : text.precomposedStringWithCompatibilityMapping.lowercased()
        for ch in folded {
            if isCJK(ch) {
                if !word.isEmpty { flush() }
                cjk.append(ch)
            } else if ch.isLetter || ch.isNumber {
                if !cjk.isEmpty { flush() }
                word.append(ch)
            } else {
                flush()
            }
        }
        flush()
        return result
    }

    static func isCJK(_ ch: Character) -> Bool {
        guard let scalar = ch.unicodeScalars.first else { return false }
        switch scalar.value {
        case 0x3040...0x30FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xAC00...0xD7AF, 0xF900...0xFAFF, 0x20000...0x2FA1F: return true
        default: return false
        }
    }
}
