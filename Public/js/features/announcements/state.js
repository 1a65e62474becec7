/**
 * Announcements in the client, for the organisation in view. `received`: what went out to me,
 * pinned first then newest (the unread are the nav badge). `all`: every announcement, for admins,
 * with its counts. `open`: the announcement on screen; `recipients`: its statistics (admins and
 * the author), refetched when `announcement.stats` says the counts moved. Live events go through
 * `queue`, so a fetch in flight never overwrites a newer event (docs/events.md).
 */
import { api } from '../../core/api.js';
import { createEventQueue, createStore } from '../../core/store.js';

const initial = {
  orgId: null, received: [], all: [], loaded: false, allLoaded: false, error: null,
  open: null, openError: null, recipients: null, recipientsError: null,
};

export const announcements = createStore(initial);
const queue = createEventQueue();

export const announcementsPath = (orgId) => `/api/v1/orgs/${orgId}/announcements`;
const onePath = (orgId, id) => `${announcementsPath(orgId)}/${id}`;
export const attachmentUrl = (orgId, id, attachmentId) => `${onePath(orgId, id)}/attachments/${attachmentId}`;

const time = (iso) => (iso ? Date.parse(iso) : 0);
/** The server's order of a member's list: pinned first (latest pin on top), then newest. */
function receivedOrder(a, b) {
  if (!!a.pinned !== !!b.pinned) return a.pinned ? -1 : 1;
  return time(b.pinnedAt) - time(a.pinnedAt) || time(b.publishedAt) - time(a.publishedAt);
}
function allOrder(a, b) {
  if (!!a.pinned !== !!b.pinned) return a.pinned ? -1 : 1;
  return time(b.createdAt) - time(a.createdAt);
}

function upsert(list, item, order) {
  const known = list.find((a) => a.id === item.id);
  return [{ ...(known ?? {}), ...item }, ...list.filter((a) => a.id !== item.id)].sort(order);
}

function patch(list, id, change, order) {
  return list.map((a) => (a.id === id ? { ...a, ...change(a) } : a)).sort(order);
}

/** The number of announcements of `orgId` I have not opened. */
export function unreadCount(orgId) {
  const { orgId: shown, received } = announcements.get();
  return shown === orgId ? received.filter((a) => !a.myReadAt).length : 0;
}

function switchTo(orgId) {
  if (announcements.get().orgId !== orgId) announcements.set({ ...initial, orgId });
}

/** What went out to me in `orgId` (the list and the badge). */
export async function loadReceived(orgId) {
  switchTo(orgId);
  try {
    await queue.load(() => api.get(announcementsPath(orgId), { limit: 200 }),
      ({ items }) => announcements.get().orgId === orgId && announcements.set({ received: items, loaded: true, error: null }));
  } catch (error) {
    if (announcements.get().orgId === orgId) announcements.set({ error });
  }
}

/** Every announcement of `orgId` (admins). */
export async function loadAll(orgId) {
  switchTo(orgId);
  try {
    await queue.load(() => api.get(announcementsPath(orgId), { box: 'all', limit: 200 }),
      ({ items }) => announcements.get().orgId === orgId && announcements.set({ all: items, allLoaded: true, error: null }));
  } catch (error) {
    if (announcements.get().orgId === orgId) announcements.set({ error });
  }
}

/** Opens one announcement (`null` closes it); a recipient's opening marks it read. */
export async function openAnnouncement(orgId, id, { read = true } = {}) {
  switchTo(orgId);
  if (announcements.get().open?.id !== id) announcements.set({ open: null, openError: null, recipients: null, recipientsError: null });
  if (!id) return;
  try {
    await queue.load(() => api.get(onePath(orgId, id)), (item) => {
      if (announcements.get().orgId !== orgId) return;
      announcements.set({ open: item, openError: null });
      if (read && item.isRecipient && !item.myReadAt) markRead(orgId, id).catch(() => {});
    });
  } catch (error) {
    if (announcements.get().orgId === orgId) announcements.set({ openError: error });
  }
}

/** Who read and confirmed the open announcement (admins and the author). */
export async function loadRecipients(orgId, id) {
  try {
    await queue.load(() => api.get(`${onePath(orgId, id)}/recipients`), (recipients) => {
      const { orgId: shown, open } = announcements.get();
      if (shown !== orgId || open?.id !== id) return;
      announcements.set({ recipients, recipientsError: null, open: { ...open, stats: recipients.stats } });
      patchAll(id, () => ({ stats: recipients.stats }));
    });
  } catch (error) {
    if (announcements.get().open?.id === id) announcements.set({ recipientsError: error });
  }
}

/** After a reconnection: whatever is on screen, fetched afresh. */
export async function resyncAnnouncements() {
  const { orgId, loaded, allLoaded, open, recipients } = announcements.get();
  if (!orgId) return;
  if (loaded) await loadReceived(orgId);
  if (allLoaded) await loadAll(orgId);
  if (open) await openAnnouncement(orgId, open.id, { read: false });
  if (open && recipients) await loadRecipients(orgId, open.id);
}

export function closeAnnouncements() {
  announcements.set(initial);
}

function patchAll(id, change) {
  announcements.set({ all: patch(announcements.get().all, id, change, allOrder) });
}

function receivedChanged(id, change) {
  const { received, open } = announcements.get();
  announcements.set({
    received: patch(received, id, change, receivedOrder),
    open: open?.id === id ? { ...open, ...change(open) } : open,
  });
}

// Live events.

/** `announcement.published`: it went out to me. */
export function published(orgId, item) {
  queue.run(() => {
    if (announcements.get().orgId !== orgId) return;
    announcements.set({ received: upsert(announcements.get().received, item, receivedOrder) });
  });
}

/** `announcement.read`: I read or confirmed it (perhaps in another tab). */
export function readByMe({ announcementId, readAt, confirmedAt }) {
  queue.run(() => receivedChanged(announcementId, (a) => ({ myReadAt: a.myReadAt ?? readAt, myConfirmedAt: a.myConfirmedAt ?? confirmedAt ?? null })));
}

/** `announcement.pinned`: pinned or unpinned. */
export function pinnedChanged({ announcementId, pinnedAt }) {
  queue.run(() => receivedChanged(announcementId, () => ({ pinned: !!pinnedAt, pinnedAt: pinnedAt ?? null })));
}

/** `announcement.updated` (admins): created, changed, published, pinned or cancelled. */
export function updated(orgId, item) {
  queue.run(() => {
    const { orgId: shown, all, allLoaded, open } = announcements.get();
    if (shown !== orgId) return;
    const { body, text, ...summary } = item;
    announcements.set({
      all: allLoaded ? upsert(all, summary, allOrder) : all,
      open: open?.id === item.id ? { ...open, ...summary, stats: open.stats ?? summary.stats, isRecipient: open.isRecipient, myReadAt: open.myReadAt, myConfirmedAt: open.myConfirmedAt } : open,
    });
  });
}

/** `announcement.stats` (admins): the counts moved; the open statistics are fetched again. */
export function statsChanged(orgId, { announcementId, recipientCount, readCount, confirmedCount }) {
  queue.run(() => {
    const { orgId: shown, open, recipients } = announcements.get();
    if (shown !== orgId) return;
    const stats = { recipientCount, readCount, confirmedCount };
    patchAll(announcementId, () => ({ stats }));
    if (open?.id === announcementId) {
      announcements.set({ open: { ...announcements.get().open, stats } });
      if (recipients) loadRecipients(orgId, announcementId);
    }
  });
}

// Actions.

export async function markRead(orgId, id) {
  const item = await api.post(`${onePath(orgId, id)}/read`);
  queue.run(() => readByMe({ announcementId: id, readAt: item.myReadAt, confirmedAt: item.myConfirmedAt }));
}

export async function confirm(orgId, id) {
  const item = await api.post(`${onePath(orgId, id)}/confirm`);
  queue.run(() => readByMe({ announcementId: id, readAt: item.myReadAt, confirmedAt: item.myConfirmedAt }));
}

/** `body`: the AnnouncementInput of openapi.yaml. */
export async function createAnnouncement(orgId, body) {
  const item = await api.create(announcementsPath(orgId), body);
  queue.run(() => updated(orgId, item));
  return item;
}

export async function updateAnnouncement(orgId, id, body) {
  const item = await api.put(onePath(orgId, id), body);
  queue.run(() => updated(orgId, item));
  return item;
}

export async function cancelAnnouncement(orgId, id) {
  const item = await api.post(`${onePath(orgId, id)}/cancel`);
  queue.run(() => updated(orgId, item));
}

export async function setPinned(orgId, id, pinned) {
  const item = await api.post(`${onePath(orgId, id)}/${pinned ? 'pin' : 'unpin'}`);
  queue.run(() => updated(orgId, item));
}

/** DINGs the unconfirmed (or unread); a 429 carries `retryAfterMs`. Returns the DING. */
export async function dingUnconfirmed(orgId, id) {
  const ding = await api.create(`${onePath(orgId, id)}/ding`);
  queue.run(() => {
    const { open } = announcements.get();
    // `lastDing` is this client's own: the DING just sent, to link to.
    if (open?.id === id) announcements.set({ open: { ...open, lastDingedAt: ding.createdAt, lastDing: { id: ding.id, recipientCount: ding.recipientCount } } });
  });
  return ding;
}

/** Uploads one file for an announcement being written. */
export function uploadAttachment(orgId, file) {
  return api.post(`${announcementsPath(orgId)}/attachments?name=${encodeURIComponent(file.name)}`, file,
    { contentType: 'application/octet-stream' });
}
