/** The department tree (a drawer on narrow screens), with "new department" for admins. */
import { h } from '../../core/dom.js';
import { field, form, select } from '../../core/forms.js';
import { t } from '../../core/i18n.js';
import { watch } from '../../core/store.js';
import { isAdmin, membership } from '../orgs/state.js';
import { flattenTree, rootDepartment } from './parts.js';
import { createDepartment, directory } from './state.js';

function node(orgId, department, depth, selectedId, onPick) {
  const isRoot = depth === 0;
  const selected = isRoot ? !selectedId : selectedId === department.id;
  return h('li', { class: `tree-item tree-depth-${Math.min(depth, 6)}` },
    h('a', {
      class: 'tree-node',
      href: isRoot ? `#/org/${orgId}` : `#/org/${orgId}/dept/${department.id}`,
      'aria-current': selected ? 'page' : null,
      'data-testid': 'tree-node',
      'data-kind': department.kind,
      onclick: onPick,
    },
    h('span', { class: 'tree-name' }, isRoot ? membership(orgId)?.organization.name ?? department.name : department.name),
    department.kind === 'class' && h('span', { class: 'badge' }, t('deptKind.class'))));
}

function createForm(parentName, parentId) {
  const el = form({ class: 'tree-form', 'data-testid': 'dept-create-form' }, [
    h('h3', { class: 'tree-form-title' }, t('directory.newDepartmentIn', { parent: parentName })),
    field(t('directory.deptName'), h('input', { name: 'name', required: true, 'data-testid': 'dept-name' })),
    field(t('directory.deptKind'), select({ name: 'kind', 'data-testid': 'dept-kind' },
      [['department', t('deptKind.department')], ['class', t('deptKind.class')]], 'department')),
    h('button', { type: 'submit', class: 'btn', 'data-testid': 'dept-create' }, t('directory.addDepartment')),
  ], async ({ name, kind }) => {
    await createDepartment({ name, kind, parentId: parentId() });
    el.reset();
  });
  return el;
}

/** `onPick` runs when a node is chosen (to close the drawer). */
export function treeView(orgId, selectedId, onPick) {
  const nodes = h('ul', { class: 'tree-nodes' });
  const formSlot = h('div');
  const el = h('aside', { class: 'tree', 'data-testid': 'dept-tree', 'aria-label': t('directory.departments') },
    h('h2', { class: 'tree-title' }, t('directory.departments')), nodes, formSlot);
  const parentId = () => selectedId ?? rootDepartment(directory.get().departments)?.id;
  const unsubscribe = watch(directory, (s) => s.departments, (departments) => {
    nodes.replaceChildren(...flattenTree(departments).map(({ department, depth }) => node(orgId, department, depth, selectedId, onPick)));
    const parent = departments.find((d) => d.id === parentId());
    const parentName = parent && (parent.parentId ? parent.name : membership(orgId)?.organization.name);
    if (isAdmin(orgId) && parent && !formSlot.firstChild) formSlot.append(createForm(parentName, parentId));
  });
  return { el, destroy: unsubscribe };
}
