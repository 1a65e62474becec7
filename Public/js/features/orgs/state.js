/** The signed-in person's organisations: which is current, creating one, admin settings. */
import { api } from '../../core/api.js';
import { session } from '../auth/state.js';

const LAST_ORG_KEY = 'tack.org';
const ADMIN_ROLES = new Set(['owner', 'admin']);

export const memberships = () => session.get().memberships;

export function membership(orgId) {
  return memberships().find((m) => m.organization.id === orgId);
}

export function isAdmin(orgId) {
  return ADMIN_ROLES.has(membership(orgId)?.member.role);
}

/** The organisation to open by default: the last one used here, else the first. */
export function defaultOrgId() {
  const last = localStorage.getItem(LAST_ORG_KEY);
  return membership(last) ? last : memberships()[0]?.organization.id;
}

export function rememberOrg(orgId) {
  localStorage.setItem(LAST_ORG_KEY, orgId);
}

function setMemberships(list) {
  session.set({ memberships: list });
}

export function addMembership(added) {
  const others = memberships().filter((m) => m.organization.id !== added.organization.id);
  setMemberships([...others, added]);
}

export function removeMembership(orgId) {
  if (membership(orgId)) setMemberships(memberships().filter((m) => m.organization.id !== orgId));
}

export function updateOrganization(organization) {
  if (!membership(organization.id)) return;
  setMemberships(memberships().map((m) => (m.organization.id === organization.id ? { ...m, organization } : m)));
}

/** Keeps one's own role current when an admin changes it. */
export function updateOwnMember(member) {
  if (member.userId !== session.get().user?.id || !membership(member.orgId)) return;
  setMemberships(memberships().map((m) => (m.organization.id === member.orgId ? { ...m, member } : m)));
}

export function memberLeft(orgId, userId) {
  if (userId === session.get().user?.id) removeMembership(orgId);
}

/** The browser's time zone (IANA), the default for a new organisation's daily reports. */
export function browserTimeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;
}

export async function createOrganization({ name, kind }) {
  const created = await api.create('/api/v1/orgs', { name, kind, timeZone: browserTimeZone() });
  addMembership(created);
  return created;
}

export async function updateOrganizationSettings(orgId, { name, kind, timeZone }) {
  updateOrganization(await api.patch(`/api/v1/orgs/${orgId}`, { name, kind, timeZone }));
}
