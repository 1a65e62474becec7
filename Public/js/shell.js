/**
 * The header: organisation switcher, one's join requests, sections (with the chat's unread count,
 * the unconfirmed DINGs and the unread announcements), the DING banners, health report reminders,
 * connection state, language, one's name (linking to one's own profile in the organisation in
 * view), sign-out.
 */
import { h } from './core/dom.js';
import { button, select } from './core/forms.js';
import { errorText, LOCALES, locale, setLocale, t } from './core/i18n.js';
import { currentPath, navigate } from './core/router.js';
import { announcementBadge } from './features/announcements/badge.js';
import { saveLocale, session, signOut } from './features/auth/state.js';
import { chat } from './features/chat/state.js';
import { dingBadge, dingBanners } from './features/ding/banner.js';
import { healthReminders } from './features/health/notice.js';
import { ownRequestNotices } from './features/invites/requests.js';
import { isAdmin, membership, memberships } from './features/orgs/state.js';

const NEW_ORG = 'new';

export function currentOrgId() {
  return /^\/org\/([^/]+)/.exec(currentPath())?.[1];
}

function orgSwitcher(orgId) {
  const options = memberships().map((m) => [m.organization.id, m.organization.name]);
  return select({
    class: 'shell-orgs',
    'aria-label': t('shell.organisation'),
    'data-testid': 'org-switcher',
    onchange: (event) => navigate(event.target.value === NEW_ORG ? '/welcome' : `/org/${event.target.value}`),
  }, [...(orgId ? [] : [['', t('shell.chooseOrg')]]), ...options, [NEW_ORG, t('shell.newOrg')]], orgId ?? '');
}

/** One's join requests (waiting, declined); the welcome and join pages show them themselves. */
function ownRequests() {
  if (/^\/(welcome$|join\/)/.test(currentPath())) return '';
  const notices = ownRequestNotices('header');
  return notices.length ? h('div', { class: 'shell-requests', role: 'status', 'aria-label': t('shell.requests'), 'data-testid': 'own-requests' }, notices) : '';
}

function sections(orgId, chatBadge, dingCount, announcementCount) {
  const path = currentPath();
  const base = `/org/${orgId}`;
  const link = (suffix, label, testId, active, ...extra) => h('a', {
    class: 'shell-link', href: `#${base}${suffix}`, 'aria-current': active ? 'page' : null, 'data-testid': testId,
  }, label, extra);
  const inChat = path === `${base}/chat` || path.startsWith(`${base}/chat/`);
  const inDing = path === `${base}/ding` || path.startsWith(`${base}/ding/`);
  const inAnnouncements = path === `${base}/announcements` || path.startsWith(`${base}/announcements/`);
  const inSettings = path === `${base}/settings` || path.startsWith(`${base}/settings/`);
  const inHealth = path === `${base}/health` || path.startsWith(`${base}/health/`);
  return h('nav', { class: 'shell-nav', 'aria-label': t('shell.sections') },
    link('', t('nav.directory'), 'nav-directory', !inChat && !inDing && !inAnnouncements && !inSettings && !inHealth && !/\/(invites|import)$/.test(path)),
    link('/chat', t('nav.chat'), 'nav-chat', inChat, chatBadge),
    link('/ding', t('nav.ding'), 'nav-ding', inDing, dingCount),
    link('/announcements', t('nav.announcements'), 'nav-announcements', inAnnouncements, announcementCount),
    link('/health', t('nav.health'), 'nav-health', inHealth),
    isAdmin(orgId) && [
      link('/invites', t('nav.invites'), 'nav-invites', path === `${base}/invites`),
      link('/import', t('nav.import'), 'nav-import', path === `${base}/import`),
      link('/settings', t('nav.settings'), 'nav-settings', inSettings),
    ]);
}

/** The unread messages of the organisation in view, on the Chat link. */
function chatBadge() {
  const badge = h('span', { class: 'shell-badge', 'data-testid': 'nav-chat-unread', hidden: true });
  chat.subscribe(({ conversations }) => {
    const unread = conversations.reduce((sum, c) => sum + c.unreadCount, 0);
    badge.hidden = unread === 0;
    badge.textContent = unread > 99 ? '99+' : String(unread);
    badge.setAttribute('aria-label', t('chat.unreadMessages', { count: unread }));
  });
  return badge;
}

/** One's name; in an organisation, a link to one's own profile there (and e-mail preferences). */
function currentUser(user, orgId) {
  const memberId = orgId && membership(orgId)?.member.id;
  return memberId
    ? h('a', { class: 'shell-user', href: `#/org/${orgId}/member/${memberId}`, title: t('shell.myProfile'), 'data-testid': 'current-user' }, user.name)
    : h('span', { class: 'shell-user', 'data-testid': 'current-user' }, user.name);
}

function languageSwitch() {
  return select({
    class: 'shell-lang',
    'aria-label': t('shell.language'),
    'data-testid': 'lang-switch',
    onchange: async (event) => {
      const chosen = event.target.value;
      await setLocale(chosen, { remember: true });
      // The choice is kept on this device either way; the account copy is best effort.
      saveLocale(chosen).catch(() => {});
    },
  }, LOCALES.map((value) => [value, t(`lang.${value}`)]), locale.get().value);
}

/** Renders into `header`; `connection` is the socket's `{ state }` store. */
export function mountShell(header, connection) {
  const indicator = h('span', { class: 'shell-conn', role: 'status', 'data-testid': 'connection' });
  const unread = chatBadge();
  const unconfirmed = dingBadge(currentOrgId);
  const unreadAnnouncements = announcementBadge(currentOrgId);
  const banners = dingBanners();
  const reminders = healthReminders();
  const showConnection = () => {
    const { state } = connection.get();
    indicator.dataset.state = state;
    indicator.textContent = t(`connection.${state}`);
  };
  const render = () => {
    const { status, user } = session.get();
    const signedIn = status === 'signedIn';
    const orgId = currentOrgId();
    showConnection();
    header.replaceChildren(
      h('a', { class: 'shell-brand', href: '#/' }, h('img', { class: 'shell-logo', src: '/icons/icon.svg', alt: '' }), t('app.name')),
      ...(signedIn ? [orgSwitcher(orgId), ownRequests(), orgId ? sections(orgId, unread, unconfirmed, unreadAnnouncements) : ''] : []),
      h('div', { class: 'shell-tools' },
        signedIn && indicator,
        languageSwitch(),
        signedIn && currentUser(user, orgId),
        signedIn && button(t('auth.signout'), {
          class: 'btn shell-signout',
          'data-testid': 'signout',
          onclick: () => signOut().catch((error) => window.alert(errorText(error))),
        })),
      signedIn ? banners : '',
      signedIn ? reminders : '',
    );
  };
  session.subscribe(render);
  locale.subscribe(render);
  connection.subscribe(showConnection);
  window.addEventListener('hashchange', render);
  render();
}
