/** The number of unread announcements of the organisation in view, on the nav link. */
import { h } from '../../core/dom.js';
import { t } from '../../core/i18n.js';
import { announcements, loadReceived, unreadCount } from './state.js';

/** `orgIdNow()` says which organisation is in view; its list is fetched when it changes. */
export function announcementBadge(orgIdNow) {
  const badge = h('span', { class: 'shell-badge', 'data-testid': 'nav-announcements-unread', hidden: true });
  const render = () => {
    const count = unreadCount(orgIdNow());
    badge.hidden = count === 0;
    badge.textContent = count > 99 ? '99+' : String(count);
    badge.setAttribute('aria-label', t('announcements.unreadCount', { count }));
  };
  const follow = () => {
    const orgId = orgIdNow();
    const state = announcements.get();
    if (orgId && (state.orgId !== orgId || (!state.loaded && !state.error))) loadReceived(orgId);
    render();
  };
  announcements.subscribe(render);
  window.addEventListener('hashchange', follow);
  follow();
  return badge;
}
