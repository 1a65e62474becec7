/** Admins: create invitations (code and link), list and revoke them, decide join requests. */
import { h } from '../../core/dom.js';
import { attempt, button, checkbox, errorLine, field, form, select } from '../../core/forms.js';
import { errorText, formatDateTime, t } from '../../core/i18n.js';
import { watch } from '../../core/store.js';
import { flattenTree } from '../directory/parts.js';
import { directory, openOrg } from '../directory/state.js';
import { createInvitation, decideJoinRequest, invites, openInvites, revokeInvitation } from './state.js';

const EXPIRY_HOURS = [24, 168, 720];

function invitationLink(invitation) {
  return `${location.origin}/#/join/${invitation.token}`;
}

function invitationState(invitation) {
  if (invitation.revokedAt) return 'revoked';
  if (Date.parse(invitation.expiresAt) <= Date.now()) return 'expired';
  if (invitation.maxUses && invitation.uses >= invitation.maxUses) return 'usedUp';
  return 'active';
}

function departmentOptions(departments) {
  return [['', t('invites.noDepartment')], ...flattenTree(departments).filter(({ depth }) => depth > 0)
    .map(({ department, depth }) => [department.id, `${'— '.repeat(depth - 1)}${department.name}`])];
}

function createForm(orgId) {
  const departmentSlot = h('div');
  const el = form({ class: 'invites-form', 'data-testid': 'invite-create-form' }, [
    field(t('invites.role'), select({ name: 'role', 'data-testid': 'invite-role' }, [['member', t('role.member')], ['admin', t('role.admin')]], 'member')),
    departmentSlot,
    field(t('invites.expiresIn'), select({ name: 'expiresInHours', 'data-testid': 'invite-expiry' },
      EXPIRY_HOURS.map((hours) => [String(hours), t(`invites.expiry.${hours}`)]), '168')),
    checkbox(t('invites.requiresApproval'), { name: 'requiresApproval', 'data-testid': 'invite-approval' }),
    h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'invite-create' }, t('invites.create')),
  ], (values) => createInvitation(orgId, {
    role: values.role,
    departmentId: values.departmentId || undefined,
    requiresApproval: values.requiresApproval === 'on',
    expiresInHours: Number(values.expiresInHours),
  }));
  const unwatch = watch(directory, (s) => s.departments, (departments) => departmentSlot.replaceChildren(
    field(t('invites.department'), select({ name: 'departmentId', 'data-testid': 'invite-department' }, departmentOptions(departments), ''))));
  return { el, destroy: unwatch };
}

function createdCard(invitation) {
  const link = invitationLink(invitation);
  return h('div', { class: 'invites-created', 'data-testid': 'invite-created' },
    h('p', { class: 'invites-created-lead' }, t('invites.createdLead')),
    h('p', { class: 'invites-code-line' }, t('invites.code'), ' ', h('strong', { class: 'invites-code', 'data-testid': 'invite-code' }, invitation.code)),
    field(t('invites.link'), h('input', { readonly: true, value: link, 'data-testid': 'invite-link' })),
    h('p', { class: 'invites-note' }, t('invites.expiresAt', { date: formatDateTime(invitation.expiresAt) })));
}

function requestItem(orgId, request) {
  const error = errorLine();
  const decide = (decision) => attempt(error, () => decideJoinRequest(orgId, request.id, decision));
  return h('li', { class: 'invites-request', 'data-testid': 'join-request' },
    h('div', { class: 'invites-request-who' },
      h('strong', {}, request.name), ' ', h('span', { class: 'invites-note' }, request.email ?? request.phone ?? '')),
    h('div', { class: 'invites-request-actions' },
      button(t('invites.approve'), { class: 'btn btn-primary', 'data-testid': 'join-approve', onclick: () => decide('approve') }),
      button(t('invites.reject'), { 'data-testid': 'join-reject', onclick: () => decide('reject') })),
    error);
}

function invitationRow(orgId, invitation) {
  const state = invitationState(invitation);
  const error = errorLine();
  return h('tr', { 'data-testid': 'invitation-row', 'data-state': state },
    h('td', { class: 'invites-code' }, invitation.code),
    h('td', {}, t(`role.${invitation.role}`)),
    h('td', {}, invitation.requiresApproval ? t('invites.withApproval') : t('invites.direct')),
    h('td', {}, formatDateTime(invitation.expiresAt)),
    h('td', {}, invitation.maxUses ? `${invitation.uses}/${invitation.maxUses}` : String(invitation.uses)),
    h('td', {}, t(`invites.state.${state}`)),
    h('td', {}, state === 'active' && button(t('invites.revoke'), {
      class: 'btn btn-danger', 'data-testid': 'invite-revoke', onclick: () => attempt(error, () => revokeInvitation(orgId, invitation)),
    }), error));
}

export function invitesView(root, { orgId }) {
  openOrg(orgId);
  openInvites(orgId);
  const create = createForm(orgId);
  const created = h('div');
  const requests = h('ul', { class: 'invites-requests', 'data-testid': 'join-requests' });
  const rows = h('tbody');
  const status = h('p', { class: 'form-error', role: 'alert' });
  root.append(h('section', { class: 'invites', 'data-testid': 'invites-page' },
    h('h1', { class: 'invites-title' }, t('invites.title')),
    status,
    h('div', { class: 'invites-grid' },
      h('div', { class: 'invites-card' }, h('h2', {}, t('invites.new')), create.el, created),
      h('div', { class: 'invites-card' }, h('h2', {}, t('invites.requests')), requests)),
    h('div', { class: 'invites-card' }, h('h2', {}, t('invites.list')),
      h('div', { class: 'invites-scroll' }, h('table', { class: 'invites-table' },
        h('thead', {}, h('tr', {}, ['code', 'role', 'approval', 'expires', 'uses', 'status', 'actions'].map((c) => h('th', {}, t(`invites.column.${c}`))))),
        rows)))));
  const unwatch = watch(invites, (s) => [s.invitations, s.requests, s.created, s.error], ([list, pending, last, error]) => {
    status.textContent = error ? errorText(error) : '';
    created.replaceChildren(...(last ? [createdCard(last)] : []));
    requests.replaceChildren(...(pending.length ? pending.map((r) => requestItem(orgId, r)) : [h('li', { class: 'invites-note' }, t('invites.noRequests'))]));
    rows.replaceChildren(...list.map((i) => invitationRow(orgId, i)));
  });
  return () => {
    unwatch();
    create.destroy();
  };
}
