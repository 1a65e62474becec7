/**
 * Creating and changing a daily health report (owners, admins, health officers): title, audience,
 * the questions (kind, title, required, choices each with the colour it gives the card, the colour
 * of "yes"), the daily window in the organisation's time zone, weekends and holidays, parents
 * reporting for students, members seeing the counts, the card's rules, reminders, how long answers
 * are kept, and whether it runs. A new report starts from a sensible template.
 */
import { h } from '../../core/dom.js';
import { button, checkbox, field, form, select } from '../../core/forms.js';
import { errorText, t } from '../../core/i18n.js';
import { navigate } from '../../core/router.js';
import { audienceChoice } from '../directory/audience.js';
import { membership } from '../orgs/state.js';
import { COLOURS, colourName, healthSection } from './parts.js';
import { createReport, fetchReport, updateReport } from './state.js';

const KINDS = ['temperature', 'single_choice', 'multiple_choice', 'yes_no', 'text', 'city', 'photo'];
const CHOICE_KINDS = new Set(['single_choice', 'multiple_choice']);
const TIME = /^(([01]\d|2[0-3]):[0-5]\d|24:00)$/;
const MAX_REMINDERS = 6;
export const DEFAULT_RULES = { yellowTemperature: 37.3, redTemperature: 38.5, greenAfterYellowDays: 7, greenAfterRedDays: 14 };

const newId = (prefix) => `${prefix}${crypto.randomUUID().replaceAll('-', '').slice(0, 8)}`;

/** The template of a new report, in the language of whoever writes it. */
function template(orgId) {
  const option = (id, colour) => ({ id, label: t(`health.template.symptom.${id}`), colour });
  return {
    title: t('health.template.title'),
    wholeOrganization: true,
    departmentIds: [],
    questions: [
      { id: 'temperature', kind: 'temperature', title: t('health.template.temperature'), required: true },
      {
        id: 'symptoms', kind: 'multiple_choice', title: t('health.template.symptoms'), required: true,
        options: [option('none', 'green'), option('cough', 'yellow'), option('fever', 'yellow'), option('fatigue', 'yellow'), option('breath', 'red')],
      },
      { id: 'contact', kind: 'yes_no', title: t('health.template.contact'), required: true, yesColour: 'red' },
      { id: 'city', kind: 'city', title: t('health.template.city'), required: false },
    ],
    opensAt: '07:00',
    closesAt: '10:00',
    skipWeekends: true,
    holidays: [],
    allowGuardians: membership(orgId)?.organization.kind === 'school',
    aggregatesVisible: false,
    rules: DEFAULT_RULES,
    reminders: [{ at: '08:30', channel: 'app' }, { at: '09:30', channel: 'ding' }],
    retentionDays: 14,
    active: true,
  };
}

const colourSelect = (value, attrs) => select(attrs, COLOURS.map((c) => [c, colourName(c)]), value);

/** The questions, edited in place; `questions()` gives them as the API takes them. */
function questionBuilder(initial) {
  let questions = structuredClone(initial);
  const list = h('ol', { class: 'health-qb', 'data-testid': 'health-qb' });

  const change = (update) => {
    update();
    render();
  };
  const move = (index, by) => change(() => {
    const [q] = questions.splice(index, 1);
    questions.splice(index + by, 0, q);
  });

  function optionsEditor(q) {
    return h('div', { class: 'health-qb-options' },
      h('span', { class: 'field-label' }, t('health.editor.options')),
      q.options.map((o, i) => h('div', { class: 'health-qb-option', 'data-testid': 'health-qb-option' },
        h('input', {
          value: o.label, maxlength: 100, 'aria-label': t('health.editor.optionLabel'), 'data-testid': 'health-qb-option-label',
          oninput: (e) => { o.label = e.target.value; },
        }),
        colourSelect(o.colour ?? 'green', {
          'aria-label': t('health.editor.optionColour'), 'data-testid': 'health-qb-option-colour', onchange: (e) => { o.colour = e.target.value; },
        }),
        button('×', {
          class: 'btn health-qb-icon', 'aria-label': t('health.editor.removeOption'), 'data-testid': 'health-qb-option-remove',
          disabled: q.options.length <= 2, onclick: () => change(() => q.options.splice(i, 1)),
        }))),
      button(t('health.editor.addOption'), {
        'data-testid': 'health-qb-option-add', disabled: q.options.length >= 30,
        onclick: () => change(() => q.options.push({ id: newId('o'), label: '', colour: 'green' })),
      }));
  }

  function card(q, index) {
    const kind = select({
      'aria-label': t('health.editor.kind'), 'data-testid': 'health-qb-kind',
      onchange: (e) => change(() => {
        q.kind = e.target.value;
        if (CHOICE_KINDS.has(q.kind) && !q.options?.length) {
          q.options = [{ id: newId('o'), label: '', colour: 'green' }, { id: newId('o'), label: '', colour: 'green' }];
        }
        if (q.kind === 'yes_no') q.yesColour ??= 'red';
      }),
    }, KINDS.map((k) => [k, t(`health.kind.${k}`)]), q.kind);
    return h('li', { class: 'health-qb-question', 'data-testid': 'health-qb-question', 'data-question-id': q.id },
      h('div', { class: 'health-qb-row' },
        h('span', { class: 'health-qb-number' }, `${index + 1}.`),
        kind,
        button('↑', { class: 'btn health-qb-icon', 'aria-label': t('health.editor.up'), 'data-testid': 'health-qb-up', disabled: index === 0, onclick: () => move(index, -1) }),
        button('↓', { class: 'btn health-qb-icon', 'aria-label': t('health.editor.down'), 'data-testid': 'health-qb-down', disabled: index === questions.length - 1, onclick: () => move(index, 1) }),
        button('×', {
          class: 'btn btn-danger health-qb-icon', 'aria-label': t('health.editor.removeQuestion'), 'data-testid': 'health-qb-remove',
          disabled: questions.length <= 1, onclick: () => change(() => questions.splice(index, 1)),
        })),
      field(t('health.editor.questionTitle'), h('input', {
        value: q.title, maxlength: 200, 'data-testid': 'health-qb-title', oninput: (e) => { q.title = e.target.value; },
      })),
      checkbox(t('health.editor.required'), { checked: q.required, 'data-testid': 'health-qb-required', onchange: (e) => { q.required = e.target.checked; } }),
      CHOICE_KINDS.has(q.kind) && optionsEditor(q),
      q.kind === 'yes_no' && field(t('health.editor.yesColour'), colourSelect(q.yesColour ?? 'red', {
        'data-testid': 'health-qb-yes-colour', onchange: (e) => { q.yesColour = e.target.value; },
      })),
      h('p', { class: 'field-error', 'data-testid': 'health-qb-error', hidden: true }));
  }

  function render() {
    list.replaceChildren(...questions.map(card));
  }
  render();
  const add = button(t('health.editor.addQuestion'), {
    'data-testid': 'health-qb-add',
    onclick: () => change(() => questions.push({ id: newId('q'), kind: 'single_choice', title: '', required: true, options: [
      { id: newId('o'), label: '', colour: 'green' }, { id: newId('o'), label: '', colour: 'green' }] })),
  });
  return {
    el: h('fieldset', { class: 'health-fieldset' }, h('legend', {}, t('health.editor.questions')), list, add),
    questions: () => questions.map((q) => ({
      id: q.id,
      kind: q.kind,
      title: q.title.trim(),
      required: !!q.required,
      options: CHOICE_KINDS.has(q.kind) ? q.options.map((o) => ({ id: o.id, label: o.label.trim(), colour: o.colour ?? 'green' })) : undefined,
      yesColour: q.kind === 'yes_no' ? q.yesColour ?? 'red' : undefined,
    })),
    /** Marks the questions named by a refused save (`questions[2].title`, `questions.2…`). */
    mark(problems) {
      [...list.children].forEach((li, i) => {
        const message = problems.get(i);
        const line = li.querySelector('[data-testid="health-qb-error"]');
        line.textContent = message ?? '';
        line.hidden = !message;
      });
    },
  };
}

/** A list of dates (holidays): a date input and Add, each date with a remove button. */
function holidayEditor(initial) {
  let days = [...initial].sort();
  const list = h('ul', { class: 'health-chips', 'data-testid': 'health-holidays' });
  const input = h('input', { type: 'date', 'aria-label': t('health.editor.holiday'), 'data-testid': 'health-holiday-input' });
  const render = () => list.replaceChildren(...days.map((day) => h('li', { class: 'health-chip', 'data-testid': 'health-holiday' }, day,
    button('×', { class: 'btn health-qb-icon', 'aria-label': t('health.editor.removeHoliday', { day }), onclick: () => { days = days.filter((d) => d !== day); render(); } }))));
  render();
  return {
    el: h('div', { class: 'field' }, h('span', { class: 'field-label' }, t('health.editor.holidays')),
      h('div', { class: 'health-inline' }, input, button(t('health.editor.addHoliday'), {
        'data-testid': 'health-holiday-add',
        onclick: () => {
          if (input.value && !days.includes(input.value)) days = [...days, input.value].sort();
          input.value = '';
          render();
        },
      })), list),
    days: () => days,
  };
}

/** Reminder times, each in-app or by DING. */
function reminderEditor(initial) {
  const rows = initial.map((r) => ({ ...r }));
  const list = h('div', { class: 'health-reminder-rows', 'data-testid': 'health-rem-list' });
  const add = button(t('health.editor.addReminder'), {
    'data-testid': 'health-rem-add', onclick: () => { rows.push({ at: '09:00', channel: 'app' }); render(); },
  });
  function render() {
    list.replaceChildren(...rows.map((r, i) => h('div', { class: 'health-inline', 'data-testid': 'health-rem-row' },
      h('input', { type: 'time', step: 60, value: r.at, 'aria-label': t('health.editor.reminderAt'), 'data-testid': 'health-rem-at', oninput: (e) => { r.at = e.target.value; } }),
      select({ 'aria-label': t('health.editor.reminderChannel'), 'data-testid': 'health-rem-channel', onchange: (e) => { r.channel = e.target.value; } },
        [['app', t('health.channel.app')], ['ding', t('health.channel.ding')]], r.channel),
      button('×', { class: 'btn health-qb-icon', 'aria-label': t('health.editor.removeReminder'), 'data-testid': 'health-rem-remove', onclick: () => { rows.splice(i, 1); render(); } }))));
    add.disabled = rows.length >= MAX_REMINDERS;
  }
  render();
  return {
    el: h('div', { class: 'field' }, h('span', { class: 'field-label' }, t('health.editor.reminders')), list, add),
    reminders: () => rows.filter((r) => r.at),
  };
}

const number = (name, value, attrs) => h('input', { type: 'number', name, value, inputmode: 'decimal', ...attrs });

/** A refused save: each problem in words, translated when its code is known. */
function problemLines(error) {
  if (!error?.errors?.length) return errorText(error);
  return error.errors.map((e) => {
    const key = `invalid.${e.code}`;
    return t(key) !== key ? t(key) : e.message;
  }).join(' ');
}

function editorForm(root, orgId, existing) {
  const report = existing ?? template(orgId);
  const timeZone = existing?.timeZone ?? membership(orgId)?.organization.timeZone ?? '';
  const audience = audienceChoice(orgId, report, 'health');
  const questions = questionBuilder(report.questions);
  const holidays = holidayEditor(report.holidays ?? []);
  const reminderRows = reminderEditor(report.reminders ?? []);
  const rules = { ...DEFAULT_RULES, ...report.rules };
  const timeInput = (name, value) => h('input', {
    name, value, required: true, maxlength: 5, placeholder: name === 'opensAt' ? '07:00' : '10:00', pattern: TIME.source, class: 'health-time',
    'data-testid': `health-${name}`,
  });
  root.append(healthSection(orgId, 'reports', existing ? t('health.editor.editTitle') : t('health.editor.newTitle'),
    h('a', { class: 'health-back', href: `#/org/${orgId}/health/reports${existing ? `/${existing.id}` : ''}` }, t('health.back')),
    form({ class: 'health-editor', 'data-testid': 'health-editor' }, [
      field(t('health.editor.title'), h('input', { name: 'title', value: report.title, maxlength: 100, required: true, 'data-testid': 'health-title' })),
      audience.el,
      questions.el,
      h('fieldset', { class: 'health-fieldset' }, h('legend', {}, t('health.editor.window')),
        h('div', { class: 'health-inline' },
          field(t('health.editor.opensAt'), timeInput('opensAt', report.opensAt)),
          field(t('health.editor.closesAt'), timeInput('closesAt', report.closesAt))),
        h('p', { class: 'health-note', 'data-testid': 'health-timezone' }, t('health.editor.timeZone', { zone: timeZone })),
        checkbox(t('health.editor.skipWeekends'), { name: 'skipWeekends', checked: report.skipWeekends, 'data-testid': 'health-skip-weekends' }),
        holidays.el),
      h('fieldset', { class: 'health-fieldset' }, h('legend', {}, t('health.editor.who')),
        checkbox(t('health.editor.allowGuardians'), { name: 'allowGuardians', checked: report.allowGuardians, 'data-testid': 'health-allow-guardians' }),
        checkbox(t('health.editor.aggregatesVisible'), { name: 'aggregatesVisible', checked: report.aggregatesVisible, 'data-testid': 'health-aggregates-visible' })),
      h('fieldset', { class: 'health-fieldset' }, h('legend', {}, t('health.editor.rules')),
        h('div', { class: 'health-rules' },
          field(t('health.editor.yellowTemperature'), number('yellowTemperature', rules.yellowTemperature, { step: 0.1, min: 35, max: 43, 'data-testid': 'health-yellow-temperature' })),
          field(t('health.editor.redTemperature'), number('redTemperature', rules.redTemperature, { step: 0.1, min: 35, max: 43, 'data-testid': 'health-red-temperature' })),
          field(t('health.editor.greenAfterYellow'), number('greenAfterYellowDays', rules.greenAfterYellowDays, { step: 1, min: 1, max: 60, inputmode: 'numeric', 'data-testid': 'health-green-after-yellow' })),
          field(t('health.editor.greenAfterRed'), number('greenAfterRedDays', rules.greenAfterRedDays, { step: 1, min: 1, max: 60, inputmode: 'numeric', 'data-testid': 'health-green-after-red' })))),
      h('fieldset', { class: 'health-fieldset' }, h('legend', {}, t('health.editor.remindersAndPrivacy')),
        reminderRows.el,
        field(t('health.editor.retentionDays'), number('retentionDays', report.retentionDays ?? 14, { step: 1, min: 1, max: 365, inputmode: 'numeric', 'data-testid': 'health-retention' })),
        checkbox(t('health.editor.active'), { name: 'active', checked: report.active, 'data-testid': 'health-active' })),
      h('button', { type: 'submit', class: 'btn btn-primary health-submit', 'data-testid': 'health-save' }, existing ? t('common.save') : t('health.editor.create')),
    ], async (values) => {
      questions.mark(new Map());
      const to = values.audience;
      const departmentIds = to === 'org' ? [] : audience.departments();
      if (!values.title) throw Object.assign(new Error('no title'), { code: 'health_title' });
      if (to !== 'org' && !departmentIds.length) throw Object.assign(new Error('no audience'), { code: 'health_audience' });
      if (!TIME.test(values.opensAt) || !TIME.test(values.closesAt)) throw Object.assign(new Error('bad time'), { code: 'health_window' });
      const body = {
        title: values.title,
        wholeOrganization: to === 'org',
        departmentIds,
        questions: questions.questions(),
        opensAt: values.opensAt,
        closesAt: values.closesAt,
        skipWeekends: values.skipWeekends === 'on',
        holidays: holidays.days(),
        allowGuardians: values.allowGuardians === 'on',
        aggregatesVisible: values.aggregatesVisible === 'on',
        rules: {
          yellowTemperature: Number(values.yellowTemperature),
          redTemperature: Number(values.redTemperature),
          greenAfterYellowDays: Number(values.greenAfterYellowDays),
          greenAfterRedDays: Number(values.greenAfterRedDays),
        },
        reminders: reminderRows.reminders(),
        retentionDays: Number(values.retentionDays),
        active: values.active === 'on',
      };
      try {
        const saved = existing ? await updateReport(orgId, existing.id, body) : await createReport(orgId, body);
        navigate(`/org/${orgId}/health/reports/${saved.id}`);
      } catch (failure) {
        const problems = new Map();
        for (const e of failure.errors ?? []) {
          const index = /^questions[.[](\d+)/.exec(e.field ?? '')?.[1];
          if (index != null) problems.set(Number(index), problemLines({ errors: [e] }));
        }
        questions.mark(problems);
        throw failure;
      }
    }, { describe: problemLines })));
}

/** `/org/:orgId/health/reports/new` and `…/reports/:reportId/edit`. */
export function editorPage(root, { orgId, reportId }) {
  if (!reportId) return editorForm(root, orgId, null);
  const status = h('p', { class: 'health-note', role: 'status' }, t('common.loading'));
  root.append(status);
  fetchReport(orgId, reportId).then((existing) => {
    status.remove();
    if (!existing.canManage) {
      root.append(h('p', { class: 'not-found', 'data-testid': 'not-found' }, t('error.forbidden')));
      return;
    }
    editorForm(root, orgId, existing);
  }, (error) => status.replaceWith(h('p', { class: 'not-found', 'data-testid': 'not-found' }, errorText(error))));
  return undefined;
}
