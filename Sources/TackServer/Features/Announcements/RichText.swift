import Foundation

/// Rich text as Tack stores it: HTML limited to a small allow-list, rebuilt from scratch out of
/// what a browser's editor (or anyone) sent — never the input passed through with things cut out.
///
/// Allowed: `p br strong b em i u s h2 h3 ul ol li blockquote a`; `a` keeps only an `href` that
/// is an absolute `http:`, `https:` or `mailto:` URL and always gets `rel="noopener noreferrer
/// nofollow" target="_blank"`. Other formatting tags (`div span font …`) are unwrapped (their
/// text stays; `h1` becomes `h2`, `h4`–`h6` `h3`, a top-level `div` a paragraph); tags whose
/// content is code or embedded media (`script style iframe object svg math template img …`)
/// are dropped with their content; comments, doctypes and processing instructions vanish; every
/// attribute but `a`'s `href` is dropped. Text is decoded once and escaped again, so `&lt;` stays
/// text. The output is well nested: whatever is left open is closed.
enum RichText {
    struct Sanitized: Sendable, Equatable {
        /// The safe HTML.
        var html: String
        /// Its text: a line per paragraph, list item or line break, for lists, search,
        /// notifications and e-mail.
        var text: String
    }

    static let inlineTags: Set<String> = ["strong", "b", "em", "i", "u", "s", "a"]
    static let blockTags: Set<String> = ["p", "h2", "h3", "ul", "ol", "li", "blockquote"]
    /// Elements dropped with everything inside them.
    static let droppedTags: Set<String> = [
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math", "template",
        "noscript", "noembed", "noframes", "textarea", "title", "xmp", "select", "option", "audio", "video",
        "canvas", "head", "plaintext", "button", "form", "input", "img", "picture", "source", "link", "meta", "base",
    ]
    /// Elements whose content is raw text to the HTML parser: a `<` inside them starts no tag.
    static let rawTextTags: Set<String> = ["script", "style", "iframe", "noembed", "noframes", "noscript", "textarea", "title", "xmp", "plaintext"]
    /// Void elements: they have no content, so they never open a drop.
    static let voidTags: Set<String> = ["img", "input", "source", "link", "meta", "base", "embed", "br", "hr", "wbr", "area", "col", "param", "track"]
    /// Blocks that become paragraphs.
    static let paragraphLike: Set<String> = [
        "div", "section", "article", "header", "footer", "main", "nav", "aside", "figure", "figcaption", "address",
        "pre", "center", "dl", "dt", "dd", "table", "tr", "caption", "details", "summary",
    ]
    private static let maxDepth = 24

    // MARK: Tokens

    enum Token: Equatable {
        case text(String)
        case start(name: String, attributes: [(String, String)], selfClosing: Bool)
        case end(name: String)

        static func == (a: Token, b: Token) -> Bool {
            switch (a, b) {
            case (.text(let x), .text(let y)): x == y
            case (.end(let x), .end(let y)): x == y
            case (.start(let n1, let a1, let s1), .start(let n2, let a2, let s2)):
                n1 == n2 && s1 == s2 && a1.map(\.0) == a2.map(\.0) && a1.map(\.1) == a2.map(\.1)
            default: false
            }
        }
    }

    /// Splits HTML into text (entities decoded) and tags (names lower-cased, attribute values
    /// decoded), the way a browser would read them closely enough for an allow-list: anything
    /// that does not parse as a tag is text.
    static func tokenize(_ html: String) -> [Token] {
        let s = Array(html.unicodeScalars)
        var tokens: [Token] = []
        var text = String.UnicodeScalarView()
        var i = 0
        func flush() {
            if !text.isEmpty { tokens.append(.text(decodeEntities(String(text)))); text = String.UnicodeScalarView() }
        }
        func isLetter(_ c: Unicode.Scalar) -> Bool { (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") }
        func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{0C}" }
        func find(_ needle: [Unicode.Scalar], from: Int, caseInsensitive: Bool = false) -> Int? {
            guard needle.count <= s.count else { return nil }
            var j = from
            while j + needle.count <= s.count {
                var match = true
                for k in 0..<needle.count {
                    let a = s[j + k], b = needle[k]
                    if caseInsensitive ? lower(a) != lower(b) : a != b { match = false; break }
                }
                if match { return j }
                j += 1
            }
            return nil
        }
        while i < s.count {
            let c = s[i]
            guard c == "<", i + 1 < s.count else { text.append(c); i += 1; continue }
            let n = s[i + 1]
            if n == "!" {
                flush()
                if i + 3 < s.count, s[i + 2] == "-", s[i + 3] == "-" {
                    // A comment ends at the next "-->" (or the end of the input).
                    i = find(Array("-->".unicodeScalars), from: i + 4).map { $0 + 3 } ?? s.count
                } else {
                    i = find([">"], from: i + 2).map { $0 + 1 } ?? s.count
                }
                continue
            }
            if n == "?" {
                flush()
                i = find([">"], from: i + 2).map { $0 + 1 } ?? s.count
                continue
            }
            let closing = n == "/"
            let nameStart = i + (closing ? 2 : 1)
            guard nameStart < s.count, isLetter(s[nameStart]) else {
                if closing, nameStart < s.count {
                    // "</ >" or "</3": a bogus comment to a browser — gone.
                    flush()
                    i = find([">"], from: nameStart).map { $0 + 1 } ?? s.count
                } else {
                    text.append(c)
                    i += 1
                }
                continue
            }
            var j = nameStart
            var name = ""
            while j < s.count, !isSpace(s[j]), s[j] != "/", s[j] != ">" { name.unicodeScalars.append(lower(s[j])); j += 1 }
            // Attributes, up to the closing ">".
            var attributes: [(String, String)] = []
            var selfClosing = false
            var closed = false
            while j < s.count {
                while j < s.count, isSpace(s[j]) { j += 1 }
                guard j < s.count else { break }
                if s[j] == ">" { closed = true; j += 1; break }
                if s[j] == "/" {
                    j += 1
                    if j < s.count, s[j] == ">" { selfClosing = true; closed = true; j += 1; break }
                    continue
                }
                var attr = ""
                // The first character may be "=" (a browser takes it as part of the name).
                repeat {
                    attr.unicodeScalars.append(lower(s[j]))
                    j += 1
                } while j < s.count && !isSpace(s[j]) && s[j] != "/" && s[j] != ">" && s[j] != "="
                while j < s.count, isSpace(s[j]) { j += 1 }
                var value = ""
                if j < s.count, s[j] == "=" {
                    j += 1
                    while j < s.count, isSpace(s[j]) { j += 1 }
                    if j < s.count, s[j] == "\"" || s[j] == "'" {
                        let quote = s[j]
                        j += 1
                        var v = String.UnicodeScalarView()
                        while j < s.count, s[j] != quote { v.append(s[j]); j += 1 }
                        j += 1
                        value = String(v)
                    } else {
                        var v = String.UnicodeScalarView()
                        while j < s.count, !isSpace(s[j]), s[j] != ">" { v.append(s[j]); j += 1 }
                        value = String(v)
                    }
                }
                attributes.append((attr, decodeEntities(value)))
            }
            guard closed else {
                // An unfinished tag at the end: a browser drops it; so do we.
                flush()
                i = s.count
                break
            }
            flush()
            if closing {
                tokens.append(.end(name: name))
                i = j
                continue
            }
            // "<script/>" still starts a script to a browser: only void elements close themselves.
            tokens.append(.start(name: name, attributes: attributes, selfClosing: selfClosing && !rawTextTags.contains(name)))
            i = j
            if rawTextTags.contains(name) {
                // Raw text up to "</name": not markup, and dropped with its element.
                let end = name == "plaintext" ? nil : find(Array("</\(name)".unicodeScalars), from: i, caseInsensitive: true)
                if let end {
                    i = find([">"], from: end).map { $0 + 1 } ?? s.count
                } else {
                    i = s.count
                }
                tokens.append(.end(name: name))
            }
        }
        flush()
        return tokens
    }

    private static func lower(_ c: Unicode.Scalar) -> Unicode.Scalar {
        c >= "A" && c <= "Z" ? Unicode.Scalar(c.value + 32)! : c
    }

    private static let namedEntities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{A0}", "colon": ":", "tab": "\t",
        "newline": "\n", "sol": "/", "lpar": "(", "rpar": ")", "semi": ";", "comma": ",", "period": ".", "excl": "!",
        "ndash": "–", "mdash": "—", "hellip": "…", "lsquo": "‘", "rsquo": "’", "ldquo": "“", "rdquo": "”", "middot": "·",
        "copy": "©", "reg": "®", "times": "×", "divide": "÷", "bull": "•", "laquo": "«", "raquo": "»", "yen": "¥", "euro": "€",
    ]

    /// Decodes character references (`&amp;`, `&#106;`, `&#x6A;`, with or without the `;`).
    static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        let s = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            guard s[i] == "&" else { out.append(s[i]); i += 1; continue }
            var j = i + 1
            if j < s.count, s[j] == "#" {
                j += 1
                let hex = j < s.count && (s[j] == "x" || s[j] == "X")
                if hex { j += 1 }
                var digits = ""
                while j < s.count, digits.count < 10,
                      hex ? s[j].properties.isASCIIHexDigit : (s[j] >= "0" && s[j] <= "9") {
                    digits.unicodeScalars.append(s[j]); j += 1
                }
                if let value = UInt32(digits, radix: hex ? 16 : 10), !digits.isEmpty {
                    if j < s.count, s[j] == ";" { j += 1 }
                    // NUL, surrogates and out-of-range values become U+FFFD, as in a browser.
                    out.append(value == 0 ? "\u{FFFD}" : Unicode.Scalar(value) ?? "\u{FFFD}")
                    i = j
                    continue
                }
            } else {
                var name = ""
                while j < s.count, name.count < 10, (s[j] >= "a" && s[j] <= "z") || (s[j] >= "A" && s[j] <= "Z") {
                    name.unicodeScalars.append(s[j]); j += 1
                }
                if let value = namedEntities[name.lowercased()] ?? namedEntities[name] {
                    if j < s.count, s[j] == ";" { j += 1 }
                    out.append(contentsOf: value.unicodeScalars)
                    i = j
                    continue
                }
            }
            out.append("&")
            i += 1
        }
        return String(out)
    }

    /// Escapes text for HTML content and double-quoted attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\u{0}": out += "\u{FFFD}"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// The link target if it is an absolute http, https or mailto URL; nil otherwise. Control
    /// characters and whitespace (which browsers strip from a scheme, as in `java\tscript:`)
    /// make a URL unsafe outright.
    static func safeURL(_ raw: String) -> String? {
        let url = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !url.isEmpty, url.count <= 2048,
              !url.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || $0 == " " || $0 == "\\" })
        else { return nil }
        guard let colon = url.firstIndex(of: ":") else { return nil }
        let scheme = url[..<colon].lowercased()
        switch scheme {
        case "http", "https":
            guard url[colon...].hasPrefix("://"), url.count > scheme.count + 3 else { return nil }
        case "mailto":
            guard url.count > 7 else { return nil }
        default:
            return nil
        }
        return url
    }

    // MARK: Sanitising

    /// The allowed tag an element becomes: `h1` a `h2`, `h4`–`h6` a `h3`, an editor's line
    /// (Chrome writes `<div>`s) and other blocks a paragraph.
    private static func normalized(_ name: String) -> String {
        if name == "h1" { return "h2" }
        if ["h4", "h5", "h6"].contains(name) { return "h3" }
        return paragraphLike.contains(name) ? "p" : name
    }

    static func sanitize(_ html: String) -> Sanitized {
        var out = ""
        var lines: [String] = []
        var line = ""
        /// Open elements of the output.
        var stack: [String] = []
        /// The dropped element being skipped, and how deep in it the input is.
        var dropping: (name: String, depth: Int)?
        /// The last number of each open list (0 for bulleted ones), for the plain text.
        var listNumbers: [Int] = []

        func endLine() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if !trimmed.isEmpty { lines.append(trimmed) }
            line = ""
        }
        func close(_ name: String) {
            out += "</\(name)>"
            if blockTags.contains(name) { endLine() }
            if name == "ul" || name == "ol" { listNumbers.removeLast() }
        }
        func closeTo(_ index: Int) {
            while stack.count > index { close(stack.removeLast()) }
        }
        /// Closes what a new block cannot live inside: inline elements and paragraphs/headings.
        func closeForBlock() {
            while let top = stack.last, inlineTags.contains(top) || ["p", "h2", "h3"].contains(top) { close(stack.removeLast()) }
        }
        func open(_ name: String, _ attributes: String = "") {
            out += "<\(name)\(attributes)>"
            stack.append(name)
        }
        /// Inline content needs a block around it when it is not inside one.
        func ensureBlock() {
            if stack.isEmpty || stack.last == "blockquote" { open("p") }
            else if stack.last == "ul" || stack.last == "ol" { startItem() }
        }
        func lineBreak() {
            ensureBlock()
            out += "<br>"
            endLine()
        }
        func startItem() {
            endLine()
            open("li")
            if var n = listNumbers.last, stack.count >= 2, stack[stack.count - 2] == "ol" {
                n += 1
                listNumbers[listNumbers.count - 1] = n
                line = "\(n). "
            } else {
                line = "• "
            }
        }
        func text(_ t: String) {
            // Whitespace-only text between blocks is formatting of the source, not content.
            let collapsed = t.replacingOccurrences(of: "[ \\t\\n\\r\\f]+", with: " ", options: .regularExpression)
            if collapsed.trimmingCharacters(in: .whitespaces).isEmpty {
                if let top = stack.last, inlineTags.contains(top) || ["p", "h2", "h3", "li"].contains(top) {
                    out += " "
                    line += " "
                }
                return
            }
            ensureBlock()
            out += escape(collapsed)
            line += collapsed
        }

        for token in tokenize(html) {
            if var drop = dropping {
                switch token {
                case .start(let name, _, let selfClosing) where name == drop.name && !selfClosing && !voidTags.contains(name):
                    drop.depth += 1
                    dropping = drop
                case .end(let name) where name == drop.name:
                    drop.depth -= 1
                    dropping = drop.depth == 0 ? nil : drop
                default: break
                }
                continue
            }
            switch token {
            case .text(let t):
                text(t)
            case .start(let raw, let attributes, let selfClosing):
                if droppedTags.contains(raw) {
                    if !selfClosing && !voidTags.contains(raw) { dropping = (raw, 1) }
                    continue
                }
                let name = normalized(raw)
                if name == "br" {
                    lineBreak()
                    continue
                }
                guard stack.count < maxDepth else { continue }
                switch name {
                case "p", "h2", "h3", "blockquote":
                    closeForBlock()
                    if stack.last == "ul" || stack.last == "ol" { startItem() }
                    open(name)
                case "ul", "ol":
                    closeForBlock()
                    if stack.last == "ul" || stack.last == "ol" { startItem() }
                    endLine()
                    listNumbers.append(0)
                    open(name)
                case "li":
                    // An item closes the previous one of its list; outside a list it opens one.
                    if let list = stack.lastIndex(where: { $0 == "ul" || $0 == "ol" }),
                       !stack[(list + 1)...].contains(where: { $0 == "ul" || $0 == "ol" || $0 == "blockquote" }) {
                        closeTo(list + 1)
                    } else {
                        closeForBlock()
                        listNumbers.append(0)
                        open("ul")
                    }
                    startItem()
                case "a":
                    // Links do not nest.
                    if let outer = stack.lastIndex(of: "a") { closeTo(outer) }
                    ensureBlock()
                    if let href = attributes.first(where: { $0.0 == "href" }).flatMap({ safeURL($0.1) }) {
                        open("a", " href=\"\(escape(href))\" rel=\"noopener noreferrer nofollow\" target=\"_blank\"")
                    } else {
                        open("a")
                    }
                case "strong", "b", "em", "i", "u", "s":
                    ensureBlock()
                    open(name)
                default:
                    continue  // unwrapped: its content stays, its end tag is ignored
                }
            case .end(let raw):
                let name = normalized(raw)
                if name == "br" {
                    lineBreak()  // "</br>" is a line break to a browser
                    continue
                }
                guard inlineTags.contains(name) || blockTags.contains(name), let index = stack.lastIndex(of: name) else { continue }
                // An inline end tag does not close blocks opened after it.
                if inlineTags.contains(name), stack[(index + 1)...].contains(where: { blockTags.contains($0) }) { continue }
                closeTo(index)
            }
        }
        closeTo(0)
        endLine()
        // Empty paragraphs an editor leaves behind are dropped from the end.
        while out.hasSuffix("<p></p>") { out.removeLast(7) }
        while out.hasSuffix("<p><br></p>") { out.removeLast(11) }
        return Sanitized(html: out, text: lines.joined(separator: "\n").replacingOccurrences(of: "\u{A0}", with: " "))
    }
}
