import Foundation
import Testing
@testable import TackServer

/// The allow-list sanitiser of announcement bodies: what an editor writes survives, nothing
/// that can run, load or navigate does.
@Suite("Rich text")
struct RichTextTests {
    func html(_ input: String) -> String { RichText.sanitize(input).html }

    @Test("what the editor writes is kept")
    func keepsFormatting() {
        let input = #"<h2>Title</h2><p>Hello <strong>bold</strong>, <b>b</b>, <em>em</em>, <i>i</i>, <u>u</u>, <s>s</s><br>next</p>"#
            + #"<ul><li>one</li><li>two</li></ul><ol><li>first</li></ol><blockquote><p>quoted</p></blockquote><h3>Sub</h3>"#
        #expect(html(input) == input)
        #expect(html(#"<p><a href="https://example.com/a?b=1&amp;c=2">link</a></p>"#)
            == #"<p><a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow" target="_blank">link</a></p>"#)
        #expect(html(#"<p><a href="mailto:office@example.com">mail</a></p>"#).contains(#"href="mailto:office@example.com""#))
    }

    @Test("the plain text has a line per paragraph, item and break")
    func plainText() {
        let text = RichText.sanitize("<h2>Fire drill</h2><p>At <b>10:00</b>,\n   in the yard<br>Bring a coat</p><ol><li>Leave</li><li>Line up</li></ol><ul><li>Calm</li></ul>").text
        #expect(text == "Fire drill\nAt 10:00, in the yard\nBring a coat\n1. Leave\n2. Line up\n• Calm")
        #expect(RichText.sanitize("Tom &amp; Jerry &lt;3").text == "Tom & Jerry <3")
        #expect(RichText.sanitize("<p>  </p><p><br></p>").text.isEmpty)
    }

    @Test("scripts, styles and embedded content go with their content", arguments: [
        "<script>alert(1)</script>", "<SCRIPT SRC=//evil.example/x.js></SCRIPT>", "<script/src=x>alert(1)</script>",
        "<style>body{display:none}</style>", "<iframe src=javascript:alert(1)></iframe>", "<object data=x></object>",
        "<svg><script>alert(1)</script></svg>", "<svg onload=alert(1)>", "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
        "<template><img src=x onerror=alert(1)></template>", "<noscript><img src=x onerror=alert(1)></noscript>",
        "<textarea><script>alert(1)</script></textarea>", "<title></title><script>alert(1)</script>",
        "<img src=x onerror=alert(1)>", "<IMG SRC=\"javascript:alert(1);\">", "<video><source onerror=alert(1)></video>",
        "<embed src=x>", "<form action=javascript:alert(1)><button>x</button></form>", "<input onfocus=alert(1) autofocus>",
        "<link rel=stylesheet href=x>", "<meta http-equiv=refresh content=0;url=javascript:alert(1)>", "<base href=javascript:alert(1)//>",
        "<script>document.write('<p>')</script>", "<scr<script>ipt>alert(1)</script>", "<<script>alert(1)//<</script>",
        "<!--<script>alert(1)</script>-->", "<!--><script>alert(1)</script>-->", "<![CDATA[<script>alert(1)</script>]]>",
    ])
    func dropsActiveContent(input: String) {
        let out = html(input).lowercased()
        for needle in ["<script", "<style", "<iframe", "<object", "<svg", "<math", "<img", "<embed", "<form", "<input", "<link", "<meta",
                       "<base", "<video", "<source", "<template", "<textarea", "onerror", "onload", "onfocus", "javascript:", "src="] {
            #expect(!out.contains(needle), "\(input) → \(out)")
        }
    }

    @Test("event handlers and other attributes are dropped", arguments: [
        #"<p onclick="alert(1)">x</p>"#, #"<b onmouseover=alert(1)>x</b>"#, #"<a href="https://ok.example" onclick="alert(1)">x</a>"#,
        #"<p style="background:url(javascript:alert(1))">x</p>"#, #"<p class="x" id="y" data-x="1">x</p>"#,
        #"<p/onclick=alert(1)>x</p>"#, #"<p onclick = 'alert(1)' >x</p>"#, "<p\tonclick=alert(1)>x</p>", #"<p ="" onclick=alert(1)>x</p>"#,
    ])
    func dropsAttributes(input: String) {
        let out = html(input)
        #expect(!out.contains("onclick") && !out.contains("onmouseover") && !out.contains("style") && !out.contains("class")
                && !out.contains("id=") && !out.contains("data-"), "\(input) → \(out)")
        #expect(out.contains(">x<"))
    }

    @Test("links go only to http, https and mailto", arguments: [
        "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)", "java&#x09;script:alert(1)",
        "&#106;avascript:alert(1)", "&#x6A;avascript:alert(1)", "&#0000106avascript:alert(1)", "javascript&colon;alert(1)",
        "vbscript:msgbox(1)", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "file:///etc/passwd",
        "//evil.example", "/relative", "#anchor", "http:evil", "https:/evil", "\\\\evil\\share", "\u{1}javascript:alert(1)",
    ])
    func unsafeLinks(href: String) {
        let out = html(#"<a href="\#(href)">x</a>"#)
        #expect(!out.contains("href"), "\(href) → \(out)")
        #expect(out == "<p><a>x</a></p>")
    }

    @Test("text is escaped, and an entity stays text")
    func escaping() {
        #expect(html("a < b > c & d \" e ' f") == "<p>a &lt; b &gt; c &amp; d &quot; e &#39; f</p>")
        #expect(html("&lt;script&gt;alert(1)&lt;/script&gt;") == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>")
        #expect(html(#"<a href="https://x.example/?q=&quot;><script>">x</a>"#)
            == #"<p><a href="https://x.example/?q=&quot;&gt;&lt;script&gt;" rel="noopener noreferrer nofollow" target="_blank">x</a></p>"#)
        #expect(html("<p>unfinished <b") == "<p>unfinished </p>")
        #expect(html("1 <3 and 4>2") == "<p>1 &lt;3 and 4&gt;2</p>")
    }

    @Test("the output is well nested whatever comes in")
    func nesting() {
        #expect(html("<b><i>x</b></i>") == "<p><b><i>x</i></b></p>")
        #expect(html("<p>a<p>b") == "<p>a</p><p>b</p>")
        #expect(html("<li>loose</li>") == "<ul><li>loose</li></ul>")
        #expect(html("<ul><li>a<li>b</ul>") == "<ul><li>a</li><li>b</li></ul>")
        #expect(html("<a href='https://a.example'>a<a href='https://b.example'>b</a></a>").components(separatedBy: "<a ").count == 3)
        #expect(html("</p></b>stray") == "<p>stray</p>")
        #expect(html("<div>one</div><div>two</div>") == "<p>one</p><p>two</p>")
        #expect(html("<h1>Big</h1><h5>small</h5>") == "<h2>Big</h2><h3>small</h3>")
        #expect(html("<span style='color:red'>plain</span>") == "<p>plain</p>")
        let deep = String(repeating: "<blockquote>", count: 100) + "x"
        #expect(html(deep).components(separatedBy: "<blockquote>").count <= 25)
        #expect(html(deep).hasSuffix("</blockquote>"))
    }

    @Test("random input never yields a tag outside the allow-list")
    func fuzz() {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["<", ">", "/", "=", "\"", "'", "script", "img", "a", "p", "b", " ", "on", "error", "href", "javascript:", "&", "#",
                      "x", ";", "!", "-", "svg", "\t", "li", "ul", "https://e.example", "style"]
        let allowed: Set<String> = ["p", "br", "strong", "b", "em", "i", "u", "s", "h2", "h3", "ul", "ol", "li", "blockquote", "a"]
        for _ in 0..<3000 {
            let input = (0..<Int.random(in: 1...40, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            let out = html(input)
            // Every "<" of the output starts an allowed tag; attributes only on links.
            var rest = Substring(out)
            while let open = rest.firstIndex(of: "<") {
                let tag = rest[rest.index(after: open)...].prefix { $0 != ">" }
                let name = tag.drop { $0 == "/" }.prefix { $0.isLetter || $0.isNumber }
                #expect(allowed.contains(String(name)), "\(input) → \(out)")
                if name != "a" { #expect(!tag.contains(" "), "\(input) → \(out)") }
                else if tag.contains(" ") { #expect(tag.hasPrefix("a href=\"https://e.example") || tag.hasPrefix("a href=\"http"), "\(input) → \(out)") }
                rest = rest[rest.index(after: open)...]
            }
        }
    }
}
