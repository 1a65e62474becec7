import Synchronization

/// A first-come, first-served lock for async code: waiters suspend instead of blocking a thread.
///
/// Used to hand SQLite's single writer connection to one transaction at a time; a transaction holds
/// it across `await`s, which a `Mutex` must never do.
final class AsyncLock: Sendable {
    private struct State: ~Copyable {
        var locked = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var head = 0
    }
    private let state = Mutex(State())

    init() {}

    /// Waits until the lock is free, then takes it.
    func lock() async {
        let acquired = state.withLock { s -> Bool in
            if !s.locked { s.locked = true; return true }
            return false
        }
        if acquired { return }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if !s.locked { s.locked = true; return true }
                s.waiters.append(c)
                return false
            }
            if resumeNow { c.resume() }
        }
    }

    /// Releases the lock, handing it directly to the longest waiter if there is one.
    func unlock() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            precondition(s.locked, "unlock() of an AsyncLock that is not locked")
            if s.head < s.waiters.count {
                let c = s.waiters[s.head]
                s.head += 1
                if s.head > 64, s.head * 2 > s.waiters.count {
                    s.waiters.removeFirst(s.head)
                    s.head = 0
                }
                return c  // stays locked: ownership passes to the waiter
            }
            s.locked = false
            return nil
        }
        next?.resume()
    }

    /// Runs `body` while holding the lock.
    func withLock<R>(_ body: () async throws -> R) async rethrows -> R {
        await lock()
        defer { unlock() }
        return try await body()
    }
}

/// A fixed set of reusable resources handed out one task at a time (SQLite's read connections).
final class AsyncPool<Resource: Sendable>: Sendable {
    private struct State: ~Copyable {
        var free: [Resource]
        var waiters: [CheckedContinuation<Resource, Never>] = []
    }
    private let state: Mutex<State>

    init(_ resources: [Resource]) {
        precondition(!resources.isEmpty)
        state = Mutex(State(free: resources))
    }

    func withResource<R>(_ body: (Resource) async throws -> R) async rethrows -> R {
        let resource = await acquire()
        defer { release(resource) }
        return try await body(resource)
    }

    private func acquire() async -> Resource {
        if let r = state.withLock({ s in s.free.popLast() }) { return r }
        return await withCheckedContinuation { (c: CheckedContinuation<Resource, Never>) in
            let r = state.withLock { s -> Resource? in
                if let r = s.free.popLast() { return r }
                s.waiters.append(c)
                return nil
            }
            if let r { c.resume(returning: r) }
        }
    }

    private func release(_ resource: Resource) {
        let waiter = state.withLock { s -> CheckedContinuation<Resource, Never>? in
            if !s.waiters.isEmpty { return s.waiters.removeFirst() }
            s.free.append(resource)
            return nil
        }
        waiter?.resume(returning: resource)
    }
}
