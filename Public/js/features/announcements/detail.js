/**
 * One announcement as its reader sees it: title, author and time, the body (rebuilt from safe
 * elements only), attachments, and "Confirm I have read" when it asks for it. Opening it marks
 * it read.
 */
import { h } from '../../core/dom.js';
import { attempt, button, errorLine } from '../../core/forms.js';
import { formatDateTime, t } from '../../core/i18n.js';
import { attachmentList, openPane, pinMark, statsText, whenText } from './parts.js';
import { renderRichText } from './richtext.js';
import { confirm, openAnnouncement } from './state.js';

function confirmation(a, error) {
  if (!a.requireConfirmation || !a.isRecipient) return '';
  if (a.myConfirmedAt) {
    return h('p', { class: 'ann-confirmed', 'data-testid': 'ann-confirmed-mark' }, t('announcements.confirmedAt', { time: formatDateTime(a.myConfirmedAt) }));
  }
  const control = button(t('announcements.confirm'), {
    class: 'btn btn-primary', 'data-testid': 'ann-confirm',
    onclick: () => attempt(error, async () => {
      control.disabled = true;
      try {
        await confirm(a.orgId, a.id);
      } finally {
        control.disabled = false;
      }
    }),
  });
  return h('div', { class: 'ann-confirm-box' }, h('p', { class: 'ann-note' }, t('announcements.confirmAsk')), control);
}

function articleView(a, error) {
  return h('article', { class: 'ann-article', 'data-testid': 'ann-detail', 'data-announcement-id': a.id },
    h('h2', { class: 'ann-article-title', 'data-testid': 'ann-detail-title' }, pinMark(a), a.title),
    h('p', { class: 'ann-note' }, h('span', { 'data-testid': 'ann-detail-author' }, a.author.name), ' · ', whenText(a),
      a.stats && [' · ', h('a', { href: `#/org/${a.orgId}/announcements/manage/${a.id}`, 'data-testid': 'ann-detail-stats' }, statsText(a))]),
    h('div', { class: 'ann-body', 'data-testid': 'ann-body' }, renderRichText(a.body)),
    attachmentList(a.orgId, a),
    confirmation(a, error),
    error);
}

/** The open announcement of `orgId`, fetched (marked read) and then kept live. */
export function announcementDetailView(orgId, id, back) {
  openAnnouncement(orgId, id);
  const error = errorLine();
  return openPane(orgId, id, back, () => [], ({ open }) => articleView(open, error));
}
