/**
 * The form of one day's report, for oneself or a student: each question by its kind — temperature
 * (a decimal keypad, °C), one choice, several choices, yes/no, text, city, photo (uploaded as it
 * is chosen, shown as a thumbnail) — required ones marked, big touch targets. Prefilled with what
 * was reported today; sending again corrects it. The server's problems are shown beside the
 * questions they name (`answers.<questionId>`).
 */
import { h } from '../../core/dom.js';
import { form } from '../../core/forms.js';
import { errorText, t } from '../../core/i18n.js';
import { photoUrl, submitReport, uploadPhoto } from './state.js';

const PHOTO_TYPES = 'image/png,image/jpeg,image/webp';

/** A problem's text for one answer: the translated code when there is one, else the server's words. */
function answerProblem(fieldProblem) {
  const key = `invalid.${fieldProblem.code}`;
  return t(key) !== key ? t(key) : fieldProblem.message;
}

function titleOf(question) {
  return [question.title, question.required && h('span', { class: 'health-required', 'data-testid': 'health-required' }, ' ', t('health.required'))];
}

function optionControl(type, name, value, label, checked, testId) {
  return h('label', { class: 'health-option', 'data-testid': testId, 'data-value': value },
    h('input', { type, name, value, checked }),
    h('span', {}, label));
}

/** `{ el, read() }` for one question; `read()` is its answer, or undefined when unanswered. */
function questionControl(orgId, question, answer, name) {
  switch (question.kind) {
    case 'temperature': {
      const input = h('input', {
        type: 'number', name, step: 0.1, min: 34, max: 43, inputmode: 'decimal', placeholder: '36.5', class: 'health-temp-input',
        value: answer?.temperature != null ? Number(answer.temperature).toFixed(1) : null, 'data-testid': 'health-temperature',
      });
      return {
        el: h('label', { class: 'health-temp' }, h('span', { class: 'health-question-title' }, titleOf(question)),
          h('span', { class: 'health-temp-row' }, input, h('span', { class: 'health-unit' }, '°C'))),
        read: () => (input.value === '' ? undefined : { temperature: Number(input.value) }),
        focus: () => input.focus(),
      };
    }
    case 'single_choice':
    case 'multiple_choice': {
      const type = question.kind === 'single_choice' ? 'radio' : 'checkbox';
      const chosen = new Set(answer?.choices ?? []);
      const options = (question.options ?? []).map((o) => optionControl(type, name, o.id, o.label, chosen.has(o.id), 'health-option'));
      const el = h('fieldset', { class: 'health-choices' }, h('legend', { class: 'health-question-title' }, titleOf(question)), options);
      return {
        el,
        read: () => {
          const ids = [...el.querySelectorAll('input:checked')].map((i) => i.value);
          return ids.length ? { choices: ids } : undefined;
        },
        focus: () => el.querySelector('input')?.focus(),
      };
    }
    case 'yes_no': {
      const el = h('fieldset', { class: 'health-choices health-yes-no' }, h('legend', { class: 'health-question-title' }, titleOf(question)),
        optionControl('radio', name, 'yes', t('health.yes'), answer?.yes === true, 'health-yes'),
        optionControl('radio', name, 'no', t('health.no'), answer?.yes === false, 'health-no'));
      return {
        el,
        read: () => {
          const picked = el.querySelector('input:checked')?.value;
          return picked ? { yes: picked === 'yes' } : undefined;
        },
        focus: () => el.querySelector('input')?.focus(),
      };
    }
    case 'photo':
      return photoControl(orgId, question, answer);
    default: {
      const city = question.kind === 'city';
      const input = city
        ? h('input', { type: 'text', name, maxlength: 100, autocomplete: 'address-level2', value: answer?.text, 'data-testid': 'health-city' })
        : h('textarea', { name, rows: 2, maxlength: 1000, 'data-testid': 'health-text' }, answer?.text ?? '');
      return {
        el: h('label', { class: 'health-text' }, h('span', { class: 'health-question-title' }, titleOf(question)), input),
        read: () => (input.value.trim() ? { text: input.value.trim() } : undefined),
        focus: () => input.focus(),
      };
    }
  }
}

/** A photo: uploaded as soon as it is chosen, then shown; the answer names the upload. */
function photoControl(orgId, question, answer) {
  let photoId = answer?.photoId;
  const preview = h('div', { class: 'health-photo-preview', 'data-testid': 'health-photo-preview' });
  const note = h('p', { class: 'health-note', role: 'status' });
  const show = () => {
    preview.replaceChildren(photoId
      ? h('img', { class: 'health-thumb', src: photoUrl(orgId, photoId), alt: t('health.photo'), 'data-testid': 'health-photo-thumb' })
      : '');
  };
  const input = h('input', {
    type: 'file', accept: PHOTO_TYPES, class: 'health-photo-input', 'data-testid': 'health-photo',
    onchange: async () => {
      const file = input.files[0];
      if (!file) return;
      note.textContent = t('health.uploading');
      try {
        photoId = (await uploadPhoto(orgId, file)).id;
        note.textContent = '';
        show();
      } catch (error) {
        note.textContent = errorText(error);
      } finally {
        input.value = '';
      }
    },
  });
  show();
  return {
    el: h('label', { class: 'health-photo' }, h('span', { class: 'health-question-title' }, titleOf(question)), input, note, preview),
    read: () => (photoId ? { photoId } : undefined),
    focus: () => input.focus(),
  };
}

/**
 * The form for today's `item` (a HealthTodayItem). Closed (before the window, after it, or on a day
 * without a report) it shows what was reported, disabled. `onSubmitted(result)` follows a report.
 */
export function reportForm(orgId, item, onSubmitted = () => {}) {
  const { report } = item;
  const controls = report.questions.map((question, index) => {
    const answer = item.submission?.answers?.find((a) => a.questionId === question.id);
    const control = questionControl(orgId, question, answer, `q${index}`);
    const problem = h('p', { class: 'field-error', role: 'alert', 'data-testid': 'health-error', hidden: true });
    const el = h('div', {
      class: 'health-question', 'data-testid': 'health-question', 'data-question-id': question.id, 'data-kind': question.kind,
    }, control.el, problem);
    const mark = (message) => {
      problem.textContent = message ?? '';
      problem.hidden = !message;
      el.classList.toggle('is-invalid', !!message);
    };
    return { question, control, el, mark };
  });
  const reported = !!item.submission;
  const markAll = (problems) => controls.forEach((c) => c.mark(problems[c.question.id]));

  const submit = async () => {
    markAll({});
    const answers = [];
    const missing = {};
    for (const { question, control } of controls) {
      const answer = control.read();
      if (answer) answers.push({ questionId: question.id, ...answer });
      else if (question.required) missing[question.id] = t('invalid.missing_answer');
    }
    if (Object.keys(missing).length) {
      markAll(missing);
      controls.find((c) => missing[c.question.id])?.control.focus();
      throw Object.assign(new Error('missing answers'), { code: 'health_fix_marked' });
    }
    try {
      const result = await submitReport(orgId, report.id, {
        day: item.day ?? item.card?.day,
        memberId: item.relation === 'ward' ? item.member.memberId : undefined,
        answers,
      });
      onSubmitted(result);
    } catch (failure) {
      const problems = {};
      for (const e of failure.errors ?? []) {
        const id = /^answers[.[](.+?)]?$/.exec(e.field ?? '')?.[1];
        if (id && controls.some((c) => c.question.id === id)) problems[id] = answerProblem(e);
      }
      markAll(problems);
      if (Object.keys(problems).length) failure.marked = true;
      throw failure;
    }
  };

  const questions = h('fieldset', { class: 'health-questions', disabled: !item.open }, controls.map((c) => c.el));
  return form({ class: 'health-form', 'data-testid': 'health-form' }, [
    questions,
    item.open && h('button', { type: 'submit', class: 'btn btn-primary health-submit', 'data-testid': 'health-submit' },
      reported ? t('health.correct') : t('health.submit')),
  ], submit, { describe: (failure) => (failure.marked || failure.code === 'health_fix_marked' ? t('health.fixMarked') : errorText(failure)) });
}
