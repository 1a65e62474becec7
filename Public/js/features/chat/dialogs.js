/** Dialogs about messages: who has read one (and a DING to those who have not), forwarding one, the pinned messages. */
import { h } from '../../core/dom.js';
import { attempt, button, checkbox, errorLine, form } from '../../core/forms.js';
import { errorText, formatDateTime, t } from '../../core/i18n.js';
import { navigate } from '../../core/router.js';
import { createDing } from '../ding/state.js';
import { previewText } from './format.js';
import { openDialog } from './parts.js';
import { chat } from './state.js';
import { forward, pinnedMessages, readers, unpin } from './thread.js';

function people(title, entries, testId) {
  return h('section', { class: 'chat-readers-group', 'data-testid': testId },
    h('h3', {}, title, ' ', h('span', { class: 'badge', 'data-testid': `${testId}-count` }, String(entries.length))),
    h('ul', { class: 'chat-people' }, entries.map((p) => h('li', { 'data-testid': 'reader' }, p.name))));
}

/** "DING the N who have not read this": an in-app DING about the message (its text by default). */
function dingUnread(message, unread) {
  const memberIds = unread.map((p) => p.memberId).filter(Boolean);
  if (!memberIds.length) return '';
  const error = errorLine();
  const done = h('p', { class: 'chat-done', role: 'status', hidden: true, 'data-testid': 'readers-ding-done' });
  const control = button(t('chat.dingUnread', { count: memberIds.length }), {
    class: 'btn btn-primary',
    'data-testid': 'readers-ding',
    onclick: () => attempt(error, async () => {
      control.disabled = true;
      try {
        await createDing(chat.get().orgId, { memberIds, text: '', channel: 'app', source: { conversationId: message.conversationId, seq: message.seq } });
      } catch (failure) {
        control.disabled = false;
        throw failure;
      }
      control.hidden = true;
      done.textContent = t('chat.dingSent', { count: memberIds.length });
      done.hidden = false;
    }),
  });
  return h('div', { class: 'chat-readers-ding' }, control, done, error);
}

/** Who has read one of one's messages, and who has not. */
export function showReaders(message) {
  const body = h('div', { class: 'chat-readers' }, h('p', {}, t('common.loading')));
  openDialog(t('chat.readers'), body, 'readers-dialog');
  readers(message.seq).then(
    (result) => body.replaceChildren(
      people(t('chat.readersRead'), result.read, 'readers-read'),
      people(t('chat.readersUnread'), result.unread, 'readers-unread'),
      dingUnread(message, result.unread)),
    (error) => body.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, errorText(error))),
  );
}

/** Forward a message to other conversations (up to 20). */
export function showForward(message) {
  const choices = chat.get().conversations.map((c) => checkbox(c.name, { name: 'conversationIds', value: c.id, 'data-testid': 'forward-target' }));
  const done = h('p', { class: 'chat-done', role: 'status', hidden: true, 'data-testid': 'forward-done' }, t('chat.forwarded'));
  openDialog(t('chat.forwardTitle'), h('div', {},
    form({ class: 'chat-forward', 'data-testid': 'forward-form' }, [
      h('div', { class: 'chat-choices' }, choices),
      h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'forward-submit' }, t('chat.forward')),
    ], async (values, submitter, data) => {
      const ids = data.getAll('conversationIds');
      if (!ids.length) throw Object.assign(new Error('none chosen'), { code: 'chat_pick_conversation' });
      await forward(message.seq, ids);
      done.hidden = false;
    }),
    done), 'forward-dialog');
}

/** The conversation's pinned messages; each opens where it was said, or is unpinned. */
export function showPins(orgId, conversationId) {
  const list = h('ul', { class: 'chat-pins', 'data-testid': 'pins-list' }, h('li', {}, t('common.loading')));
  const error = errorLine();
  openDialog(t('chat.pinnedTitle'), h('div', {}, list, error), 'pins-dialog');
  const render = async () => {
    const items = await pinnedMessages();
    list.replaceChildren(...(items.length ? items.map((m) => h('li', { class: 'chat-pin', 'data-testid': 'pinned-message' },
      h('div', { class: 'chat-pin-text' },
        h('strong', {}, m.sender.name), ' ', h('span', { class: 'chat-note' }, formatDateTime(m.createdAt)),
        h('p', {}, previewText(m))),
      h('div', { class: 'chat-pin-actions' },
        button(t('chat.goTo'), { 'data-testid': 'pin-goto', onclick: () => navigate(`/org/${orgId}/chat/${conversationId}/at/${m.seq}`) }),
        button(t('chat.unpin'), { 'data-testid': 'pin-remove', onclick: () => attempt(error, async () => { await unpin(m.seq); await render(); }) }))))
      : [h('li', { class: 'chat-note' }, t('chat.noPins'))]));
  };
  attempt(error, render);
}
