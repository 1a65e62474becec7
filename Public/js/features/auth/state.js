/** Who is signed in, and the organisations they belong to. */
import { api } from '../../core/api.js';
import { createStore } from '../../core/store.js';

/** `{ status: 'unknown' | 'signedOut' | 'signedIn', user, memberships }` */
export const session = createStore({ status: 'unknown', user: null, memberships: [] });

const signedOut = { status: 'signedOut', user: null, memberships: [] };

/** Fetches the signed-in person; a 401 means signed out. */
export async function loadMe() {
  try {
    const me = await api.get('/api/v1/me');
    session.set({ status: 'signedIn', user: me.user, memberships: me.memberships });
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
