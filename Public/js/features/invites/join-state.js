/** Joining an organisation with a code or link token, signed in or not yet. */
import { api } from '../../core/api.js';
import { createStore } from '../../core/store.js';
import { loadMe } from '../auth/state.js';
import { addMembership } from '../orgs/state.js';

const REMEMBERED_KEY = 'tack.join';

/**
 * `{ code, status, preview, organization, error }`; status is loading | ready | pending |
 * joined | rejected | failed.
 */
export const joining = createStore({ code: null, status: 'loading', preview: null, organization: null, error: null });

const path = (code) => `/api/v1/invitations/${encodeURIComponent(code)}`;

export async function previewInvitation(code) {
  const { code: shown, status } = joining.get();
  if (shown === code && status === 'pending') return;
  joining.set({ code, status: 'loading', preview: null, organization: null, error: null });
  try {
    joining.set({ status: 'ready', preview: await api.get(path(code)) });
  } catch (error) {
    forgetJoin();
    joining.set({ status: 'failed', error });
  }
}

export async function acceptInvitation(code) {
  forgetJoin();
  const result = await api.post(path(code) + '/accept');
  if (result.status === 'pending') return joining.set({ status: 'pending', organization: result.organization });
  if (result.member) addMembership({ organization: result.organization, member: result.member });
  else await loadMe();
  joining.set({ status: 'joined', organization: result.organization });
}

/** The person's own join request was decided (a personal event). */
export function ownJoinRequestUpdated(request) {
  const { status, organization } = joining.get();
  if (status === 'pending' && organization?.id === request.orgId && request.status === 'rejected') {
    joining.set({ status: 'rejected' });
  }
}

/** The person became a member (e.g. an admin approved their request). */
export function membershipAdded(orgId) {
  const { status, organization } = joining.get();
  if (status === 'pending' && organization?.id === orgId) joining.set({ status: 'joined' });
}

/** Keeps a code across signing up or in, so joining continues afterwards. */
export function rememberJoin(code) {
  sessionStorage.setItem(REMEMBERED_KEY, code);
}

export function rememberedJoin() {
  return sessionStorage.getItem(REMEMBERED_KEY);
}

function forgetJoin() {
  sessionStorage.removeItem(REMEMBERED_KEY);
}
