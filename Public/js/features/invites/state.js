/** Admin side of invitations: the open organisation's invitations and pending join requests. */
import { api } from '../../core/api.js';
import { createEventQueue, createStore } from '../../core/store.js';

const initial = { orgId: null, invitations: [], requests: [], created: null, error: null };

export const invites = createStore(initial);
const queue = createEventQueue();

const orgPath = (orgId) => `/api/v1/orgs/${orgId}`;
const newestFirst = (a, b) => b.createdAt.localeCompare(a.createdAt);
const oldestFirst = (a, b) => a.createdAt.localeCompare(b.createdAt);

export async function openInvites(orgId) {
  invites.set({ ...initial, orgId });
  await refetch(orgId);
}

export async function refetch(orgId) {
  if (invites.get().orgId !== orgId) return;
  try {
    await queue.load(
      () => Promise.all([
        api.get(`${orgPath(orgId)}/invitations`),
        api.get(`${orgPath(orgId)}/join-requests`, { status: 'pending' }),
      ]),
      ([invitations, requests]) => invites.get().orgId === orgId && invites.set({
        invitations: invitations.items.sort(newestFirst),
        requests: requests.items.sort(oldestFirst),
        error: null,
      }),
    );
  } catch (error) {
    if (invites.get().orgId === orgId) invites.set({ error });
  }
}

function live(update) {
  return (orgId, data) => queue.run(() => orgId === invites.get().orgId && update(data));
}

export const upsertInvitation = live((invitation) => {
  const others = invites.get().invitations.filter((i) => i.id !== invitation.id);
  invites.set({ invitations: [...others, invitation].sort(newestFirst) });
});

export const upsertJoinRequest = live((request) => {
  const others = invites.get().requests.filter((r) => r.id !== request.id);
  invites.set({ requests: request.status === 'pending' ? [...others, request].sort(oldestFirst) : others });
});

export async function createInvitation(orgId, options) {
  const invitation = await api.create(`${orgPath(orgId)}/invitations`, options);
  upsertInvitation(orgId, invitation);
  invites.set({ created: invitation });
}

export async function revokeInvitation(orgId, invitation) {
  await api.delete(`${orgPath(orgId)}/invitations/${invitation.id}`);
  upsertInvitation(orgId, { ...invitation, revokedAt: new Date().toISOString() });
}

/** `decision` is `approve` or `reject`. */
export async function decideJoinRequest(orgId, requestId, decision) {
  upsertJoinRequest(orgId, await api.post(`${orgPath(orgId)}/join-requests/${requestId}/${decision}`));
}
