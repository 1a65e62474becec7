/**
 * Who something goes to: the whole organisation, or departments picked from the tree (each with
 * everything below it). Used by announcements and daily health reports; `prefix` names the test
 * ids (`<prefix>-audience`, `<prefix>-audience-org`, `<prefix>-departments`, `<prefix>-department`).
 */
import { api } from '../../core/api.js';
import { h } from '../../core/dom.js';
import { errorText, t } from '../../core/i18n.js';

/** The department tree as nested checkboxes; `chosen()` lists the ticked ids. */
function departmentTree(orgId, selected, prefix) {
  const el = h('div', { class: 'audience-tree', 'data-testid': `${prefix}-departments` }, h('p', { class: 'audience-note' }, t('common.loading')));
  const boxes = [];
  api.get(`/api/v1/orgs/${orgId}/departments`).then(({ items: departments }) => {
    const children = new Map();
    for (const d of departments) children.set(d.parentId ?? null, [...(children.get(d.parentId ?? null) ?? []), d]);
    const root = children.get(null)?.[0];
    const branch = (parentId) => {
      const list = (children.get(parentId) ?? []).sort((a, b) => a.sortOrder - b.sortOrder || a.name.localeCompare(b.name));
      if (!list.length) return '';
      return h('ul', { class: 'audience-tree-list' }, list.map((d) => {
        const box = h('input', { type: 'checkbox', value: d.id, checked: selected.has(d.id), 'data-testid': `${prefix}-department` });
        boxes.push(box);
        return h('li', {}, h('label', { class: 'check' }, box, h('span', {}, d.name)), branch(d.id));
      }));
    };
    const tree = root ? branch(root.id) : '';
    el.replaceChildren(tree || h('p', { class: 'audience-note' }, t('audience.noDepartments')));
  }, (error) => el.replaceChildren(h('p', { class: 'form-error' }, errorText(error))));
  return { el, chosen: () => boxes.filter((b) => b.checked).map((b) => b.value) };
}

/**
 * Radio buttons named `audience` (`org` or `departments`) and the tree; `existing` is
 * `{ wholeOrganization, departmentIds }` or null (departments, none ticked). `departments()` lists
 * the ticked department ids.
 */
export function audienceChoice(orgId, existing, prefix) {
  const whole = existing ? existing.wholeOrganization : false;
  const tree = departmentTree(orgId, new Set(existing?.departmentIds ?? []), prefix);
  const show = (isWhole) => { tree.el.hidden = isWhole; };
  show(whole);
  const option = (value, checked, label) => h('label', { class: 'check' },
    h('input', { type: 'radio', name: 'audience', value, checked, 'data-testid': `${prefix}-audience-${value}`, onchange: () => show(value === 'org') }),
    h('span', {}, label));
  return {
    el: h('fieldset', { class: 'audience', 'data-testid': `${prefix}-audience` },
      h('legend', { class: 'field-label' }, t('audience.title')),
      option('departments', !whole, t('audience.departments')),
      option('org', whole, t('audience.org')),
      tree.el),
    departments: tree.chosen,
  };
}
