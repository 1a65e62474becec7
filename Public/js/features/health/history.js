/**
 * A person's history with one report: the card today, then the report days, newest first — each
 * with its colour (as a dot and in words), the temperature and the answers while they are kept,
 * and "not reported" on the days missed. One's own, or a student's one reports for.
 */
import { h } from '../../core/dom.js';
import { errorText, formatTime, t } from '../../core/i18n.js';
import { healthCard } from './card.js';
import { answerList, colourMark, formatDay, formatTemperature, healthSection } from './parts.js';
import { fetchHistory, fetchReport } from './state.js';

function dayRow(orgId, report, { day, submission }) {
  if (!submission) {
    return h('li', { class: 'health-day is-missed', 'data-testid': 'health-day', 'data-day': day },
      h('div', { class: 'health-day-head' },
        h('span', { class: 'health-day-date' }, formatDay(day, 'full')),
        h('span', { class: 'health-mark is-missed', 'data-testid': 'health-day-missed' }, h('span', { class: 'health-dot', 'aria-hidden': 'true' }), t('health.notReported'))));
  }
  return h('li', { class: 'health-day', 'data-testid': 'health-day', 'data-day': day },
    h('div', { class: 'health-day-head' },
      h('span', { class: 'health-day-date' }, formatDay(day, 'full')),
      colourMark(submission.colour, 'health-day-colour'),
      submission.temperature != null && h('span', { class: 'health-day-temp', 'data-testid': 'health-day-temperature' }, formatTemperature(submission.temperature))),
    h('p', { class: 'health-note' }, t('health.reportedBy', {
      time: formatTime(submission.submittedAt),
      name: submission.submittedBy?.name ?? submission.member.name,
    })),
    submission.answers
      ? answerList(orgId, report?.questions, submission.answers)
      : h('p', { class: 'health-note', 'data-testid': 'health-answers-expired' }, t('health.answersExpired', { days: report?.retentionDays ?? 14 })));
}

/** `/org/:orgId/health/history/:reportId(/:memberId)`. */
export function historyPage(root, { orgId, reportId, memberId }) {
  const body = h('div', { class: 'health-history', 'data-testid': 'health-history' }, h('p', { class: 'health-note', role: 'status' }, t('common.loading')));
  root.append(healthSection(orgId, 'history', t('health.history.title'),
    h('a', { class: 'health-back', href: `#/org/${orgId}/health` }, t('health.backToToday')), body));
  Promise.all([fetchHistory(orgId, reportId, memberId), fetchReport(orgId, reportId).catch(() => null)]).then(([history, report]) => {
    body.replaceChildren(
      h('h2', { class: 'health-item-title' }, report?.title ?? '', ' · ', h('span', { 'data-testid': 'health-history-name' }, history.member.name)),
      history.card && healthCard(history.card, report?.timeZone),
      history.days.length
        ? h('ol', { class: 'health-days', 'data-testid': 'health-days' }, history.days.map((d) => dayRow(orgId, report, d)))
        : h('p', { class: 'health-note' }, t('health.history.empty')));
  }, (error) => body.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, errorText(error))));
}
