/**
 * The directory screen: the department tree beside the member list or a member's profile. On the
 * organisation's home (no department or member open), today's health reports not yet made.
 */
import { h } from '../../core/dom.js';
import { button } from '../../core/forms.js';
import { errorText, t } from '../../core/i18n.js';
import { watch } from '../../core/store.js';
import { healthNotice } from '../health/notice.js';
import { memberListView } from './members.js';
import { profileView } from './profile.js';
import { directory, openOrg } from './state.js';
import { treeView } from './tree.js';

export function directoryPage(root, { orgId, deptId, memberId }) {
  openOrg(orgId);
  const page = h('section', { class: 'dir', 'data-testid': 'directory' });
  const closeTree = () => page.classList.remove('is-tree-open');
  const tree = treeView(orgId, deptId, closeTree);
  const main = memberId ? profileView(orgId, memberId) : memberListView(orgId, deptId);
  page.append(
    button(t('directory.departments'), {
      class: 'btn dir-tree-toggle',
      'data-testid': 'tree-toggle',
      onclick: () => page.classList.toggle('is-tree-open'),
    }),
    tree.el,
    h('div', { class: 'dir-backdrop', onclick: closeTree }),
    main.el,
  );
  const notice = !deptId && !memberId ? healthNotice(orgId) : null;
  root.append(notice?.el ?? '', page);
  const unwatch = watch(directory, (s) => s.error, (error) => {
    if (error) page.replaceChildren(h('p', { class: 'dir-error', 'data-testid': 'not-found' }, errorText(error)));
  });
  return () => {
    unwatch();
    tree.destroy();
    main.destroy();
    notice?.destroy();
  };
}
