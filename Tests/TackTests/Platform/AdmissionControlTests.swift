import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
@testable import TackServer

/// What a limiter under test reported, in order: queue lengths and refusals.
final class AdmissionProbe: Sendable {
    enum Event: Sendable, Equatable {
        case queued(Int)
        case shed(AdmissionLimiter.ShedReason)
    }
    private let stream: AsyncStream<Event>
    private let input: AsyncStream<Event>.Continuation
    private let inbox: Inbox<Event>

    init() {
        (stream, input) = AsyncStream.makeStream(of: Event.self)
        inbox = Inbox(stream.makeAsyncIterator())
    }

    var events: AdmissionEvents {
        AdmissionEvents(shed: { [input] in input.yield(.shed($0)) }, queueLength: { [input] in input.yield(.queued($0)) })
    }

    /// Returns once `event` has been reported (skipping earlier events).
    func until(_ event: Event) async {
        while let next = await inbox.next(), next != event {}
    }
}

// The time limit guards against a hang; it is generous because a loaded machine (the whole
// suite at once on 2 cores) delays every task by seconds.
@Suite("Admission control", .timeLimit(.minutes(3)))
struct AdmissionControlTests {
    /// A limiter whose every permit is taken (as by running requests), and its probe.
    func full(_ concurrent: Int, queue: Int, wait: Duration = .seconds(3600)) async -> (AdmissionLimiter, AdmissionProbe) {
        let probe = AdmissionProbe()
        let limiter = AdmissionLimiter(.init(maxConcurrent: concurrent, maxQueued: queue, maxWait: wait), events: probe.events)
        for _ in 0..<concurrent { #expect(await limiter.admit() == .admitted) }
        return (limiter, probe)
    }

    /// Checks that `answer` refuses for `reason` with a Retry-After of 1–5 s.
    func expectRefused(_ answer: AdmissionLimiter.Admission, _ reason: AdmissionLimiter.ShedReason,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        guard case .refused(reason, let retryAfter) = answer else {
            Issue.record("expected \(reason.rawValue), got \(answer)", sourceLocation: sourceLocation)
            return
        }
        #expect((1...5).contains(retryAfter), sourceLocation: sourceLocation)
    }

    @Test("limit 2, queue 1: two run, one waits, the fourth is refused at once; a release lets the waiter in")
    func queueFull() async throws {
        let (limiter, probe) = await full(2, queue: 1)
        let third = Task { await limiter.admit() }
        await probe.until(.queued(1))

        expectRefused(await limiter.admit(), .queueFull)
        await probe.until(.shed(.queueFull))

        limiter.release()
        #expect(await third.value == .admitted)
        #expect(limiter.inFlight == 2 && limiter.queued == 0)
        limiter.release()
        limiter.release()
        #expect(limiter.inFlight == 0)
    }

    @Test("waiters get their turn in arrival order")
    func firstInFirstOut() async throws {
        // As many running as may wait: the queue's room never falls below the running count,
        // however slowly this machine lets the waiters arrive (with nothing finishing, the
        // measured rate is 0 after half a second, and the room shrinks to that minimum).
        let (limiter, probe) = await full(3, queue: 3)
        let (order, admitted) = AsyncStream.makeStream(of: String.self)
        var tasks: [Task<Void, Never>] = []
        for (index, name) in ["first", "second", "third"].enumerated() {
            tasks.append(Task {
                if await limiter.admit() == .admitted { admitted.yield(name) }
            })
            await probe.until(.queued(index + 1))
        }
        var iterator = order.makeAsyncIterator()
        for name in ["first", "second", "third"] {
            limiter.release()  // the holder finishes; its permit passes to the next waiter
            #expect(await iterator.next() == name)
        }
        for task in tasks { await task.value }
        for _ in 0..<3 { limiter.release() }
        #expect(limiter.inFlight == 0 && limiter.queued == 0)
    }

    @Test("a waiter is refused with waited_too_long once its time is up")
    func waitedTooLong() async throws {
        let (limiter, probe) = await full(1, queue: 4, wait: .milliseconds(200))
        let start = ContinuousClock.now
        expectRefused(await limiter.admit(), .waitedTooLong)
        #expect(ContinuousClock.now - start >= .milliseconds(200))
        #expect(limiter.queued == 0)
        await probe.until(.shed(.waitedTooLong))
        limiter.release()
        #expect(limiter.inFlight == 0)
    }

    @Test("a cancelled waiter leaves the queue, and its place is free for the next")
    func cancelledWaiter() async throws {
        let (limiter, probe) = await full(1, queue: 1)
        let leaving = Task { await limiter.admit() }
        await probe.until(.queued(1))
        leaving.cancel()
        #expect(await leaving.value == .cancelled)
        await probe.until(.queued(0))

        // Its place is free: the next one queues instead of being refused, and gets the permit.
        let next = Task { await limiter.admit() }
        await probe.until(.queued(1))
        limiter.release()
        #expect(await next.value == .admitted)
        limiter.release()
        #expect(limiter.inFlight == 0 && limiter.queued == 0)
    }

    @Test("a task cancelled before it queues does not queue, and no permit leaks")
    func cancelledBeforeQueueing() async throws {
        let (limiter, _) = await full(1, queue: 1)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await limiter.admit()
        }
        #expect(await task.value == .cancelled)
        #expect(limiter.queued == 0)
        limiter.release()
        #expect(limiter.inFlight == 0)
    }

    @Test("many requests at once: all are answered, none waits past the limit, no permit leaks")
    func stress() async throws {
        let limiter = AdmissionLimiter(.init(maxConcurrent: 4, maxQueued: 64, maxWait: .seconds(30)), events: AdmissionProbe().events)
        final class Tally: Sendable {
            let counts = Mutex((running: 0, most: 0, admitted: 0, refused: 0, cancelled: 0))
        }
        let tally = Tally()
        let tasks = (0..<500).map { _ in
            Task {
                switch await limiter.admit() {
                case .admitted:
                    tally.counts.withLock { $0.running += 1; $0.most = max($0.most, $0.running); $0.admitted += 1 }
                    await Task.yield()
                    tally.counts.withLock { $0.running -= 1 }
                    limiter.release()
                case .refused: tally.counts.withLock { $0.refused += 1 }
                case .cancelled: tally.counts.withLock { $0.cancelled += 1 }
                }
            }
        }
        for (index, task) in tasks.enumerated() where index % 7 == 0 { task.cancel() }
        for task in tasks { await task.value }
        let result = tally.counts.withLock { $0 }
        #expect(result.most <= 4)
        #expect(result.admitted + result.refused + result.cancelled == 500)
        #expect(limiter.inFlight == 0 && limiter.queued == 0)
    }

    @Test("while ready tasks wait over half the maximum wait for a thread, arrivals are refused; all of them from the maximum on")
    func schedulingDelay() async throws {
        let probe = AdmissionProbe()
        let delay = SchedulingDelay()
        let limiter = AdmissionLimiter(.init(maxConcurrent: 4, maxQueued: 4, maxWait: .seconds(2)), events: probe.events, schedulingDelay: delay)
        delay.record(.milliseconds(900))
        for _ in 0..<20 {
            #expect(await limiter.admit() == .admitted)
            limiter.release()
        }
        delay.record(.seconds(2))
        for _ in 0..<20 { expectRefused(await limiter.admit(), .schedulingDelay) }
        await probe.until(.shed(.schedulingDelay))
        // A fall is taken halfway at each measurement: 2 s → 1 s → 0.5 s.
        delay.record(.zero)
        #expect(delay.current == .seconds(1))
        delay.record(.zero)
        #expect(await limiter.admit() == .admitted)
        limiter.release()
        #expect(limiter.inFlight == 0)
    }

    @Test("the scheduling delay is how late a sleeping task wakes: how long a ready task waits for a thread")
    func measuresSchedulingDelay() async throws {
        let delay = SchedulingDelay(interval: .milliseconds(20))
        try await delay.tick()
        // Keep every thread of the pool busy for 300 ms: the probe, due after 20 ms, waits for one.
        let busy = (0..<ProcessInfo.processInfo.activeProcessorCount).map { _ in
            Task {
                let end = ContinuousClock.now + .milliseconds(300)
                while ContinuousClock.now < end {}
            }
        }
        try await delay.tick()
        for task in busy { await task.value }
        #expect(delay.current >= .milliseconds(100))
    }

    @Test("Retry-After: the estimate rounded up, capped, jittered: 1 to 5 whole seconds")
    func retryAfter() {
        #expect(AdmissionLimiter.retryAfter(0, jitter: false) == 1)
        #expect(AdmissionLimiter.retryAfter(0, jitter: true) == 1)
        #expect(AdmissionLimiter.retryAfter(0.2, jitter: true) == 2)
        #expect(AdmissionLimiter.retryAfter(1.5, jitter: false) == 2)
        #expect(AdmissionLimiter.retryAfter(30, jitter: false) == 4)
        #expect(AdmissionLimiter.retryAfter(.infinity, jitter: true) == 5)
        let spread = Set((0..<200).map { _ in AdmissionLimiter.retryAfter(3) })
        #expect(spread == [3, 4])
    }

    @Test("the service rate counts only time and completions while requests wait")
    func serviceRate() {
        var rate = ServiceRate()
        let start = ContinuousClock.now
        rate.queueIs(busy: true, at: start)
        for i in 1...100 { rate.completed(at: start + .milliseconds(10 * i)) }
        #expect(rate.perSecond.map { abs($0 - 100) < 1 } == true)
        rate.queueIs(busy: false, at: start + .seconds(1))
        // An idle hour, then another saturated second at 300/s: the idle time does not count.
        let later = start + .seconds(3600)
        rate.queueIs(busy: true, at: later)
        for i in 1...300 { rate.completed(at: later + .microseconds(3333 * i)) }
        #expect(rate.perSecond.map { $0 > 150 && $0 < 310 } == true)
    }

    @Test("the API is limited; the WebSocket, probes, metrics and the web app are not")
    func limitedPaths() {
        #expect(AdmissionControlMiddleware<AppRequestContext>.isLimited(path: "/api/v1/me"))
        #expect(AdmissionControlMiddleware<AppRequestContext>.isLimited(path: "/api/v1/orgs/1/events"))
        #expect(!AdmissionControlMiddleware<AppRequestContext>.isLimited(path: "/api/v1/events"))
        for path in ["/", "/index.html", "/js/core/api.js", "/healthz", "/readyz", "/metrics", "/openapi.yaml"] {
            #expect(!AdmissionControlMiddleware<AppRequestContext>.isLimited(path: path))
        }
    }

    @Test("held requests fill the limit: another gets 503 overloaded with Retry-After; the held ones finish with 200")
    func overloadedOverHTTP() async throws {
        let limiter = AdmissionLimiter(.init(maxConcurrent: 2, maxQueued: 0, maxWait: .seconds(5)), events: AdmissionProbe().events)
        let gate = ReadyGate()
        let (arrivals, arrived) = AsyncStream.makeStream(of: Void.self)
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: AdmissionControlMiddleware(limiter: limiter))
        router.get("/api/v1/held") { _, _ -> String in
            arrived.yield()
            await gate.wait()
            return "done"
        }
        router.get("/healthz") { _, _ in "ok" }
        try await Application(router: router).test(.router) { client in
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<2 {
                    group.addTask { try await client.execute(uri: "/api/v1/held", method: .get) { $0.status } }
                }
                var iterator = arrivals.makeAsyncIterator()
                for _ in 0..<2 { await iterator.next() }
                #expect(limiter.inFlight == 2)

                try await client.execute(uri: "/api/v1/held", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(response.headers[.contentType] == "application/problem+json")
                    #expect((response.headers[.retryAfter].flatMap(Int.init) ?? 0) >= 1)
                    let problem = try JSON(parsing: Data(String(buffer: response.body).utf8))
                    #expect(problem["code"].string == "overloaded")
                    #expect(problem["status"].int == 503)
                }
                try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }

                gate.open()
                for try await status in group { #expect(status == .ok) }
            }
        }
        #expect(limiter.inFlight == 0)
    }

    @Test("the application: API calls wait for a permit; the WebSocket, probes, metrics and files do not")
    func application() async throws {
        try await withAPI(.sqlite, mode: .live, configure: { c in
            c.maxConcurrentRequests = 1
            c.maxQueuedRequests = 0
            // Refusing for the scheduling delay starts at half of this: not on a loaded test machine.
            c.maxQueueWait = 120
        }) { api in
            let ann = try await api.signUp("Ann")
            let limiter = try #require(api.parts.admission)
            #expect(limiter.options == .init(maxConcurrent: 1, maxQueued: 0, maxWait: .seconds(120)))
            // Play a request that is still running.
            #expect(await limiter.admit() == .admitted)

            let refused = try await api.call(.get, "/api/v1/me", as: ann)
            #expect(refused.status == .serviceUnavailable)
            #expect(refused.code == "overloaded")
            #expect(refused.headers[.contentType] == "application/problem+json")
            #expect((refused.headers[.retryAfter].flatMap(Int.init) ?? 0) >= 1)
            #expect(refused.headers[.requestID] != nil)

            #expect(try await api.call(.get, "/healthz").status == .ok)
            #expect(try await api.call(.get, "/readyz").status == .ok)
            let metrics = try await api.call(.get, "/metrics")
            #expect(metrics.status == .ok)
            #expect(metrics.text.contains("tack_requests_shed_total"))
            #expect(try await api.call(.get, "/").status == .ok)
            #expect(try await api.call(.get, "/js/core/api.js").status == .ok)
            let socket = TestSocket(port: api.client.port!, token: ann.token)
            #expect(await socket.next()?["type"].string == "hello")
            socket.close()

            limiter.release()
            #expect(try await api.call(.get, "/api/v1/me", as: ann).status == .ok)
            #expect(limiter.inFlight == 0)
        }
    }

    @Test("TACK_MAX_* variables configure admission control; 0 turns it off")
    func configuration() throws {
        let c = try TackConfiguration.fromEnvironment([
            "TACK_MAX_CONCURRENT_REQUESTS": "64", "TACK_MAX_QUEUED_REQUESTS": "100", "TACK_MAX_QUEUE_WAIT": "1.5",
        ])
        #expect(c.admissionOptions == .init(maxConcurrent: 64, maxQueued: 100, maxWait: .milliseconds(1500)))
        #expect(try TackConfiguration.fromEnvironment(["TACK_MAX_CONCURRENT_REQUESTS": "0"]).admissionOptions == nil)
        #expect(TackConfiguration().admissionOptions == .init(maxConcurrent: 256, maxQueued: 4096, maxWait: .seconds(3)))
        #expect(throws: ConfigurationError.self) { try TackConfiguration.fromEnvironment(["TACK_MAX_QUEUE_WAIT": "0"]) }
        #expect(throws: ConfigurationError.self) { try TackConfiguration.fromEnvironment(["TACK_MAX_QUEUED_REQUESTS": "-1"]) }
    }
}
