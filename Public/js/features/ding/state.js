/**
 * DING in the client. `alerts`: the DINGs one received and has not confirmed, in every one of
 * one's organisations (the banners and the nav badge), keyed by id because a `ding.received` may
 * arrive twice. `dings`: the DING page of the organisation in view — received, sent, and the sent
 * DING that is open with its recipients and their delivery attempts. Live events go through
 * `queue`, so a fetch in flight never overwrites a newer event (docs/events.md, "DING events").
 */
import { api } from '../../core/api.js';
import { createEventQueue, createStore } from '../../core/store.js';
import { session } from '../auth/state.js';
import { memberships } from '../orgs/state.js';

const initial = { orgId: null, received: [], sent: [], loaded: false, error: null, open: null, openError: null };

/** `{ items }`: unconfirmed received DINGs, newest first. */
export const alerts = createStore({ items: [] });
export const dings = createStore(initial);
const queue = createEventQueue();

export const dingsPath = (orgId) => `/api/v1/orgs/${orgId}/dings`;
const dingPath = (orgId, id) => `${dingsPath(orgId)}/${id}`;
const myUserId = () => session.get().user?.id;
const newestFirst = (a, b) => Date.parse(b.sentAt ?? b.createdAt) - Date.parse(a.sentAt ?? a.createdAt);

/** The unconfirmed DINGs of one organisation (for its nav badge). */
export const alertsOf = (orgId) => alerts.get().items.filter((d) => d.orgId === orgId);

function replaceIn(list, ding) {
  return [ding, ...list.filter((d) => d.id !== ding.id)].sort(newestFirst);
}

function patchIn(list, id, change) {
  return list.map((d) => (d.id === id ? { ...d, ...change(d) } : d));
}

function addAlert(ding) {
  if (ding.myConfirmedAt || !memberships().some((m) => m.organization.id === ding.orgId)) return;
  alerts.set({ items: replaceIn(alerts.get().items, ding) });
}

/** One's own confirmation (here or in another tab): no banner, and "Confirmed" in the list. */
function confirmedByMe(dingId, confirmedAt) {
  alerts.set({ items: alerts.get().items.filter((d) => d.id !== dingId) });
  dings.set({ received: patchIn(dings.get().received, dingId, (d) => ({ myConfirmedAt: d.myConfirmedAt ?? confirmedAt })) });
}

/** A sent DING's newer copy (from an answer or a refetch), in the list and the open view. */
/**
 * A DING's recipients as fetched, merged with what events already told: an answer that left the
 * server before an event arrived must not take the event's news back (attempts are kept by id,
 * the later version of each; a confirmation stays).
 */
function mergeRecipients(known, fetched) {
  if (!known || !fetched) return fetched ?? known;
  const byUser = new Map(known.map((r) => [r.person.userId, r]));
  return fetched.map((r) => {
    const old = byUser.get(r.person.userId);
    if (!old) return r;
    const attempts = new Map(old.attempts.map((a) => [a.id, a]));
    for (const a of r.attempts) {
      const mine = attempts.get(a.id);
      if (!mine || Date.parse(a.updatedAt) >= Date.parse(mine.updatedAt)) attempts.set(a.id, a);
    }
    return {
      ...r,
      confirmedAt: r.confirmedAt ?? old.confirmedAt,
      attempts: [...attempts.values()].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt)),
    };
  });
}

function sentUpdated(ding) {
  const { orgId, sent, open } = dings.get();
  if (orgId !== ding.orgId) return;
  const { recipients, ...summary } = ding;
  dings.set({
    sent: replaceIn(sent, { ...(sent.find((d) => d.id === ding.id) ?? {}), ...summary }),
    open: open?.id === ding.id
      ? { ...open, ...ding, confirmedCount: Math.max(open.confirmedCount, ding.confirmedCount), recipients: mergeRecipients(open.recipients, recipients) }
      : open,
  });
}

/** Fetches the unconfirmed DINGs of every organisation (on load and after every reconnection). */
export async function refreshAlerts() {
  const orgIds = memberships().map((m) => m.organization.id);
  try {
    await queue.load(
      () => Promise.all(orgIds.map((orgId) => api.get(dingsPath(orgId), { unconfirmed: true, limit: 200 }).then((r) => r.items, () => null))),
      (lists) => {
        // An organisation that failed to answer keeps what it had until the next reconnection.
        const kept = alerts.get().items.filter((d) => lists[orgIds.indexOf(d.orgId)] === null);
        alerts.set({ items: [...kept, ...lists.flatMap((items) => items ?? [])].sort(newestFirst) });
      },
    );
  } catch {
    // The next reconnection tries again.
  }
}

export function clearAlerts() {
  alerts.set({ items: [] });
  dings.set(initial);
}

/** Opens the DING page of an organisation: what one received and what one sent. */
export async function loadDings(orgId) {
  if (dings.get().orgId !== orgId) dings.set({ ...initial, orgId });
  try {
    await queue.load(
      () => Promise.all([api.get(dingsPath(orgId), { box: 'received' }), api.get(dingsPath(orgId), { box: 'sent' })]),
      ([received, sent]) => dings.get().orgId === orgId && dings.set({ received: received.items, sent: sent.items, loaded: true, error: null }),
    );
  } catch (error) {
    if (dings.get().orgId === orgId) dings.set({ error });
  }
}

/** Opens one sent DING with its recipients and their attempts (`null` closes it). */
export async function openDing(orgId, id) {
  if (dings.get().open?.id !== id) dings.set({ open: null, openError: null });
  if (!id) return;
  try {
    await queue.load(() => api.get(dingPath(orgId, id)), (ding) => {
      if (dings.get().orgId !== orgId) return;
      const { open } = dings.get();
      dings.set({ open: open?.id === ding.id ? open : ding, openError: null });
      sentUpdated(ding);
    });
  } catch (error) {
    if (dings.get().orgId === orgId) dings.set({ openError: error });
  }
}

/** After a reconnection: the banners, and the page in view, fetched afresh. */
export async function resyncDings() {
  await refreshAlerts();
  const { orgId, loaded, open } = dings.get();
  if (orgId && loaded) await loadDings(orgId);
  if (orgId && open) await openDing(orgId, open.id);
}

// Live events (personal: the DING names its organisation).

export function dingReceived(ding) {
  queue.run(() => {
    addAlert(ding);
    const { orgId, received } = dings.get();
    if (orgId === ding.orgId) {
      const known = received.find((d) => d.id === ding.id);
      dings.set({ received: replaceIn(received, { ...ding, myConfirmedAt: known?.myConfirmedAt ?? ding.myConfirmedAt }) });
    }
  });
}

/** `{ dingId, userId, name, confirmedAt, confirmedCount, recipientCount }`. */
export function dingConfirmed(event) {
  queue.run(() => {
    if (event.userId === myUserId()) {
      confirmedByMe(event.dingId, event.confirmedAt);
      return;
    }
    const { sent, open } = dings.get();
    const counts = { confirmedCount: event.confirmedCount, recipientCount: event.recipientCount };
    dings.set({
      sent: patchIn(sent, event.dingId, (d) => ({ confirmedCount: Math.max(d.confirmedCount, event.confirmedCount) })),
      open: open?.id === event.dingId ? {
        ...open,
        confirmedCount: Math.max(open.confirmedCount, counts.confirmedCount),
        recipients: open.recipients?.map((r) => (r.person.userId === event.userId ? { ...r, confirmedAt: r.confirmedAt ?? event.confirmedAt } : r)),
      } : open,
    });
  });
}

/** A delivery attempt was made or its outcome came in: shown on the open DING. */
export function dingAttempt(attempt) {
  queue.run(() => {
    const { orgId, sent, open } = dings.get();
    const known = sent.find((d) => d.id === attempt.dingId);
    // A scheduled DING went out: its copy here still says scheduled.
    if (known && !known.sentAt) refetchSent(orgId, attempt.dingId);
    if (open?.id !== attempt.dingId) return;
    dings.set({
      open: {
        ...open,
        recipients: open.recipients?.map((r) => {
          if (r.person.userId !== attempt.userId) return r;
          const others = r.attempts.filter((a) => a.id !== attempt.id);
          return { ...r, attempts: [...others, attempt].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt)) };
        }),
      },
    });
  });
}

async function refetchSent(orgId, id) {
  try {
    await queue.load(() => api.get(dingPath(orgId, id)), sentUpdated);
  } catch {
    // Shown as it was until the next reconnection.
  }
}

// Actions.

/** `body`: `{ memberIds, text, channel, scheduledAt?, source? }`. */
export async function createDing(orgId, body) {
  const ding = await api.create(dingsPath(orgId), body);
  queue.run(() => sentUpdated(ding));
  return ding;
}

export async function confirmDing(orgId, id) {
  const ding = await api.post(`${dingPath(orgId, id)}/confirm`);
  queue.run(() => confirmedByMe(id, ding.myConfirmedAt));
}

/** Reminds the unconfirmed again; a 429 carries `retryAfterMs` (at most once per 5 minutes). */
export async function remindDing(orgId, id) {
  const ding = await api.post(`${dingPath(orgId, id)}/remind`);
  queue.run(() => sentUpdated(ding));
  return ding;
}

export async function cancelDing(orgId, id) {
  const ding = await api.post(`${dingPath(orgId, id)}/cancel`);
  queue.run(() => sentUpdated(ding));
}

/** `{ settings, providers: [{ channel, available, reason }] }`. */
export function fetchPolicy(orgId) {
  return api.get(`/api/v1/orgs/${orgId}/ding-policy`);
}

export function savePolicy(orgId, settings) {
  return api.put(`/api/v1/orgs/${orgId}/ding-policy`, settings);
}
