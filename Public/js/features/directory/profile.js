/**
 * A member's profile; admins change role, capabilities and departments, members their title. On
 * one's own profile, also what one gets by e-mail from this organisation. A student's parents or
 * guardians: set by admins (in schools, or for members marked student), seen by the student.
 */
import { h } from '../../core/dom.js';
import { attempt, button, checkbox, errorLine, field, form, select } from '../../core/forms.js';
import { errorText, formatDateTime, t } from '../../core/i18n.js';
import { navigate } from '../../core/router.js';
import { watch } from '../../core/store.js';
import { session } from '../auth/state.js';
import { guardiansCard } from '../health/guardians.js';
import { emailPreferencesCard } from '../mail/preferences.js';
import { isAdmin, membership } from '../orgs/state.js';
import { avatar, badges, flattenTree } from './parts.js';
import { directory, openProfile, removeFromOrganization, updateMember } from './state.js';

const ROLES = ['owner', 'admin', 'member'];
const CAPABILITIES = ['health_officer', 'attendance_admin', 'teacher', 'student', 'parent'];

const sameSet = (a, b) => a.length === b.length && a.every((x) => b.includes(x));

function fact(label, value) {
  return value ? [h('dt', {}, label), h('dd', {}, value)] : [];
}

function details(orgId, member, departments) {
  const names = departments.filter((d) => member.departmentIds.includes(d.id) && d.parentId).map((d) =>
    h('a', { class: 'profile-dept', href: `#/org/${orgId}/dept/${d.id}` }, d.name));
  return [
    h('header', { class: 'profile-head' },
      avatar(member, 'avatar avatar-large'),
      h('div', {},
        h('h1', { class: 'profile-name', 'data-testid': 'profile-name' }, member.name),
        h('p', { class: 'profile-title', 'data-testid': 'profile-title' }, member.title),
        h('p', { class: 'profile-badges' }, badges(member)))),
    h('dl', { class: 'profile-facts' },
      fact(t('profile.departments'), names.length && h('span', { 'data-testid': 'profile-departments' }, names)),
      fact(t('profile.email'), member.email && h('a', { href: `mailto:${member.email}` }, member.email)),
      fact(t('profile.phone'), member.phone && h('a', { href: `tel:${member.phone}` }, member.phone)),
      fact(t('profile.joined'), formatDateTime(member.joinedAt))),
  ];
}

/** The fields of `member` that the form changed. */
function changes(member, data, admin, shownDepartments) {
  const changed = {};
  const title = String(data.get('title') ?? member.title).trim();
  if (title !== member.title) changed.title = title;
  if (data.has('role') && data.get('role') !== member.role) changed.role = data.get('role');
  if (admin) {
    const capabilities = data.getAll('capabilities');
    if (!sameSet(capabilities, member.capabilities)) changed.capabilities = capabilities;
    const hidden = member.departmentIds.filter((id) => !shownDepartments.includes(id));
    const departmentIds = [...data.getAll('departmentIds'), ...hidden];
    if (!sameSet(departmentIds, member.departmentIds)) changed.departmentIds = departmentIds;
  }
  return changed;
}

function editForm(orgId, member, departments, saved) {
  const admin = isAdmin(orgId);
  const owner = membership(orgId).member.role === 'owner';
  const shown = flattenTree(departments);
  const label = (department) => (department.parentId ? department.name : membership(orgId).organization.name);
  return form({ class: 'profile-form', 'data-testid': 'profile-form' }, [
    field(t('profile.title'), h('input', { name: 'title', value: member.title, 'data-testid': 'profile-title-input' })),
    owner && field(t('profile.role'), select({ name: 'role', 'data-testid': 'profile-role' }, ROLES.map((r) => [r, t(`role.${r}`)]), member.role)),
    admin && h('fieldset', { class: 'profile-group' }, h('legend', {}, t('profile.capabilities')),
      CAPABILITIES.map((c) => checkbox(t(`capability.${c}`), { name: 'capabilities', value: c, checked: member.capabilities.includes(c), 'data-testid': `capability-${c}` }))),
    admin && shown.length > 0 && h('fieldset', { class: 'profile-group' }, h('legend', {}, t('profile.departments')),
      shown.map(({ department, depth }) => h('div', { class: `tree-depth-${Math.min(depth, 6)}` },
        checkbox(label(department), { name: 'departmentIds', value: department.id, checked: member.departmentIds.includes(department.id), 'data-testid': 'profile-dept' })))),
    h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'profile-save' }, t('common.save')),
  ], async (values, submitter, data) => {
    saved.hidden = true;
    const changed = changes(member, data, admin, shown.map(({ department }) => department.id));
    if (Object.keys(changed).length) await updateMember(member.id, changed);
    saved.hidden = false;
  });
}

/** Whether the member may have parents or guardians: students, and anyone in a school. */
function hasGuardians(orgId, member) {
  return membership(orgId)?.organization.kind === 'school' || member.capabilities.includes('student');
}

/** Opens the 1:1 chat with the member. */
function messageLink(orgId, member) {
  return h('a', { class: 'btn btn-primary profile-message', href: `#/org/${orgId}/chat/with/${member.id}`, 'data-testid': 'profile-message' }, t('profile.message'));
}

function removeButton(orgId, member) {
  const error = errorLine();
  const remove = () => attempt(error, async () => {
    if (!window.confirm(t('profile.removeConfirm', { name: member.name }))) return;
    await removeFromOrganization(member.id);
    navigate(`/org/${orgId}`);
  });
  return [button(t('profile.remove'), { class: 'btn btn-danger', 'data-testid': 'profile-remove', onclick: remove }), error];
}

export function profileView(orgId, memberId) {
  openProfile(memberId);
  const body = h('div', { class: 'profile-body' });
  const saved = h('p', { class: 'profile-saved', role: 'status', 'data-testid': 'profile-saved', hidden: true }, t('common.saved'));
  const own = membership(orgId)?.member.id === memberId;
  const el = h('article', { class: 'dir-main profile', 'data-testid': 'member-profile' },
    h('a', { class: 'profile-back', href: `#/org/${orgId}`, 'data-testid': 'profile-back' }, t('profile.back')), body, saved,
    own && emailPreferencesCard(orgId));
  const unsubscribe = watch(directory, (s) => [s.profile, s.profileError, s.departments], ([member, error, departments]) => {
    if (error) return body.replaceChildren(h('p', { class: 'profile-missing', 'data-testid': 'profile-error' }, errorText(error)));
    if (!member) return body.replaceChildren(h('p', {}, t('common.loading')));
    const self = member.userId === session.get().user.id;
    const admin = isAdmin(orgId);
    body.replaceChildren(
      ...details(orgId, member, departments),
      ...(!self && member.claimed !== false ? [messageLink(orgId, member)] : []),
      ...(admin || self ? [editForm(orgId, member, departments, saved)] : []),
      ...(admin && !self && member.role !== 'owner' ? removeButton(orgId, member) : []),
      ...(hasGuardians(orgId, member) && (admin || self) ? [guardiansCard(orgId, member, admin)] : []),
    );
  });
  return { el, destroy: unsubscribe };
}
