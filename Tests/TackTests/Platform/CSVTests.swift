import Testing
@testable import TackServer

@Suite("CSV")
struct CSVTests {
    @Test func parsesQuotesNewlinesAndBOM() throws {
        let text = "\u{FEFF}name,note\r\n\"Li, Lei\",\"said \"\"hi\"\"\"\n\n王芳,\"two\nlines\"\nlast,"
        let records = try CSV.parse(text)
        #expect(records.map(\.fields) == [["name", "note"], ["Li, Lei", "said \"hi\""], ["王芳", "two\nlines"], ["last", ""]])
        #expect(records.map(\.line) == [1, 2, 4, 6])
    }

    @Test func refusesBrokenQuoting() {
        #expect(throws: CSV.ParseError.self) { try CSV.parse("a,\"open\n") }
        #expect(throws: CSV.ParseError.self) { try CSV.parse("a,b\"c\n") }
        #expect(throws: CSV.ParseError.self) { try CSV.parse("\"a\"b,c\n") }
    }

    @Test func escapesForSpreadsheets() {
        #expect(CSV.escape("plain") == "plain")
        #expect(CSV.escape("a,b") == "\"a,b\"")
        #expect(CSV.escape("=SUM(A1)") == "'=SUM(A1)")
        #expect(CSV.escape("\tcmd") == "'\tcmd")
        #expect(CSV.escape("say \"x\"") == "\"say \"\"x\"\"\"")
    }
}
