/**
 * A student's parents or guardians, on their profile: admins pick them from the members (at most
 * six) and save; the student sees theirs. Where a health report allows it, a guardian reports for
 * the student.
 */
import { h } from '../../core/dom.js';
import { attempt, button, errorLine } from '../../core/forms.js';
import { errorText, t } from '../../core/i18n.js';
import { memberPicker } from '../chat/groups.js';
import { fetchGuardians, saveGuardians } from './state.js';

const MAX_GUARDIANS = 6;

/** `member`: the student's Member; `canEdit`: the viewer is an owner or admin. */
export function guardiansCard(orgId, member, canEdit) {
  const el = h('section', { class: 'health-guardians', 'data-testid': 'guardians' },
    h('h2', {}, t('health.guardians.title')), h('p', { class: 'health-note' }, t('common.loading')));
  fetchGuardians(orgId, member.id).then((people) => {
    if (!canEdit && !people.length) return el.remove();
    return canEdit ? editor(el, orgId, member, people) : el.replaceChildren(h('h2', {}, t('health.guardians.title')), names(people));
  }, (error) => (canEdit ? el.replaceChildren(h('h2', {}, t('health.guardians.title')), h('p', { class: 'form-error' }, errorText(error))) : el.remove()));
  return el;
}

function names(people) {
  return h('ul', { class: 'health-chips', 'data-testid': 'guardian-list' },
    people.map((p) => h('li', { class: 'health-chip', 'data-testid': 'guardian' }, p.name)));
}

function editor(el, orgId, member, initial) {
  let chosen = initial.map((p) => ({ memberId: p.memberId, userId: p.userId, name: p.name }));
  const error = errorLine();
  const saved = h('p', { class: 'profile-saved', role: 'status', 'data-testid': 'guardians-saved', hidden: true }, t('common.saved'));
  const list = h('ul', { class: 'health-chips', 'data-testid': 'guardian-list' });
  const pickerSlot = h('div', { class: 'health-guardian-picker' });
  const render = () => {
    saved.hidden = true;
    list.replaceChildren(...chosen.map((p) => h('li', { class: 'health-chip', 'data-testid': 'guardian' }, p.name,
      button('×', {
        class: 'btn health-qb-icon', 'aria-label': t('health.guardians.remove', { name: p.name }), 'data-testid': 'guardian-remove',
        onclick: () => { chosen = chosen.filter((c) => c.memberId !== p.memberId); render(); },
      }))));
    if (!chosen.length) list.append(h('li', { class: 'health-note' }, t('health.guardians.none')));
    addButton.disabled = chosen.length >= MAX_GUARDIANS;
  };
  const addButton = button(t('health.guardians.add'), {
    'data-testid': 'guardian-add',
    onclick: () => {
      const picker = memberPicker(orgId, {
        exclude: [member.userId, ...chosen.map((c) => c.userId)],
        onPick: (picked) => {
          chosen = [...chosen, { memberId: picked.id, userId: picked.userId, name: picked.name }];
          pickerSlot.replaceChildren();
          render();
        },
      });
      pickerSlot.replaceChildren(picker.el);
      picker.el.querySelector('input')?.focus();
    },
  });
  el.replaceChildren(
    h('h2', {}, t('health.guardians.title')),
    h('p', { class: 'health-note' }, t('health.guardians.lead')),
    list, h('div', { class: 'health-actions' }, addButton,
      button(t('common.save'), {
        class: 'btn btn-primary', 'data-testid': 'guardians-save',
        onclick: () => attempt(error, async () => {
          const now = await saveGuardians(orgId, member.id, chosen.map((c) => c.memberId));
          chosen = now.map((p) => ({ memberId: p.memberId, userId: p.userId, name: p.name }));
          render();
          saved.hidden = false;
        }),
      })),
    pickerSlot, error, saved);
  render();
}
