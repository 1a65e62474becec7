/** Who is signed in, and the organisations they belong to. */
import { api } from '../../core/api.js';
import { createStore } from '../../core/store.js';

/**
 * `{ status: 'unknown' | 'signedOut' | 'signedIn', user, memberships, pendingJoinRequests,
 * declinedJoinRequests }`: `pendingJoinRequests` are the person's own requests to join that wait
 * for an admin (`{ joinRequest, organizationName, organizationKind }`, from `GET /me`);
 * `declinedJoinRequests` are those rejected while the app was open (`{ orgId, organizationName }`),
 * kept here until dismissed or signed out.
 */
export const session = createStore({
  status: 'unknown', user: null, memberships: [], pendingJoinRequests: [], declinedJoinRequests: [],
});

const signedOut = { status: 'signedOut', user: null, memberships: [], pendingJoinRequests: [], declinedJoinRequests: [] };

const orgOf = (pending) => pending.joinRequest.orgId;

/**
 * One's join requests after fetching `me` (which started when the session was `before`): the
 * server's pending ones, plus any filed here meanwhile. A request that was pending before and is
 * gone now, without a membership, was declined while no event reached us (e.g. offline).
 */
function mergeOwnRequests(before, me) {
  const now = session.get();
  const fetched = me.pendingJoinRequests ?? [];
  if (now.user?.id !== me.user.id || before.user?.id !== me.user.id) {
    return { pendingJoinRequests: fetched, declinedJoinRequests: [] };
  }
  const stillPending = new Set(fetched.map(orgOf));
  const wasPending = new Set(before.pendingJoinRequests.map(orgOf));
  const isMember = (orgId) => me.memberships.some((m) => m.organization.id === orgId);
  const gone = now.pendingJoinRequests.filter((p) => !stillPending.has(orgOf(p)));
  const declined = gone.filter((p) => wasPending.has(orgOf(p)) && !isMember(orgOf(p))
    && !now.declinedJoinRequests.some((d) => d.orgId === orgOf(p)));
  return {
    pendingJoinRequests: [...fetched, ...gone.filter((p) => !wasPending.has(orgOf(p)))],
    declinedJoinRequests: [...now.declinedJoinRequests,
      ...declined.map((p) => ({ orgId: orgOf(p), organizationName: p.organizationName }))],
  };
}

/** Fetches the signed-in person; a 401 means signed out. */
export async function loadMe() {
  const before = session.get();
  try {
    const me = await api.get('/api/v1/me');
    session.set({ status: 'signedIn', user: me.user, memberships: me.memberships, ...mergeOwnRequests(before, me) });
  } catch (error) {
    if (error.status !== 401) throw error;
    session.set(signedOut);
  }
}

export async function signIn({ login, password }) {
  await api.post('/api/v1/auth/signin', { login, password });
  await loadMe();
}

export async function signUp({ name, login, password }, locale) {
  await api.create('/api/v1/auth/signup', { name, login, password, locale });
  await loadMe();
}

export async function signOut() {
  try {
    await api.post('/api/v1/auth/signout');
  } catch (error) {
    if (error.status !== 401) throw error;
  }
  session.set(signedOut);
}

/** The server ended the session (401, or socket close 4001). */
export function sessionEnded() {
  if (session.get().status !== 'signedOut') session.set(signedOut);
}

export async function saveLocale(locale) {
  if (session.get().status !== 'signedIn') return;
  const me = await api.patch('/api/v1/me', { locale });
  session.set({ user: me.user });
}
