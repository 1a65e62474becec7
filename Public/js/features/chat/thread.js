/**
 * The open conversation: a window of its messages in seq order (`hasBefore` / `hasAfter`: more
 * exist beyond either end), one's sends still on their way (`pending`, keyed by `clientKey`), its
 * members, and the actions on messages. While the window reaches the newest message, `cursor` is
 * the highest seq held without a gap: a message above `cursor + 1` makes the gap be fetched with
 * `after=cursor` (docs/events.md), and messages are deduplicated by seq.
 */
import { api } from '../../core/api.js';
import { createEventQueue, createStore } from '../../core/store.js';
import { conversationById, conversationPath, markRead, orgPath } from './state.js';

const PAGE_SIZE = 50;
const READ_DELAY_MS = 400;
/** The receipts endpoint answers for at most this many sequence numbers. */
const RECEIPT_SPAN = 500;

const initial = {
  orgId: null,
  conversationId: null,
  messages: [],
  pending: [],
  members: [],
  hasBefore: false,
  hasAfter: false,
  cursor: null,
  loading: false,
  error: null,
  focusSeq: null,
};

export const thread = createStore(initial);
const queue = createEventQueue();
let opened = 0;
/** `{ token, done }` of the gap fetch in flight. */
let catchingUp = null;
let shownSeq = 0;
let readTimer;

const path = () => conversationPath(thread.get().orgId, thread.get().conversationId);
const isOpen = (orgId, conversationId) => thread.get().orgId === orgId && thread.get().conversationId === conversationId;

/** A message's newer copy, keeping the unread count that only the sender's own copies carry. */
function newer(old, message) {
  return old?.unreadCount != null && message.unreadCount == null ? { ...message, unreadCount: old.unreadCount } : message;
}

/** Puts messages into the window (by seq, newer copies winning) and moves the cursor over them. */
function merge(messages, { cursorAtLeast } = {}) {
  const state = thread.get();
  const bySeq = new Map(state.messages.map((m) => [m.seq, m]));
  for (const message of messages) bySeq.set(message.seq, newer(bySeq.get(message.seq), message));
  const keys = new Set(messages.map((m) => m.clientKey).filter(Boolean));
  let { cursor } = state;
  if (cursor != null) {
    cursor = Math.max(cursor, cursorAtLeast ?? 0);
    while (bySeq.has(cursor + 1)) cursor++;
  }
  thread.set({
    messages: [...bySeq.values()].sort((a, b) => a.seq - b.seq),
    pending: keys.size ? state.pending.filter((p) => !keys.has(p.clientKey)) : state.pending,
    cursor,
  });
  const last = thread.get().messages.at(-1);
  if (cursor != null && last && last.seq > cursor) catchUp();
}

function fetchPage(query) {
  return api.get(`${path()}/messages`, { limit: PAGE_SIZE, ...query });
}

/** Opens a conversation at its newest messages, or around `focusSeq` (a search hit). */
export function openThread(orgId, conversationId, focusSeq = null) {
  thread.set({ ...initial, orgId, conversationId });
  shownSeq = 0;
  api.get(`${conversationPath(orgId, conversationId)}/members`)
    .then(({ items }) => isOpen(orgId, conversationId) && thread.set({ members: items }), () => {});
  return load(focusSeq);
}

/** Shows the newest messages again (after a jump back in history), keeping the pending sends. */
export function showLatest() {
  return load(null);
}

async function load(focusSeq) {
  const token = ++opened;
  clearTimeout(readTimer);
  thread.set({ messages: [], hasBefore: false, hasAfter: false, cursor: null, error: null, focusSeq, loading: true });
  const current = () => token === opened;
  try {
    await queue.load(
      () => (focusSeq
        ? Promise.all([fetchPage({ before: focusSeq + 1 }), fetchPage({ after: focusSeq })])
        : fetchPage({}).then((newest) => [newest, { items: [], hasMore: false, lastSeq: newest.lastSeq }])),
      ([older, later]) => {
        if (!current()) return;
        const messages = [...older.items, ...later.items];
        thread.set({
          messages,
          hasBefore: older.hasMore,
          hasAfter: later.hasMore,
          cursor: later.hasMore ? null : Math.max(later.lastSeq, messages.at(-1)?.seq ?? 0),
          loading: false,
        });
      },
    );
  } catch (error) {
    if (current()) thread.set({ error, loading: false });
  }
}

export function closeThread() {
  opened++;
  clearTimeout(readTimer);
  thread.set(initial);
}

async function fetchMore(query, apply) {
  const token = opened;
  thread.set({ loading: true });
  try {
    await queue.load(() => fetchPage(query), (result) => token === opened && apply(result));
  } finally {
    if (token === opened) thread.set({ loading: false });
  }
}

export function loadOlder() {
  const { messages, hasBefore, loading } = thread.get();
  if (!hasBefore || loading || !messages.length) return undefined;
  return fetchMore({ before: messages[0].seq }, ({ items, hasMore }) => {
    merge(items);
    thread.set({ hasBefore: hasMore });
  });
}

export function loadNewer() {
  const { messages, hasAfter, loading } = thread.get();
  if (!hasAfter || loading) return undefined;
  return fetchMore({ after: messages.at(-1)?.seq ?? 0 }, ({ items, hasMore, lastSeq }) => {
    if (!hasMore) thread.set({ hasAfter: false, cursor: messages.at(-1)?.seq ?? 0 });
    merge(items, { cursorAtLeast: hasMore ? undefined : lastSeq });
  });
}

async function fetchGap(token) {
  try {
    for (let more = true; more && token === opened && thread.get().cursor != null;) {
      const result = await fetchPage({ after: thread.get().cursor });
      if (token !== opened) return;
      merge(result.items, { cursorAtLeast: result.hasMore ? undefined : result.lastSeq });
      more = result.hasMore;
    }
  } catch {
    // The next reconnection or message tries again.
  }
}

/** Fetches every message after the cursor (a gap, or what was missed while offline); one at a time. */
function catchUp() {
  const token = opened;
  if (catchingUp?.token !== token) {
    const done = fetchGap(token).finally(() => {
      if (catchingUp?.token === token) catchingUp = null;
    });
    catchingUp = { token, done };
  }
  return catchingUp.done;
}

/** After a reconnection: the messages missed, and the unread counts that moved meanwhile. */
export async function syncThread() {
  const { orgId, conversationId, cursor } = thread.get();
  if (!conversationId) return;
  if (cursor != null && (conversationById(conversationId)?.lastSeq ?? Infinity) > cursor) await catchUp();
  const own = thread.get().messages.filter((m) => m.unreadCount != null && !m.recalled).slice(-RECEIPT_SPAN);
  if (!own.length || !isOpen(orgId, conversationId)) return;
  try {
    const { counts } = await api.get(`${path()}/receipts`, { from: own[0].seq, to: own.at(-1).seq });
    receiptsUpdated({ conversationId, counts });
  } catch {
    // Counts stay as they were until the next event.
  }
}

function live(update) {
  return (orgId, data) => queue.run(() => isOpen(orgId, data.conversationId) && update(data));
}

/** A stored message: into the window if it reaches the newest, else it only ends its pending send. */
function received(message) {
  if (thread.get().cursor != null) merge([message]);
  else if (message.clientKey) discard(message.clientKey);
}

export const messageCreated = live(received);

/** Recalled, pinned or unpinned: replaces the copy shown, if any. */
export const messageChanged = live((message) => {
  const { messages } = thread.get();
  if (messages.some((m) => m.seq === message.seq)) {
    thread.set({ messages: messages.map((m) => (m.seq === message.seq ? newer(m, message) : m)) });
  }
});

/** New unread counts of one's own messages (a personal event: the conversation id decides). */
export function receiptsUpdated({ conversationId, counts }) {
  queue.run(() => {
    if (thread.get().conversationId !== conversationId) return;
    const unread = new Map(counts.map((c) => [c.seq, c.unread]));
    thread.set({ messages: thread.get().messages.map((m) => (unread.has(m.seq) && m.unreadCount !== unread.get(m.seq) ? { ...m, unreadCount: unread.get(m.seq) } : m)) });
  });
}

/**
 * A message was shown on screen while the tab was visible: the watermark moves up to the highest
 * such seq, one request per pause rather than one per message.
 */
export function markShown(seq) {
  if (seq <= shownSeq) return;
  shownSeq = seq;
  clearTimeout(readTimer);
  const { orgId, conversationId } = thread.get();
  readTimer = setTimeout(() => {
    if ((conversationById(conversationId)?.readSeq ?? 0) >= seq) return;
    markRead(orgId, conversationId, seq).catch(() => {
      shownSeq = 0;
    });
  }, READ_DELAY_MS);
}

function setPending(clientKey, changes) {
  thread.set({ pending: thread.get().pending.map((p) => (p.clientKey === clientKey ? { ...p, ...changes } : p)) });
}

async function deliver(item) {
  const { orgId, conversationId } = thread.get();
  const base = conversationPath(orgId, conversationId);
  try {
    let { attachmentId } = item;
    if (item.file && !attachmentId) {
      const file = item.file;
      const attachment = await api.post(`${base}/attachments`, file, { contentType: 'application/octet-stream', query: { name: file.name } });
      attachmentId = attachment.id;
      if (isOpen(orgId, conversationId)) setPending(item.clientKey, { attachmentId });
    }
    const message = await api.create(`${base}/messages`, {
      clientKey: item.clientKey,
      text: item.text || undefined,
      attachmentId,
      mentions: item.mentions?.length ? item.mentions : undefined,
      mentionAll: item.mentionAll || undefined,
      replyToSeq: item.replyTo?.seq,
    });
    queue.run(() => isOpen(orgId, conversationId) && received(message));
  } catch (error) {
    if (isOpen(orgId, conversationId)) setPending(item.clientKey, { status: 'failed', error });
  }
}

/**
 * Sends a message: shown at once as pending, then replaced by the stored one. `draft` is
 * `{ text, mentions, mentionAll, replyTo }` or `{ file, replyTo }`.
 */
export function send(draft) {
  const item = { ...draft, clientKey: crypto.randomUUID(), status: 'sending', createdAt: new Date().toISOString() };
  thread.set({ pending: [...thread.get().pending, item] });
  if (thread.get().hasAfter) showLatest();
  return deliver(item);
}

/** Sends a failed message again with the same key, so the server stores it once. */
export function retry(clientKey) {
  setPending(clientKey, { status: 'sending', error: null });
  const item = thread.get().pending.find((p) => p.clientKey === clientKey);
  return item && deliver(item);
}

export function discard(clientKey) {
  thread.set({ pending: thread.get().pending.filter((p) => p.clientKey !== clientKey) });
}

async function changeMessage(request) {
  const { orgId } = thread.get();
  const message = await request;
  messageChanged(orgId, message);
}

export const recall = (seq) => changeMessage(api.post(`${path()}/messages/${seq}/recall`));
export const pin = (seq) => changeMessage(api.put(`${path()}/messages/${seq}/pin`));
export const unpin = (seq) => changeMessage(api.delete(`${path()}/messages/${seq}/pin`));

export async function forward(seq, conversationIds) {
  return (await api.post(`${path()}/messages/${seq}/forward`, { conversationIds })).items;
}

export function readers(seq) {
  return api.get(`${path()}/messages/${seq}/readers`);
}

export async function pinnedMessages() {
  return (await api.get(`${path()}/pins`)).items;
}

export function attachmentUrl(attachment) {
  return `${orgPath(thread.get().orgId)}/attachments/${attachment.id}`;
}
