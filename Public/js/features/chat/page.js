/**
 * The chat screen: the conversation list beside the open conversation (on narrow screens, one
 * or the other). `#/org/:orgId/chat/with/:memberId` opens the 1:1 chat with a member.
 */
import { h } from '../../core/dom.js';
import { errorText, t } from '../../core/i18n.js';
import { navigate } from '../../core/router.js';
import { conversationView } from './conversation.js';
import { conversationListView } from './list.js';
import { openDirect } from './state.js';

function directOpener(orgId, memberId) {
  const el = h('p', { class: 'chat-placeholder', role: 'status', 'data-testid': 'chat-opening' }, t('common.loading'));
  openDirect(orgId, memberId).then(
    (conversation) => navigate(`/org/${orgId}/chat/${conversation.id}`, { replace: true }),
    (error) => {
      el.textContent = errorText(error);
    },
  );
  return { el, destroy: () => {} };
}

function placeholder() {
  return { el: h('p', { class: 'chat-placeholder', 'data-testid': 'chat-empty' }, t('chat.choose')), destroy: () => {} };
}

export function chatPage(root, { orgId, conversationId, seq, memberId }) {
  const list = conversationListView(orgId, conversationId);
  let pane = placeholder();
  if (memberId) pane = directOpener(orgId, memberId);
  else if (conversationId) pane = conversationView(orgId, conversationId, seq ? Number(seq) : null);
  root.append(h('section', { class: `chat${conversationId || memberId ? ' is-open' : ''}`, 'data-testid': 'chat' }, list.el, pane.el));
  return () => {
    list.destroy();
    pane.destroy();
  };
}
