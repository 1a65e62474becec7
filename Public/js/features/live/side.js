/**
 * A live class's side panel, beside the video (to the right on wide screens, below it on
 * phones): the class's comments and questions, a composer (Enter sends), a questions filter, the
 * teacher's "Mark answered", and the like button with the class's total.
 *
 * `createSidePanel(orgId, liveClassId)` → `{ el, update(c), destroy() }`: the class page places
 * `el` and calls `update(c)` after every fetch of the class. Comments arrive as `live.comment`
 * events (upserted by id: a class in two of one's groups sends each twice) and the total as
 * `live.liked`. Taps on the heart are coalesced into at most one request a second. Every text is
 * a text node, never HTML.
 */
import { h } from '../../core/dom.js';
import { attempt, button, errorLine } from '../../core/forms.js';
import { errorText, formatTime, t } from '../../core/i18n.js';
import { fetchComments, followChat, postComment, sendLikes, setAnswered } from './chat-state.js';

const PAGE = 50;
const LIKE_FLUSH_MS = 1_000;
const MAX_LIKES_PER_REQUEST = 50;
const MAX_LENGTH = 1_000;

export function createSidePanel(orgId, liveClassId) {
  let c = null;
  let questionsOnly = false;
  let asQuestion = false;
  /** id → comment, of the list in view (all, or questions only). */
  const comments = new Map();
  let nextCursor = null;
  let likes = 0;
  let pending = 0;
  let flushTimer = null;
  let loaded = false;
  let closed = false;

  const alert = errorLine();
  const list = h('ol', { class: 'live-comments', 'data-testid': 'live-comments', 'aria-live': 'polite' });
  const empty = h('p', { class: 'live-note', 'data-testid': 'live-comments-empty' }, t('live.chat.empty'));
  const earlier = button(t('live.chat.earlier'), { class: 'btn live-earlier', 'data-testid': 'live-earlier', hidden: true, onclick: () => loadEarlier() });
  const filterAll = button(t('live.chat.all'), { 'data-testid': 'live-filter-all', 'aria-pressed': 'true', onclick: () => setFilter(false) });
  const filterQuestions = button(t('live.chat.questions'), { 'data-testid': 'live-filter-questions', 'aria-pressed': 'false', onclick: () => setFilter(true) });
  const likeCount = h('span', { class: 'live-like-count', 'data-testid': 'live-like-count' }, '0');
  const hearts = h('span', { class: 'live-hearts', 'aria-hidden': 'true' });
  const likeButton = h('button', { type: 'button', class: 'btn live-like', 'data-testid': 'live-like', 'aria-label': t('live.chat.like'), onclick: () => tap() },
    h('span', { 'aria-hidden': 'true' }, '♥'), ' ', likeCount, hearts);
  const input = h('textarea', {
    class: 'live-compose-text', rows: 1, maxlength: MAX_LENGTH, 'data-testid': 'live-compose-text', 'aria-label': t('live.chat.placeholder'),
    placeholder: t('live.chat.placeholder'),
    onkeydown: (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        send();
      }
    },
  });
  const questionToggle = button(t('live.chat.question'), {
    class: 'btn live-question-toggle', 'data-testid': 'live-question-toggle', 'aria-pressed': 'false',
    onclick: () => { asQuestion = !asQuestion; questionToggle.setAttribute('aria-pressed', String(asQuestion)); input.focus(); },
  });
  const sendButton = button(t('live.chat.send'), { class: 'btn btn-primary', 'data-testid': 'live-compose-send', onclick: () => send() });
  const closedNote = h('p', { class: 'live-note', 'data-testid': 'live-chat-closed', hidden: true });
  const composer = h('div', { class: 'live-compose', 'data-testid': 'live-compose' }, input, h('div', { class: 'live-compose-bar' }, questionToggle, sendButton));

  const el = h('aside', { class: 'live-side', 'data-testid': 'live-side', 'aria-label': t('live.chat.title') },
    h('div', { class: 'live-side-head' }, h('h2', {}, t('live.chat.title')), h('div', { class: 'live-filter', role: 'group' }, filterAll, filterQuestions)),
    h('div', { class: 'live-comments-box' }, earlier, empty, list),
    alert, h('div', { class: 'live-side-foot' }, likeButton, closedNote), composer);

  function commentRow(comment) {
    const question = comment.kind === 'question';
    return h('li', {
      class: `live-comment is-${comment.kind}${comment.answered ? ' is-answered' : ''}`, 'data-testid': 'live-comment',
      'data-id': comment.id, 'data-kind': comment.kind, 'data-answered': String(comment.answered),
    },
    h('div', { class: 'live-comment-head' },
      h('span', { class: 'live-comment-author', 'data-testid': 'live-comment-author' }, comment.author.name),
      question && h('span', { class: 'live-badge', 'data-testid': 'live-question-badge' }, t('live.chat.questionBadge')),
      comment.answered && h('span', { class: 'live-badge is-answered', 'data-testid': 'live-answered' }, t('live.chat.answered')),
      h('time', { class: 'live-note', datetime: comment.createdAt }, formatTime(comment.createdAt))),
    h('p', { class: 'live-comment-text', 'data-testid': 'live-comment-text' }, comment.text),
    question && c?.me.canRun && c.state === 'live' && button(t(comment.answered ? 'live.chat.unmark' : 'live.chat.markAnswered'), {
      class: 'btn live-mark', 'data-testid': 'live-mark-answered',
      onclick: () => attempt(alert, async () => upsert(await setAnswered(orgId, liveClassId, comment.id, !comment.answered))),
    }));
  }

  function render() {
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const sorted = [...comments.values()].sort((a, b) => a.seq - b.seq);
    list.replaceChildren(...sorted.map(commentRow));
    empty.hidden = !loaded || sorted.length > 0;
    earlier.hidden = !nextCursor;
    likeCount.textContent = String(likes + pending);
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function renderControls() {
    const live = c?.state === 'live';
    const removed = Boolean(c?.me.removed);
    const paused = Boolean(c?.paused) && !c?.me.canRun;
    const open = live && !removed && !paused;
    composer.hidden = !open;
    likeButton.disabled = !open;
    closedNote.hidden = open || !c;
    closedNote.textContent = removed ? t('live.removedNote') : !live ? t('live.chat.closed') : paused ? t('live.chat.pausedNote') : '';
  }

  function upsert(comment) {
    if (questionsOnly && comment.kind !== 'question') return;
    comments.set(comment.id, comment);
    render();
  }

  /** The latest page afresh (after opening, switching the filter, or reconnecting). */
  function load() {
    if (c?.me.removed) return Promise.resolve();
    const filter = questionsOnly;
    return fetchComments(orgId, liveClassId, { questions: filter, limit: PAGE }).then((page) => {
      if (closed || filter !== questionsOnly) return;
      comments.clear();
      for (const comment of page.items) comments.set(comment.id, comment);
      nextCursor = page.nextCursor ?? null;
      likes = Math.max(likes, page.likes);
      loaded = true;
      render();
      list.scrollTop = list.scrollHeight;
    }, (error) => {
      if (!closed) { alert.textContent = errorText(error); alert.hidden = false; }
    });
  }

  function loadEarlier() {
    if (!nextCursor) return;
    const filter = questionsOnly;
    attempt(alert, async () => {
      const page = await fetchComments(orgId, liveClassId, { questions: filter, cursor: nextCursor, limit: PAGE });
      if (closed || filter !== questionsOnly) return;
      const height = list.scrollHeight;
      for (const comment of page.items) comments.set(comment.id, comment);
      nextCursor = page.nextCursor ?? null;
      render();
      list.scrollTop += list.scrollHeight - height;
    });
  }

  function setFilter(onlyQuestions) {
    if (questionsOnly === onlyQuestions) return;
    questionsOnly = onlyQuestions;
    filterAll.setAttribute('aria-pressed', String(!onlyQuestions));
    filterQuestions.setAttribute('aria-pressed', String(onlyQuestions));
    comments.clear();
    nextCursor = null;
    loaded = false;
    render();
    load();
  }

  function send() {
    const text = input.value.trim();
    if (!text) return;
    const kind = asQuestion ? 'question' : 'comment';
    attempt(alert, async () => {
      sendButton.disabled = true;
      try {
        upsert(await postComment(orgId, liveClassId, kind, text));
        input.value = '';
        asQuestion = false;
        questionToggle.setAttribute('aria-pressed', 'false');
        list.scrollTop = list.scrollHeight;
      } finally {
        sendButton.disabled = false;
      }
    });
  }

  /** A tap: a heart floats up at once; the taps of the next second go in one request. */
  function tap() {
    pending += 1;
    likeCount.textContent = String(likes + pending);
    const heart = h('span', { class: 'live-heart' }, '♥');
    heart.addEventListener('animationend', () => heart.remove());
    hearts.append(heart);
    flushTimer ??= setTimeout(flush, LIKE_FLUSH_MS);
  }

  async function flush() {
    flushTimer = null;
    const count = Math.min(pending, MAX_LIKES_PER_REQUEST);
    if (count === 0 || closed) return;
    pending -= count;
    try {
      const result = await sendLikes(orgId, liveClassId, count);
      likes = Math.max(likes, result.likes);
    } catch (error) {
      alert.textContent = errorText(error);
      alert.hidden = false;
    }
    likeCount.textContent = String(likes + pending);
    if (pending > 0) flushTimer ??= setTimeout(flush, LIKE_FLUSH_MS);
  }

  const unfollow = followChat(liveClassId, {
    comment: upsert,
    liked: (total) => { likes = Math.max(likes, total); likeCount.textContent = String(likes + pending); },
    resync: () => { if (c) load(); },
  });

  return {
    el,
    /** The class as last fetched: who may post, mark and like, and whether it is live. */
    update(next) {
      const first = c == null;
      c = next;
      renderControls();
      if (first) load();
      else render();
    },
    destroy() {
      closed = true;
      unfollow();
      clearTimeout(flushTimer);
    },
  };
}
