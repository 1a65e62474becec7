/**
 * Live classes: a group's classes with the form to start or schedule one (for one or several
 * groups at once), and a class's page — its state, the teacher's controls (start, end, cancel,
 * lock, pause), raised hands and speakers, and who watched for how long.
 *
 * The video and sound are the stage's (`stage.js`). An open class page is fetched afresh on every
 * `live.updated` event of the class and after reconnecting.
 */
import { h } from '../../core/dom.js';
import { attempt, button, checkbox, errorLine, field, form } from '../../core/forms.js';
import { errorText, formatDateTime, t } from '../../core/i18n.js';
import { navigate } from '../../core/router.js';
import { session } from '../auth/state.js';
import { chat, conversationById, isManager, myUserId } from '../chat/state.js';
import { isAdmin, membership } from '../orgs/state.js';
import { createSidePanel } from './side.js';
import { createStage } from './stage.js';
import {
  createClass, endTurn, muteAll, fetchClass, fetchHands, fetchStatistics, letSpeak, listClasses, lowerHand, raiseHand,
  followClass, removeParticipant, setControls, statisticsExport, transition,
} from './state.js';

const classPath = (orgId, id) => `#/org/${orgId}/live/${id}`;

function stateBadge(state) {
  return h('span', { class: `live-state is-${state}`, 'data-testid': 'live-state', 'data-state': state }, t(`live.state.${state}`));
}

function whenText(c) {
  if (c.state === 'live' && c.startedAt) return t('live.startedAt', { time: formatDateTime(c.startedAt) });
  if (c.state === 'scheduled' && c.scheduledAt) return t('live.scheduledFor', { time: formatDateTime(c.scheduledAt) });
  if (c.endedAt) return t('live.endedAt', { time: formatDateTime(c.endedAt) });
  return '';
}

/** Whether the person may start classes for `conversation`: teachers, admins, the group's managers. */
function mayTeach(orgId, conversation) {
  const me = membership(orgId)?.member;
  return Boolean(me?.capabilities?.includes('teacher') || isAdmin(orgId) || isManager(conversation));
}

function createForm(orgId, conversation) {
  const groups = chat.get().conversations.filter((c) => c.kind !== 'direct');
  const when = h('input', { type: 'datetime-local', name: 'at', 'data-testid': 'live-at' });
  return form({ class: 'live-create', 'data-testid': 'live-create' }, [
    h('h2', {}, t('live.create.title')),
    field(t('live.create.name'), h('input', { name: 'title', required: true, maxlength: 200, 'data-testid': 'live-title' })),
    h('fieldset', { class: 'live-groups' },
      h('legend', {}, t('live.create.groups')),
      groups.map((g) => checkbox(g.name, { name: 'groups', value: g.id, checked: g.id === conversation.id, 'data-testid': 'live-group' }))),
    h('fieldset', { class: 'live-when' },
      h('legend', {}, t('live.create.when')),
      h('label', { class: 'check' }, h('input', { type: 'radio', name: 'start', value: 'now', checked: true, 'data-testid': 'live-now' }), h('span', {}, t('live.create.now'))),
      h('label', { class: 'check' }, h('input', { type: 'radio', name: 'start', value: 'later', 'data-testid': 'live-later' }), h('span', {}, t('live.create.later'))),
      when),
    field(t('live.create.speakers'), h('input', { type: 'number', name: 'maxSpeakers', min: 1, max: 8, value: 4, 'data-testid': 'live-speakers' })),
    h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'live-create-submit' }, t('live.create.submit')),
  ], async (values, _submitter, data) => {
    const later = values.start === 'later';
    if (later && !values.at) throw Object.assign(new Error('no time'), { code: 'live_no_time' });
    const created = await createClass(orgId, {
      title: values.title ?? '',
      groupIds: data.getAll('groups'),
      startNow: !later,
      scheduledAt: later ? new Date(values.at).toISOString() : undefined,
      maxSpeakers: Number(values.maxSpeakers) || undefined,
    });
    navigate(`/org/${orgId}/live/${created.id}`);
  });
}

/** `/org/:orgId/chat/:conversationId/live`: the group's classes. */
export function liveListPage(root, { orgId, conversationId }) {
  const list = h('ul', { class: 'live-list', 'data-testid': 'live-list' });
  const status = h('p', { class: 'live-note', role: 'status' }, t('common.loading'));
  const slot = h('div');
  root.append(h('section', { class: 'live', 'data-testid': 'live-list-page' },
    h('a', { class: 'live-back', href: `#/org/${orgId}/chat/${conversationId}` }, t('live.backToChat')),
    h('h1', { class: 'live-title' }, t('live.listTitle')), slot, status, list));
  const showForm = () => {
    const conversation = conversationById(conversationId);
    if (conversation && mayTeach(orgId, conversation) && !slot.firstChild) slot.append(createForm(orgId, conversation));
  };
  showForm();
  // The conversation (with one's role in it) and one's capabilities may land after the page.
  const unsubscribe = [chat.subscribe(showForm), session.subscribe(showForm)];
  listClasses(orgId, conversationId).then((classes) => {
    status.textContent = classes.length ? '' : t('live.none');
    list.replaceChildren(...classes.map((c) => h('li', { class: 'live-item', 'data-testid': 'live-item' },
      h('a', { href: classPath(orgId, c.id), 'data-testid': 'live-item-link' }, c.title),
      stateBadge(c.state), h('span', { class: 'live-note' }, ` ${whenText(c)}`))));
  }, (error) => { status.textContent = errorText(error); });
  return () => unsubscribe.forEach((stop) => stop());
}

/** Runs a button's action, shows its failure in `alert`, and fetches the class afresh. */
const runner = (alert, update) => (action) => attempt(alert, async () => { await action(); update(); });

function handRow(orgId, c, hand, run) {
  const userId = hand.person.userId;
  return h('li', { class: `live-hand is-${hand.state}`, 'data-testid': 'live-hand', 'data-state': hand.state },
    h('span', { class: 'live-hand-name', 'data-testid': 'live-hand-name' }, hand.person.name),
    h('span', { class: 'live-note' }, t(`live.hand.${hand.state}`)),
    c.me.canRun && (hand.state === 'raised'
      ? button(t('live.hand.letSpeak'), { 'data-testid': 'live-let-speak', onclick: () => run(() => letSpeak(orgId, c.id, userId)) })
      : button(t('live.hand.endTurn'), { 'data-testid': 'live-end-turn', onclick: () => run(() => endTurn(orgId, c.id, userId)) })),
    c.me.canRun && button(t('live.remove'), { class: 'btn btn-danger', 'data-testid': 'live-remove', onclick: () => run(() => removeParticipant(orgId, c.id, userId)) }));
}

function teacherControls(orgId, c, run) {
  const act = (name) => button(t(`live.action.${name}`), {
    class: name === 'start' ? 'btn btn-primary' : 'btn', 'data-testid': `live-${name}`, onclick: () => run(() => transition(orgId, c.id, name)),
  });
  const running = c.state === 'live';
  return h('div', { class: 'live-controls', 'data-testid': 'live-controls' },
    c.state === 'scheduled' && act('start'),
    c.state === 'scheduled' && act('cancel'),
    c.state === 'live' && act('end'),
    running && button(t(c.locked ? 'live.unlock' : 'live.lock'), {
      'data-testid': 'live-lock', 'aria-pressed': String(c.locked), onclick: () => run(() => setControls(orgId, c.id, { locked: !c.locked })),
    }),
    running && button(t(c.paused ? 'live.resume' : 'live.pause'), {
      'data-testid': 'live-pause', 'aria-pressed': String(c.paused), onclick: () => run(() => setControls(orgId, c.id, { paused: !c.paused })),
    }));
}

function statisticsView(orgId, c, stats) {
  const labels = [t('live.stats.name'), t('live.stats.watched'), t('live.stats.live'), t('live.stats.replay'), t('live.stats.minutes')];
  return h('section', { class: 'live-stats', 'data-testid': 'live-stats' },
    h('h2', {}, t('live.stats.title')),
    h('table', { class: 'live-table' },
      h('thead', {}, h('tr', {}, labels.map((l) => h('th', {}, l)))),
      h('tbody', {}, stats.items.map((r) => h('tr', { 'data-testid': 'live-stats-row' },
        h('td', { 'data-testid': 'live-stats-name' }, r.person.name),
        h('td', { 'data-testid': 'live-stats-watched', 'data-watched': r.watched }, t(`live.watched.${r.watched}`)),
        h('td', {}, String(Math.round(r.liveSeconds / 60))),
        h('td', {}, String(Math.round(r.replaySeconds / 60))),
        h('td', { 'data-testid': 'live-stats-minutes' }, String(r.minutes)))))),
    h('div', { class: 'live-controls' },
      h('a', { class: 'btn', href: statisticsExport(orgId, c.id, 'csv'), download: '', 'data-testid': 'live-stats-csv' }, t('live.stats.csv')),
      h('a', { class: 'btn', href: statisticsExport(orgId, c.id, 'xlsx'), download: '', 'data-testid': 'live-stats-xlsx' }, t('live.stats.xlsx'))));
}

/** `/org/:orgId/live/:liveClassId`: one class. */
export function liveClassPage(root, { orgId, liveClassId }) {
  const body = h('div', { class: 'live-body' }, h('p', { class: 'live-note', role: 'status' }, t('common.loading')));
  const alert = errorLine();
  root.append(h('section', { class: 'live', 'data-testid': 'live-class-page' }, alert, body));
  let closed = false;
  const stage = createStage(orgId, liveClassId, { onStale: () => update() });
  const side = createSidePanel(orgId, liveClassId);
  // One element for the page's life: the video keeps playing when the rest is rendered again.
  const room = h('div', { class: 'live-room' }, stage.el, side.el);

  async function refresh() {
    const c = await fetchClass(orgId, liveClassId);
    const [hands, stats] = await Promise.all([
      c.state === 'live' ? fetchHands(orgId, c.id) : [],
      c.me.seesStatistics ? fetchStatistics(orgId, c.id) : null,
    ]);
    if (closed) return;
    stage.update(c, hands);
    side.update(c);
    const mine = hands.find((hand) => hand.person.userId === myUserId());
    const run = runner(alert, update);
    const group = c.groupIds.map((id) => conversationById(id)?.name).filter(Boolean).join(t('chat.nameSeparator'));
    // `replaceChildren` takes nodes only: the conditional parts are filtered here (as `h` does).
    body.replaceChildren(...[
      h('a', { class: 'live-back', href: c.groupIds[0] ? `#/org/${orgId}/chat/${c.groupIds[0]}` : `#/org/${orgId}/chat` }, t('live.backToChat')),
      h('h1', { class: 'live-title', 'data-testid': 'live-class-title' }, c.title),
      h('p', { class: 'live-meta' }, stateBadge(c.state), ' ', t('live.teacher', { name: c.teacher.name }), ' · ', whenText(c),
        group && h('span', { class: 'live-groups-line' }, ` · ${group}`)),
      room,
      c.locked && h('p', { class: 'live-flag', 'data-testid': 'live-locked' }, t('live.lockedNote')),
      c.paused && h('p', { class: 'live-flag', 'data-testid': 'live-paused' }, t('live.pausedNote')),
      c.me.removed && h('p', { class: 'live-flag', 'data-testid': 'live-removed' }, t('live.removedNote')),
      c.me.canRun && teacherControls(orgId, c, run),
      c.state === 'live' && h('section', { class: 'live-hands' },
        h('h2', {}, t('live.hands')),
        c.me.canRun && hands.some((hand) => hand.state === 'speaking')
          && button(t('live.muteAll'), { 'data-testid': 'live-mute-all', onclick: () => run(() => muteAll(orgId, c.id)) }),
        c.me.role !== 'teacher' && !c.me.removed && (mine
          ? button(t(mine.state === 'speaking' ? 'live.hand.stop' : 'live.hand.lower'), {
            'data-testid': 'live-lower-hand', onclick: () => run(() => lowerHand(orgId, c.id)),
          })
          : button(t('live.hand.raise'), { class: 'btn btn-primary', 'data-testid': 'live-raise-hand', disabled: c.paused, onclick: () => run(() => raiseHand(orgId, c.id)) })),
        hands.length
          ? h('ul', { class: 'live-hand-list', 'data-testid': 'live-hands' }, hands.map((hand) => handRow(orgId, c, hand, run)))
          : h('p', { class: 'live-note' }, t('live.noHands'))),
      stats && statisticsView(orgId, c, stats),
    ].filter((part) => part != null && part !== false));
  }

  // Refreshes one at a time; a change during one fetches once more after it.
  let running = null;
  let again = false;
  function update() {
    if (running) { again = true; return; }
    running = refresh().catch((error) => {
      if (!closed) body.replaceChildren(h('p', { class: 'form-error', role: 'alert', 'data-testid': 'live-error' }, errorText(error)));
    }).finally(() => {
      running = null;
      if (again && !closed) { again = false; update(); }
    });
  }
  update();
  const unfollow = followClass(liveClassId, update);
  return () => { closed = true; unfollow(); stage.destroy(); side.destroy(); };
}
