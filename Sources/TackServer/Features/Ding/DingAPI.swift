import Foundation
import TackAPI

// How DING's values look in the API and in events: the schemas of `openapi.yaml`.

extension DeliveryAttempt {
    func api(dingID: Ding.ID) -> Components.Schemas.DeliveryAttempt {
        .init(id: id.string, dingId: dingID.string, userId: userID.string, channel: .init(rawValue: channel.rawValue)!,
              reason: .init(rawValue: reason.rawValue)!, status: .init(rawValue: status.rawValue)!, detail: detail,
              createdAt: createdAt, updatedAt: updatedAt)
    }
}

extension DingView {
    var api: Components.Schemas.Ding {
        .init(id: ding.id.string, orgId: ding.orgID.string, sender: ding.sender.api, text: ding.text,
              channel: .init(rawValue: ding.channel.rawValue) ?? .app, scheduledAt: ding.scheduledAt, sentAt: ding.sentAt,
              cancelledAt: ding.cancelledAt, lastRemindedAt: ding.lastRemindedAt,
              source: ding.source.map { .init(conversationId: $0.conversationID.string, seq: $0.seq) },
              announcementId: ding.announcementID?.string,
              recipientCount: ding.recipientCount, confirmedCount: ding.confirmedCount, createdAt: ding.createdAt,
              myConfirmedAt: myConfirmedAt, isRecipient: isRecipient,
              recipients: recipients?.map { recipient, attempts in
                  .init(person: recipient.person.api, confirmedAt: recipient.confirmedAt, attempts: attempts.map { $0.api(dingID: ding.id) })
              })
    }
}

extension DingService.PolicyView {
    var api: Components.Schemas.DingPolicy {
        .init(settings: .init(smsAfterMinutes: policy.smsAfterMinutes, callAfterMinutes: policy.callAfterMinutes,
                              callFallbackSms: policy.callFallbackSMS, callsPer8Minutes: policy.callsPer8Minutes, callsPerDay: policy.callsPerDay),
              providers: providers.map { channel, reason in
                  .init(channel: .init(rawValue: channel.rawValue)!, available: reason == nil, reason: reason)
              })
    }
}
