/**
 * What a member gets by e-mail in an organisation, on their own profile: three toggles, each saved
 * as it is flipped, the address mail goes to, and a plain note when none can be sent (the
 * organisation has no SMTP server, or the account has no e-mail address).
 */
import { h } from '../../core/dom.js';
import { checkbox } from '../../core/forms.js';
import { errorText, t } from '../../core/i18n.js';
import { fetchEmailPreferences, saveEmailPreferences } from './state.js';

const KINDS = ['dings', 'mentions', 'announcements'];

function notes(prefs) {
  return [
    prefs.address
      ? h('p', { class: 'mail-note', 'data-testid': 'email-preferences-address' }, t('mail.prefs.address'), ' ', h('strong', {}, prefs.address))
      : h('p', { class: 'mail-warning', 'data-testid': 'email-preferences-no-address' }, t('mail.prefs.noAddress')),
    !prefs.available && h('p', { class: 'mail-warning', 'data-testid': 'email-preferences-unavailable' }, t('mail.prefs.unavailable')),
  ];
}

function toggles(orgId, prefs) {
  let current = Object.fromEntries(KINDS.map((kind) => [kind, prefs[kind]]));
  const saved = h('p', { class: 'orgs-saved', role: 'status', 'data-testid': 'email-preferences-saved', hidden: true }, t('common.saved'));
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'email-preferences-error', hidden: true });
  const group = h('fieldset', { class: 'mail-toggles' }, h('legend', {}, t('mail.prefs.legend')));
  const change = async (kind, input) => {
    saved.hidden = true;
    error.hidden = true;
    // One change at a time, so the answers cannot arrive out of order.
    group.disabled = true;
    try {
      const answer = await saveEmailPreferences(orgId, { ...current, [kind]: input.checked });
      current = Object.fromEntries(KINDS.map((k) => [k, answer[k]]));
      saved.hidden = false;
    } catch (failure) {
      error.textContent = errorText(failure);
      error.hidden = false;
    } finally {
      for (const k of KINDS) group.elements.namedItem(k).checked = current[k];
      group.disabled = false;
    }
  };
  group.append(...KINDS.map((kind) => checkbox(t(`mail.prefs.${kind}`), {
    name: kind,
    checked: current[kind],
    'data-testid': `email-pref-${kind}`,
    onchange: (event) => change(kind, event.target),
  })));
  return [group, saved, error];
}

/** The card; fills itself once the preferences are fetched. */
export function emailPreferencesCard(orgId) {
  const body = h('div', {}, h('p', { class: 'mail-note' }, t('common.loading')));
  fetchEmailPreferences(orgId).then(
    (prefs) => body.replaceChildren(...[...notes(prefs), ...toggles(orgId, prefs)].filter(Boolean)),
    (error) => body.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, errorText(error))),
  );
  return h('section', { class: 'mail-prefs', 'data-testid': 'email-preferences' }, h('h2', {}, t('mail.prefs.title')), body);
}
