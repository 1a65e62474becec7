/** Small pieces shared by the directory views. */
import { h } from '../../core/dom.js';
import { t } from '../../core/i18n.js';

export function avatar(member, className = 'avatar') {
  const initials = member.name.trim().split(/\s+/).slice(0, 2).map((word) => [...word][0]).join('');
  return h('span', { class: className, 'aria-hidden': 'true' }, initials.toUpperCase());
}

/** Role and capability badges (plain members show none). */
export function badges(member) {
  const roles = member.role === 'member' ? [] : [t(`role.${member.role}`)];
  const capabilities = member.capabilities.map((c) => t(`capability.${c}`));
  const unclaimed = member.claimed === false ? [t('directory.unclaimed')] : [];
  return [...roles, ...capabilities, ...unclaimed].map((label) => h('span', { class: 'badge' }, label));
}

export function rootDepartment(departments) {
  return departments.find((d) => !d.parentId);
}

/** Departments in tree order with their depth, for indented lists. */
export function flattenTree(departments) {
  const children = new Map();
  for (const d of departments) children.set(d.parentId ?? null, [...(children.get(d.parentId ?? null) ?? []), d]);
  const walk = (parentId, depth) => (children.get(parentId) ?? []).flatMap((d) => [{ department: d, depth }, ...walk(d.id, depth + 1)]);
  return walk(null, 0);
}
