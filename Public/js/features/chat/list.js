/** The conversation list (most recent first) with message search, new chat / group, notifications. */
import { debounce, h } from '../../core/dom.js';
import { button } from '../../core/forms.js';
import { errorText, formatDate, formatTime, t } from '../../core/i18n.js';
import { watch } from '../../core/store.js';
import { avatar } from '../directory/parts.js';
import { dayOf, previewText } from './format.js';
import { showNewChat, showNewGroup } from './groups.js';
import { askForNotifications, canAskForNotifications } from './notify.js';
import { highlight } from './parts.js';
import { chat, myUserId, searchMessages } from './state.js';

function when(iso) {
  return dayOf(iso) === dayOf(new Date().toISOString()) ? formatTime(iso) : formatDate(iso);
}

function preview(conversation) {
  const last = conversation.lastMessage;
  if (!last) return '';
  const byOther = conversation.kind !== 'direct' && !last.system && !last.recalled && last.sender.userId !== myUserId();
  return byOther ? `${last.sender.name}: ${previewText(last)}` : previewText(last);
}

function row(orgId, conversation, selectedId) {
  return h('li', {},
    h('a', {
      class: 'clist-row',
      href: `#/org/${orgId}/chat/${conversation.id}`,
      'aria-current': conversation.id === selectedId ? 'page' : null,
      'data-testid': 'conversation',
      'data-conversation-id': conversation.id,
      'data-kind': conversation.kind,
    },
    avatar(conversation),
    h('span', { class: 'clist-text' },
      h('span', { class: 'clist-top' },
        h('span', { class: 'clist-name', 'data-testid': 'conversation-name' }, conversation.name),
        conversation.kind === 'department' && h('span', { class: 'badge' }, t('chat.departmentGroup')),
        h('span', { class: 'clist-time' }, conversation.lastMessage ? when(conversation.lastMessage.createdAt) : '')),
      h('span', { class: 'clist-bottom' },
        conversation.mentioned && h('span', { class: 'clist-mention', 'data-testid': 'conversation-mentioned' }, t('chat.mentionedMarker')),
        h('span', { class: 'clist-preview', 'data-testid': 'conversation-preview' }, preview(conversation)),
        conversation.unreadCount > 0 && h('span', {
          class: 'clist-unread', 'aria-label': t('chat.unreadMessages', { count: conversation.unreadCount }), 'data-testid': 'conversation-unread',
        }, conversation.unreadCount > 99 ? '99+' : String(conversation.unreadCount))))));
}

function resultRow(orgId, hit, query) {
  return h('li', {},
    h('a', { class: 'clist-row clist-hit', href: `#/org/${orgId}/chat/${hit.conversationId}/at/${hit.message.seq}`, 'data-testid': 'search-result' },
      h('span', { class: 'clist-text' },
        h('span', { class: 'clist-top' },
          h('span', { class: 'clist-name' }, hit.conversationName),
          h('span', { class: 'clist-time' }, when(hit.message.createdAt))),
        h('span', { class: 'clist-hit-sender' }, hit.message.sender.name),
        h('span', { class: 'clist-hit-text', 'data-testid': 'search-result-text' }, highlight(previewText(hit.message), query)))));
}

function notificationControl() {
  if (!canAskForNotifications()) return '';
  const control = button(t('chat.enableNotifications'), {
    class: 'btn clist-notify',
    'data-testid': 'enable-notifications',
    onclick: async () => {
      await askForNotifications();
      control.remove();
    },
  });
  return control;
}

export function conversationListView(orgId, selectedId) {
  const list = h('ul', { class: 'clist', 'data-testid': 'conversation-list' });
  const status = h('p', { class: 'clist-status', role: 'status', 'data-testid': 'conversation-status' });
  const results = h('ul', { class: 'clist', hidden: true, 'data-testid': 'search-results' });
  let searchRequest = 0;
  const showResults = (shown) => {
    results.hidden = !shown;
    list.hidden = shown;
  };
  const runSearch = debounce(async (q) => {
    const request = ++searchRequest;
    showResults(Boolean(q));
    results.replaceChildren();
    status.textContent = q ? t('common.loading') : '';
    if (!q) return;
    try {
      const hits = await searchMessages(orgId, q);
      if (request !== searchRequest) return;
      results.replaceChildren(...hits.map((hit) => resultRow(orgId, hit, q)));
      status.textContent = hits.length ? '' : t('chat.noResults');
    } catch (error) {
      if (request === searchRequest) status.textContent = errorText(error);
    }
  }, 300);
  const search = h('input', {
    type: 'search',
    class: 'clist-search',
    placeholder: t('chat.search'),
    'aria-label': t('chat.search'),
    'data-testid': 'chat-search',
    oninput: () => runSearch(search.value.trim()),
  });
  const el = h('aside', { class: 'clist-pane', 'aria-label': t('chat.conversations') },
    h('div', { class: 'clist-head' },
      h('h1', { class: 'clist-title' }, t('nav.chat')),
      button(t('chat.newChat'), { 'data-testid': 'new-chat', onclick: () => showNewChat(orgId) }),
      button(t('chat.newGroup'), { 'data-testid': 'new-group', onclick: () => showNewGroup(orgId) })),
    notificationControl(),
    search, status, list, results);
  const unwatch = watch(chat, (s) => [s.conversations, s.loaded, s.error], ([conversations, loaded, error]) => {
    list.replaceChildren(...conversations.map((c) => row(orgId, c, selectedId)));
    if (search.value.trim()) return;
    if (error) status.textContent = errorText(error);
    else if (!conversations.length) status.textContent = loaded ? t('chat.noConversations') : t('common.loading');
    else status.textContent = '';
  });
  return { el, destroy: unwatch };
}
