/**
 * The message composer: text with @mention autocomplete (members of the conversation; @all for
 * group owners and admins), the message being replied to, and image or file uploads.
 */
import { h } from '../../core/dom.js';
import { button } from '../../core/forms.js';
import { t } from '../../core/i18n.js';
import { conversationById, isManager, myUserId } from './state.js';
import { send, thread } from './thread.js';

const MAX_OPTIONS = 8;
const ALL = 'all';
/** The `@word` being typed just before the caret. */
const MENTION_QUERY = /(?:^|\s)@([^\s@]{0,40})$/;

export function composerView(conversationId) {
  const chosen = new Map();
  let replyTo = null;
  let options = [];
  let active = 0;

  const input = h('textarea', {
    class: 'composer-input',
    rows: 1,
    placeholder: t('chat.placeholder'),
    title: t('chat.enterHint'),
    'aria-label': t('chat.placeholder'),
    'data-testid': 'composer-input',
  });
  const mentionList = h('ul', { class: 'composer-mentions', role: 'listbox', hidden: true, 'data-testid': 'mention-list' });
  const replyBar = h('div', { class: 'composer-reply', hidden: true, 'data-testid': 'composer-reply' });
  const file = h('input', { type: 'file', class: 'composer-file', multiple: true, 'data-testid': 'composer-file' });

  const allLabel = () => `@${t('chat.everyone')}`;

  function showReply(message) {
    replyTo = message;
    replyBar.hidden = !message;
    if (message) {
      replyBar.replaceChildren(
        h('span', { class: 'composer-reply-text' }, t('chat.replyingTo', { name: message.sender.name })),
        button(t('common.cancel'), { class: 'btn composer-reply-cancel', 'data-testid': 'composer-reply-cancel', onclick: () => showReply(null) }));
      input.focus();
    }
  }

  function mentionCandidates(query) {
    const needle = query.toLowerCase();
    const members = thread.get().members.filter((m) => m.userId !== myUserId() && m.name.toLowerCase().includes(needle))
      .map((m) => ({ id: m.userId, label: `@${m.name}`, name: m.name }));
    const everyone = isManager(conversationById(conversationId)) && (ALL.startsWith(needle) || t('chat.everyone').toLowerCase().includes(needle));
    return [...(everyone ? [{ id: ALL, label: allLabel(), name: t('chat.everyone') }] : []), ...members].slice(0, MAX_OPTIONS);
  }

  function renderOptions() {
    mentionList.hidden = !options.length;
    mentionList.replaceChildren(...options.map((option, i) => h('li', {
      class: 'composer-mention',
      role: 'option',
      'aria-selected': String(i === active),
      'data-testid': 'mention-option',
      onmousedown: (event) => {
        event.preventDefault();
        pick(option);
      },
    }, option.label)));
  }

  function updateMentions() {
    const match = MENTION_QUERY.exec(input.value.slice(0, input.selectionStart));
    options = match ? mentionCandidates(match[1]) : [];
    active = 0;
    renderOptions();
  }

  function pick(option) {
    const caret = input.selectionStart;
    const before = input.value.slice(0, caret).replace(/@[^\s@]*$/, `${option.label} `);
    input.value = before + input.value.slice(caret);
    input.setSelectionRange(before.length, before.length);
    chosen.set(option.label, option.id);
    options = [];
    renderOptions();
    input.focus();
  }

  function submit() {
    const text = input.value.trim();
    if (!text) return;
    const mentioned = [...chosen].filter(([label]) => text.includes(label)).map(([, id]) => id);
    send({
      text,
      mentions: [...new Set(mentioned.filter((id) => id !== ALL))],
      mentionAll: mentioned.includes(ALL),
      replyTo,
    });
    input.value = '';
    chosen.clear();
    showReply(null);
    resize();
  }

  function resize() {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
  }

  input.addEventListener('input', () => {
    resize();
    updateMentions();
  });
  input.addEventListener('keydown', (event) => {
    if (event.isComposing || event.keyCode === 229) return;
    if (options.length && ['ArrowDown', 'ArrowUp'].includes(event.key)) {
      event.preventDefault();
      active = (active + (event.key === 'ArrowDown' ? 1 : options.length - 1)) % options.length;
      renderOptions();
    } else if (options.length && (event.key === 'Enter' || event.key === 'Tab')) {
      event.preventDefault();
      pick(options[active]);
    } else if (options.length && event.key === 'Escape') {
      options = [];
      renderOptions();
    } else if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      submit();
    }
  });
  input.addEventListener('blur', () => {
    options = [];
    renderOptions();
  });
  file.addEventListener('change', () => {
    for (const chosenFile of file.files) send({ file: chosenFile, replyTo });
    file.value = '';
    showReply(null);
  });

  const el = h('div', { class: 'composer', 'data-testid': 'composer' },
    replyBar,
    mentionList,
    h('div', { class: 'composer-row' },
      h('label', { class: 'btn composer-attach', title: t('chat.attach') }, h('span', { class: 'composer-attach-label' }, t('chat.attach')), file),
      input,
      button(t('chat.send'), { class: 'btn btn-primary composer-send', 'data-testid': 'composer-send', onclick: submit })));
  return { el, reply: showReply };
}
