/** Boots the app: language, who is signed in, the socket, and the routes. */
import { setUnauthenticatedHandler } from './core/api.js';
import { h } from './core/dom.js';
import { browserLocale, locale, savedLocale, setLocale, t } from './core/i18n.js';
import { navigate, startRouter } from './core/router.js';
import { createSocket } from './core/socket.js';
import { caughtUp, dispatch, resync } from './dispatcher.js';
import { loadMe, session, sessionEnded } from './features/auth/state.js';
import { signInView, signUpView } from './features/auth/views.js';
import { composePage } from './features/announcements/compose.js';
import { announcementsPage, manageAnnouncementsPage } from './features/announcements/page.js';
import { closeAnnouncements } from './features/announcements/state.js';
import { chatPage } from './features/chat/page.js';
import { closeChat, openChat } from './features/chat/state.js';
import { receivedPage, sentPage } from './features/ding/page.js';
import { clearAlerts } from './features/ding/state.js';
import { directoryPage } from './features/directory/page.js';
import { accessLogPage } from './features/health/access-log.js';
import { checkPage } from './features/health/check.js';
import { dashboardPage } from './features/health/dashboard.js';
import { editorPage } from './features/health/editor.js';
import { historyPage } from './features/health/history.js';
import { reportsPage } from './features/health/reports.js';
import { canManageHealth, closeHealth, isOwner } from './features/health/state.js';
import { todayPage } from './features/health/today.js';
import { closeOrg } from './features/directory/state.js';
import { liveClassPage, liveListPage } from './features/live/page.js';
import { importView } from './features/import/view.js';
import { joinView } from './features/invites/join.js';
import { rememberedJoin } from './features/invites/join-state.js';
import { invitesView } from './features/invites/views.js';
import { mailSettingsView } from './features/mail/settings.js';
import { defaultOrgId, isAdmin, membership, rememberOrg } from './features/orgs/state.js';
import { settingsView, welcomeView } from './features/orgs/views.js';
import { currentOrgId, mountShell } from './shell.js';

const socket = createSocket({
  onEvent: dispatch,
  onResync: resync,
  // Memberships may have changed before the socket opened or while it was down; a failed refresh
  // waits for the next connection.
  onConnected: () => loadMe().catch(() => {}),
  onResumed: caughtUp,
  onSessionEnded: sessionEnded,
  isGapFree: isAdmin,
});

function notFoundView(root) {
  root.append(h('section', { class: 'not-found', 'data-testid': 'not-found' },
    h('h1', {}, t('notFound.title')), h('p', {}, t('notFound.lead')), h('a', { href: '#/' }, t('notFound.home'))));
}

/**
 * Organisation pages render only for members (and admins, for admin pages; `allow(orgId)` for
 * pages of other roles).
 */
function orgPage(view, { admin = false, allow = () => true } = {}) {
  return (root, params) => {
    if (!membership(params.orgId) || (admin && !isAdmin(params.orgId)) || !allow(params.orgId)) return notFoundView(root);
    rememberOrg(params.orgId);
    openChat(params.orgId);
    return view(root, params);
  };
}

/** `access`: guest (signed-out only), public (anyone), otherwise signed in. */
const routes = [
  { path: '/', view: () => {} },
  { path: '/signin', access: 'guest', view: signInView },
  { path: '/signup', access: 'guest', view: signUpView },
  { path: '/join/:code', access: 'public', view: joinView },
  { path: '/welcome', view: welcomeView },
  { path: '/org/:orgId', view: orgPage(directoryPage) },
  { path: '/org/:orgId/dept/:deptId', view: orgPage(directoryPage) },
  { path: '/org/:orgId/member/:memberId', view: orgPage(directoryPage) },
  { path: '/org/:orgId/chat', view: orgPage(chatPage) },
  { path: '/org/:orgId/chat/with/:memberId', view: orgPage(chatPage) },
  { path: '/org/:orgId/chat/:conversationId', view: orgPage(chatPage) },
  { path: '/org/:orgId/chat/:conversationId/at/:seq', view: orgPage(chatPage) },
  { path: '/org/:orgId/chat/:conversationId/live', view: orgPage(liveListPage) },
  { path: '/org/:orgId/live/:liveClassId', view: orgPage(liveClassPage) },
  { path: '/org/:orgId/ding', view: orgPage(receivedPage) },
  { path: '/org/:orgId/ding/sent', view: orgPage(sentPage) },
  { path: '/org/:orgId/ding/sent/:dingId', view: orgPage(sentPage) },
  { path: '/org/:orgId/announcements', view: orgPage(announcementsPage) },
  { path: '/org/:orgId/announcements/new', view: orgPage(composePage, { admin: true }) },
  { path: '/org/:orgId/announcements/manage', view: orgPage(manageAnnouncementsPage, { admin: true }) },
  { path: '/org/:orgId/announcements/manage/:announcementId', view: orgPage(manageAnnouncementsPage) },
  { path: '/org/:orgId/announcements/manage/:announcementId/edit', view: orgPage(composePage, { admin: true }) },
  { path: '/org/:orgId/announcements/:announcementId', view: orgPage(announcementsPage) },
  { path: '/org/:orgId/health', view: orgPage(todayPage) },
  { path: '/org/:orgId/health/check', view: orgPage(checkPage) },
  { path: '/org/:orgId/health/history/:reportId', view: orgPage(historyPage) },
  { path: '/org/:orgId/health/history/:reportId/:memberId', view: orgPage(historyPage) },
  { path: '/org/:orgId/health/reports', view: orgPage(reportsPage, { allow: canManageHealth }) },
  { path: '/org/:orgId/health/reports/new', view: orgPage(editorPage, { allow: canManageHealth }) },
  { path: '/org/:orgId/health/reports/:reportId', view: orgPage(dashboardPage) },
  { path: '/org/:orgId/health/reports/:reportId/edit', view: orgPage(editorPage, { allow: canManageHealth }) },
  { path: '/org/:orgId/health/access-log', view: orgPage(accessLogPage, { allow: isOwner }) },
  { path: '/org/:orgId/invites', view: orgPage(invitesView, { admin: true }) },
  { path: '/org/:orgId/import', view: orgPage(importView, { admin: true }) },
  { path: '/org/:orgId/settings', view: orgPage(settingsView, { admin: true }) },
  { path: '/org/:orgId/settings/mail', view: orgPage(mailSettingsView, { admin: true }) },
];

function homePath() {
  if (session.get().status !== 'signedIn') return '/signin';
  const code = rememberedJoin();
  if (code) return `/join/${code}`;
  const orgId = defaultOrgId();
  return orgId ? `/org/${orgId}` : '/welcome';
}

function redirectFor(route) {
  const signedIn = session.get().status === 'signedIn';
  if (route.path === '/' || (route.access === 'guest' && signedIn)) return homePath();
  if (!route.access && !signedIn) return '/signin';
  return undefined;
}

const main = document.getElementById('main');
let unmount = () => {};
let shownKey = '';

/** What a rendered route depends on besides its path: re-render when this changes. */
function renderKey() {
  const orgId = currentOrgId();
  return [session.get().status, locale.get().value, orgId ? membership(orgId)?.member.role : ''].join('|');
}

function show(route, params) {
  const redirect = redirectFor(route);
  if (redirect) return navigate(redirect, { replace: true });
  unmount();
  main.replaceChildren();
  unmount = route.view(main, params) ?? (() => {});
  shownKey = renderKey();
  return undefined;
}

/** Keeps the socket and language in step with who is signed in. */
function followSession({ status, user, memberships }) {
  if (status !== 'signedIn') {
    socket.stop();
    closeOrg();
    closeChat();
    clearAlerts();
    closeAnnouncements();
    closeHealth();
    return;
  }
  socket.follow(memberships.map((m) => m.organization));
  socket.start();
  if (!savedLocale() && user.locale) setLocale(user.locale);
}

async function boot() {
  setUnauthenticatedHandler(sessionEnded);
  await setLocale(savedLocale() ?? browserLocale());
  mountShell(document.getElementById('shell'), socket.connection);
  try {
    await loadMe();
  } catch {
    main.replaceChildren(h('p', { class: 'not-found', 'data-testid': 'boot-error' }, t('error.network')),
      h('button', { class: 'btn', type: 'button', onclick: () => location.reload() }, t('common.retry')));
    return;
  }
  followSession(session.get());
  const rerender = startRouter(routes, show);
  session.subscribe((state) => {
    followSession(state);
    if (renderKey() !== shownKey) rerender();
  });
  locale.subscribe(() => renderKey() !== shownKey && rerender());
}

boot();
