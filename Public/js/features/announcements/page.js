/**
 * The announcements pages: what went out to me (pinned first, the unread marked), opening one
 * beside the list (instead of it on a narrow screen); for owners and admins a "Manage" tab with
 * every announcement and its counts, opening its statistics, and "New announcement".
 */
import { h } from '../../core/dom.js';
import { errorText, t } from '../../core/i18n.js';
import { navigate } from '../../core/router.js';
import { watch } from '../../core/store.js';
import { isAdmin } from '../orgs/state.js';
import { announcementDetailView } from './detail.js';
import { pinMark, statsText, whenText } from './parts.js';
import { announcements, loadAll, loadReceived } from './state.js';
import { announcementStatsView } from './stats.js';

function receivedRow(a, selectedId) {
  const unread = !a.myReadAt;
  return h('li', {}, h('a', {
    class: `ann-row${unread ? ' is-unread' : ''}`, href: `#/org/${a.orgId}/announcements/${a.id}`,
    'aria-current': a.id === selectedId ? 'page' : null, 'data-testid': 'ann-row', 'data-announcement-id': a.id, 'data-unread': String(unread),
  },
  h('span', { class: 'ann-row-main' },
    h('span', { class: 'ann-row-title' }, unread && h('span', { class: 'ann-dot', 'aria-label': t('announcements.unread') }), pinMark(a),
      h('span', { 'data-testid': 'ann-row-title' }, a.title)),
    h('span', { class: 'ann-row-excerpt' }, a.excerpt),
    h('span', { class: 'ann-note' }, a.author.name, ' · ', whenText(a))),
  a.requireConfirmation && h('span', { class: a.myConfirmedAt ? 'ann-state is-done' : 'ann-state', 'data-testid': 'ann-row-state' },
    a.myConfirmedAt ? t('announcements.confirmedMark') : t('announcements.toConfirm'))));
}

function manageRow(a, selectedId) {
  return h('li', {}, h('a', {
    class: 'ann-row', href: `#/org/${a.orgId}/announcements/manage/${a.id}`, 'aria-current': a.id === selectedId ? 'page' : null,
    'data-testid': 'ann-manage-row', 'data-announcement-id': a.id,
  },
  h('span', { class: 'ann-row-main' },
    h('span', { class: 'ann-row-title' }, pinMark(a), h('span', { 'data-testid': 'ann-row-title' }, a.title)),
    h('span', { class: 'ann-note', 'data-status': a.status, 'data-testid': 'ann-row-status' }, whenText(a))),
  a.status === 'published' && h('span', { class: 'ann-state', 'data-testid': 'ann-row-stats' }, statsText(a))));
}

function announcementsLayout(root, { orgId, announcementId }, tab) {
  const admin = isAdmin(orgId);
  if (tab === 'manage') loadAll(orgId);
  else loadReceived(orgId);
  const list = h('ul', { class: 'ann-list', 'data-testid': `ann-${tab}-list` });
  const status = h('p', { class: 'ann-note', role: 'status', 'data-testid': 'ann-status' });
  const tabLink = (name, suffix) => h('a', {
    class: 'ann-tab', href: `#/org/${orgId}/announcements${suffix}`, 'aria-current': tab === name ? 'page' : null, 'data-testid': `ann-tab-${name}`,
  }, t(`announcements.tab.${name}`));
  const detail = announcementId
    ? (tab === 'manage' ? announcementStatsView(orgId, announcementId) : announcementDetailView(orgId, announcementId, `#/org/${orgId}/announcements`))
    : null;
  root.append(h('section', { class: `ann${detail ? ' is-open' : ''}`, 'data-testid': 'ann-page' },
    h('div', { class: 'ann-pane ann-list-pane' },
      h('header', { class: 'ann-head' },
        h('h1', { class: 'ann-title' }, t('nav.announcements')),
        admin && h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'ann-new', onclick: () => navigate(`/org/${orgId}/announcements/new`) },
          t('announcements.new'))),
      admin && h('nav', { class: 'ann-tabs', 'aria-label': t('nav.announcements') }, tabLink('received', ''), tabLink('manage', '/manage')),
      status, list),
    detail?.el ?? h('p', { class: 'ann-pane ann-placeholder' }, t('announcements.choose'))));
  const key = tab === 'manage' ? 'all' : 'received';
  const loadedKey = tab === 'manage' ? 'allLoaded' : 'loaded';
  const unwatch = watch(announcements, (s) => [s[key], s[loadedKey], s.error], ([items, loaded, error]) => {
    list.replaceChildren(...items.map((a) => (tab === 'manage' ? manageRow(a, announcementId) : receivedRow(a, announcementId))));
    if (error) status.textContent = errorText(error);
    else if (!items.length) status.textContent = loaded ? t(`announcements.empty.${tab}`) : t('common.loading');
    else status.textContent = '';
  });
  return () => {
    unwatch();
    detail?.destroy();
  };
}

export const announcementsPage = (root, params) => announcementsLayout(root, params, 'received');
export const manageAnnouncementsPage = (root, params) => announcementsLayout(root, params, 'manage');
