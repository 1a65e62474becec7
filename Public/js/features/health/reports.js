/**
 * The reports a manager looks after: each with its window, audience and whether it runs, opening
 * its dashboard; "New report".
 */
import { h } from '../../core/dom.js';
import { errorText, t } from '../../core/i18n.js';
import { navigate } from '../../core/router.js';
import { healthSection } from './parts.js';
import { fetchReports } from './state.js';

function reportRow(orgId, report) {
  return h('li', {}, h('a', {
    class: 'health-report-row', href: `#/org/${orgId}/health/reports/${report.id}`, 'data-testid': 'health-report-row', 'data-report-id': report.id,
  },
  h('span', { class: 'health-report-main' },
    h('span', { class: 'health-report-title', 'data-testid': 'health-report-title' }, report.title),
    h('span', { class: 'health-note' },
      t('health.window', { opens: report.opensAt, closes: report.closesAt, zone: report.timeZone }), ' · ',
      report.wholeOrganization ? t('audience.org') : t('health.departmentCount', { count: report.departmentIds.length }))),
  h('span', { class: report.active ? 'health-state is-on' : 'health-state', 'data-testid': 'health-report-state' },
    report.active ? t('health.active') : t('health.stopped'))));
}

/** `/org/:orgId/health/reports`. */
export function reportsPage(root, { orgId }) {
  const status = h('p', { class: 'health-note', role: 'status', 'data-testid': 'health-reports-status' }, t('common.loading'));
  const list = h('ul', { class: 'health-reports', 'data-testid': 'health-reports' });
  root.append(healthSection(orgId, 'reports', t('health.reports.title'),
    h('div', { class: 'health-actions' },
      h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'health-new', onclick: () => navigate(`/org/${orgId}/health/reports/new`) },
        t('health.reports.new'))),
    status, list));
  fetchReports(orgId).then((reports) => {
    const managed = reports.filter((r) => r.canManage);
    list.replaceChildren(...managed.map((r) => reportRow(orgId, r)));
    status.textContent = managed.length ? '' : t('health.reports.empty');
  }, (error) => { status.textContent = errorText(error); });
}
