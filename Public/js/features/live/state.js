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

/** The statistics as CSV (with a byte-order mark, so that Excel reads UTF-8). */
export function statisticsCSV(rows, labels) {
  const cell = (value) => {
    const text = String(value ?? '');
    const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
    return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  const lines = [labels.map(cell).join(',')];
  for (const r of rows) {
    lines.push([r.person.name, r.watched, Math.round(r.liveSeconds / 60), Math.round(r.replaySeconds / 60), r.minutes].map(cell).join(','));
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
