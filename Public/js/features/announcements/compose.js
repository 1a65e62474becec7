/**
 * Writing an announcement (owners and admins): title, rich text, attachments, the audience — the
 * whole organisation or departments from the tree (each with everything below it) — whether
 * recipients must confirm, pinned, and now or at a minute in the future. The same form edits a
 * scheduled one.
 */
import { api } from '../../core/api.js';
import { h } from '../../core/dom.js';
import { attempt, button, checkbox, errorLine, field, form } from '../../core/forms.js';
import { errorText, t } from '../../core/i18n.js';
import { navigate } from '../../core/router.js';
import { audienceChoice } from '../directory/audience.js';
import { richTextEditor } from './richtext.js';
import { announcementsPath, createAnnouncement, updateAnnouncement, uploadAttachment } from './state.js';

/** `YYYY-MM-DDTHH:MM` in local time, as a datetime-local input reads it. */
function localMinute(date) {
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** A refused announcement says why in the server's words, field by field. */
function problemText(error) {
  return error?.errors?.length ? error.errors.map((e) => e.message).join(' ') : errorText(error);
}

function whenChoice(existing) {
  const later = !!existing?.scheduledAt;
  const at = h('input', {
    type: 'datetime-local', name: 'scheduledAt', step: 60, disabled: !later, 'aria-label': t('announcements.at'), 'data-testid': 'ann-scheduled-at',
    value: later ? localMinute(new Date(existing.scheduledAt)) : null,
  });
  const choose = (isLater) => {
    at.disabled = !isLater;
    at.min = localMinute(new Date(Date.now() + 60_000));
    if (isLater) at.focus();
  };
  return h('fieldset', { class: 'ann-choice', 'data-testid': 'ann-when' },
    h('legend', { class: 'field-label' }, t('announcements.when')),
    h('label', { class: 'check' }, h('input', { type: 'radio', name: 'when', value: 'now', checked: !later, 'data-testid': 'ann-when-now', onchange: () => choose(false) }), h('span', {}, t('announcements.now'))),
    h('label', { class: 'check' }, h('input', { type: 'radio', name: 'when', value: 'later', checked: later, 'data-testid': 'ann-when-later', onchange: () => choose(true) }), h('span', {}, t('announcements.later'))),
    at);
}

/** Files uploaded as they are chosen; `ids()` in their order. */
function attachmentPicker(orgId, existing) {
  let files = [...(existing?.attachments ?? [])];
  const list = h('ul', { class: 'ann-attachments', 'data-testid': 'ann-upload-list' });
  const error = errorLine();
  const render = () => list.replaceChildren(...files.map((file) => h('li', { 'data-testid': 'ann-upload' }, file.name, ' ',
    button(t('announcements.removeFile'), { 'data-testid': 'ann-upload-remove', onclick: () => { files = files.filter((f) => f.id !== file.id); render(); } }))));
  const input = h('input', {
    type: 'file', multiple: true, 'data-testid': 'ann-files',
    onchange: () => attempt(error, async () => {
      const chosen = [...input.files];
      input.value = '';
      for (const file of chosen) {
        files.push(await uploadAttachment(orgId, file));
        render();
      }
    }),
  });
  render();
  return { el: h('div', { class: 'field' }, h('span', { class: 'field-label' }, t('announcements.attachments')), input, list, error), ids: () => files.map((f) => f.id) };
}

function composeForm(root, orgId, existing) {
  const editor = richTextEditor({ placeholder: t('announcements.bodyPlaceholder') });
  if (existing) editor.setHtml(existing.body);
  const audience = audienceChoice(orgId, existing, 'ann');
  const files = attachmentPicker(orgId, existing);
  const submit = existing ? t('announcements.save') : t('announcements.publish');
  root.append(h('section', { class: 'ann-compose', 'data-testid': 'ann-compose' },
    h('a', { class: 'ann-back-always', href: `#/org/${orgId}/announcements/manage` }, t('announcements.back')),
    h('h1', { class: 'ann-title' }, existing ? t('announcements.editTitle') : t('announcements.new')),
    form({ class: 'ann-form', 'data-testid': 'ann-form' }, [
      field(t('announcements.titleLabel'), h('input', { name: 'title', maxlength: 200, required: true, value: existing?.title, 'data-testid': 'ann-title' })),
      h('div', { class: 'field' }, h('span', { class: 'field-label' }, t('announcements.body')), editor.el),
      files.el,
      audience.el,
      checkbox(t('announcements.requireConfirmation'), { name: 'requireConfirmation', checked: existing?.requireConfirmation, 'data-testid': 'ann-require-confirmation' }),
      checkbox(t('announcements.pinned'), { name: 'pinned', checked: existing?.pinned, 'data-testid': 'ann-pinned' }),
      whenChoice(existing),
      h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'ann-publish' }, submit),
    ], async ({ title, audience: to, requireConfirmation, pinned, when, scheduledAt }) => {
      const departmentIds = to === 'org' ? [] : audience.departments();
      if (!title) throw Object.assign(new Error('no title'), { code: 'announcement_title' });
      if (to !== 'org' && !departmentIds.length) throw Object.assign(new Error('no audience'), { code: 'announcement_audience' });
      if (when === 'later' && !scheduledAt) throw Object.assign(new Error('no time'), { code: 'announcement_time' });
      const body = {
        title,
        body: editor.html(),
        wholeOrganization: to === 'org',
        departmentIds,
        requireConfirmation: requireConfirmation === 'on',
        pinned: pinned === 'on',
        scheduledAt: when === 'later' ? new Date(scheduledAt).toISOString() : undefined,
        attachmentIds: files.ids(),
      };
      const saved = existing ? await updateAnnouncement(orgId, existing.id, body) : await createAnnouncement(orgId, body);
      navigate(`/org/${orgId}/announcements/manage/${saved.id}`);
    }, { describe: problemText })));
}

/** `/org/:orgId/announcements/new` and `…/manage/:announcementId/edit`. */
export function composePage(root, { orgId, announcementId }) {
  if (!announcementId) return composeForm(root, orgId, null);
  const status = h('p', { class: 'ann-note', role: 'status' }, t('common.loading'));
  root.append(status);
  api.get(`${announcementsPath(orgId)}/${announcementId}`).then((existing) => {
    status.remove();
    composeForm(root, orgId, existing);
  }, (error) => { status.textContent = errorText(error); });
  return undefined;
}
