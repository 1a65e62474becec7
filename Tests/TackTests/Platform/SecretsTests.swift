import Foundation
import Testing
@testable import TackServer

@Suite("Secrets")
struct SecretsTests {
    @Test("hex SHA-256 and unpadded base64url match the reference encodings")
    func encodings() {
        #expect(Secrets.sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Secrets.sha256("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        for length in 0..<40 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255) }
            let reference = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(Secrets.base64URL(bytes) == reference, "\(length) bytes")
        }
        #expect(Secrets.token(bytes: 32).count == 43)
    }
}
