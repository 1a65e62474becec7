/** How DINGs read: channels, delivery attempts, where a sent DING stands. */
import { formatDateTime, t } from '../../core/i18n.js';

export const channelName = (channel) => t(`ding.channel.${channel}`);

/** "SMS · skipped · The SMS and voice gateway is not configured…" (a reminder or escalation says so). */
export function attemptText(attempt) {
  return [
    channelName(attempt.channel),
    attempt.reason !== 'initial' && t(`ding.reason.${attempt.reason}`),
    t(`ding.attemptStatus.${attempt.status}`),
    attempt.detail,
  ].filter(Boolean).join(' · ');
}

export function confirmedText(ding) {
  return t('ding.confirmedCount', { confirmed: ding.confirmedCount, total: ding.recipientCount });
}

/** Sent at …, scheduled for …, or cancelled. */
export function whenText(ding) {
  if (ding.cancelledAt) return t('ding.cancelled');
  if (!ding.sentAt) return t('ding.scheduledFor', { time: formatDateTime(ding.scheduledAt) });
  return formatDateTime(ding.sentAt);
}
