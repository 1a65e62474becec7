/**
 * A live class's chat: the API calls of the side panel, and the open panels that follow
 * `live.comment` and `live.liked` (routed here by the dispatcher). Never touches the DOM.
 */
import { api } from '../../core/api.js';

const base = (orgId, id) => `/api/v1/orgs/${orgId}/live/${id}`;

/** A page of comments, newest last: `{ items, nextCursor, likes }`. */
export const fetchComments = (orgId, id, { questions = false, cursor, limit = 50 } = {}) =>
  api.get(`${base(orgId, id)}/comments`, { questions: questions || undefined, cursor, limit });
/** Posts a comment or a question (`kind`), safe to retry (an Idempotency-Key). */
export const postComment = (orgId, id, kind, text) => api.create(`${base(orgId, id)}/comments`, { kind, text });
export const setAnswered = (orgId, id, commentId, answered) => {
  const path = `${base(orgId, id)}/comments/${commentId}/answered`;
  return answered ? api.put(path) : api.delete(path);
};
/** Sends `count` coalesced taps (1–50): `{ likes, accepted }`. */
export const sendLikes = (orgId, id, count) => api.post(`${base(orgId, id)}/likes`, { count });

/** Open panels: `liveClassId → { comment(c), liked(total), resync() }`. */
const panels = new Map();

/** Routes the class's chat events to `listener` until the returned function is called. */
export function followChat(liveClassId, listener) {
  panels.set(liveClassId, listener);
  return () => { if (panels.get(liveClassId) === listener) panels.delete(liveClassId); };
}

/** `live.comment`: a comment posted, or a question marked answered or not (the comment as it is now). */
export function commentChanged({ liveClassId, comment }) {
  panels.get(liveClassId)?.comment(comment);
}

/** `live.liked`: the class's new total. */
export function liked({ liveClassId, likes }) {
  panels.get(liveClassId)?.liked(likes);
}

/** After a reconnection: events may have been missed. */
export function resyncChat() {
  for (const panel of panels.values()) panel.resync();
}
