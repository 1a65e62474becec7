/**
 * The open conversation: its header, the messages (older ones load as one scrolls up; day
 * separators), and the composer. Messages shown on screen while the tab is visible are marked read.
 */
import { h } from '../../core/dom.js';
import { attempt, button, errorLine } from '../../core/forms.js';
import { errorText, formatDate, t } from '../../core/i18n.js';
import { navigate } from '../../core/router.js';
import { watch } from '../../core/store.js';
import { showNewDing } from '../ding/compose.js';
import { composerView } from './composer.js';
import { showForward, showPins, showReaders } from './dialogs.js';
import { dayOf } from './format.js';
import { showGroupSettings } from './groups.js';
import { messageView, pendingView } from './message.js';
import { chat, conversationById } from './state.js';
import { closeThread, loadNewer, loadOlder, markShown, openThread, showLatest, thread } from './thread.js';

/** How close to an end (in pixels) counts as being there. */
const NEAR = 160;

function header(orgId, conversation) {
  if (!conversation) return [];
  const direct = conversation.kind === 'direct';
  return [
    h('a', { class: 'conv-back', href: `#/org/${orgId}/chat`, 'data-testid': 'conversation-back' }, t('chat.back')),
    h('div', { class: 'conv-title' },
      h('h2', { class: 'conv-name', 'data-testid': 'conversation-title' }, conversation.name),
      !direct && h('span', { class: 'conv-sub' }, t('chat.memberCount', { count: conversation.memberCount }))),
    h('div', { class: 'conv-tools' },
      !direct && h('a', { class: 'btn', href: `#/org/${orgId}/chat/${conversation.id}/live`, 'data-testid': 'conversation-live' }, t('live.open')),
      button(t('chat.pinnedTitle'), { 'data-testid': 'conversation-pins', onclick: () => showPins(orgId, conversation.id) }),
      direct
        ? conversation.peer?.memberId && h('a', { class: 'btn', href: `#/org/${orgId}/member/${conversation.peer.memberId}` }, t('chat.profile'))
        : button(t('chat.groupSettings'), { 'data-testid': 'conversation-settings', onclick: () => showGroupSettings(orgId, conversation) })),
  ];
}

export function conversationView(orgId, conversationId, focusSeq) {
  openThread(orgId, conversationId, focusSeq);
  const composer = composerView(conversationId);
  const alert = errorLine();
  const head = h('header', { class: 'conv-head' });
  const top = h('p', { class: 'conv-edge', 'data-testid': 'history-status' });
  const items = h('ol', { class: 'conv-items', 'data-testid': 'messages' });
  const latest = button(t('chat.latest'), { class: 'btn conv-latest', hidden: true, 'data-testid': 'jump-latest', onclick: showLatest });
  const scroller = h('div', { class: 'conv-scroll', 'data-testid': 'message-scroll' }, top, items, latest);
  const gone = h('p', { class: 'conv-gone', role: 'status', hidden: true, 'data-testid': 'conversation-gone' }, t('chat.gone'));
  const el = h('section', { class: 'conv', 'data-testid': 'conversation' }, head, alert, scroller, gone, composer.el);

  const jump = (seq) => {
    const target = items.querySelector(`[data-seq="${seq}"]`);
    if (!target) return navigate(`/org/${orgId}/chat/${conversationId}/at/${seq}`);
    target.scrollIntoView({ block: 'center' });
    return flash(target);
  };
  const ding = (message) => showNewDing(orgId, { source: { conversationId, seq: message.seq }, conversation: conversationById(conversationId) });
  const actions = { reply: composer.reply, forward: showForward, ding, readers: showReaders, jump, run: (action) => attempt(alert, action) };

  // Read receipts: what is on screen while the tab is visible.
  const onScreen = new Set();
  const markVisible = () => {
    if (document.visibilityState === 'visible' && onScreen.size) markShown(Math.max(...onScreen));
  };
  const reads = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      const seq = Number(entry.target.dataset.seq);
      const shown = entry.isIntersecting && (entry.intersectionRatio >= 0.5 || entry.intersectionRect.height >= entry.rootBounds.height / 2);
      if (shown) onScreen.add(seq);
      else onScreen.delete(seq);
    }
    markVisible();
  }, { root: scroller, threshold: [0, 0.5, 1] });
  document.addEventListener('visibilitychange', markVisible);

  let rendered = new Map();
  let placed = false;
  let firstSeq = null;
  let pendingCount = 0;
  const kind = () => conversationById(conversationId)?.kind;

  function keep(next, key, value, build) {
    const known = rendered.get(key);
    const el = known && known.value === value && known.kind === kind() ? known.el : build();
    next.set(key, { value, el, kind: kind() });
    return el;
  }

  function renderItems(messages, pending) {
    const next = new Map();
    const children = [];
    let day = null;
    for (const message of messages) {
      const messageDay = dayOf(message.createdAt);
      if (messageDay !== day) {
        day = messageDay;
        children.push(keep(next, `day:${day}`, day, () => h('li', { class: 'conv-day', 'data-testid': 'day-separator' }, h('span', {}, formatDate(message.createdAt)))));
      }
      children.push(keep(next, `seq:${message.seq}`, message, () => messageView(message, kind(), actions)));
    }
    for (const item of pending) children.push(keep(next, `key:${item.clientKey}`, item, () => pendingView(item)));
    for (const [key, { el }] of rendered) {
      if (next.get(key)?.el !== el && key.startsWith('seq:')) {
        reads.unobserve(el);
        onScreen.delete(Number(key.slice(4)));
      }
    }
    for (const [key, { el }] of next) if (key.startsWith('seq:') && rendered.get(key)?.el !== el) reads.observe(el);
    rendered = next;
    items.replaceChildren(...children);
  }

  function render({ messages, pending, loading, error, hasBefore, hasAfter, focusSeq: focus }) {
    const nearBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR;
    const before = { height: scroller.scrollHeight, top: scroller.scrollTop };
    renderItems(messages, pending);
    latest.hidden = !hasAfter;
    if (error) top.textContent = errorText(error);
    else if (loading) top.textContent = t('common.loading');
    else top.textContent = hasBefore ? '' : t('chat.historyStart');

    if (loading && !messages.length) {
      placed = false;
    } else if (!placed) {
      placed = true;
      const target = focus && items.querySelector(`[data-seq="${focus}"]`);
      if (target) {
        target.scrollIntoView({ block: 'center' });
        flash(target);
      } else scroller.scrollTop = scroller.scrollHeight;
    } else if (firstSeq != null && messages[0]?.seq < firstSeq) {
      scroller.scrollTop = before.top + scroller.scrollHeight - before.height;
    } else if (nearBottom || pending.length > pendingCount) {
      scroller.scrollTop = scroller.scrollHeight;
    }
    firstSeq = messages[0]?.seq ?? null;
    pendingCount = pending.length;
    if (placed && !loading) fillView(hasBefore, hasAfter);
  }

  /** Loads more history while the view is not full or an end is in sight. */
  function fillView(hasBefore, hasAfter) {
    if (hasBefore && scroller.scrollTop < NEAR) loadOlder();
    else if (hasAfter && scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR) loadNewer();
  }

  scroller.addEventListener('scroll', () => {
    const { hasBefore, hasAfter, loading } = thread.get();
    if (placed && !loading) fillView(hasBefore, hasAfter);
  });
  // Images change the height once loaded: stay at the bottom if that is where one was.
  items.addEventListener('load', () => {
    if (!thread.get().focusSeq && scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR * 3) scroller.scrollTop = scroller.scrollHeight;
  }, true);

  const unwatchThread = watch(thread, (s) => [s.messages, s.pending, s.loading, s.error, s.hasBefore, s.hasAfter], () => render(thread.get()));
  const unwatchChat = watch(chat, (s) => [conversationById(conversationId), s.loaded], ([conversation, loaded]) => {
    head.replaceChildren(...header(orgId, conversation).filter(Boolean));
    const missing = loaded && !conversation;
    gone.hidden = !missing;
    composer.el.hidden = missing;
  });
  return {
    el,
    destroy() {
      unwatchThread();
      unwatchChat();
      reads.disconnect();
      document.removeEventListener('visibilitychange', markVisible);
      closeThread();
    },
  };
}

function flash(el) {
  el.classList.add('is-focus');
  el.addEventListener('animationend', () => el.classList.remove('is-focus'), { once: true });
}
