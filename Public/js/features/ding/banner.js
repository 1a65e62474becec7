/**
 * The recipient's side of a DING outside the DING page: a banner at the top of every page (one per
 * unconfirmed DING, with one-click Confirm), the count on the nav link, and a browser
 * notification when the tab is hidden (permission is asked from a button, never on load).
 */
import { h } from '../../core/dom.js';
import { attempt, button, errorLine } from '../../core/forms.js';
import { formatTime, t } from '../../core/i18n.js';
import { navigate } from '../../core/router.js';
import { memberships } from '../orgs/state.js';
import { alerts, alertsOf, confirmDing } from './state.js';

/** Banners beyond this many are summed up in a link to the DING page. */
const MAX_SHOWN = 3;

function orgName(orgId) {
  return memberships().find((m) => m.organization.id === orgId)?.organization.name;
}

function bannerView(ding) {
  const error = errorLine();
  const confirm = button(t('ding.confirm'), {
    class: 'btn ding-banner-confirm',
    'data-testid': 'ding-banner-confirm',
    onclick: () => attempt(error, async () => {
      confirm.disabled = true;
      try {
        await confirmDing(ding.orgId, ding.id);
      } finally {
        confirm.disabled = false;
      }
    }),
  });
  return h('article', { class: 'ding-banner', role: 'alert', 'data-testid': 'ding-banner', 'data-ding-id': ding.id },
    h('span', { class: 'ding-banner-mark', 'aria-hidden': 'true' }, 'DING'),
    h('div', { class: 'ding-banner-body' },
      h('p', { class: 'ding-banner-head' },
        h('strong', { 'data-testid': 'ding-banner-sender' }, ding.sender.name),
        ' ', h('time', { datetime: ding.sentAt ?? ding.createdAt }, formatTime(ding.sentAt ?? ding.createdAt)),
        memberships().length > 1 && h('span', { class: 'ding-banner-org' }, orgName(ding.orgId))),
      // A DING about an announcement opens it.
      h('p', { class: 'ding-banner-text', 'data-testid': 'ding-banner-text' }, ding.announcementId
        ? h('a', { href: `#/org/${ding.orgId}/announcements/${ding.announcementId}`, 'data-testid': 'ding-banner-announcement' },
          t('announcements.fromAnnouncement'), ': ', ding.text)
        : ding.text),
      error),
    confirm);
}

/** The banners, for the header; kept current by the `alerts` store. */
export function dingBanners() {
  const el = h('section', { class: 'ding-banners', 'aria-label': t('ding.banners'), 'data-testid': 'ding-banners' });
  const render = ({ items }) => {
    const more = items.length - MAX_SHOWN;
    const orgId = items[0]?.orgId;
    el.replaceChildren(...items.slice(0, MAX_SHOWN).map(bannerView),
      more > 0 ? h('a', { class: 'ding-banner-more', href: `#/org/${orgId}/ding`, 'data-testid': 'ding-banner-more' }, t('ding.moreBanners', { count: more })) : '');
    el.hidden = !items.length;
  };
  alerts.subscribe(render);
  render(alerts.get());
  return el;
}

/** The unconfirmed DINGs of the organisation in view, on the DING link; `orgIdNow()` says which. */
export function dingBadge(orgIdNow) {
  const badge = h('span', { class: 'shell-badge', 'data-testid': 'nav-ding-unconfirmed', hidden: true });
  const render = () => {
    const count = alertsOf(orgIdNow()).length;
    badge.hidden = count === 0;
    badge.textContent = count > 99 ? '99+' : String(count);
    badge.setAttribute('aria-label', t('ding.unconfirmedCount', { count }));
  };
  alerts.subscribe(render);
  window.addEventListener('hashchange', render);
  render();
  return badge;
}

/** A browser notification for a DING that arrives while the tab is hidden. */
export function notifyDing(ding) {
  if (!document.hidden || !('Notification' in window) || Notification.permission !== 'granted' || ding.myConfirmedAt) return;
  // Tagged by id: a DING received twice is notified once.
  const notification = new Notification(t('ding.notificationTitle', { name: ding.sender.name }), { body: ding.text, tag: `ding:${ding.id}`, requireInteraction: true });
  notification.addEventListener('click', () => {
    window.focus();
    navigate(`/org/${ding.orgId}/ding`);
    notification.close();
  });
}
