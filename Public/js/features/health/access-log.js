/**
 * Who read whose health answers (owners): each read of answers, a history, an export or a photo,
 * newest first, page by page.
 */
import { h } from '../../core/dom.js';
import { button } from '../../core/forms.js';
import { errorText, formatDateTime, t } from '../../core/i18n.js';
import { formatDay, healthSection } from './parts.js';
import { fetchAccessLog, fetchReports } from './state.js';

const PAGE_SIZE = 50;
/** Names of the people read, shown before "and N more". */
const SHOWN_SUBJECTS = 5;

function subjectsText(entry) {
  const names = entry.subjects.slice(0, SHOWN_SUBJECTS).map((s) => s.name).join(t('health.listSeparator'));
  const more = entry.subjectCount - Math.min(entry.subjects.length, SHOWN_SUBJECTS);
  return more > 0 ? t('health.access.andMore', { names, count: more }) : names;
}

function entryRow(entry, titles) {
  return h('li', { class: 'health-access', 'data-testid': 'health-access-entry', 'data-action': entry.action },
    h('p', { class: 'health-access-head' },
      h('strong', { 'data-testid': 'health-access-reader' }, entry.reader.name), ' ',
      h('span', { 'data-testid': 'health-access-action' }, t(`health.access.action.${entry.action}`)), ' ',
      h('span', { class: 'badge' }, t('health.access.count', { count: entry.subjectCount }))),
    h('p', { class: 'health-note' },
      [formatDateTime(entry.at), titles.get(entry.reportId), entry.day && formatDay(entry.day)].filter(Boolean).join(' · ')),
    entry.subjects.length > 0 && h('p', { class: 'health-access-subjects', 'data-testid': 'health-access-subjects' }, subjectsText(entry)));
}

/** `/org/:orgId/health/access-log`. */
export function accessLogPage(root, { orgId }) {
  const status = h('p', { class: 'health-note', role: 'status', 'data-testid': 'health-access-status' }, t('common.loading'));
  const list = h('ul', { class: 'health-access-list', 'data-testid': 'health-access-log' });
  let titles = new Map();
  let before;
  const more = button(t('health.dash.loadMore'), { 'data-testid': 'health-access-more', hidden: true, onclick: () => load() });
  async function load() {
    more.disabled = true;
    try {
      const { items } = await fetchAccessLog(orgId, { before, limit: PAGE_SIZE });
      list.append(...items.map((entry) => entryRow(entry, titles)));
      before = items[items.length - 1]?.id ?? before;
      more.hidden = items.length < PAGE_SIZE;
      status.textContent = list.children.length ? '' : t('health.access.empty');
    } catch (error) {
      status.textContent = errorText(error);
    } finally {
      more.disabled = false;
    }
  }
  root.append(healthSection(orgId, 'access', t('health.access.title'), h('p', { class: 'health-lead' }, t('health.access.lead')), status, list, more));
  fetchReports(orgId).then((reports) => { titles = new Map(reports.map((r) => [r.id, r.title])); }, () => {}).finally(load);
}
