import Hummingbird
import Metrics
import Synchronization

/// Bounds how many API requests are handled at once, so that a surge (08:00: everyone reports
/// at once) is answered by quick `503 overloaded` + `Retry-After` instead of every request
/// getting slower until clients time out.
///
/// Up to `maxConcurrent` requests hold a permit. Above that, requests wait in a FIFO queue for a
/// permit released by a finishing request. A request is refused (`Admission.refused`) when
/// - `queueFull`: `maxQueued` requests wait already, or as many as the server has lately finished
///   in `maxWait` (so a newcomer would very likely wait longer than `maxWait`: it is told at once
///   instead of after waiting);
/// - `waitedTooLong`: it waited `maxWait` without getting a permit;
/// - `schedulingDelay`: tasks ready to run wait more than half of `maxWait` for a thread (the CPU
///   is the bottleneck, `SchedulingDelay`): a share of arrivals growing to all of them when that
///   wait reaches `maxWait`. Those requests waited in that queue before they got here, and would
///   wait in it again: refusing them is what shortens it.
///
/// Waiting is cancellable: a cancelled waiter leaves the queue at once. The fast path — a permit
/// is free — is a read of the scheduling delay (a clock read, two atomic loads) and one lock
/// acquisition, and allocates nothing; a release with nobody waiting is one lock acquisition.
final class AdmissionLimiter: Sendable {
    /// The bounds (`TACK_MAX_CONCURRENT_REQUESTS`, `TACK_MAX_QUEUED_REQUESTS`, `TACK_MAX_QUEUE_WAIT`).
    struct Options: Sendable, Equatable {
        var maxConcurrent: Int
        var maxQueued: Int
        var maxWait: Duration

        init(maxConcurrent: Int, maxQueued: Int, maxWait: Duration) {
            precondition(maxConcurrent > 0 && maxQueued >= 0 && maxWait > .zero)
            self.maxConcurrent = maxConcurrent
            self.maxQueued = maxQueued
            self.maxWait = maxWait
        }
    }

    /// Why a request was refused (the `reason` label of `tack_requests_shed_total`).
    enum ShedReason: String, Sendable, CaseIterable {
        case queueFull = "queue_full"
        case waitedTooLong = "waited_too_long"
        case schedulingDelay = "scheduling_delay"
    }

    /// What `admit()` decided.
    enum Admission: Sendable, Equatable {
        /// The caller holds a permit and must `release()` it when done.
        case admitted
        /// Refused; come back after `retryAfter` seconds (1–5, jittered).
        case refused(ShedReason, retryAfter: Int)
        /// The waiting task was cancelled (its client went away, or the server is stopping).
        case cancelled
    }

    let options: Options
    private let state: Mutex<State>
    private let events: AdmissionEvents
    private let schedulingDelay: SchedulingDelay?

    init(_ options: Options, events: AdmissionEvents = .metrics(), schedulingDelay: SchedulingDelay? = nil) {
        self.options = options
        self.events = events
        self.schedulingDelay = schedulingDelay
        state = Mutex(State())
    }

    /// Requests holding a permit now.
    var inFlight: Int { state.withLock { $0.inFlight } }
    /// Requests waiting for a permit now.
    var queued: Int { state.withLock { $0.queued } }

    /// Takes a permit, waiting for one in the queue if none is free.
    func admit() async -> Admission {
        if let delay = schedulingDelay?.current, delay > options.maxWait / 2, let refusal = refusal(schedulingDelay: delay) {
            events.shed(.schedulingDelay)
            return refusal
        }
        // The fast path: one lock, nothing allocated. Nobody waits while a permit is free
        // (`release` hands a permit straight to the first waiter), so taking it jumps no queue.
        let ticket = state.withLock { s -> UInt64? in
            if s.inFlight < options.maxConcurrent {
                s.inFlight += 1
                return nil
            }
            s.nextTicket += 1
            return s.nextTicket
        }
        guard let ticket else { return .admitted }
        return await wait(ticket: ticket, arrived: .now)
    }

    /// Gives a permit back: to the longest waiter whose time is not up, or to the pool.
    func release() {
        let handOff = state.withLock { s -> HandOff in
            guard s.queued > 0 else {
                precondition(s.inFlight > 0, "release() without a permit")
                s.inFlight -= 1
                return HandOff()
            }
            let now = ContinuousClock.now
            s.rate.completed(at: now)
            var handOff = HandOff(expired: s.popExpired(now: now))
            if let next = s.popFirst() {
                handOff.next = next  // the permit passes to it: inFlight stays
            } else {
                s.inFlight -= 1
            }
            if !handOff.expired.isEmpty { handOff.retryAfter = s.retryAfterEstimate(options) }
            s.queueChanged(at: now, report: events.queueLength)
            return handOff
        }
        finish(handOff)
    }

    // MARK: - Waiting

    private enum Decision {
        case admitted, cancelled, refused(estimate: Double), queued(startExpiry: Bool)
    }

    private func wait(ticket: UInt64, arrived: ContinuousClock.Instant) async -> Admission {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Admission, Never>) in
                let decision = state.withLock { s -> Decision in
                    // Cancelled before it could queue: the handler below found nothing to remove.
                    if Task.isCancelled { return .cancelled }
                    // A permit came free since the fast path looked.
                    if s.inFlight < options.maxConcurrent {
                        s.inFlight += 1
                        return .admitted
                    }
                    if s.queued >= s.queueCapacity(options) { return .refused(estimate: s.retryAfterEstimate(options)) }
                    s.insert(Waiter(ticket: ticket, deadline: arrived + options.maxWait, continuation: continuation))
                    s.queueChanged(at: arrived, report: events.queueLength)
                    defer { s.expiryRunning = true }
                    return .queued(startExpiry: !s.expiryRunning)
                }
                switch decision {
                case .admitted:
                    continuation.resume(returning: .admitted)
                case .cancelled:
                    continuation.resume(returning: .cancelled)
                case .refused(let estimate):
                    events.shed(.queueFull)
                    continuation.resume(returning: .refused(.queueFull, retryAfter: Self.retryAfter(estimate)))
                case .queued(let startExpiry):
                    // Detached: it outlives this request and must not keep its task-local values.
                    if startExpiry { Task.detached { await self.expireWaiters() } }
                }
            }
        } onCancel: {
            let removed = state.withLock { s -> CheckedContinuation<Admission, Never>? in
                let continuation = s.remove(ticket: ticket)
                if continuation != nil { s.queueChanged(at: .now, report: events.queueLength) }
                return continuation
            }
            removed?.resume(returning: .cancelled)
        }
    }

    /// Refuses waiters whose time is up. Runs while anyone waits: it sleeps until the first
    /// waiter's deadline (later waiters' deadlines are later: one `maxWait` after arrival, in
    /// arrival order) and ends when the queue is empty; the next waiter starts it again.
    private func expireWaiters() async {
        while true {
            let now = ContinuousClock.now
            let (handOff, next) = state.withLock { s -> (HandOff, ContinuousClock.Instant?) in
                var handOff = HandOff(expired: s.popExpired(now: now))
                if !handOff.expired.isEmpty { handOff.retryAfter = s.retryAfterEstimate(options) }
                s.queueChanged(at: now, report: events.queueLength)
                let next = s.frontDeadline
                if next == nil { s.expiryRunning = false }
                return (handOff, next)
            }
            finish(handOff)
            guard let next else { return }
            try? await Task.sleep(until: next, tolerance: .milliseconds(5), clock: .continuous)
        }
    }

    /// Resumes what a state change decided, outside the lock.
    private func finish(_ handOff: HandOff) {
        for waiter in handOff.expired {
            events.shed(.waitedTooLong)
            waiter.resume(returning: .refused(.waitedTooLong, retryAfter: Self.retryAfter(handOff.retryAfter)))
        }
        handOff.next?.resume(returning: .admitted)
    }

    /// Refuses a share of arrivals while ready tasks wait over half of `maxWait` for a thread:
    /// none at half, all from `maxWait` on, in proportion between (so the delay settles in
    /// between instead of swinging between everyone and no one).
    private func refusal(schedulingDelay delay: Duration) -> Admission? {
        let half = options.maxWait / 2
        let share = (delay - half) / half
        guard share >= 1 || Double.random(in: 0..<1) < share else { return nil }
        // The queue in front of the CPU takes about as long again to clear.
        return .refused(.schedulingDelay, retryAfter: Self.retryAfter(2 * delay.inSeconds))
    }

    /// Whole seconds for `Retry-After`: the estimate rounded up and capped at 4 s, plus 0 or 1 s
    /// of jitter (1–5), so that refused clients do not all come back in the same second.
    static func retryAfter(_ estimate: Double, jitter: Bool = .random()) -> Int {
        let seconds = estimate.isNaN ? 4 : Int(min(max(estimate, 0), 4).rounded(.up))
        return max(1, seconds + (jitter ? 1 : 0))
    }

    // MARK: - State

    private struct Waiter {
        let ticket: UInt64
        let deadline: ContinuousClock.Instant
        /// Nil once the waiter left the queue (cancelled); its slot is skipped.
        var continuation: CheckedContinuation<Admission, Never>?
    }

    /// What a release or the expiry pass resumes once the lock is dropped.
    private struct HandOff {
        var expired: [CheckedContinuation<Admission, Never>] = []
        var retryAfter: Double = 0
        var next: CheckedContinuation<Admission, Never>?
    }

    private struct State: ~Copyable {
        var inFlight = 0
        /// Live waiters (slots in `waiters` whose continuation is set).
        var queued = 0
        /// The queue, from `head`, in ticket order (the order in which requests found no free
        /// permit), so deadlines ascend too (up to the microseconds between taking a ticket and
        /// queueing).
        var waiters: [Waiter] = []
        var head = 0
        var nextTicket: UInt64 = 0
        var expiryRunning = false
        var rate = ServiceRate()
        /// The queue length last reported to `AdmissionEvents.queueLength`.
        var reported = 0

        /// The deadline of the first slot: a waiter's, or a left waiter's (which is no later).
        var frontDeadline: ContinuousClock.Instant? { head < waiters.count ? waiters[head].deadline : nil }

        /// Queues a waiter in ticket order: at the end, unless a later ticket got there first.
        mutating func insert(_ waiter: Waiter) {
            var index = waiters.count
            while index > head, waiters[index - 1].ticket > waiter.ticket { index -= 1 }
            waiters.insert(waiter, at: index)
            queued += 1
        }

        /// The first live waiter, taken out of the queue.
        mutating func popFirst() -> CheckedContinuation<Admission, Never>? {
            defer { compact() }
            while head < waiters.count {
                let continuation = waiters[head].continuation
                head += 1
                if let continuation {
                    queued -= 1
                    return continuation
                }
            }
            return nil
        }

        /// Takes out the waiters at the front whose deadline has passed (and left waiters' slots).
        mutating func popExpired(now: ContinuousClock.Instant) -> [CheckedContinuation<Admission, Never>] {
            defer { compact() }
            var expired: [CheckedContinuation<Admission, Never>] = []
            while head < waiters.count, waiters[head].continuation == nil || waiters[head].deadline <= now {
                if let continuation = waiters[head].continuation {
                    expired.append(continuation)
                    queued -= 1
                }
                head += 1
            }
            return expired
        }

        /// Takes a cancelled waiter out of the queue (tickets ascend: a binary search), leaving a
        /// slot that the front skips.
        mutating func remove(ticket: UInt64) -> CheckedContinuation<Admission, Never>? {
            var low = head, high = waiters.count
            while low < high {
                let middle = (low + high) / 2
                if waiters[middle].ticket < ticket { low = middle + 1 } else { high = middle }
            }
            guard low < waiters.count, waiters[low].ticket == ticket, let continuation = waiters[low].continuation else { return nil }
            waiters[low].continuation = nil
            queued -= 1
            compact()
            return continuation
        }

        /// Drops the slots before `head` once they are the larger part (amortised O(1)), and all
        /// of them when nobody waits.
        private mutating func compact() {
            if queued == 0 {
                waiters.removeAll(keepingCapacity: waiters.capacity <= 4096)
                head = 0
            } else if head > 64, head * 2 > waiters.count {
                waiters.removeFirst(head)
                head = 0
            }
        }

        mutating func queueChanged(at now: ContinuousClock.Instant, report: (Int) -> Void) {
            rate.queueIs(busy: queued > 0, at: now)
            if queued != reported {
                reported = queued
                report(queued)
            }
        }

        /// How many may wait: `maxQueued`, and no more than the server finishes in `maxWait` at
        /// its recent rate — but never fewer than `maxConcurrent` (capped by `maxQueued`), so that
        /// a queue keeps forming and the rate keeps being measured after a slow spell.
        func queueCapacity(_ options: Options) -> Int {
            guard let perSecond = rate.perSecond else { return options.maxQueued }
            let inTime = Int(min(perSecond * options.maxWait.inSeconds, Double(options.maxQueued)))
            return min(options.maxQueued, max(inTime, options.maxConcurrent))
        }

        /// Seconds until the present queue has drained at the recent rate (`maxWait` until a
        /// rate has been measured).
        func retryAfterEstimate(_ options: Options) -> Double {
            guard let perSecond = rate.perSecond else { return options.maxWait.inSeconds }
            guard perSecond > 0 else { return .infinity }
            return Double(queued + 1) / perSecond
        }
    }
}

/// What an `AdmissionLimiter` reports: to swift-metrics when live, to the test in tests.
struct AdmissionEvents: Sendable {
    /// A request was refused.
    var shed: @Sendable (AdmissionLimiter.ShedReason) -> Void
    /// The number of waiting requests changed. Called under the limiter's lock, in order: it must
    /// be quick and must not call the limiter.
    var queueLength: @Sendable (Int) -> Void

    /// `tack_requests_shed_total{reason}` and `tack_request_queue_length`. Made when called, not
    /// as statics: metrics bind to the factory that exists when they are made, and the
    /// application bootstraps it before building its limiter.
    static func metrics() -> AdmissionEvents {
        let shed = Dictionary(uniqueKeysWithValues: AdmissionLimiter.ShedReason.allCases.map { reason in
            (reason, Counter(label: "tack_requests_shed_total", dimensions: [("reason", reason.rawValue)]))
        })
        let queueLength = Gauge(label: "tack_request_queue_length")
        return AdmissionEvents(shed: { shed[$0]?.increment() }, queueLength: { queueLength.record($0) })
    }
}

/// The rate at which requests finish while others wait for them: what the server manages when
/// saturated. (Finishing while nobody waits measures the demand, not the capacity, so those
/// completions and that time are not counted.) Updated after each half second of saturation,
/// half from the old value and half from the new sample.
struct ServiceRate: Sendable {
    private(set) var perSecond: Double?
    private var completions = 0
    private var busyTime: Duration = .zero
    private var busySince: ContinuousClock.Instant?

    init() {}

    mutating func completed(at now: ContinuousClock.Instant) {
        completions += 1
        sample(at: now)
    }

    mutating func queueIs(busy: Bool, at now: ContinuousClock.Instant) {
        switch (busy, busySince) {
        case (true, nil):
            busySince = now
        case (false, let since?):
            busyTime += now - since
            busySince = nil
            sample(at: now)
        default:
            sample(at: now)
        }
    }

    private mutating func sample(at now: ContinuousClock.Instant) {
        var total = busyTime
        if let busySince { total += now - busySince }
        guard total >= .milliseconds(500) else { return }
        let measured = Double(completions) / total.inSeconds
        perSecond = perSecond.map { ($0 + measured) / 2 } ?? measured
        completions = 0
        busyTime = .zero
        if busySince != nil { busySince = now }
    }
}

extension Duration {
    /// The duration in seconds.
    var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// Puts API requests through an `AdmissionLimiter`: `/api/…` except the WebSocket upgrade
/// (`/api/v1/events`, which stays open for hours and is bounded by its own queue). Probes
/// (`/healthz`, `/readyz`), `/metrics` and the web app's files are not under `/api/` and pass:
/// a load balancer must still see a busy node as alive, and the app must still load.
///
/// A permit is held until the handler returns its response; writing the body (in memory for
/// the API) follows. A refused request gets a 503 made in advance (`AppError.overloaded` as
/// `ProblemMiddleware` renders it): refusing must cost little, it happens most when the server
/// has least to spare.
struct AdmissionControlMiddleware<Context: RequestContext>: RouterMiddleware {
    let limiter: AdmissionLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.isLimited(path: request.uri.path) else { return try await next(request, context) }
        switch await limiter.admit() {
        case .admitted:
            defer { limiter.release() }
            return try await next(request, context)
        case .refused(_, let retryAfter):
            return OverloadedResponse.retrying(after: retryAfter)
        case .cancelled:
            // Nobody reads this answer (the client left) or the server is stopping: either way a
            // retry later is right, and it is not a server error to log.
            return OverloadedResponse.retrying(after: 1)
        }
    }

    /// Whether requests for `path` count against the limit.
    static func isLimited(path: String) -> Bool {
        path.hasPrefix("/api/") && path != "/api/v1/events"
    }
}

/// The 503 `overloaded` answers, one per `Retry-After` value, rendered once.
enum OverloadedResponse {
    private static let responses = (1...5).map { ProblemMiddleware<BasicRequestContext>.response(for: .overloaded(retryAfter: $0)) }

    static func retrying(after seconds: Int) -> Response {
        responses[min(max(seconds, 1), 5) - 1]
    }
}
