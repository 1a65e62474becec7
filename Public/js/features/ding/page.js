/**
 * The DING page: tabs Received (each with Confirm, or "Confirmed") and Sent (each with "k/n
 * confirmed", opening its recipients beside the list, or instead of it on a narrow screen), a
 * "New DING" button, and the control that turns on browser notifications.
 */
import { h } from '../../core/dom.js';
import { attempt, button, errorLine } from '../../core/forms.js';
import { errorText, formatDateTime, t } from '../../core/i18n.js';
import { watch } from '../../core/store.js';
import { askForNotifications, canAskForNotifications } from '../chat/notify.js';
import { showNewDing } from './compose.js';
import { dingDetailView } from './detail.js';
import { channelName, confirmedText, whenText } from './format.js';
import { confirmDing, dings, loadDings } from './state.js';

function receivedRow(ding) {
  const error = errorLine();
  return h('li', { class: 'ding-row', 'data-testid': 'ding-received', 'data-ding-id': ding.id },
    h('div', { class: 'ding-row-main' },
      h('p', { class: 'ding-row-head' },
        h('strong', { 'data-testid': 'ding-sender' }, ding.sender.name), ' ',
        h('time', { class: 'ding-note', datetime: ding.sentAt }, formatDateTime(ding.sentAt ?? ding.createdAt))),
      h('p', { class: 'ding-row-text', 'data-testid': 'ding-text' }, ding.text),
      error),
    ding.myConfirmedAt
      ? h('span', { class: 'ding-done', 'data-testid': 'ding-confirmed-mark' }, t('ding.confirmedMark'))
      : button(t('ding.confirm'), { class: 'btn btn-primary', 'data-testid': 'ding-confirm', onclick: () => attempt(error, () => confirmDing(ding.orgId, ding.id)) }));
}

function sentRow(ding, selectedId) {
  return h('li', {},
    h('a', {
      class: 'ding-row ding-row-link',
      href: `#/org/${ding.orgId}/ding/sent/${ding.id}`,
      'aria-current': ding.id === selectedId ? 'page' : null,
      'data-testid': 'ding-sent',
      'data-ding-id': ding.id,
    },
    h('span', { class: 'ding-row-main' },
      h('span', { class: 'ding-row-text', 'data-testid': 'ding-text' }, ding.text),
      h('span', { class: 'ding-note' }, whenText(ding), ' · ', channelName(ding.channel))),
    h('span', { class: ding.confirmedCount >= ding.recipientCount ? 'ding-count is-done' : 'ding-count', 'data-testid': 'ding-sent-count' }, confirmedText(ding))));
}

function notificationControl() {
  if (!canAskForNotifications()) return '';
  const control = button(t('ding.enableNotifications'), {
    class: 'btn ding-notify',
    'data-testid': 'ding-enable-notifications',
    onclick: async () => {
      await askForNotifications();
      control.remove();
    },
  });
  return control;
}

function dingPage(root, { orgId, dingId }, tab) {
  loadDings(orgId);
  const list = h('ul', { class: 'ding-list', 'data-testid': `ding-${tab}-list` });
  const status = h('p', { class: 'ding-note', role: 'status', 'data-testid': 'ding-status' });
  const tabLink = (name, suffix) => h('a', {
    class: 'ding-tab', href: `#/org/${orgId}/ding${suffix}`, 'aria-current': tab === name ? 'page' : null, 'data-testid': `ding-tab-${name}`,
  }, t(`ding.tab.${name}`));
  const detail = dingId ? dingDetailView(orgId, dingId) : null;
  root.append(h('section', { class: `ding${detail ? ' is-open' : ''}`, 'data-testid': 'ding-page' },
    h('div', { class: 'ding-pane ding-list-pane' },
      h('header', { class: 'ding-head' },
        h('h1', { class: 'ding-title' }, t('nav.ding')),
        button(t('ding.new'), { class: 'btn btn-primary', 'data-testid': 'ding-new', onclick: () => showNewDing(orgId) })),
      notificationControl(),
      h('nav', { class: 'ding-tabs', 'aria-label': t('nav.ding') }, tabLink('received', ''), tabLink('sent', '/sent')),
      status, list),
    detail?.el ?? (tab === 'sent' && h('p', { class: 'ding-pane ding-placeholder' }, t('ding.choose')))));
  const unwatch = watch(dings, (s) => [s[tab], s.loaded, s.error], ([items, loaded, error]) => {
    list.replaceChildren(...items.map((d) => (tab === 'sent' ? sentRow(d, dingId) : receivedRow(d))));
    if (error) status.textContent = errorText(error);
    else if (!items.length) status.textContent = loaded ? t(`ding.empty.${tab}`) : t('common.loading');
    else status.textContent = '';
  });
  return () => {
    unwatch();
    detail?.destroy();
  };
}

export const receivedPage = (root, params) => dingPage(root, params, 'received');
export const sentPage = (root, params) => dingPage(root, params, 'sent');
