/** The member list of a department (or of the whole organisation), with search. */
import { debounce, h } from '../../core/dom.js';
import { attempt, button, errorLine, form } from '../../core/forms.js';
import { errorText, t } from '../../core/i18n.js';
import { navigate } from '../../core/router.js';
import { watch } from '../../core/store.js';
import { isAdmin, membership } from '../orgs/state.js';
import { avatar, badges } from './parts.js';
import { deleteDepartment, directory, loadMore, showMembers, updateDepartment } from './state.js';

function row(orgId, member) {
  return h('li', {},
    h('a', { class: 'mlist-row', href: `#/org/${orgId}/member/${member.id}`, 'data-testid': 'member-row', 'data-member-id': member.id },
      avatar(member),
      h('span', { class: 'mlist-text' },
        h('span', { class: 'mlist-name', 'data-testid': 'member-name' }, member.name),
        h('span', { class: 'mlist-sub' }, member.title)),
      h('span', { class: 'mlist-badges' }, badges(member))));
}

/** Rename and delete for a department (admins). */
function departmentTools(orgId, department) {
  const error = errorLine();
  const renameForm = form({ class: 'mlist-rename', 'data-testid': 'dept-rename-form', hidden: true }, [
    h('input', { name: 'name', value: department.name, required: true, 'aria-label': t('directory.deptName'), 'data-testid': 'dept-rename-name' }),
    h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'dept-rename-save' }, t('common.save')),
  ], ({ name }) => updateDepartment(department.id, { name }));
  const remove = () => attempt(error, async () => {
    if (!window.confirm(t('directory.deleteConfirm', { name: department.name }))) return;
    await deleteDepartment(department.id);
    navigate(`/org/${orgId}`);
  });
  return [
    h('div', { class: 'mlist-tools' },
      button(t('directory.rename'), { 'data-testid': 'dept-rename', onclick: () => { renameForm.hidden = !renameForm.hidden; } }),
      button(t('directory.delete'), { class: 'btn btn-danger', 'data-testid': 'dept-delete', onclick: remove })),
    renameForm,
    error,
  ];
}

function heading(orgId, deptId, departments) {
  if (!deptId) return [h('h1', { class: 'mlist-title', 'data-testid': 'list-title' }, membership(orgId).organization.name)];
  const department = departments.find((d) => d.id === deptId);
  if (!department) return [h('h1', { class: 'mlist-title', 'data-testid': 'list-title' }, departments.length ? t('directory.deptGone') : '')];
  return [
    h('h1', { class: 'mlist-title', 'data-testid': 'list-title' }, department.name,
      department.kind === 'class' && h('span', { class: 'badge' }, t('deptKind.class'))),
    isAdmin(orgId) && departmentTools(orgId, department),
  ];
}

export function memberListView(orgId, deptId) {
  showMembers({ departmentId: deptId });
  const head = h('div', { class: 'mlist-head' });
  const list = h('ul', { class: 'mlist', 'data-testid': 'member-list' });
  const status = h('p', { class: 'mlist-status', role: 'status', 'data-testid': 'list-status' });
  const more = button(t('directory.loadMore'), { class: 'btn mlist-more', 'data-testid': 'load-more', onclick: loadMore });
  const search = h('input', {
    type: 'search',
    class: 'mlist-search',
    placeholder: t('directory.search'),
    'aria-label': t('directory.search'),
    'data-testid': 'member-search',
    oninput: debounce(() => {
      const q = search.value.trim();
      showMembers(q ? { q } : { departmentId: deptId });
    }, 250),
  });
  const el = h('div', { class: 'dir-main' }, head, search, status, list, more);
  const unwatchHead = watch(directory, (s) => s.departments, (departments) => head.replaceChildren(...heading(orgId, deptId, departments).flat().filter(Boolean)));
  const unwatchList = watch(directory, (s) => [s.members, s.nextCursor, s.membersLoading, s.membersError], ([members, next, loading, error]) => {
    list.replaceChildren(...members.map((member) => row(orgId, member)));
    more.hidden = !next;
    if (error) status.textContent = errorText(error);
    else if (!members.length) status.textContent = loading ? t('common.loading') : t('directory.noMembers');
    else status.textContent = '';
  });
  return { el, destroy: () => { unwatchHead(); unwatchList(); } };
}
