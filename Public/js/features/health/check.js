/**
 * The card check at a door: anyone in the organisation types the code a card shows and sees, in
 * large letters, whether it is valid today — with the holder's name, the card's colour and the day
 * — or that it is not.
 */
import { h } from '../../core/dom.js';
import { form } from '../../core/forms.js';
import { t } from '../../core/i18n.js';
import { colourName, formatDay, healthSection } from './parts.js';
import { verifyCard } from './state.js';

function resultView(code, check) {
  if (!check.valid) {
    return h('div', { class: 'health-check-result is-invalid', role: 'status', 'data-testid': 'health-check-result', 'data-valid': 'false' },
      h('p', { class: 'health-check-verdict' }, t('health.check.invalid')),
      h('p', { class: 'health-check-code' }, code),
      h('p', {}, t('health.check.invalidLead')));
  }
  return h('div', {
    class: `health-check-result is-valid is-${check.colour}`, role: 'status', 'data-testid': 'health-check-result', 'data-valid': 'true', 'data-colour': check.colour,
  },
  h('p', { class: 'health-check-verdict' }, t('health.check.valid')),
  h('p', { class: 'health-check-name', 'data-testid': 'health-check-name' }, check.name),
  h('p', { class: 'health-check-colour', 'data-testid': 'health-check-colour' }, t('health.card.colour', { colour: colourName(check.colour) })),
  h('p', { 'data-testid': 'health-check-day' }, formatDay(check.day, 'full')),
  check.reportTitle && h('p', { class: 'health-note' }, check.reportTitle));
}

/** `/org/:orgId/health/check`. */
export function checkPage(root, { orgId }) {
  const result = h('div', { class: 'health-check-slot' });
  const input = h('input', {
    name: 'code', required: true, maxlength: 40, autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false',
    class: 'health-check-input', 'aria-label': t('health.check.code'), placeholder: t('health.check.placeholder'), 'data-testid': 'health-check-code',
  });
  root.append(healthSection(orgId, 'check', t('health.check.title'),
    h('p', { class: 'health-lead' }, t('health.check.lead')),
    form({ class: 'health-check-form', 'data-testid': 'health-check-form' }, [
      input,
      h('button', { type: 'submit', class: 'btn btn-primary health-submit', 'data-testid': 'health-check-submit' }, t('health.check.submit')),
    ], async ({ code }) => {
      result.replaceChildren();
      if (!code) throw Object.assign(new Error('no code'), { code: 'health_no_code' });
      result.replaceChildren(resultView(code, await verifyCard(orgId, code.replace(/\s+/g, ''))));
      input.select();
    }),
    result));
  input.focus();
}
