/**
 * The new-DING form (a dialog): recipients, text, channel (SMS and call only when the
 * organisation's gateway is available; otherwise disabled with the reason), now or a minute in
 * the future. From a message, its conversation's members are the choice (a 1:1 chat's peer is
 * the recipient) and the message is the source (its text is the default).
 */
import { h } from '../../core/dom.js';
import { field, form } from '../../core/forms.js';
import { errorText, t } from '../../core/i18n.js';
import { navigate } from '../../core/router.js';
import { memberPicker } from '../chat/groups.js';
import { openDialog } from '../chat/parts.js';
import { listConversationMembers } from '../chat/state.js';
import { channelName, problemText } from './format.js';
import { createDing, fetchPolicy } from './state.js';

const CHANNELS = ['app', 'sms', 'call'];

/** `YYYY-MM-DDTHH:MM` in local time, as a datetime-local input reads it. */
function localMinute(date) {
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** The channel choice; SMS and call stay disabled until the policy says their provider is there. */
function channelChoice(orgId) {
  const options = CHANNELS.map((channel) => {
    const input = h('input', { type: 'radio', name: 'channel', value: channel, checked: channel === 'app', disabled: channel !== 'app', 'data-testid': `ding-channel-${channel}` });
    const reason = h('span', { class: 'ding-channel-reason', 'data-testid': `ding-channel-reason-${channel}` }, channel === 'app' ? '' : t('common.loading'));
    return { channel, input, reason, el: h('label', { class: 'check ding-channel' }, input, h('span', {}, channelName(channel)), reason) };
  });
  fetchPolicy(orgId).then(({ providers }) => {
    for (const { channel, input, reason } of options) {
      if (channel === 'app') continue;
      const provider = providers.find((p) => p.channel === channel);
      input.disabled = !provider?.available;
      reason.textContent = provider?.available ? '' : t('ding.unavailable', { reason: provider?.reason ?? '' });
    }
  }, (error) => options.forEach(({ channel, reason }) => channel !== 'app' && (reason.textContent = errorText(error))));
  return h('fieldset', { class: 'ding-choice', 'data-testid': 'ding-channels' }, h('legend', { class: 'field-label' }, t('ding.channel')), options.map((o) => o.el));
}

function whenChoice() {
  const at = h('input', { type: 'datetime-local', name: 'scheduledAt', step: 60, disabled: true, 'aria-label': t('ding.at'), 'data-testid': 'ding-scheduled-at' });
  const choose = (later) => {
    at.disabled = !later;
    at.min = localMinute(new Date(Date.now() + 60_000));
    if (later) at.focus();
  };
  return h('fieldset', { class: 'ding-choice', 'data-testid': 'ding-when' },
    h('legend', { class: 'field-label' }, t('ding.when')),
    h('label', { class: 'check' }, h('input', { type: 'radio', name: 'when', value: 'now', checked: true, 'data-testid': 'ding-when-now', onchange: () => choose(false) }), h('span', {}, t('ding.now'))),
    h('label', { class: 'check' }, h('input', { type: 'radio', name: 'when', value: 'later', 'data-testid': 'ding-when-later', onchange: () => choose(true) }), h('span', {}, t('ding.later'))),
    at);
}

/** Who it goes to: `chosen()` lists member ids. */
function recipients(orgId, conversation) {
  const peer = conversation?.kind === 'direct' ? conversation.peer : null;
  if (peer?.memberId) {
    return { el: h('p', { class: 'ding-to', 'data-testid': 'ding-to' }, t('ding.to', { name: peer.name })), chosen: () => [peer.memberId] };
  }
  if (!conversation) return memberPicker(orgId);
  let members;
  const find = async (q) => {
    members ??= await listConversationMembers(orgId, conversation.id);
    const needle = q.toLowerCase();
    return members.filter((m) => m.memberId && m.name.toLowerCase().includes(needle)).map((m) => ({ id: m.memberId, userId: m.userId, name: m.name }));
  };
  return memberPicker(orgId, { find });
}

/** `source`: `{ conversationId, seq }` of a message, with its `conversation`. */
export function showNewDing(orgId, { source, conversation } = {}) {
  const to = recipients(orgId, conversation);
  const dialog = openDialog(t('ding.new'), form({ class: 'ding-form', 'data-testid': 'ding-form' }, [
    h('div', { class: 'field' }, h('span', { class: 'field-label' }, t('ding.recipients')), to.el),
    field(source ? t('ding.textFromMessage') : t('ding.text'),
      h('textarea', { name: 'text', rows: 3, maxlength: 2000, placeholder: source ? t('ding.textPlaceholder') : '', 'data-testid': 'ding-text' })),
    channelChoice(orgId),
    whenChoice(),
    h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'ding-send' }, t('ding.send')),
  ], async ({ text, channel, when, scheduledAt }) => {
    const memberIds = to.chosen();
    if (!memberIds.length) throw Object.assign(new Error('no recipients'), { code: 'ding_pick_recipients' });
    if (when === 'later' && !scheduledAt) throw Object.assign(new Error('no time'), { code: 'ding_pick_time' });
    const ding = await createDing(orgId, {
      memberIds,
      text: text ?? '',
      channel: channel ?? 'app',
      scheduledAt: when === 'later' ? new Date(scheduledAt).toISOString() : undefined,
      source,
    });
    dialog.close();
    navigate(`/org/${orgId}/ding/sent/${ding.id}`);
  }, { describe: problemText }), 'ding-dialog');
  dialog.classList.add('ding-dialog');
}
