import Foundation
import Testing
@testable import TackServer

@Suite("Search tokens")
struct SearchTokenTests {
    @Test func chineseIsIndexedByCharactersAndPairs() {
        #expect(SearchTokens.index("今天开会") == "今 天 开 会 今天 天开 开会")
        #expect(SearchTokens.query("开会")?.tokens == ["开会"])
        #expect(SearchTokens.query("三点开会")?.tokens == ["三点", "点开", "开会"])
        #expect(SearchTokens.query("会")?.tokens == ["会"])
    }

    @Test func wordsAreLowerCasedAndTheLastIsAPrefix() {
        #expect(SearchTokens.index("Hello, WORLD! Meeting@3pm") == "hello world meeting 3pm")
        let q = SearchTokens.query("quarterly rep")
        #expect(q == SearchTokens.Query(tokens: ["quarterly", "rep"], lastIsPrefix: true))
        #expect(SearchTokens.fts5(q!) == "\"quarterly\" \"rep\"*")
        #expect(SearchTokens.tsquery(q!) == "'quarterly' & 'rep':*")
        #expect(SearchTokens.index("开会meeting") == "开 会 开会 meeting")
    }

    @Test("the scalar-by-scalar reading of plain Chinese and English gives the same runs as NFKC and graphemes")
    func plainTextTakesTheShortWayToTheSameRuns() {
        // What the short way reads, and what must send text the long way.
        let plain: [String] = ["a", "Z", "q", "0", "9", " ", ",", "@", "-", "\r\n", "\t", "Ａ", "ｚ", "０", "，", "！", "　", "、", "。",
                               "今", "天", "开", "会", "㐀", "鿿", String(repeating: "x", count: 70)]
        let other: [String] = ["é", "e\u{301}", "ß", "İ", "ｶ", "か", "한", "\u{F900}", "Ⅻ", "ﬁ", "①", "😀", "今\u{FE00}", "\u{2028}"]
        var generator = SystemRandomNumberGenerator()
        for round in 0..<2_000 {
            let pieces = (0..<Int.random(in: 1...12, using: &generator)).map { _ in plain.randomElement(using: &generator)! }
            let text = pieces.joined()
            #expect(SearchTokens.plainRuns(text) == SearchTokens.foldedRuns(text), "\(text.debugDescription)")
            var mixed = pieces
            mixed.insert(other[round % other.count], at: Int.random(in: 0...pieces.count, using: &generator))
            #expect(SearchTokens.plainRuns(mixed.joined()) == nil, "\(mixed.joined().debugDescription) needs NFKC or graphemes")
        }
        #expect(SearchTokens.index("ＭＥＥＴ　今天，三点。OK") == "meet 今 天 今天 三 点 三点 ok")
    }

    @Test func fullWidthFormsFoldAndAttachmentNamesCount() {
        // NFKC for non-ASCII text; ASCII text takes the short way to the same tokens.
        #expect(SearchTokens.index("Ｍｅｅｔｉｎｇ　１２号") == "meeting 12 号")
        #expect(SearchTokens.index("Meeting 12") == "meeting 12")
        #expect(SearchTokens.index(text: "see the plan", attachmentName: "Q3-Budget.xlsx") == "see the plan q3 budget xlsx")
        #expect(SearchTokens.index(text: nil, attachmentName: "报告.pdf") == "报 告 报告 pdf")
    }

    @Test func punctuationAndQuotesNeverReachTheQueryLanguage() {
        #expect(SearchTokens.query("\" OR 1=1 -- ' ; *") == SearchTokens.Query(tokens: ["or", "1"], lastIsPrefix: true))
        #expect(SearchTokens.query("!!! ??? ...") == nil)
    }
}

@Suite("Receipts")
struct ReceiptTests {
    let sender = User.ID.random(), a = User.ID.random(), b = User.ID.random(), late = User.ID.random()

    @Test func countsComeFromWatermarks() {
        let members = [
            ReceiptRow(userID: sender, joinedSeq: 0, readSeq: 10),
            ReceiptRow(userID: a, joinedSeq: 0, readSeq: 7),
            ReceiptRow(userID: b, joinedSeq: 0, readSeq: 3),
            // Joined after message 8: never counts for 5 or 8.
            ReceiptRow(userID: late, joinedSeq: 8, readSeq: 8),
        ]
        #expect(Receipts.unread(5, sender: sender, members: members) == 1)
        #expect(Receipts.unread(8, sender: sender, members: members) == 2)
        #expect(Receipts.unread(9, sender: sender, members: members) == 3)
        #expect(Receipts.unreadCounts([5, 8, 9], sender: sender, members: members) == [5: 1, 8: 2, 9: 3])
        #expect(Receipts.unreadCounts([1], sender: a, members: members) == [1: 0], "the sender never counts")
    }
}

@Suite("Content sniffing")
struct ContentSnifferTests {
    static let png: [UInt8] = Array(Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAIAAAADCAYAAAC56t6BAAAAEUlEQVR4nGP4z8DwH4QZMBgAoXkL9U3EmgcAAAAASUVORK5CYII=")!)

    @Test func typesComeFromContentNotNames() {
        #expect(ContentSniffer.sniff(Self.png) == .init(contentType: "image/png", width: 2, height: 3))
        #expect(ContentSniffer.sniff(Array("GIF89a".utf8) + [5, 0, 7, 0]).width == 5)
        #expect(ContentSniffer.sniff(Array("%PDF-1.7\n".utf8)).contentType == "application/pdf")
        #expect(ContentSniffer.sniff(Array("<html><script>alert(1)</script>".utf8)).contentType == "text/plain")
        #expect(ContentSniffer.sniff([0x00, 0x01, 0xFF, 0xFE]).contentType == "application/octet-stream")
        #expect(ContentSniffer.sniff(Array("你好，世界".utf8)).contentType == "text/plain")
    }
}
