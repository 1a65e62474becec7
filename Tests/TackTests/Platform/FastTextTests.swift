import Foundation
import Testing
@testable import TackServer

@Suite("Fast text")
struct FastTextTests {
    @Test func uuidsMatchFoundation() {
        for _ in 0..<200 {
            let uuid = UUID()
            #expect(UUIDText.format(uuid, uppercase: true) == uuid.uuidString)
            #expect(UUIDText.format(uuid) == uuid.uuidString.lowercased())
            #expect(UUIDText.parse(uuid.uuidString) == uuid)
            #expect(UUIDText.parse(uuid.uuidString.lowercased()) == uuid)
        }
        for bad in ["", "not-a-uuid", "6F9619FF-8B86-D011-B42D-00C04FC964F", "6F9619FF-8B86-D011-B42D-00C04FC964FFX",
                    "6F9619FF8B86-D011-B42D-00C04FC964FF0", "6F9619FF-8B86-D011-B42D-00C04FC964FG"] {
            #expect(UUIDText.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func datesMatchFoundation() throws {
        let formatter = ISO8601DateFormatter()
        let samples: [Double] = [0, 1, -1, 951_782_400 /* 2000-02-29 */, 1_800_000_000, -2_208_988_800 /* 1900 */, 253_402_300_799 /* 9999 */]
        for seconds in samples + (0..<300).map { _ in Double(Int.random(in: -2_000_000_000...4_000_000_000)) } {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(FastDateTranscoder.format(date) == formatter.string(from: date), "\(seconds)")
            #expect(try FastDateTranscoder().decode(FastDateTranscoder.format(date)) == date)
        }
        #expect(FastDateTranscoder.format(Date(timeIntervalSince1970: 1.999)) == "1970-01-01T00:00:01Z")
        #expect(FastDateTranscoder.parse("2026-11-30T08:00:00.250+08:00") == Date(timeIntervalSince1970: 1_795_996_800.25))
        #expect(FastDateTranscoder.parse("2026-11-30 08:00:00Z") == nil)
        #expect(FastDateTranscoder.parse("2026-13-30T08:00:00Z") == nil)
        #expect(throws: DecodingError.self) { try FastDateTranscoder().decode("yesterday") }
    }
}
