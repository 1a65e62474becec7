/**
 * The daily health report in the client. `health`: what one has to report today in the
 * organisation in view (`GET …/health/today`: one item per report and person — oneself and the
 * students one reports for), refetched when `health.submitted` says a report was made elsewhere
 * (another tab or device, or a guardian). `reminders`: the `health.reminder` notices not yet
 * acted on, in every organisation. Everything else (reports, cards, history, dashboards, the
 * access log) is fetched by the page that shows it.
 */
import { api } from '../../core/api.js';
import { createEventQueue, createStore } from '../../core/store.js';
import { isAdmin, membership, memberships } from '../orgs/state.js';

const initial = { orgId: null, items: [], now: null, loaded: false, error: null };

export const health = createStore(initial);
/** `{ items: [{ orgId, reportId, day, channel, memberId? }] }`, newest first. */
export const reminders = createStore({ items: [] });
const queue = createEventQueue();
/** Which organisation each report seen belongs to (health events do not name it). */
const reportOrgs = new Map();

export const healthPath = (orgId) => `/api/v1/orgs/${orgId}/health`;
const reportsPath = (orgId) => `${healthPath(orgId)}/reports`;
const reportPath = (orgId, reportId) => `${reportsPath(orgId)}/${reportId}`;

/** Owners, admins and health officers manage reports (each report says so in `canManage`). */
export function canManageHealth(orgId) {
  return isAdmin(orgId) || !!membership(orgId)?.member.capabilities?.includes('health_officer');
}

export const isOwner = (orgId) => membership(orgId)?.member.role === 'owner';

/** The key of one today item: a report and the person it is for. */
export const itemKey = (reportId, memberId) => `${reportId}/${memberId ?? ''}`;

/** Whether a today item still waits for a report: a report day, nothing sent, the window not over. */
export function isDue(item, now = Date.now()) {
  return item.reportDay && !item.submission && (!item.closesAt || Date.parse(item.closesAt) > now);
}

/** Loads (or reloads) today's items of `orgId`. */
export async function loadToday(orgId) {
  if (health.get().orgId !== orgId) health.set({ ...initial, orgId });
  try {
    await queue.load(() => api.get(`${healthPath(orgId)}/today`), ({ items, now }) => {
      items.forEach((i) => reportOrgs.set(i.report.id, orgId));
      if (health.get().orgId !== orgId) return;
      health.set({ items, now, loaded: true, error: null });
      dropAnswered(orgId, items);
    });
  } catch (error) {
    if (health.get().orgId === orgId) health.set({ error });
  }
}

export function closeHealth() {
  health.set(initial);
  reminders.set({ items: [] });
}

/** After a reconnection: today's items, if shown, fetched afresh. */
export async function resyncHealth() {
  const { orgId, loaded } = health.get();
  if (orgId && loaded) await loadToday(orgId);
}

/** Reminders for what has been reported meanwhile are dropped. */
function dropAnswered(orgId, items) {
  const answered = new Set(items.filter((i) => i.submission).map((i) => itemKey(i.report.id, i.relation === 'ward' ? i.member.memberId : undefined)));
  const kept = reminders.get().items.filter((r) => r.orgId !== orgId || !answered.has(itemKey(r.reportId, r.memberId)));
  if (kept.length !== reminders.get().items.length) reminders.set({ items: kept });
}

/**
 * The organisation of a report: known from what was fetched, else found among today's reports of
 * each of one's organisations.
 */
async function orgOfReport(reportId) {
  if (!reportOrgs.has(reportId)) {
    await Promise.all(memberships().map(({ organization: { id } }) => api.get(`${healthPath(id)}/today`)
      .then(({ items }) => items.forEach((i) => reportOrgs.set(i.report.id, id)), () => {})));
  }
  return reportOrgs.get(reportId);
}

// Live events.

/**
 * `health.reminder`: `{ reportId, title, day, channel, memberId?, closesAt }` — oneself, or the
 * student `memberId`, has not reported yet.
 */
export async function reminded(orgId, reminder) {
  orgId ??= await orgOfReport(reminder.reportId);
  if (!orgId) return;
  // One's own member id means oneself: only a ward's is kept.
  if (reminder.memberId && reminder.memberId === membership(orgId)?.member.id) reminder = { ...reminder, memberId: undefined };
  const others = reminders.get().items.filter((r) => itemKey(r.reportId, r.memberId) !== itemKey(reminder.reportId, reminder.memberId) || r.orgId !== orgId);
  reminders.set({ items: [{ ...reminder, orgId }, ...others] });
  if (health.get().orgId === orgId) loadToday(orgId);
}

/** `health.submitted`: `{ reportId, day, memberId, colour }` — reported in another tab, device, or by a guardian. */
export function submitted(orgId, { reportId }) {
  queue.run(() => {
    const { orgId: shown, items } = health.get();
    if (shown && (orgId ? shown === orgId : items.some((i) => i.report.id === reportId))) loadToday(shown);
  });
}

export function dismissReminder(reminder) {
  reminders.set({ items: reminders.get().items.filter((r) => r !== reminder) });
}

// Reporting.

/** `body`: `{ day, memberId?, answers }`. Returns `{ submission, card }` and updates today's item. */
export async function submitReport(orgId, reportId, body) {
  const result = await api.put(`${reportPath(orgId, reportId)}/submission`, body);
  queue.run(() => {
    const { orgId: shown, items } = health.get();
    if (shown !== orgId) return;
    const forWard = !!body.memberId;
    const changed = items.map((i) => (i.report.id === reportId && (forWard ? i.member.memberId === body.memberId : i.relation === 'self')
      ? { ...i, submission: result.submission, card: result.card } : i));
    health.set({ items: changed });
    dropAnswered(orgId, changed);
  });
  return result;
}

/** Uploads a photo's raw bytes; answers name the returned `id`. */
export function uploadPhoto(orgId, file) {
  return api.post(`${healthPath(orgId)}/photos`, file, { contentType: 'application/octet-stream' });
}

export const photoUrl = (orgId, photoId) => `${healthPath(orgId)}/photos/${photoId}`;

/** A person's card today: one's own, or (`memberId`) a student's one reports for. */
export function fetchCard(orgId, reportId, memberId) {
  return api.get(`${reportPath(orgId, reportId)}/card`, { memberId });
}

export function fetchHistory(orgId, reportId, memberId, days = 30) {
  return api.get(`${reportPath(orgId, reportId)}/history`, { memberId, days });
}

/** `{ valid, name?, colour?, day?, reportTitle? }`. */
export function verifyCard(orgId, code) {
  return api.get(`${healthPath(orgId)}/cards/verify`, { code });
}

// Managing.

function known(orgId, report) {
  reportOrgs.set(report.id, orgId);
  return report;
}

export async function fetchReports(orgId) {
  return (await api.get(reportsPath(orgId))).items.map((r) => known(orgId, r));
}

export async function fetchReport(orgId, reportId) {
  return known(orgId, await api.get(reportPath(orgId, reportId)));
}

/** `body`: the HealthReportInput of openapi.yaml. */
export async function createReport(orgId, body) {
  return known(orgId, await api.create(reportsPath(orgId), body));
}

export async function updateReport(orgId, reportId, body) {
  return known(orgId, await api.put(reportPath(orgId, reportId), body));
}

/** `query`: `{ day?, days? }`. */
export function fetchDashboard(orgId, reportId, query) {
  return api.get(`${reportPath(orgId, reportId)}/dashboard`, query);
}

/** `query`: `{ day?, status?, departmentId?, answers?, cursor?, limit? }`; `answers` reads are logged. */
export function fetchMembers(orgId, reportId, query) {
  return api.get(`${reportPath(orgId, reportId)}/members`, query);
}

/** The download link of the drill-down list with the same filters (`format`: csv or xlsx). */
export function exportUrl(orgId, reportId, { day, status, departmentId }, format) {
  const url = new URL(`${reportPath(orgId, reportId)}/export`, location.origin);
  for (const [key, value] of Object.entries({ day, status, departmentId, format })) if (value) url.searchParams.set(key, value);
  return `${url.pathname}${url.search}`;
}

/** DINGs everyone in the caller's scope who has not reported today; a refusal carries its problem. */
export function dingNotReported(orgId, reportId) {
  return api.create(`${reportPath(orgId, reportId)}/remind`);
}

/** `query`: `{ before?, limit? }`. */
export function fetchAccessLog(orgId, query) {
  return api.get(`${healthPath(orgId)}/access-log`, query);
}

// Guardians (a student's parents, who may report for them).

export async function fetchGuardians(orgId, memberId) {
  return (await api.get(`/api/v1/orgs/${orgId}/members/${memberId}/guardians`)).items;
}

export async function saveGuardians(orgId, memberId, memberIds) {
  return (await api.put(`/api/v1/orgs/${orgId}/members/${memberId}/guardians`, { memberIds })).items;
}
