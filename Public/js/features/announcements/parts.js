/** Small pieces the announcement views share: where one stands, its attachments, its audience. */
import { h } from '../../core/dom.js';
import { errorText, formatDateTime, t } from '../../core/i18n.js';
import { watch } from '../../core/store.js';
import { announcements, attachmentUrl, openAnnouncement } from './state.js';

/** Published at …, scheduled for …, or cancelled. */
export function whenText(a) {
  if (a.cancelledAt) return t('announcements.cancelled');
  if (!a.publishedAt) return t('announcements.scheduledFor', { time: formatDateTime(a.scheduledAt ?? a.createdAt) });
  return formatDateTime(a.publishedAt);
}

export function statsText(a) {
  const s = a.stats;
  if (!s) return '';
  return a.requireConfirmation
    ? t('announcements.statsConfirm', { read: s.readCount, confirmed: s.confirmedCount, total: s.recipientCount })
    : t('announcements.statsRead', { read: s.readCount, total: s.recipientCount });
}

export function pinMark(a) {
  return a.pinned ? h('span', { class: 'ann-pin', 'data-testid': 'ann-pinned-mark' }, t('announcements.pinnedMark')) : '';
}

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function attachmentList(orgId, a) {
  if (!a.attachments?.length) return '';
  return h('ul', { class: 'ann-attachments', 'data-testid': 'ann-attachments' }, a.attachments.map((file) =>
    h('li', {}, h('a', { href: attachmentUrl(orgId, a.id, file.id), download: file.name, 'data-testid': 'ann-attachment' }, file.name),
      ' ', h('span', { class: 'ann-note' }, size(file.size)))));
}

/**
 * The pane of the open announcement `id`: a back link (narrow screens) and `render(state)` once
 * it is loaded, kept live; `pick(state)` lists what it depends on besides the announcement.
 */
export function openPane(orgId, id, back, pick, render) {
  const el = h('section', { class: 'ann-pane', 'data-testid': 'ann-pane' },
    h('a', { class: 'ann-back', href: back, 'data-testid': 'ann-back' }, t('announcements.back')));
  const unwatch = watch(announcements, (s) => [s.open, s.openError, ...pick(s)], () => {
    const { open, openError } = announcements.get();
    el.replaceChildren(el.firstChild, open?.id === id ? render(announcements.get())
      : h('p', { class: 'ann-note', role: 'status' }, openError ? errorText(openError) : t('common.loading')));
  });
  return {
    el,
    destroy() {
      unwatch();
      openAnnouncement(orgId, null);
    },
  };
}
