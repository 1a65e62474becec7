/**
 * One sent DING as its sender sees it: who has confirmed and who has not, each with their delivery
 * attempts; "Remind again" (refused within 5 minutes of the last time: the button then says how
 * long is left, from Retry-After) and Cancel while it is scheduled. Live through `dings`.
 */
import { h } from '../../core/dom.js';
import { attempt, button, errorLine } from '../../core/forms.js';
import { errorText, formatDateTime, formatTime, t } from '../../core/i18n.js';
import { watch } from '../../core/store.js';
import { attemptText, channelName, confirmedText, whenText } from './format.js';
import { cancelDing, dings, openDing, remindDing } from './state.js';

/** Ding id → the time (ms) before which the server refuses another reminder. */
const remindBlockedUntil = new Map();

function recipientView(recipient) {
  return h('li', { class: 'ding-recipient', 'data-testid': 'ding-recipient', 'data-user-id': recipient.person.userId },
    h('div', { class: 'ding-recipient-head' },
      h('strong', { 'data-testid': 'ding-recipient-name' }, recipient.person.name),
      recipient.confirmedAt && h('span', { class: 'ding-note' }, t('ding.confirmedAt', { time: formatDateTime(recipient.confirmedAt) }))),
    recipient.attempts.length > 0 && h('ul', { class: 'ding-attempts' },
      recipient.attempts.map((a) => h('li', { class: 'ding-attempt', 'data-status': a.status, 'data-testid': 'ding-attempt' }, attemptText(a)))));
}

function group(title, list, testId) {
  return h('section', { class: 'ding-group', 'data-testid': testId },
    h('h3', {}, title, ' ', h('span', { class: 'badge', 'data-testid': `${testId}-count` }, String(list.length))),
    list.length ? h('ul', { class: 'ding-recipients' }, list.map(recipientView)) : h('p', { class: 'ding-note' }, t('ding.nobody')));
}

function timeLeft(ms) {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

/** How long after a reminder the next may follow (the server's rule). */
const REMIND_INTERVAL_MS = 5 * 60 * 1000;

/** "Remind again", disabled with a countdown while the server would refuse it. */
function remindControl(ding, error) {
  const status = h('span', { class: 'ding-note', role: 'status', 'data-testid': 'ding-remind-status' },
    ding.lastRemindedAt ? t('ding.remindedAt', { time: formatTime(ding.lastRemindedAt) }) : '');
  const control = button(t('ding.remind'), { 'data-testid': 'ding-remind' });
  let timer;
  const update = () => {
    const left = (remindBlockedUntil.get(ding.id) ?? 0) - Date.now();
    control.disabled = left > 0;
    control.textContent = left > 0 ? t('ding.remindIn', { time: timeLeft(left) }) : t('ding.remind');
    if (left <= 0) clearInterval(timer);
  };
  const block = (ms) => {
    remindBlockedUntil.set(ding.id, Date.now() + ms);
    clearInterval(timer);
    timer = setInterval(update, 1000);
    update();
  };
  control.addEventListener('click', () => attempt(error, async () => {
    control.disabled = true;
    try {
      const reminded = await remindDing(ding.orgId, ding.id);
      status.textContent = t('ding.remindedAt', { time: formatTime(reminded.lastRemindedAt ?? new Date().toISOString()) });
      block(REMIND_INTERVAL_MS);
    } catch (failure) {
      if (failure.status !== 429) throw failure;
      block(failure.retryAfterMs || 60_000);
    } finally {
      update();
    }
  }));
  // The server allows the next reminder 5 minutes after the last one.
  if (ding.lastRemindedAt) {
    const until = Date.parse(ding.lastRemindedAt) + REMIND_INTERVAL_MS;
    if (until > (remindBlockedUntil.get(ding.id) ?? 0)) remindBlockedUntil.set(ding.id, until);
  }
  if ((remindBlockedUntil.get(ding.id) ?? 0) > Date.now()) block(remindBlockedUntil.get(ding.id) - Date.now());
  return { el: [control, status], destroy: () => clearInterval(timer) };
}

function dingView(ding, error) {
  const recipients = ding.recipients ?? [];
  const confirmed = recipients.filter((r) => r.confirmedAt);
  const waiting = recipients.filter((r) => !r.confirmedAt);
  const scheduled = ding.scheduledAt && !ding.sentAt && !ding.cancelledAt;
  const remind = ding.sentAt && !ding.cancelledAt && waiting.length ? remindControl(ding, error) : null;
  const el = h('article', { class: 'ding-detail', 'data-testid': 'ding-detail', 'data-ding-id': ding.id },
    h('p', { class: 'ding-detail-text', 'data-testid': 'ding-detail-text' }, ding.text),
    h('p', { class: 'ding-note' },
      h('span', { 'data-testid': 'ding-detail-when' }, whenText(ding)), ' · ', channelName(ding.channel), ' · ',
      h('strong', { 'data-testid': 'ding-detail-count' }, confirmedText(ding))),
    h('div', { class: 'ding-actions' },
      remind?.el,
      scheduled && button(t('ding.cancel'), {
        class: 'btn btn-danger',
        'data-testid': 'ding-cancel',
        onclick: () => window.confirm(t('ding.cancelConfirm')) && attempt(error, () => cancelDing(ding.orgId, ding.id)),
      })),
    error,
    group(t('ding.confirmed'), confirmed, 'ding-confirmed'),
    group(t('ding.notConfirmed'), waiting, 'ding-unconfirmed'));
  return { el, destroy: () => remind?.destroy() };
}

/** The open sent DING of `orgId`, fetched and then kept live. */
export function dingDetailView(orgId, dingId) {
  openDing(orgId, dingId);
  const error = errorLine();
  const el = h('section', { class: 'ding-pane', 'data-testid': 'ding-pane' },
    h('a', { class: 'ding-back', href: `#/org/${orgId}/ding/sent`, 'data-testid': 'ding-back' }, t('ding.back')));
  let shown = { destroy: () => {} };
  const unwatch = watch(dings, (s) => [s.open, s.openError], ([open, openError]) => {
    shown.destroy();
    shown = open ? dingView(open, error) : { el: h('p', { class: 'ding-note', role: 'status' }, openError ? errorText(openError) : t('common.loading')), destroy: () => {} };
    el.replaceChildren(el.firstChild, shown.el);
  });
  return {
    el,
    destroy() {
      unwatch();
      shown.destroy();
      openDing(orgId, null);
    },
  };
}
