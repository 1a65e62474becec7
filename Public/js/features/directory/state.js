/**
 * The open organisation's directory: its departments, the member list for the current query
 * (a department, or a search across the organisation), and the open profile. Live events are
 * applied through `queue`, so a fetch in flight never overwrites a newer event.
 */
import { api } from '../../core/api.js';
import { createEventQueue, createStore } from '../../core/store.js';

const PAGE_SIZE = 100;
const initial = {
  orgId: null,
  departments: [],
  error: null,
  query: {},
  members: [],
  nextCursor: null,
  membersLoading: false,
  membersError: null,
  profile: null,
  profileError: null,
};

export const directory = createStore(initial);
const queue = createEventQueue();
let membersRequest = 0;

const orgPath = (orgId = directory.get().orgId) => `/api/v1/orgs/${orgId}`;
const byName = (a, b) => a.name.localeCompare(b.name);
const byOrder = (a, b) => a.sortOrder - b.sortOrder || byName(a, b);

/** Whether a member belongs in the list for `query` (the server's filter, done locally). */
function matches(member, { departmentId, q }) {
  if (q) {
    const needle = q.toLowerCase();
    return [member.name, member.email, member.phone].some((v) => v?.toLowerCase().includes(needle));
  }
  return !departmentId || member.departmentIds.includes(departmentId);
}

function listParams({ departmentId, q }) {
  return q ? { q, limit: PAGE_SIZE } : { departmentId, limit: PAGE_SIZE };
}

export function openOrg(orgId) {
  const { orgId: openId, error } = directory.get();
  if (openId === orgId && !error) return;
  directory.set({ ...initial, orgId });
  loadDepartments();
}

export function closeOrg() {
  directory.set(initial);
}

async function loadDepartments() {
  const { orgId } = directory.get();
  try {
    await queue.load(
      () => api.get(`${orgPath(orgId)}/departments`),
      ({ items }) => directory.get().orgId === orgId && directory.set({ departments: items.sort(byOrder), error: null }),
    );
  } catch (error) {
    if (directory.get().orgId === orgId) directory.set({ error });
  }
}

/** Lists the members of a department (`departmentId`, or all when absent) or those matching `q`. */
export async function showMembers(query) {
  const { orgId } = directory.get();
  const request = ++membersRequest;
  directory.set({ query, membersLoading: true, membersError: null });
  await fetchMembers(orgId, request, listParams(query), (items, nextCursor) => {
    directory.set({ members: items, nextCursor, membersLoading: false });
  });
}

export async function loadMore() {
  const { orgId, query, nextCursor } = directory.get();
  if (!nextCursor) return;
  await fetchMembers(orgId, membersRequest, { ...listParams(query), cursor: nextCursor }, (items, next) => {
    const shown = directory.get().members;
    const known = new Set(shown.map((m) => m.id));
    directory.set({ members: [...shown, ...items.filter((m) => !known.has(m.id))], nextCursor: next });
  });
}

async function fetchMembers(orgId, request, params, apply) {
  const current = () => request === membersRequest && directory.get().orgId === orgId;
  try {
    await queue.load(
      () => api.get(`${orgPath(orgId)}/members`, params),
      (page) => current() && apply(page.items, page.nextCursor ?? null),
    );
  } catch (error) {
    if (current()) directory.set({ membersError: error, membersLoading: false });
  }
}

export async function openProfile(memberId) {
  const { orgId } = directory.get();
  directory.set({ profile: null, profileError: null });
  try {
    await queue.load(
      () => api.get(`${orgPath(orgId)}/members/${memberId}`),
      (member) => directory.get().orgId === orgId && directory.set({ profile: member }),
    );
  } catch (error) {
    directory.set({ profileError: error });
  }
}

/** Fetches everything shown afresh (after `resync` or an import). */
export function refetch(orgId) {
  const { orgId: openId, query, profile } = directory.get();
  if (orgId !== openId) return;
  loadDepartments();
  showMembers(query);
  if (profile) openProfile(profile.id);
}

/** Wraps an event handler: only for the open organisation, and after fetches in flight. */
function live(update) {
  return (orgId, data) => queue.run(() => orgId === directory.get().orgId && update(data));
}

export const upsertMember = live((member) => {
  const { members, query, profile } = directory.get();
  const others = members.filter((m) => m.id !== member.id);
  directory.set({
    members: matches(member, query) ? [...others, member].sort(byName) : others,
    profile: profile?.id === member.id ? member : profile,
  });
});

export const removeMember = live((id) => {
  const { members, profile } = directory.get();
  const left = profile?.id === id;
  directory.set({
    members: members.filter((m) => m.id !== id),
    profile: left ? null : profile,
    ...(left && { profileError: { code: 'member_left' } }),
  });
});

export const upsertDepartment = live((department) => {
  const others = directory.get().departments.filter((d) => d.id !== department.id);
  directory.set({ departments: [...others, department].sort(byOrder) });
});

export const removeDepartment = live((id) => {
  directory.set({ departments: directory.get().departments.filter((d) => d.id !== id) });
});

export async function createDepartment({ name, kind, parentId }) {
  const { orgId } = directory.get();
  const department = await api.create(`${orgPath(orgId)}/departments`, { name, kind, parentId });
  upsertDepartment(orgId, department);
  return department;
}

export async function updateDepartment(id, changes) {
  const { orgId } = directory.get();
  upsertDepartment(orgId, await api.patch(`${orgPath(orgId)}/departments/${id}`, changes));
}

export async function deleteDepartment(id) {
  const { orgId } = directory.get();
  await api.delete(`${orgPath(orgId)}/departments/${id}`);
  removeDepartment(orgId, id);
}

export async function updateMember(id, changes) {
  const { orgId } = directory.get();
  upsertMember(orgId, await api.patch(`${orgPath(orgId)}/members/${id}`, changes));
}

export async function removeFromOrganization(id) {
  const { orgId } = directory.get();
  await api.delete(`${orgPath(orgId)}/members/${id}`);
  removeMember(orgId, id);
}
