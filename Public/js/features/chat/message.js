/** One message of the conversation view (or one pending send): text, quote, attachment, receipt, actions. */
import { h } from '../../core/dom.js';
import { button } from '../../core/forms.js';
import { errorText, formatTime, t } from '../../core/i18n.js';
import { avatar } from '../directory/parts.js';
import { formatSize, systemText } from './format.js';
import { linkify } from './parts.js';
import { chat, myUserId } from './state.js';
import { attachmentUrl, discard, pin, recall, retry, unpin } from './thread.js';

/** How long after sending one may recall a message. */
const RECALL_WINDOW_MS = 24 * 60 * 60 * 1000;

function attachmentView(attachment) {
  const url = attachmentUrl(attachment);
  if (attachment.contentType.startsWith('image/')) {
    return h('a', { class: 'msg-image-link', href: url, target: '_blank', rel: 'noopener noreferrer' },
      h('img', { class: 'msg-image', src: url, alt: attachment.name, width: attachment.width, height: attachment.height, loading: 'lazy', 'data-testid': 'message-image' }));
  }
  return h('a', { class: 'msg-file', href: url, download: attachment.name, 'data-testid': 'message-file' },
    h('span', { class: 'msg-file-name' }, attachment.name), h('span', { class: 'msg-file-size' }, formatSize(attachment.size)));
}

function quoteView(quote, jump) {
  return h('button', { type: 'button', class: 'msg-quote', 'data-testid': 'message-quote', onclick: () => jump(quote.seq) },
    h('span', { class: 'msg-quote-sender' }, quote.sender.name),
    h('span', { class: 'msg-quote-text' }, quote.recalled ? t('chat.recalled') : quote.excerpt));
}

function content(message) {
  if (message.recalled) return h('p', { class: 'msg-recalled', 'data-testid': 'message-recalled' }, t('chat.recalled'));
  return [
    message.attachment && attachmentView(message.attachment),
    message.text && h('p', { class: 'msg-text', 'data-testid': 'message-text' }, linkify(message.text)),
  ];
}

/** "N unread" / "All read" on one's own messages; opens the readers. */
function receipt(message, actions) {
  if (message.unreadCount == null || message.recalled) return null;
  const allRead = message.unreadCount === 0;
  return h('button', {
    type: 'button',
    class: 'msg-receipt',
    'data-state': allRead ? 'read' : 'unread',
    'data-testid': 'receipt',
    onclick: () => actions.readers(message),
  }, allRead ? t('chat.allRead') : t('chat.unreadCount', { count: message.unreadCount }));
}

function actionMenu(message, actions) {
  const own = message.sender.userId === myUserId();
  const canRecall = own && !message.recalled && Date.now() - Date.parse(message.createdAt) < RECALL_WINDOW_MS;
  const item = (label, testId, onclick) => button(label, { class: 'btn msg-action', 'data-testid': testId, onclick });
  const menu = h('div', { class: 'msg-actions', hidden: true, 'data-testid': 'message-actions' },
    !message.recalled && [
      item(t('chat.reply'), 'message-reply', () => actions.reply(message)),
      item(t('chat.forward'), 'message-forward', () => actions.forward(message)),
      item(t('ding.action'), 'message-ding', () => actions.ding(message)),
      message.pinned
        ? item(t('chat.unpin'), 'message-unpin', () => actions.run(() => unpin(message.seq)))
        : item(t('chat.pin'), 'message-pin', () => actions.run(() => pin(message.seq))),
    ],
    canRecall && item(t('chat.recall'), 'message-recall', () => window.confirm(t('chat.recallConfirm')) && actions.run(() => recall(message.seq))));
  const toggle = h('button', {
    type: 'button',
    class: 'msg-more',
    'aria-label': t('chat.actions'),
    'aria-expanded': 'false',
    'data-testid': 'message-more',
    onclick: () => {
      menu.hidden = !menu.hidden;
      toggle.setAttribute('aria-expanded', String(!menu.hidden));
    },
  }, '⋯');
  return menu.childElementCount ? [toggle, menu] : [];
}

/**
 * `kind` is the conversation's (senders are named outside direct chats); `actions`:
 * `{ reply, forward, ding, readers, jump, run }` (run shows a failed action's error).
 */
export function messageView(message, kind, actions) {
  if (message.system?.liveClassId) {
    // A live class for this group: the line opens it.
    return h('li', { class: 'msg-system', 'data-seq': message.seq, 'data-testid': 'message-system' },
      h('a', { href: `#/org/${chat.get().orgId}/live/${message.system.liveClassId}`, 'data-testid': 'message-live-link' }, systemText(message.system)));
  }
  if (message.system) {
    return h('li', { class: 'msg-system', 'data-seq': message.seq, 'data-testid': 'message-system' }, systemText(message.system));
  }
  const own = message.sender.userId === myUserId();
  const group = kind !== 'direct';
  return h('li', { class: `msg${own ? ' is-own' : ''}`, 'data-seq': message.seq, 'data-testid': 'message' },
    group && !own && avatar(message.sender, 'avatar msg-avatar'),
    h('div', { class: 'msg-body' },
      h('div', { class: 'msg-meta' },
        group && !own && h('span', { class: 'msg-sender', 'data-testid': 'message-sender' }, message.sender.name),
        h('time', { class: 'msg-time', datetime: message.createdAt }, formatTime(message.createdAt))),
      h('div', { class: 'msg-bubble' },
        message.forwardedFrom && h('p', { class: 'msg-forwarded' }, t('chat.forwardedFrom', { name: message.forwardedFrom.sender.name })),
        message.replyTo && quoteView(message.replyTo, actions.jump),
        content(message)),
      h('div', { class: 'msg-foot' },
        message.pinned && h('span', { class: 'badge msg-pinned', 'data-testid': 'message-pinned' }, t('chat.pinned')),
        own && receipt(message, actions),
        actionMenu(message, actions))));
}

/** One's message on its way: "sending…", or not sent with retry. */
export function pendingView(item) {
  const failed = item.status === 'failed';
  return h('li', { class: 'msg is-own is-pending', 'data-state': item.status, 'data-testid': 'message-pending' },
    h('div', { class: 'msg-body' },
      h('div', { class: 'msg-bubble' },
        item.replyTo && h('p', { class: 'msg-quote' }, h('span', { class: 'msg-quote-sender' }, item.replyTo.sender.name)),
        item.file ? h('p', { class: 'msg-file' }, item.file.name) : h('p', { class: 'msg-text' }, item.text)),
      h('div', { class: 'msg-foot' },
        failed
          ? [
            h('span', { class: 'msg-failed', role: 'alert' }, t('chat.notSent'), item.error ? ` — ${errorText(item.error)}` : ''),
            button(t('common.retry'), { class: 'btn msg-action', 'data-testid': 'message-retry', onclick: () => retry(item.clientKey) }),
            button(t('chat.discard'), { class: 'btn msg-action', onclick: () => discard(item.clientKey) }),
          ]
          : h('span', { class: 'msg-sending', 'data-testid': 'message-sending' }, t('chat.sending')))));
}
