import Foundation
import Synchronization

/// Runs a program (found on `PATH`) to completion with `posix_spawn` and `waitpid`.
///
/// Not Foundation's `Process`: it was seen to wait for ever when a child left a grandchild
/// running (it waits for the end of the child's output pipes, which the grandchild holds). Here
/// the output goes to temporary files, the child runs in a process group of its own (a timeout
/// kills the whole group), and the wait happens on a thread of its own, never on the
/// concurrency pool's.
struct ChildProcess: Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// What the program printed and how it ended.
    struct Result: Sendable {
        var status: Int32
        var output: String
        var errors: String
        var succeeded: Bool { status == 0 }
    }

    var executable: String
    var arguments: [String]
    /// Seconds before the process group is killed (SIGKILL) and the run fails.
    var timeout: TimeInterval = 3600

    init(_ executable: String, _ arguments: [String], timeout: TimeInterval = 3600) {
        self.executable = executable
        self.arguments = arguments
        self.timeout = timeout
    }

    /// Runs the program; throws if it cannot be started or outlives its timeout. A non-zero exit
    /// status is returned, not thrown.
    func run() async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Swift.Result { try runBlocking() }) }
            thread.name = "tack-child-\(executable)"
            thread.start()
        }
    }

    /// Runs the program and returns its standard output; a non-zero exit status throws, with
    /// the end of its standard error.
    func output() async throws -> String {
        let result = try await run()
        guard result.succeeded else {
            throw Failure(description: "\(executable) exited with \(result.status): \(result.errors.suffix(2000))")
        }
        return result.output
    }

    /// A child starts with no signal blocked and SIGTERM, SIGINT, SIGHUP and SIGPIPE at their
    /// defaults: the server's threads block or ignore some (service-lifecycle watches SIGTERM),
    /// and a child would inherit that — one that then ignores SIGTERM cannot be stopped kindly.
    static func defaultSignals(_ attributes: inout posix_spawnattr_t, flags: Int32 = 0) {
        var none = sigset_t(), defaults = sigset_t()
        sigemptyset(&none)
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(flags | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    }

    private func runBlocking() throws -> Result {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tack-child-\(UUID().uuidString)")
        let outPath = scratch.path + ".out", errPath = scratch.path + ".err"
        defer { unlink(outPath); unlink(errPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        Self.defaultSignals(&attributes, flags: POSIX_SPAWN_SETPGROUP)
        posix_spawnattr_setpgroup(&attributes, 0)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, executable, &actions, &attributes, argv, environ)
        guard spawned == 0 else { throw Failure(description: "\(executable) could not be started: \(String(cString: strerror(spawned)))") }

        // The timeout: a timer that kills the child's whole group, unless it ended first.
        let child = pid
        let timedOut = ManagedFlag()
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + timeout)
        timer.setEventHandler {
            timedOut.set()
            kill(-child, SIGKILL)
        }
        timer.resume()
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        timer.cancel()
        // Whatever the child left behind in its group goes with it.
        kill(-pid, SIGKILL)
        let output = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let errors = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        if timedOut.isSet { throw Failure(description: "\(executable) ran longer than \(Int(timeout)) s and was stopped") }
        // WIFEXITED / WEXITSTATUS, which Swift does not import.
        let exited = status & 0x7f == 0
        return Result(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), output: output, errors: errors)
    }
}

/// A flag set from the timer's queue and read by the waiting thread.
private final class ManagedFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
