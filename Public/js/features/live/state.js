/** Live classes: the API calls of the live-class screens. */
import { api } from '../../core/api.js';

const base = (orgId) => `/api/v1/orgs/${orgId}/live`;

export const listClasses = (orgId, groupId) => api.get(base(orgId), { groupId }).then((r) => r.items);
export const fetchClass = (orgId, id) => api.get(`${base(orgId)}/${id}`);
export const createClass = (orgId, input) => api.create(base(orgId), input);
export const transition = (orgId, id, action) => api.post(`${base(orgId)}/${id}/transition`, { action });
export const setControls = (orgId, id, controls) => api.patch(`${base(orgId)}/${id}/controls`, controls);
export const fetchHands = (orgId, id) => api.get(`${base(orgId)}/${id}/hands`).then((r) => r.items);
export const raiseHand = (orgId, id) => api.put(`${base(orgId)}/${id}/hands`).then((r) => r.items);
export const lowerHand = (orgId, id) => api.delete(`${base(orgId)}/${id}/hands`).then((r) => r.items);
export const letSpeak = (orgId, id, userId) => api.put(`${base(orgId)}/${id}/speakers/${userId}`).then((r) => r.items);
export const endTurn = (orgId, id, userId) => api.delete(`${base(orgId)}/${id}/speakers/${userId}`).then((r) => r.items);
export const removeParticipant = (orgId, id, userId) => api.put(`${base(orgId)}/${id}/removals/${userId}`);
export const fetchStatistics = (orgId, id) => api.get(`${base(orgId)}/${id}/statistics`);

export const replayURL = (orgId, id) => `${base(orgId)}/${id}/replay`;
export const openReplay = (orgId, id) => api.post(`${base(orgId)}/${id}/watch`, { mode: 'replay' });
export const replayHeartbeat = (orgId, id) => api.post(`${base(orgId)}/${id}/heartbeats`, { mode: 'replay' });

export const statisticsExport = (orgId, id, format) => `${base(orgId)}/${id}/statistics/export?format=${format}`;

/** Open class pages: `liveClassId → refresh` (one page at a time, in practice). */
const open = new Map();

/** Calls `refresh` whenever the class changes (a `live.updated` event) and after reconnecting. */
export function followClass(liveClassId, refresh) {
  open.set(liveClassId, refresh);
  return () => { if (open.get(liveClassId) === refresh) open.delete(liveClassId); };
}

/** A `live.updated` event: the class's state, switches, hands or speakers changed. */
export function classChanged({ liveClassId }) {
  open.get(liveClassId)?.();
}

/** After a reconnection: events may have been missed. */
export function resyncLive() {
  for (const refresh of open.values()) refresh();
}
