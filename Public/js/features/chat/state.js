/**
 * The chat of the organisation in view: the person's conversations (summaries, most recently
 * active first) and the actions on conversations. Each summary's `lastSeq` is its cursor here: a
 * message at or below it is not counted again, one beyond `lastSeq + 1` means messages were
 * missed, and the summary is fetched afresh. Live events are applied through `queue`, so a fetch
 * in flight never overwrites a newer event.
 */
import { api } from '../../core/api.js';
import { createEventQueue, createStore } from '../../core/store.js';
import { session } from '../auth/state.js';

const initial = { orgId: null, conversations: [], loaded: false, error: null };

export const chat = createStore(initial);
const queue = createEventQueue();

export const orgPath = (orgId = chat.get().orgId) => `/api/v1/orgs/${orgId}`;
export const conversationPath = (orgId, id) => `${orgPath(orgId)}/conversations/${id}`;
export const myUserId = () => session.get().user?.id;
export const isManager = (conversation) => conversation?.kind !== 'direct' && ['owner', 'admin'].includes(conversation?.myRole);
const mentionsMe = (message) => message.mentionAll || message.mentions.includes(myUserId());

const newestFirst = (a, b) => Date.parse(b.updatedAt) - Date.parse(a.updatedAt);

export function conversationById(id) {
  return chat.get().conversations.find((c) => c.id === id);
}

function setConversations(list) {
  chat.set({ conversations: [...list].sort(newestFirst) });
}

function upsert(conversation) {
  setConversations([...chat.get().conversations.filter((c) => c.id !== conversation.id), conversation]);
}

function patch(id, changes) {
  const known = conversationById(id);
  if (known) upsert({ ...known, ...changes });
}

export function openChat(orgId) {
  const { orgId: openId, error } = chat.get();
  if (openId === orgId && !error) return;
  chat.set({ ...initial, orgId });
  loadConversations(orgId);
}

export function closeChat() {
  chat.set(initial);
}

/** Fetches the conversation list afresh (on opening, and after every reconnection). */
export async function loadConversations(orgId = chat.get().orgId) {
  if (!orgId) return;
  try {
    await queue.load(
      () => api.get(`${orgPath(orgId)}/conversations`),
      ({ items }) => chat.get().orgId === orgId && chat.set({ conversations: items.sort(newestFirst), loaded: true, error: null }),
    );
  } catch (error) {
    if (chat.get().orgId === orgId) chat.set({ error });
  }
}

async function refreshConversation(orgId, id) {
  try {
    await queue.load(() => api.get(conversationPath(orgId, id)), (conversation) => chat.get().orgId === orgId && upsert(conversation));
  } catch (error) {
    if (error.status === 404 && chat.get().orgId === orgId) setConversations(chat.get().conversations.filter((c) => c.id !== id));
  }
}

/** Wraps an event handler: only for the organisation in view, and after fetches in flight. */
function live(update) {
  return (orgId, data) => queue.run(() => orgId === chat.get().orgId && update(data, orgId));
}

/** Wraps a personal event's handler (no `org`): only for a conversation in the list. */
function personal(update) {
  return (data) => queue.run(() => conversationById(data.conversationId) && update(data, chat.get().orgId));
}

export const messageCreated = live((message, orgId) => {
  const known = conversationById(message.conversationId);
  if (known && message.seq <= known.lastSeq) return;
  if (!known || message.seq > known.lastSeq + 1) {
    refreshConversation(orgId, message.conversationId);
    return;
  }
  // As the server counts: messages by others, not system lines.
  const fromOther = message.sender.userId !== myUserId() && !message.system;
  upsert({
    ...known,
    lastSeq: message.seq,
    lastMessage: message,
    updatedAt: Date.parse(message.createdAt) > Date.parse(known.updatedAt) ? message.createdAt : known.updatedAt,
    unreadCount: known.unreadCount + (fromOther ? 1 : 0),
    mentioned: known.mentioned || (fromOther && mentionsMe(message)),
  });
});

/** A message was recalled, pinned or unpinned: the preview follows if it is the last one. */
export const messageChanged = live((message) => {
  const known = conversationById(message.conversationId);
  if (known?.lastMessage?.seq === message.seq) patch(known.id, { lastMessage: message });
});

/** One joined a conversation; one created here is known already, with more in it than the event. */
export const conversationAdded = live((conversation) => conversationById(conversation.id) || upsert(conversation));

/** A new name or member count. */
export const conversationUpdated = live(({ conversationId, name, memberCount }) => patch(conversationId, { name, memberCount }));

export const conversationRemoved = personal(({ conversationId }) => {
  setConversations(chat.get().conversations.filter((c) => c.id !== conversationId));
});

function applyRead(orgId, id, readSeq) {
  const known = conversationById(id);
  if (!known || readSeq <= known.readSeq) return;
  if (readSeq >= known.lastSeq) patch(id, { readSeq, unreadCount: 0, mentioned: false });
  else {
    patch(id, { readSeq });
    refreshConversation(orgId, id);
  }
}

export const conversationRead = personal(({ conversationId, readSeq }, orgId) => applyRead(orgId, conversationId, readSeq));

/** Moves one's read watermark (only for messages that were shown on screen). */
export async function markRead(orgId, id, seq) {
  const { readSeq } = await api.post(`${conversationPath(orgId, id)}/read`, { seq });
  queue.run(() => orgId === chat.get().orgId && applyRead(orgId, id, readSeq));
}

export async function openDirect(orgId, memberId) {
  const conversation = await api.post(`${orgPath(orgId)}/conversations/direct`, { memberId });
  queue.run(() => orgId === chat.get().orgId && upsert(conversation));
  return conversation;
}

export async function createGroup(orgId, { name, memberIds }) {
  const conversation = await api.create(`${orgPath(orgId)}/conversations`, { name, memberIds });
  queue.run(() => orgId === chat.get().orgId && upsert(conversation));
  return conversation;
}

export async function renameGroup(orgId, id, name) {
  const conversation = await api.patch(conversationPath(orgId, id), { name });
  queue.run(() => orgId === chat.get().orgId && patch(id, { name: conversation.name }));
}

export async function listConversationMembers(orgId, id) {
  return (await api.get(`${conversationPath(orgId, id)}/members`)).items;
}

export async function addGroupMembers(orgId, id, memberIds) {
  const conversation = await api.post(`${conversationPath(orgId, id)}/members`, { memberIds });
  queue.run(() => orgId === chat.get().orgId && patch(id, { memberCount: conversation.memberCount }));
}

/** `role`: admin or member. */
export async function setGroupRole(orgId, id, userId, role) {
  return api.patch(`${conversationPath(orgId, id)}/members/${userId}`, { role });
}

export async function removeGroupMember(orgId, id, userId) {
  await api.delete(`${conversationPath(orgId, id)}/members/${userId}`);
  if (userId === myUserId() && orgId === chat.get().orgId) conversationRemoved({ conversationId: id });
}

/** Members of the organisation, for pickers (the first 50 matching `q`). */
export async function findMembers(orgId, q) {
  return (await api.get(`${orgPath(orgId)}/members`, { q, limit: 50 })).items;
}

export async function searchMessages(orgId, q) {
  return (await api.get(`${orgPath(orgId)}/messages/search`, { q, limit: 50 })).items;
}
