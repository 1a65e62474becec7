/** How DINGs read: channels, delivery attempts, where a sent DING stands. */
import { errorText, formatDateTime, t } from '../../core/i18n.js';

/** A refused DING or policy says why in the server's words, field by field (problem+json `errors`). */
export function problemText(error) {
  return error?.errors?.length ? error.errors.map((e) => e.message).join(' ') : errorText(error);
}

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

/** Sent at …, scheduled for …, going out (created now, its send job not yet run), or cancelled. */
export function whenText(ding) {
  if (ding.cancelledAt) return t('ding.cancelled');
  if (!ding.sentAt) return ding.scheduledAt ? t('ding.scheduledFor', { time: formatDateTime(ding.scheduledAt) }) : t('ding.sending');
  return formatDateTime(ding.sentAt);
}
