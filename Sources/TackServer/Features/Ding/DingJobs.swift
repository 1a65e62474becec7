import Foundation
import Logging
import SQLKit

extension DingService {
    /// The job handlers of DING, to register with the scheduler.
    var jobHandlers: [any JobHandler] {
        [DingSendHandler(service: self), DingNotifyHandler(service: self), DingEscalateHandler(service: self)]
    }
}

/// `ding.send`: a DING goes out — in-app to every recipient in the job's own transaction, a
/// `ding.notify` job per recipient for SMS or a call if chosen (and for e-mail to those who want
/// DINGs by e-mail), and the escalation steps of the organisation's policy scheduled.
///
/// DINGs due together go out together: one read for all of them (side by side with other
/// batches), then one transaction that marks the jobs done and the DINGs sent — which also checks
/// none was cancelled meanwhile — and records every in-app attempt with one insert.
struct DingSendHandler: BatchJobHandler {
    let service: DingService
    var kind: String { DingService.sendKind }

    func run(batch: JobBatch) async throws {
        let store = service.store
        let jobs = batch.payloads(as: DingJob.self)
        struct Plan { var ding: Ding; var job: Job.ID; var recipients: [User.ID]; var email: [User.ID]; var policy: DingPolicy }
        let plans = try await service.transactor.database.read { db -> [Plan] in
            let found = try await store.fetchForSend(db, ids: jobs.map(\.1.dingID))
            let byID = Dictionary(found.map { ($0.ding.id, $0) }, uniquingKeysWith: { a, _ in a })
            let recipients = try await store.fetchUnconfirmed(db, dingIDs: found.map(\.ding.id))
            var plans: [Plan] = []
            // Who wants DINGs by e-mail: one query per organisation with an SMTP server, not per DING.
            var emailCandidates: [Organization.ID: Set<User.ID>] = [:]
            for (job, payload) in jobs {
                // Sent already, cancelled, or the organisation is gone (or the job names another's DING).
                guard let (ding, policy, hasMail) = byID[payload.dingID], ding.orgID == payload.orgID,
                      ding.sentAt == nil, ding.cancelledAt == nil
                else { continue }
                let users = recipients[ding.id] ?? []
                if hasMail { emailCandidates[ding.orgID, default: []].formUnion(users) }
                plans.append(Plan(ding: ding, job: job.id, recipients: users, email: hasMail ? users : [], policy: policy))
            }
            for (org, users) in emailCandidates {
                let reachable = Set(try await service.mailStore.fetchReachable(db, orgID: org, users: Array(users), kind: .dings))
                for i in plans.indices where plans[i].ding.orgID == org { plans[i].email = plans[i].email.filter(reachable.contains) }
            }
            return plans
        }
        let now = batch.now
        // In-app now, in the commit: the attempts are recorded and the events go out once it commits.
        struct Prepared { var plan: Plan; var received: String; var attempts: [(DeliveryAttempt, String)] }
        let prepared = try plans.map { plan -> Prepared in
            var ding = plan.ding
            ding.sentAt = now
            let attempts = plan.recipients.map {
                DeliveryAttempt(id: .random(), dingID: ding.id, userID: $0, channel: .app, reason: .initial, status: .delivered, detail: nil,
                                createdAt: now, updatedAt: now)
            }
            return Prepared(plan: Plan(ding: ding, job: plan.job, recipients: plan.recipients, email: plan.email, policy: plan.policy),
                            received: try EventJSON.encode(DingView(ding: ding, myConfirmedAt: nil, isRecipient: true, recipients: nil).api),
                            attempts: try attempts.map { ($0, try EventJSON.encode($0.api(dingID: ding.id))) })
        }
        try await batch.commit { db, outbox, owned in
            let mine = prepared.filter { owned.contains($0.plan.job) }
            let sent = try await store.markSent(db, ids: mine.map(\.plan.ding.id), at: now)
            let going = mine.filter { sent.contains($0.plan.ding.id) }
            try await store.insertAttempts(db, going.flatMap { $0.attempts.map(\.0) })
            for item in going {
                let ding = item.plan.ding
                for (attempt, event) in item.attempts {
                    service.inApp.deliver(.personal(attempt.userID, type: DingEvent.received, data: item.received), after: outbox)
                    outbox.add(.personal(ding.sender.userID, type: DingEvent.attempt, data: event))
                }
                var notify: [(User.ID, DeliveryChannel)] = item.plan.email.map { ($0, .email) }
                if ding.channel != .app { notify += item.plan.recipients.map { ($0, ding.channel) } }
                for (user, channel) in notify {
                    try await service.enqueueNotify(db, outbox, ding, user: user, channel: channel, reason: .initial,
                                                    dedupeKey: "ding:\(ding.id.string):\(user.string):\(channel.rawValue):initial")
                }
                for (channel, minutes) in [(DeliveryChannel.sms, item.plan.policy.smsAfterMinutes), (.call, item.plan.policy.callAfterMinutes)] {
                    guard let minutes, channel > ding.channel else { continue }
                    try await service.jobs.enqueue(db, outbox, kind: DingService.escalateKind,
                                                   payload: EscalateJob(dingID: ding.id, orgID: ding.orgID, channel: channel),
                                                   due: now.addingTimeInterval(Double(minutes) * 60), orgID: ding.orgID,
                                                   dedupeKey: "ding:\(ding.id.string):escalate:\(channel.rawValue)")
                }
            }
        }
    }
}

/// `ding.escalate`: a step of the policy came due — everyone still unconfirmed is notified on
/// the step's channel.
struct DingEscalateHandler: JobHandler {
    let service: DingService
    var kind: String { DingService.escalateKind }

    func run(_ run: JobRun) async throws {
        let job = try run.payload(as: EscalateJob.self)
        try await run.commit { db, outbox in
            guard let ding = try await service.store.fetch(db, orgID: job.orgID, id: job.dingID), ding.cancelledAt == nil else { return }
            for user in try await service.store.fetchUnconfirmed(db, dingID: ding.id) {
                try await service.enqueueNotify(db, outbox, ding, user: user, channel: job.channel, reason: .escalation,
                                                dedupeKey: "ding:\(ding.id.string):\(user.string):\(job.channel.rawValue):escalation")
            }
        }
    }
}

/// `ding.notify`: one notification to one recipient on one channel, through its provider. The
/// attempt is recorded (its id is the job's, the same across retries, and is what providers
/// deduplicate by); a provider that is not configured, a missing phone number or a reached call
/// limit are recorded as skipped, never lost silently.
struct DingNotifyHandler: JobHandler {
    let service: DingService
    var kind: String { DingService.notifyKind }

    func run(_ run: JobRun) async throws {
        let job = try run.payload(as: NotifyJob.self)
        let store = service.store
        let attemptID = DeliveryAttempt.ID(rawValue: run.job.id.rawValue)
        struct Context { var ding: Ding; var confirmed: Bool; var address: String?; var name: String?; var policy: DingPolicy; var callsRecent: Int; var callsDay: Int }
        guard let context = try await service.transactor.database.read({ db -> Context? in
            guard let ding = try await store.fetch(db, orgID: job.orgID, id: job.dingID), ding.cancelledAt == nil else { return nil }
            let recipient = try await store.fetchRecipient(db, dingID: ding.id, userID: job.userID)
            guard recipient.isRecipient else { return nil }
            let member = try await service.directory.fetchMember(db, orgID: job.orgID, userID: job.userID)
            guard member != nil else { return nil }  // left the organisation
            var recent = 0, day = 0
            if job.channel == .call {
                recent = try await store.countCalls(db, userID: job.userID, since: run.now.addingTimeInterval(-480))
                day = try await store.countCalls(db, userID: job.userID, since: run.now.addingTimeInterval(-86_400))
            }
            return Context(ding: ding, confirmed: recipient.confirmedAt != nil,
                           address: job.channel == .email ? member?.email : member?.phone, name: member?.name,
                           policy: try await store.fetchPolicy(db, orgID: job.orgID), callsRecent: recent, callsDay: day)
        }) else { return }
        // Confirmed since: nothing more to say.
        if context.confirmed { return }
        let ding = context.ding

        func record(_ status: DeliveryAttempt.Status, _ detail: String?, then: (@Sendable (any SQLDatabase, Outbox) async throws -> Void)? = nil) async throws {
            let attempt = DeliveryAttempt(id: attemptID, dingID: ding.id, userID: job.userID, channel: job.channel, reason: job.reason,
                                          status: status, detail: detail, createdAt: run.now, updatedAt: service.clock.now())
            try await run.commit { db, outbox in
                try await store.saveAttempt(db, attempt)
                outbox.add(.personal(ding.sender.userID, type: DingEvent.attempt, data: try EventJSON.encode(attempt.api(dingID: ding.id))))
                try await then?(db, outbox)
            }
        }

        if let reason = try await service.notifiers.unavailableReason(job.channel, orgID: job.orgID) {
            return try await record(.skipped, reason)
        }
        if job.channel == .call, context.callsRecent >= context.policy.callsPer8Minutes || context.callsDay >= context.policy.callsPerDay {
            let limit = "Call limit reached (\(context.policy.callsPer8Minutes) in 8 minutes, \(context.policy.callsPerDay) in 24 hours)."
            let fallback = context.policy.callFallbackSMS
            return try await record(.skipped, fallback ? limit + " An SMS is sent instead." : limit) { db, outbox in
                if fallback {
                    try await service.enqueueNotify(db, outbox, ding, user: job.userID, channel: .sms, reason: .fallback,
                                                    dedupeKey: "ding:\(ding.id.string):\(job.userID.string):fallback:\(attemptID.string)")
                }
            }
        }
        if job.channel != .app, context.address == nil {
            return try await record(.skipped, job.channel == .email ? "No e-mail address." : "No phone number.")
        }
        guard let provider = service.notifiers.provider(job.channel) else { return try await record(.skipped, "No provider.") }
        // Shown as pending while the provider is asked (and between retries).
        if job.channel != .app {
            let pending = DeliveryAttempt(id: attemptID, dingID: ding.id, userID: job.userID, channel: job.channel, reason: job.reason,
                                          status: .pending, detail: nil, createdAt: run.now, updatedAt: run.now)
            try await service.transactor.run { db, outbox in
                try await store.saveAttempt(db, pending)
                outbox.add(.personal(ding.sender.userID, type: DingEvent.attempt, data: try EventJSON.encode(pending.api(dingID: ding.id))))
            }
        }
        let notification = OutgoingNotification(
            id: attemptID.string, channel: job.channel, orgID: job.orgID, userID: job.userID, address: context.address,
            subject: "DING from \(ding.sender.name)", text: "\(ding.sender.name): \(ding.text)", name: context.name,
            event: job.channel == .app
                ? .personal(job.userID, type: DingEvent.received,
                            data: try EventJSON.encode(DingView(ding: ding, myConfirmedAt: nil, isRecipient: true, recipients: nil).api))
                : nil)
        do {
            let outcome = try await provider.deliver(notification)
            try await record(outcome == .delivered ? .delivered : .sent, nil)
        } catch DeliveryError.temporary(let reason) where run.job.attempts < run.job.maxAttempts {
            try? await service.transactor.run { db, _ in
                try await store.updateAttempt(db, id: attemptID, status: .pending, detail: "Retrying: \(reason)", at: service.clock.now())
            }
            throw JobRetry(delay: 30 * pow(2, Double(run.job.attempts - 1)), reason: reason)
        } catch DeliveryError.temporary(let reason), DeliveryError.permanent(let reason) {
            try await record(.failed, reason)
        }
    }
}
