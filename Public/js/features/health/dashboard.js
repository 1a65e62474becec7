/**
 * One report's dashboard. Managers (owners, admins, health officers in their scope): a day (today
 * by default), the totals, a table by department (indented as the tree), the trend of the last 14
 * report days, the drill-down list (by status and department, page by page, answers on request —
 * that read is logged), "DING everyone who has not reported", and CSV / XLSX downloads of the
 * list. Members of a report that shows its counts see the totals and the trend only. Refreshed
 * every 30 s while visible, and on demand.
 */
import { h } from '../../core/dom.js';
import { attempt, button, checkbox, errorLine, field, select } from '../../core/forms.js';
import { errorText, formatDateTime, formatTime, t } from '../../core/i18n.js';
import { trendChart } from './chart.js';
import { answerList, colourMark, formatTemperature, healthSection } from './parts.js';
import { dingNotReported, exportUrl, fetchDashboard, fetchMembers, fetchReport } from './state.js';

const REFRESH_MS = 30_000;
const PAGE_SIZE = 50;
const STATUSES = ['all', 'reported', 'not_reported', 'abnormal'];

function total(label, value, testId, tone = '') {
  return h('div', { class: `health-total ${tone}` },
    h('span', { class: 'health-total-value', 'data-testid': testId }, String(value)),
    h('span', { class: 'health-total-label' }, label));
}

function totalsView(totals) {
  return h('div', { class: 'health-totals', 'data-testid': 'health-totals' },
    total(t('health.dash.audience'), totals.audience, 'health-total-audience'),
    total(t('health.dash.reported'), totals.reported, 'health-total-reported', 'is-reported'),
    total(t('health.dash.notReported'), totals.notReported, 'health-total-not-reported', 'is-missing'),
    total(t('health.dash.abnormal'), totals.yellow + totals.red, 'health-total-abnormal', 'is-abnormal'),
    total(t('health.colour.green'), totals.green, 'health-total-green', 'is-green'),
    total(t('health.colour.yellow'), totals.yellow, 'health-total-yellow', 'is-yellow'),
    total(t('health.colour.red'), totals.red, 'health-total-red', 'is-red'));
}

/** Departments in tree order with their depth (a department whose parent is not listed is a top). */
function treeOrder(departments) {
  const ids = new Set(departments.map((d) => d.departmentId));
  const children = new Map();
  for (const d of departments) {
    const parent = ids.has(d.parentId) ? d.parentId : null;
    children.set(parent, [...(children.get(parent) ?? []), d]);
  }
  const walk = (parent, depth) => (children.get(parent) ?? []).flatMap((d) => [{ department: d, depth }, ...walk(d.departmentId, depth + 1)]);
  return walk(null, 0);
}

function departmentTable(rows, onPick) {
  if (!rows.length) return '';
  const head = ['health.dash.department', 'health.dash.audience', 'health.dash.reported', 'health.dash.notReported', 'health.dash.abnormal'];
  return h('div', { class: 'health-table-wrap' }, h('table', { class: 'health-table', 'data-testid': 'health-departments' },
    h('thead', {}, h('tr', {}, head.map((key) => h('th', { scope: 'col' }, t(key))))),
    h('tbody', {}, rows.map(({ department: d, depth }) => h('tr', { 'data-testid': 'health-department-row', 'data-department-id': d.departmentId },
      h('th', { scope: 'row', class: `health-depth-${Math.min(depth, 6)}` },
        h('button', { type: 'button', class: 'health-link-button', onclick: () => onPick(d.departmentId) }, d.name)),
      h('td', {}, String(d.audience)),
      h('td', {}, String(d.reported)),
      h('td', { class: d.notReported ? 'is-missing' : '' }, String(d.notReported)),
      h('td', { class: d.abnormal ? 'is-abnormal' : '' }, String(d.abnormal)))))));
}

function memberRow(orgId, report, row) {
  const reported = row.status === 'reported';
  return h('li', { class: 'health-member', 'data-testid': 'health-member-row', 'data-status': row.status, 'data-member-id': row.member.memberId },
    h('div', { class: 'health-member-head' },
      // A member's history, read by a manager, is written to the access log.
      h('a', { class: 'health-member-name', href: `#/org/${orgId}/health/history/${report.id}/${row.member.memberId}`, 'data-testid': 'health-member-name' },
        row.member.name),
      reported ? colourMark(row.colour, 'health-member-colour') : h('span', { class: 'health-mark is-missed' }, h('span', { class: 'health-dot', 'aria-hidden': 'true' }), t('health.notReported')),
      row.temperature != null && h('span', { class: 'health-member-temp', 'data-testid': 'health-member-temperature' }, formatTemperature(row.temperature))),
    h('p', { class: 'health-note' },
      [row.departments?.join(t('health.listSeparator')), reported && row.submittedAt && t('health.reportedAt', { time: formatTime(row.submittedAt) })].filter(Boolean).join(' · ')),
    row.answers && answerList(orgId, report.questions, row.answers));
}

/** The drill-down list with its filters, paging, the answers toggle and the export links. */
function drillDown(orgId, report, dayOf) {
  const filters = { status: 'all', departmentId: '', answers: false };
  let cursor = null;
  let request = 0;
  const list = h('ul', { class: 'health-members', 'data-testid': 'health-members' });
  const status = h('p', { class: 'health-note', role: 'status', 'data-testid': 'health-members-status' });
  const more = button(t('health.dash.loadMore'), { class: 'btn', 'data-testid': 'health-members-more', hidden: true, onclick: () => load(false) });
  const csv = h('a', { class: 'btn', download: '', 'data-testid': 'health-export-csv' }, t('health.dash.exportCsv'));
  const xlsx = h('a', { class: 'btn', download: '', 'data-testid': 'health-export-xlsx' }, t('health.dash.exportXlsx'));
  const departments = select({
    'data-testid': 'health-filter-department', onchange: (e) => { filters.departmentId = e.target.value; load(true); },
  }, [['', t('health.dash.allDepartments')]], '');
  const answersNote = h('p', { class: 'health-note health-logged', 'data-testid': 'health-answers-logged', hidden: true }, t('health.dash.answersLogged'));

  async function load(fresh) {
    const mine = ++request;
    const day = dayOf();
    if (fresh) cursor = null;
    csv.href = exportUrl(orgId, report.id, { day, ...filters }, 'csv');
    xlsx.href = exportUrl(orgId, report.id, { day, ...filters }, 'xlsx');
    status.textContent = t('common.loading');
    try {
      const page = await fetchMembers(orgId, report.id, {
        day, status: filters.status, departmentId: filters.departmentId || undefined, answers: filters.answers ? true : undefined, cursor: cursor ?? undefined, limit: PAGE_SIZE,
      });
      if (mine !== request) return;
      const rows = page.items.map((row) => memberRow(orgId, report, row));
      if (fresh) list.replaceChildren(...rows);
      else list.append(...rows);
      cursor = page.nextCursor ?? null;
      more.hidden = !cursor;
      status.textContent = list.children.length ? '' : t('health.dash.nobody');
    } catch (error) {
      if (mine === request) status.textContent = errorText(error);
    }
  }

  const el = h('section', { class: 'health-panel', 'data-testid': 'health-drill' },
    h('h2', {}, t('health.dash.people')),
    h('div', { class: 'health-filters' },
      field(t('health.dash.status'), select({
        'data-testid': 'health-filter-status', onchange: (e) => { filters.status = e.target.value; load(true); },
      }, STATUSES.map((s) => [s, t(`health.filter.${s}`)]), 'all')),
      field(t('health.dash.department'), departments),
      checkbox(t('health.dash.showAnswers'), {
        'data-testid': 'health-show-answers',
        onchange: (e) => { filters.answers = e.target.checked; answersNote.hidden = !filters.answers; load(true); },
      })),
    answersNote,
    h('div', { class: 'health-actions' }, csv, xlsx, h('span', { class: 'health-note' }, t('health.dash.exportLogged'))),
    status, list, more);

  return {
    el,
    load,
    /** The department choices, from the dashboard's table (tree order, indented). */
    setDepartments(rows) {
      const current = filters.departmentId;
      departments.replaceChildren(h('option', { value: '' }, t('health.dash.allDepartments')),
        ...rows.map(({ department: d, depth }) => h('option', { value: d.departmentId, selected: d.departmentId === current }, `${'\u2003'.repeat(depth)}${d.name}`)));
    },
    pickDepartment(id) {
      filters.departmentId = id;
      departments.value = id;
      load(true);
      el.scrollIntoView({ behavior: 'smooth', block: 'start' });
    },
    pickStatus(value) {
      filters.status = value;
      el.querySelector('[data-testid="health-filter-status"]').value = value;
      load(true);
    },
  };
}

/**
 * Why a DING was refused (409: everyone reported, or the window is closed; 429: too soon after the
 * last one), with when to try again.
 */
function refusalText(failure) {
  const key = `health.refused.${failure.code}`;
  const reason = t(key) !== key ? t(key) : failure.detail ?? errorText(failure);
  const minutes = Math.max(1, Math.ceil(failure.retryAfterMs / 60_000));
  return failure.retryAfterMs > 0 ? `${reason} ${t('health.dash.retryIn', { minutes })}` : reason;
}

/** "DING everyone who has not reported": the DING that went out, or why it was refused. */
function dingControl(orgId, report) {
  const error = errorLine();
  const result = h('p', { class: 'health-note', role: 'status', 'data-testid': 'health-ding-result' });
  const control = button(t('health.dash.ding'), {
    class: 'btn btn-danger', 'data-testid': 'health-ding',
    onclick: () => attempt(error, async () => {
      control.disabled = true;
      result.replaceChildren();
      try {
        const ding = await dingNotReported(orgId, report.id);
        result.replaceChildren(t('health.dash.dinged', { count: ding.recipientCount }), ' ',
          h('a', { href: `#/org/${orgId}/ding/sent/${ding.id}`, 'data-testid': 'health-ding-link' }, t('health.dash.dingOpen')));
      } catch (failure) {
        throw Object.assign(new Error(failure.message), { code: 'health_refused', detail: refusalText(failure) });
      } finally {
        control.disabled = false;
      }
    }),
  });
  return { el: h('div', { class: 'health-actions', 'data-testid': 'health-ding-box' }, control, result, error), control };
}

function managerView(root, orgId, report) {
  let day = '';
  let today = '';
  const dayInput = h('input', {
    type: 'date', 'aria-label': t('health.dash.day'), 'data-testid': 'health-day',
    onchange: () => { day = dayInput.value || today; refresh(true); },
  });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const notReportDay = h('p', { class: 'health-note', 'data-testid': 'health-not-report-day', hidden: true }, t('health.dash.notReportDay'));
  const totals = h('div', { class: 'health-totals-slot' });
  const departments = h('div', { class: 'health-departments-slot' });
  const chart = h('div', { class: 'health-chart-slot' });
  const updated = h('p', { class: 'health-note', 'data-testid': 'health-updated' });
  const drill = report.canManage ? drillDown(orgId, report, () => day) : null;
  const ding = report.canManage ? dingControl(orgId, report) : null;

  async function refresh(withList) {
    try {
      const dashboard = await fetchDashboard(orgId, report.id, { day: day || undefined, days: 14 });
      error.hidden = true;
      if (!day) {
        day = dashboard.day;
        today = dashboard.day;
      }
      if (!dayInput.value) dayInput.value = dashboard.day;
      dayInput.max = today;
      notReportDay.hidden = dashboard.reportDay;
      totals.replaceChildren(totalsView(dashboard.totals));
      const rows = treeOrder(dashboard.departments ?? []);
      departments.replaceChildren(departmentTable(rows, (id) => drill?.pickDepartment(id)));
      drill?.setDepartments(rows);
      chart.replaceChildren(h('h2', {}, t('health.chart.title')),
        h('p', { class: 'health-legend' },
          h('span', { class: 'health-legend-reported' }, t('health.dash.reported')), ' ',
          h('span', { class: 'health-legend-abnormal' }, t('health.dash.abnormal'))),
        trendChart(dashboard.trend ?? []));
      updated.textContent = t('health.dash.updated', { time: formatDateTime(new Date().toISOString()) });
      if (ding) ding.control.disabled = dashboard.day !== today || dashboard.totals.notReported === 0;
      if (withList) drill?.load(true);
    } catch (failure) {
      error.textContent = errorText(failure);
      error.hidden = false;
    }
  }

  root.append(healthSection(orgId, report.canManage ? 'reports' : 'today', report.title,
    h('div', { class: 'health-actions' },
      h('a', { class: 'health-back', href: report.canManage ? `#/org/${orgId}/health/reports` : `#/org/${orgId}/health` }, t('health.back')),
      report.canManage && h('a', { class: 'btn', href: `#/org/${orgId}/health/reports/${report.id}/edit`, 'data-testid': 'health-edit' }, t('health.edit'))),
    h('div', { class: 'health-toolbar' },
      field(t('health.dash.day'), dayInput),
      button(t('health.dash.refresh'), { 'data-testid': 'health-refresh', onclick: () => refresh(true) }),
      updated),
    error, notReportDay,
    h('section', { class: 'health-panel', 'data-testid': 'health-dashboard' }, totals, ding?.el, departments),
    h('section', { class: 'health-panel' }, chart),
    drill?.el));
  refresh(true);

  const timer = setInterval(() => document.visibilityState === 'visible' && refresh(false), REFRESH_MS);
  const onVisible = () => document.visibilityState === 'visible' && refresh(false);
  document.addEventListener('visibilitychange', onVisible);
  return () => {
    clearInterval(timer);
    document.removeEventListener('visibilitychange', onVisible);
  };
}

/** `/org/:orgId/health/reports/:reportId`. */
export function dashboardPage(root, { orgId, reportId }) {
  const status = h('p', { class: 'health-note', role: 'status' }, t('common.loading'));
  root.append(status);
  let destroy = () => {};
  let gone = false;
  fetchReport(orgId, reportId).then((report) => {
    status.remove();
    if (gone) return;
    if (!report.canManage && !report.aggregatesVisible) {
      root.append(h('p', { class: 'not-found', 'data-testid': 'not-found' }, t('error.forbidden')));
      return;
    }
    destroy = managerView(root, orgId, report);
  }, (error) => status.replaceWith(h('p', { class: 'not-found', 'data-testid': 'not-found' }, errorText(error))));
  return () => {
    gone = true;
    destroy();
  };
}

