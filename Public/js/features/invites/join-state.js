/**
 * Joining an organisation with a code or link token, signed in or not yet; and the person's own
 * join requests (`session.pendingJoinRequests` and `session.declinedJoinRequests`).
 */
import { api } from '../../core/api.js';
import { createStore } from '../../core/store.js';
import { loadMe, session } from '../auth/state.js';
import { addMembership } from '../orgs/state.js';

const REMEMBERED_KEY = 'tack.join';
/** `{ code, orgId }` of the last invitation that filed a request here, so a reload shows it waiting. */
const WAITING_KEY = 'tack.join.waiting';

/**
 * `{ code, status, preview, organization, error }`; status is loading | ready | pending |
 * joined | rejected | failed.
 */
export const joining = createStore({ code: null, status: 'loading', preview: null, organization: null, error: null });

const path = (code) => `/api/v1/invitations/${encodeURIComponent(code)}`;
const orgOf = (pending) => pending.joinRequest.orgId;

/** The person's own requests still waiting for an admin, except where they are a member already. */
export function waitingRequests({ pendingJoinRequests, memberships } = session.get()) {
  return pendingJoinRequests.filter((p) => !memberships.some((m) => m.organization.id === orgOf(p)));
}

function pendingRequest(orgId) {
  return session.get().pendingJoinRequests.find((p) => orgOf(p) === orgId);
}

/** The organisation this invitation's request waits for, if it was filed here and still waits. */
function waitingFor(code) {
  let remembered;
  try {
    remembered = JSON.parse(sessionStorage.getItem(WAITING_KEY));
  } catch {
    return null;
  }
  const pending = remembered?.code === code && pendingRequest(remembered.orgId);
  return pending ? { id: orgOf(pending), name: pending.organizationName, kind: pending.organizationKind } : null;
}

export async function previewInvitation(code) {
  const { code: shown, status } = joining.get();
  if (shown === code && status === 'pending') return;
  joining.set({ code, status: 'loading', preview: null, organization: null, error: null });
  try {
    const preview = await api.get(path(code));
    const organization = waitingFor(code);
    joining.set(organization ? { status: 'pending', preview, organization } : { status: 'ready', preview });
  } catch (error) {
    forgetJoin();
    joining.set({ status: 'failed', error });
  }
}

function setPending(list) {
  session.set({ pendingJoinRequests: list });
}

export async function acceptInvitation(code) {
  forgetJoin();
  const result = await api.post(path(code) + '/accept');
  const orgId = result.organization.id;
  const others = session.get().pendingJoinRequests.filter((p) => orgOf(p) !== orgId);
  if (result.status === 'pending') {
    setPending([...others, {
      joinRequest: result.joinRequest ?? { orgId, status: 'pending' },
      organizationName: result.organization.name,
      organizationKind: result.organization.kind,
    }]);
    sessionStorage.setItem(WAITING_KEY, JSON.stringify({ code, orgId }));
    return joining.set({ status: 'pending', organization: result.organization });
  }
  setPending(others);
  if (result.member) addMembership({ organization: result.organization, member: result.member });
  else await loadMe();
  return joining.set({ status: 'joined', organization: result.organization });
}

/** The person's own join request was decided (a personal event). */
export function ownJoinRequestUpdated(request) {
  if (request.status === 'pending') return;
  const { pendingJoinRequests, declinedJoinRequests } = session.get();
  const { organization } = joining.get();
  const name = pendingRequest(request.orgId)?.organizationName
    ?? (organization?.id === request.orgId ? organization.name : null);
  const declined = request.status === 'rejected' && !declinedJoinRequests.some((d) => d.orgId === request.orgId);
  session.set({
    pendingJoinRequests: pendingJoinRequests.filter((p) => orgOf(p) !== request.orgId),
    ...(declined && { declinedJoinRequests: [...declinedJoinRequests, { orgId: request.orgId, organizationName: name }] }),
  });
}

/** The person became a member (e.g. an admin approved their request). */
export function membershipAdded(orgId) {
  if (pendingRequest(orgId)) setPending(session.get().pendingJoinRequests.filter((p) => orgOf(p) !== orgId));
}

/** The person has seen that their request to join `orgId` was declined. */
export function dismissDeclined(orgId) {
  const { declinedJoinRequests } = session.get();
  if (declinedJoinRequests.some((d) => d.orgId === orgId)) {
    session.set({ declinedJoinRequests: declinedJoinRequests.filter((d) => d.orgId !== orgId) });
  }
}

// The join page's waiting request follows the session: decided (by an event or a refetch), or
// no longer the signed-in person's.
session.subscribe(({ status: sessionStatus, memberships, declinedJoinRequests }) => {
  const { status, organization } = joining.get();
  if (status !== 'pending') return;
  if (sessionStatus === 'signedOut') joining.set({ code: null, status: 'loading', organization: null });
  else if (memberships.some((m) => m.organization.id === organization.id)) joining.set({ status: 'joined' });
  else if (declinedJoinRequests.some((d) => d.orgId === organization.id)) joining.set({ status: 'rejected' });
});

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
