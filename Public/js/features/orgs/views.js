/** Creating a first organisation (or joining one), and the admins' organisation settings. */
import { h } from '../../core/dom.js';
import { field, form, select } from '../../core/forms.js';
import { t } from '../../core/i18n.js';
import { navigate } from '../../core/router.js';
import { watch } from '../../core/store.js';
import { session } from '../auth/state.js';
import { dingPolicyCard } from '../ding/policy.js';
import { ownRequestNotices } from '../invites/requests.js';
import { createOrganization, membership, memberships, updateOrganizationSettings } from './state.js';
import { settingsTabs } from './tabs.js';

const kindOptions = () => [['company', t('orgKind.company')], ['school', t('orgKind.school')]];

/** Every IANA time zone the browser knows, the organisation's own first if it is not among them. */
function timeZoneOptions(current) {
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return [...new Set([current, ...zones].filter(Boolean))].map((zone) => [zone, zone.replaceAll('_', ' ')]);
}

/** One's join requests, live; opens an organisation as soon as a request to it is approved. */
function ownRequests() {
  const el = h('div', { class: 'orgs-requests', 'data-testid': 'own-requests' });
  const memberOf = new Set(memberships().map((m) => m.organization.id));
  const waitedFor = new Set();
  const unwatch = watch(session, (s) => [s.memberships, s.pendingJoinRequests, s.declinedJoinRequests], ([joined, pending]) => {
    pending.forEach((p) => waitedFor.add(p.joinRequest.orgId));
    const approved = joined.find((m) => waitedFor.has(m.organization.id) && !memberOf.has(m.organization.id));
    if (approved) return navigate(`/org/${approved.organization.id}`);
    el.replaceChildren(...ownRequestNotices('page'));
    return undefined;
  });
  return { el, destroy: unwatch };
}

export function welcomeView(root) {
  const requests = ownRequests();
  const createForm = form({ class: 'orgs-form', 'data-testid': 'create-org-form' }, [
    field(t('orgs.name'), h('input', { name: 'name', required: true, 'data-testid': 'org-name' })),
    field(t('orgs.kind'), select({ name: 'kind', 'data-testid': 'org-kind' }, kindOptions(), 'company')),
    h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'create-org-submit' }, t('orgs.create.submit')),
  ], async (values) => {
    const created = await createOrganization(values);
    navigate(`/org/${created.organization.id}`);
  });

  const joinForm = form({ class: 'orgs-form', 'data-testid': 'join-code-form' }, [
    field(t('join.code'), h('input', { name: 'code', required: true, autocomplete: 'off', 'data-testid': 'join-code' })),
    h('button', { type: 'submit', class: 'btn', 'data-testid': 'join-code-submit' }, t('join.continue')),
  ], ({ code }) => code && navigate(`/join/${code.replace(/\s+/g, '')}`));

  root.append(h('section', { class: 'orgs', 'data-testid': 'welcome-page' },
    h('h1', { class: 'orgs-title' }, memberships().length ? t('orgs.another.title') : t('orgs.welcome.title')),
    requests.el,
    h('div', { class: 'orgs-choices' },
      h('div', { class: 'orgs-card' }, h('h2', {}, t('orgs.create.title')), h('p', {}, t('orgs.create.lead')), createForm),
      h('div', { class: 'orgs-card' }, h('h2', {}, t('join.title')), h('p', {}, t('join.lead')), joinForm))));
  return requests.destroy;
}

export function settingsView(root, { orgId }) {
  const { organization } = membership(orgId);
  const saved = h('p', { class: 'orgs-saved', role: 'status', 'data-testid': 'settings-saved', hidden: true }, t('common.saved'));
  root.append(h('section', { class: 'orgs', 'data-testid': 'settings-page' },
    h('h1', { class: 'orgs-title' }, t('orgs.settings.title')),
    settingsTabs(orgId, 'general'),
    h('div', { class: 'orgs-card' },
      form({ class: 'orgs-form', 'data-testid': 'org-settings-form' }, [
        field(t('orgs.name'), h('input', { name: 'name', value: organization.name, required: true, 'data-testid': 'org-name' })),
        field(t('orgs.kind'), select({ name: 'kind', 'data-testid': 'org-kind' }, kindOptions(), organization.kind)),
        field(t('orgs.timeZone'), select({ name: 'timeZone', 'data-testid': 'org-time-zone' }, timeZoneOptions(organization.timeZone), organization.timeZone)),
        h('p', { class: 'orgs-hint' }, t('orgs.timeZoneHint')),
        h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'org-settings-submit' }, t('common.save')),
      ], async (values) => {
        saved.hidden = true;
        await updateOrganizationSettings(orgId, values);
        saved.hidden = false;
      }),
      saved),
    dingPolicyCard(orgId)));
}
