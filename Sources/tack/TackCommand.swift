import ArgumentParser
import CTCMalloc
import Foundation
import TackServer

/// The `tack` command: argument parsing only; the work is in `TackServer`.
@main
struct TackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tack",
        abstract: "Tack: a self-hosted cloud office and online classroom.",
        subcommands: [Serve.self, Migrate.self, Admin.self, LiveReplay.self],
        defaultSubcommand: Serve.self)
}

/// Options shared by every subcommand; each also reads its TACK_* variable.
struct ServerOptions: ParsableArguments {
    @Option(help: "Address to listen on (TACK_HOST; default 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on (TACK_PORT; default 8080).") var port: Int?
    @Option(help: "Folder for the SQLite database and files (TACK_DATA_DIR; default ./tack-data).") var dataDir: String?
    @Option(help: "postgres://user:password@host:port/db to use PostgreSQL (TACK_DATABASE_URL).") var databaseUrl: String?
    @Option(help: "Folder of the web app (TACK_PUBLIC_DIR; default: Public of the source tree).") var publicDir: String?

    func configuration() throws -> TackConfiguration {
        var c = try TackConfiguration.fromEnvironment()
        if let host { c.host = host }
        if let port { c.port = port }
        if let dataDir { c.dataDirectory = dataDir }
        if let databaseUrl { c.databaseURL = databaseUrl }
        if let publicDir { c.publicDirectory = publicDir }
        return c
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the Tack server (the default).")
    @OptionGroup var options: ServerOptions
    func run() async throws {
        // tcmalloc (gperftools) allocates for the whole process: with Swift's many small
        // allocations it serves the morning surge faster than glibc's malloc (docs/benchmarks.md).
        // Naming it here also keeps the linker from dropping the library.
        try await Tack.serve(try options.configuration(), allocator: "tcmalloc " + String(cString: tc_version(nil, nil, nil)))
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply database migrations and exit.")
    @OptionGroup var options: ServerOptions
    func run() async throws { try await Tack.migrate(try options.configuration()) }
}

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Administrative tasks.", subcommands: [ResetPassword.self])

    struct ResetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-password", abstract: "Set a new password for a person and sign them out everywhere.")
        @OptionGroup var options: ServerOptions
        @Option(help: "Their e-mail address or phone number.") var login: String
        @Option(help: "The new password (at least 8 characters). Read from standard input if omitted.") var password: String?

        func run() async throws {
            var password = self.password
            if password == nil {
                print("New password: ", terminator: "")
                password = readLine(strippingNewline: true)
            }
            guard let password, !password.isEmpty else { throw ValidationError("A password is needed.") }
            try await Tack.resetPassword(try options.configuration(), login: login, password: password)
        }
    }
}


struct LiveReplay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "live-replay", abstract: "Live classes' replays.", subcommands: [Convert.self])

    struct Convert: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert a class's Janus recordings (.mjr) into one WebM, as the server does when a class ends.")
        @Argument(help: "The folder Janus recorded the class's room into.") var recordings: String
        @Argument(help: "The WebM file to write (replaced whole, never half-written).") var output: String

        func run() async throws {
            guard let replay = try await Tack.convertReplay(recordings: recordings, output: output) else {
                throw ValidationError("No recording with media in \(recordings).")
            }
            print("Wrote \(output): \(String(format: "%.2f", replay.seconds)) s, \(replay.bytes) bytes.")
        }
    }
}
