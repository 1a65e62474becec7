import Foundation
import Testing
@testable import TackServer

@Suite("Child processes")
struct ChildProcessTests {
    @Test("a child that leaves a grandchild running does not hold us: its status and output come back at once")
    func grandchild() async throws {
        let started = Date()
        let result = try await ChildProcess("sh", ["-c", "echo out; echo err >&2; (sleep 30 &); exit 3"]).run()
        #expect(result.status == 3 && !result.succeeded)
        #expect(result.output == "out\n" && result.errors == "err\n")
        #expect(Date().timeIntervalSince(started) < 10)
        await #expect(throws: ChildProcess.Failure.self) { try await ChildProcess("sh", ["-c", "exit 1"]).output() }
    }

    @Test("a child that outlives its timeout is killed, with its group; a missing program is an error")
    func timeout() async throws {
        let started = Date()
        await #expect(throws: ChildProcess.Failure.self) { try await ChildProcess("sleep", ["30"], timeout: 0.5).run() }
        #expect(Date().timeIntervalSince(started) < 10)
        await #expect(throws: ChildProcess.Failure.self) { try await ChildProcess("tack-no-such-program", []).run() }
    }
}
