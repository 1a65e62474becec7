import Foundation
import Testing
@testable import TackServer

@Suite("Child processes")
struct ChildProcessTests {
    @Test("a child that leaves a grandchild running does not hold us: its status and output come back at once")
    func grandchild() async throws {
        let started = Date()
        let result = try await ChildProcess("sh", ["-c", "echo out; echo err >&2; (sleep 300 &); exit 3"]).run()
        #expect(result.status == 3 && !result.succeeded)
        #expect(result.output == "out\n" && result.errors == "err\n")
        // Far less than the grandchild's 300 s, with room for a loaded machine.
        #expect(Date().timeIntervalSince(started) < 120)
        await #expect(throws: ChildProcess.Failure.self) { try await ChildProcess("sh", ["-c", "exit 1"]).output() }
    }

    @Test("a child that outlives its timeout is killed, with its group; a missing program is an error")
    func timeout() async throws {
        let started = Date()
        await #expect(throws: ChildProcess.Failure.self) { try await ChildProcess("sleep", ["300"], timeout: 0.5).run() }
        #expect(Date().timeIntervalSince(started) < 120)
        await #expect(throws: ChildProcess.Failure.self) { try await ChildProcess("tack-no-such-program", []).run() }
    }
}
