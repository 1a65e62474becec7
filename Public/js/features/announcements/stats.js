/**
 * One announcement as its admins (and its author) see it: where it stands, pin and unpin, edit or
 * cancel while scheduled, who read and who confirmed — live as the counts move — and "DING the
 * N unconfirmed" in one click.
 */
import { h } from '../../core/dom.js';
import { attempt, button, errorLine } from '../../core/forms.js';
import { errorText, formatDateTime, t } from '../../core/i18n.js';
import { navigate } from '../../core/router.js';
import { attachmentList, openPane, pinMark, whenText } from './parts.js';
import { renderRichText } from './richtext.js';
import { cancelAnnouncement, dingUnconfirmed, loadRecipients, openAnnouncement, setPinned } from './state.js';

function group(title, people, testId, when) {
  return h('section', { class: 'ann-group', 'data-testid': testId },
    h('h3', {}, title, ' ', h('span', { class: 'badge', 'data-testid': `${testId}-count` }, String(people.length))),
    people.length
      ? h('ul', { class: 'ann-people' }, people.map((r) => h('li', { class: 'ann-person', 'data-testid': `${testId}-person`, 'data-user-id': r.person.userId },
        h('span', { 'data-testid': 'ann-person-name' }, r.person.name), when(r) && h('span', { class: 'ann-note' }, formatDateTime(when(r))))))
      : h('p', { class: 'ann-note' }, t('announcements.nobody')));
}

function dingControl(a, pending, error) {
  const status = h('p', { class: 'ann-note', role: 'status', 'data-testid': 'ann-ding-status' },
    a.lastDing
      ? [t('announcements.dinged', { count: a.lastDing.recipientCount }), ' ',
        h('a', { href: `#/org/${a.orgId}/ding/sent/${a.lastDing.id}`, 'data-testid': 'ann-ding-link' }, t('announcements.dingOpen'))]
      : a.lastDingedAt && t('announcements.dingedAt', { time: formatDateTime(a.lastDingedAt) }));
  const label = a.requireConfirmation ? 'announcements.dingUnconfirmed' : 'announcements.dingUnread';
  const control = button(t(label, { count: pending.length }), {
    class: 'btn btn-danger', 'data-testid': 'ann-ding', disabled: pending.length === 0,
    onclick: () => attempt(error, async () => {
      control.disabled = true;
      try {
        await dingUnconfirmed(a.orgId, a.id);
      } finally {
        control.disabled = false;
      }
    }),
  });
  return [control, status];
}

function statsView(a, recipients, recipientsError, error) {
  const items = recipients?.items ?? [];
  const read = items.filter((r) => r.readAt);
  const confirmed = items.filter((r) => r.confirmedAt);
  const unread = items.filter((r) => !r.readAt);
  const pending = a.requireConfirmation ? items.filter((r) => !r.confirmedAt) : unread;
  const scheduled = a.status === 'scheduled';
  const stats = a.stats ?? { recipientCount: 0, readCount: 0, confirmedCount: 0 };
  return h('article', { class: 'ann-article', 'data-testid': 'ann-stats', 'data-announcement-id': a.id },
    h('h2', { class: 'ann-article-title', 'data-testid': 'ann-stats-title' }, pinMark(a), a.title),
    h('p', { class: 'ann-note' }, h('span', { 'data-testid': 'ann-stats-status', 'data-status': a.status }, whenText(a)), ' · ', a.author.name,
      a.requireConfirmation && [' · ', t('announcements.requiresConfirmation')]),
    a.status === 'published' && h('div', { class: 'ann-counters' },
      h('span', { class: 'ann-counter' }, t('announcements.read'), ' ', h('strong', { 'data-testid': 'ann-stat-read' }, `${stats.readCount}/${stats.recipientCount}`)),
      a.requireConfirmation && h('span', { class: 'ann-counter' }, t('announcements.confirmed'), ' ',
        h('strong', { 'data-testid': 'ann-stat-confirmed' }, `${stats.confirmedCount}/${stats.recipientCount}`))),
    h('div', { class: 'ann-actions' },
      a.canManage && a.status !== 'cancelled' && button(a.pinned ? t('announcements.unpin') : t('announcements.pin'), {
        'data-testid': a.pinned ? 'ann-unpin' : 'ann-pin', onclick: () => attempt(error, () => setPinned(a.orgId, a.id, !a.pinned)),
      }),
      a.canManage && scheduled && button(t('announcements.edit'), {
        'data-testid': 'ann-edit', onclick: () => navigate(`/org/${a.orgId}/announcements/manage/${a.id}/edit`),
      }),
      a.canManage && scheduled && button(t('announcements.cancel'), {
        class: 'btn btn-danger', 'data-testid': 'ann-cancel',
        onclick: () => window.confirm(t('announcements.cancelConfirm')) && attempt(error, () => cancelAnnouncement(a.orgId, a.id)),
      }),
      a.status === 'published' && recipients && dingControl(a, pending, error)),
    error,
    recipientsError && h('p', { class: 'form-error', role: 'alert' }, errorText(recipientsError)),
    a.status === 'published' && (a.requireConfirmation
      ? [group(t('announcements.confirmed'), confirmed, 'ann-confirmed', (r) => r.confirmedAt),
        group(t('announcements.readNotConfirmed'), read.filter((r) => !r.confirmedAt), 'ann-read-only', (r) => r.readAt),
        group(t('announcements.notRead'), unread, 'ann-unread', () => null)]
      : [group(t('announcements.read'), read, 'ann-read', (r) => r.readAt), group(t('announcements.notRead'), unread, 'ann-unread', () => null)]),
    h('details', { class: 'ann-preview' }, h('summary', {}, t('announcements.preview')),
      h('div', { class: 'ann-body' }, renderRichText(a.body)), attachmentList(a.orgId, a)));
}

/** The statistics of one announcement, fetched and then kept live. */
export function announcementStatsView(orgId, id) {
  openAnnouncement(orgId, id, { read: false }).then(() => loadRecipients(orgId, id));
  const error = errorLine();
  return openPane(orgId, id, `#/org/${orgId}/announcements/manage`, (s) => [s.recipients, s.recipientsError],
    ({ open, recipients, recipientsError }) => statsView(open, recipients, recipientsError, error));
}
