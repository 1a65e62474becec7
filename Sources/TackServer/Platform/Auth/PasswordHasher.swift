import HummingbirdBcrypt
import NIOPosix

/// bcrypt hashing, run on NIO's blocking thread pool so that a sign-in never stalls the event
/// loops or Swift's cooperative threads.
public struct PasswordHasher: Sendable {
    /// bcrypt's cost (log2 of the rounds). 10 takes ~50 ms here; tests use 4.
    public var cost: UInt8

    public init(cost: UInt8 = 10) { self.cost = cost }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }

    /// A hash to verify against when the account does not exist, so that timing does not tell
    /// which logins exist.
    func dummyHash() async throws -> String { try await hash("not a real password") }
}
