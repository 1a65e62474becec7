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

    enum Run: Equatable { case word(String), cjk([Character]) }

    /// Splits text into words and CJK runs; everything else separates them. Tokens only hold
    /// letters, digits and CJK characters, so quoting them in either query language is safe.
    private static func runs(_ text: String) -> [Run] {
        plainRuns(text) ?? foldedRuns(text)
    }

    /// `runs` for text of ASCII, Han ideographs, full-width ASCII forms and the ideographic space,
    /// comma and full stop — most Chinese and English messages — read scalar by scalar: no
    /// Foundation normalisation, no grapheme breaking (a send's tokens were ~4 % of its CPU).
    /// The same runs as `foldedRuns` (tested); nil for any other text.
    static func plainRuns(_ text: String) -> [Run]? {
        var result: [Run] = []
        var word: [UInt8] = []
        var cjk: [Character] = []
        func flush() {
            if !word.isEmpty { result.append(.word(String(decoding: word.prefix(64), as: UTF8.self))); word.removeAll(keepingCapacity: true) }
            if !cjk.isEmpty { result.append(.cjk(cjk)); cjk = [] }
        }
        for scalar in text.unicodeScalars {
            var value = scalar.value
            switch value {
            case 0xFF01...0xFF5E: value -= 0xFEE0  // full-width ASCII, as NFKC folds it
            case 0x3000: value = 0x20  // the ideographic space
            default: break
            }
            switch value {
            case 0x41...0x5A, 0x61...0x7A, 0x30...0x39:
                if !cjk.isEmpty { flush() }
                word.append(UInt8(value) | (value <= 0x5A && value >= 0x41 ? 0x20 : 0))
            case 0..<0x80, 0x3001, 0x3002:
                flush()
            case 0x3400...0x4DBF, 0x4E00...0x9FFF:
                if !word.isEmpty { flush() }
                cjk.append(Character(scalar))
            default:
                return nil
            }
        }
        flush()
        return result
    }

    /// `runs` for any text: NFKC (full-width letters and digits as their plain forms), lower
    /// case, then character by character.
    static func foldedRuns(_ text: String) -> [Run] {
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
