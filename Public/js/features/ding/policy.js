/**
 * The organisation's DING escalation policy (owners and admins): SMS and then a call after so many
 * minutes unconfirmed (or never), an unanswered call followed by an SMS, call limits per
 * recipient; and which delivery providers this installation has, said plainly (e-mail, when off,
 * with a link to the page that turns it on).
 */
import { h } from '../../core/dom.js';
import { checkbox, field, form } from '../../core/forms.js';
import { errorText, t } from '../../core/i18n.js';
import { channelName, problemText } from './format.js';
import { fetchPolicy, savePolicy } from './state.js';

/** An unavailable e-mail provider links to the page where admins set up the SMTP server. */
function setUpLink(orgId, provider) {
  if (provider.available || provider.channel !== 'email') return '';
  return [' ', h('a', { class: 'ding-provider-setup', href: `#/org/${orgId}/settings/mail`, 'data-testid': 'ding-provider-email-setup' }, t('ding.policy.setUpEmail'))];
}

function providersView(orgId, providers) {
  return h('ul', { class: 'ding-providers', 'data-testid': 'ding-providers' }, providers.map((p) => h('li', {
    class: 'ding-provider', 'data-available': String(p.available), 'data-testid': `ding-provider-${p.channel}`,
  },
  h('strong', {}, channelName(p.channel)), ' — ',
  h('span', { 'data-testid': 'ding-provider-status' }, p.available ? t('ding.available') : t('ding.unavailable', { reason: p.reason ?? '' })),
  setUpLink(orgId, p))));
}

/** "After [N] minutes", with a checkbox that turns the step off (never). */
function step(name, label, minutes) {
  const input = h('input', { type: 'number', name, min: 1, max: 1440, value: minutes ?? '', disabled: minutes == null, 'data-testid': `ding-policy-${name}` });
  const on = checkbox(label, {
    name: `${name}On`,
    checked: minutes != null,
    'data-testid': `ding-policy-${name}-on`,
    onchange: (event) => {
      input.disabled = !event.target.checked;
      if (event.target.checked && !input.value) input.value = 10;
    },
  });
  return h('div', { class: 'ding-policy-step' }, on, field(t('ding.policy.afterMinutes'), input));
}

function policyForm(orgId, { settings }, saved) {
  const number = (name, max, value) => field(t(`ding.policy.${name}`), h('input', { type: 'number', name, min: 0, max, value, required: true, 'data-testid': `ding-policy-${name}` }));
  return form({ class: 'orgs-form ding-policy-form', 'data-testid': 'ding-policy-form' }, [
    step('smsAfterMinutes', t('ding.policy.sms'), settings.smsAfterMinutes),
    step('callAfterMinutes', t('ding.policy.call'), settings.callAfterMinutes),
    checkbox(t('ding.policy.callFallbackSms'), { name: 'callFallbackSms', checked: settings.callFallbackSms, 'data-testid': 'ding-policy-callFallbackSms' }),
    number('callsPer8Minutes', 20, settings.callsPer8Minutes),
    number('callsPerDay', 100, settings.callsPerDay),
    h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'ding-policy-save' }, t('common.save')),
  ], async (values) => {
    saved.hidden = true;
    const minutes = (name) => (values[`${name}On`] && values[name] !== undefined && values[name] !== '' ? Number(values[name]) : null);
    await savePolicy(orgId, {
      smsAfterMinutes: minutes('smsAfterMinutes'),
      callAfterMinutes: minutes('callAfterMinutes'),
      callFallbackSms: Boolean(values.callFallbackSms),
      callsPer8Minutes: Number(values.callsPer8Minutes),
      callsPerDay: Number(values.callsPerDay),
    });
    saved.hidden = false;
  }, { describe: problemText });
}

/** The settings card; fills itself once the policy is fetched. */
export function dingPolicyCard(orgId) {
  const body = h('div', {}, h('p', { class: 'ding-note' }, t('common.loading')));
  const saved = h('p', { class: 'orgs-saved', role: 'status', hidden: true, 'data-testid': 'ding-policy-saved' }, t('common.saved'));
  fetchPolicy(orgId).then(
    (policy) => body.replaceChildren(
      h('h3', {}, t('ding.policy.providers')),
      providersView(orgId, policy.providers),
      h('p', { class: 'ding-note' }, t('ding.policy.lead')),
      policyForm(orgId, policy, saved),
      saved),
    (error) => body.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, errorText(error))),
  );
  return h('div', { class: 'orgs-card', 'data-testid': 'ding-policy' }, h('h2', {}, t('ding.policy.title')), body);
}
