/** Starting chats and managing groups: the member picker, new 1:1 chat, new group, group settings. */
import { debounce, h } from '../../core/dom.js';
import { attempt, button, errorLine, field, form } from '../../core/forms.js';
import { errorText, t } from '../../core/i18n.js';
import { navigate } from '../../core/router.js';
import { openDialog } from './parts.js';
import {
  addGroupMembers, createGroup, findMembers, isManager, listConversationMembers, myUserId, openDirect,
  removeGroupMember, renameGroup, setGroupRole,
} from './state.js';

/**
 * A searchable list of the organisation's members (except oneself and `exclude`, user ids), or of
 * those `find(q)` answers (`{ id, userId, name }`: member ids). With `onPick` a click picks one;
 * otherwise each has a checkbox and `chosen()` lists member ids.
 */
export function memberPicker(orgId, { onPick, exclude = [], find = (q) => findMembers(orgId, q) } = {}) {
  const checked = new Set();
  const list = h('ul', { class: 'chat-picker-list', 'data-testid': 'picker-list' });
  const status = h('p', { class: 'chat-note', role: 'status' });
  const row = (member) => h('li', {}, onPick
    ? h('button', { type: 'button', class: 'chat-picker-row', 'data-testid': 'picker-member', onclick: () => onPick(member) }, member.name)
    : h('label', { class: 'chat-picker-row check', 'data-testid': 'picker-member' },
      h('input', { type: 'checkbox', checked: checked.has(member.id), onchange: (e) => (e.target.checked ? checked.add(member.id) : checked.delete(member.id)) }),
      h('span', {}, member.name)));
  const search = async (q) => {
    try {
      const members = (await find(q)).filter((m) => m.userId !== myUserId() && !exclude.includes(m.userId));
      list.replaceChildren(...members.map(row));
      status.textContent = members.length ? '' : t('chat.noMatches');
    } catch (error) {
      status.textContent = errorText(error);
    }
  };
  const input = h('input', {
    type: 'search', class: 'chat-picker-search', placeholder: t('chat.findMember'), 'aria-label': t('chat.findMember'), 'data-testid': 'picker-search',
    oninput: debounce(() => search(input.value.trim()), 250),
  });
  search('');
  return { el: h('div', { class: 'chat-picker' }, input, status, list), chosen: () => [...checked] };
}

export function showNewChat(orgId) {
  const error = errorLine();
  const picker = memberPicker(orgId, {
    onPick: (member) => attempt(error, async () => {
      const conversation = await openDirect(orgId, member.id);
      navigate(`/org/${orgId}/chat/${conversation.id}`);
    }),
  });
  openDialog(t('chat.newChat'), h('div', {}, picker.el, error), 'new-chat-dialog');
}

export function showNewGroup(orgId) {
  const picker = memberPicker(orgId);
  openDialog(t('chat.newGroup'), form({ class: 'chat-group-form', 'data-testid': 'new-group-form' }, [
    field(t('chat.groupName'), h('input', { name: 'name', required: true, maxlength: 100, 'data-testid': 'group-name' })),
    h('div', { class: 'field' }, h('span', { class: 'field-label' }, t('chat.groupMembers')), picker.el),
    h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'group-create' }, t('chat.createGroup')),
  ], async ({ name }) => {
    const conversation = await createGroup(orgId, { name, memberIds: picker.chosen() });
    navigate(`/org/${orgId}/chat/${conversation.id}`);
  }), 'new-group-dialog');
}

function memberRow(orgId, conversation, member, refresh, error) {
  const me = conversation.myRole;
  const self = member.userId === myUserId();
  const manage = (action) => attempt(error, async () => {
    await action();
    await refresh();
  });
  const canRemove = conversation.kind === 'group' && !self && member.role !== 'owner' && (me === 'owner' || (me === 'admin' && member.role === 'member'));
  return h('li', { class: 'chat-member', 'data-testid': 'group-member' },
    h('span', { class: 'chat-member-name' }, member.name),
    member.role !== 'member' && h('span', { class: 'badge' }, t(`role.${member.role}`)),
    conversation.kind === 'group' && me === 'owner' && !self && member.role !== 'owner' && button(
      member.role === 'admin' ? t('chat.makeMember') : t('chat.makeAdmin'),
      { 'data-testid': 'group-member-role', onclick: () => manage(() => setGroupRole(orgId, conversation.id, member.userId, member.role === 'admin' ? 'member' : 'admin')) }),
    canRemove && button(t('chat.removeMember'), {
      class: 'btn btn-danger', 'data-testid': 'group-member-remove', onclick: () => manage(() => removeGroupMember(orgId, conversation.id, member.userId)),
    }));
}

/** Members, and for a group: renaming, adding and removing members, admins (by role), leaving. */
export function showGroupSettings(orgId, conversation) {
  const manager = isManager(conversation) && conversation.kind === 'group';
  const error = errorLine();
  const list = h('ul', { class: 'chat-members', 'data-testid': 'group-members' });
  const adding = h('div', { hidden: true });
  let userIds = [];
  const refresh = async () => {
    const members = await listConversationMembers(orgId, conversation.id);
    userIds = members.map((m) => m.userId);
    list.replaceChildren(...members.map((m) => memberRow(orgId, conversation, m, refresh, error)));
  };
  const startAdding = () => {
    const picker = memberPicker(orgId, { exclude: userIds });
    adding.hidden = false;
    adding.replaceChildren(picker.el, button(t('chat.addChosen'), {
      class: 'btn btn-primary',
      'data-testid': 'group-add-submit',
      onclick: () => attempt(error, async () => {
        await addGroupMembers(orgId, conversation.id, picker.chosen());
        adding.hidden = true;
        await refresh();
      }),
    }));
  };
  const leave = () => attempt(error, async () => {
    if (!window.confirm(t('chat.leaveConfirm', { name: conversation.name }))) return;
    await removeGroupMember(orgId, conversation.id, myUserId());
    navigate(`/org/${orgId}/chat`);
  });
  openDialog(t('chat.groupSettings'), h('div', { class: 'chat-settings' },
    manager && form({ class: 'chat-rename', 'data-testid': 'group-rename-form' }, [
      field(t('chat.groupName'), h('input', { name: 'name', value: conversation.name, required: true, maxlength: 100, 'data-testid': 'group-rename-name' })),
      h('button', { type: 'submit', class: 'btn', 'data-testid': 'group-rename-save' }, t('common.save')),
    ], ({ name }) => renameGroup(orgId, conversation.id, name)),
    conversation.kind === 'department' && h('p', { class: 'chat-note' }, t('chat.followsDirectory')),
    h('h3', {}, t('chat.groupMembers')),
    list,
    manager && button(t('chat.addMembers'), { 'data-testid': 'group-add', onclick: startAdding }),
    adding,
    conversation.kind === 'group' && button(t('chat.leave'), { class: 'btn btn-danger', 'data-testid': 'group-leave', onclick: leave }),
    error), 'group-settings');
  attempt(error, refresh);
}
