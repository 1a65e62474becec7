/**
 * Health reports outside the health page: on the organisation's home, a notice for each report
 * due today and not reported yet (oneself's or a student's); in the header, the reminders the
 * server sends (`health.reminder`) until they are acted on or dismissed.
 */
import { h } from '../../core/dom.js';
import { button } from '../../core/forms.js';
import { locale, t } from '../../core/i18n.js';
import { watch } from '../../core/store.js';
import { memberships } from '../orgs/state.js';
import { dismissReminder, health, isDue, loadToday, reminders } from './state.js';

function noticeText(item) {
  return item.relation === 'ward'
    ? t('health.notice.ward', { name: item.member.name, title: item.report.title })
    : t('health.notice.self', { title: item.report.title });
}

/** The notices for the home page of `orgId`; `{ el, destroy }`. */
export function healthNotice(orgId) {
  const el = h('div', { class: 'health-notices', 'data-testid': 'health-notices' });
  loadToday(orgId);
  const destroy = watch(health, (s) => [s.orgId, s.items], ([shownOrg, items]) => {
    const due = shownOrg === orgId ? items.filter((item) => isDue(item)) : [];
    el.replaceChildren(...due.map((item) => h('a', {
      class: 'health-notice', href: `#/org/${orgId}/health`, role: 'status', 'data-testid': 'health-notice', 'data-report-id': item.report.id,
    },
    h('span', { class: 'health-notice-mark', 'aria-hidden': 'true' }, '!'),
    h('span', { class: 'health-notice-text' }, noticeText(item)),
    h('span', { class: 'health-notice-go' }, t('health.notice.go')))));
  });
  return { el, destroy };
}

function reminderText(reminder) {
  const { orgId, items } = health.get();
  const item = orgId === reminder.orgId
    ? items.find((i) => i.report.id === reminder.reportId && (reminder.memberId ? i.member.memberId === reminder.memberId : i.relation === 'self'))
    : undefined;
  const title = reminder.title ?? item?.report.title;
  if (reminder.memberId) return t('health.reminder.ward', { name: item?.member.name ?? t('health.reminder.aStudent') });
  return title ? t('health.reminder.selfTitled', { title }) : t('health.reminder.self');
}

function reminderView(reminder) {
  const several = memberships().length > 1;
  const orgName = memberships().find((m) => m.organization.id === reminder.orgId)?.organization.name;
  return h('article', { class: 'health-reminder', role: 'alert', 'data-testid': 'health-reminder', 'data-report-id': reminder.reportId },
    h('p', { class: 'health-reminder-text', 'data-testid': 'health-reminder-text' },
      reminderText(reminder), several && orgName && h('span', { class: 'health-reminder-org' }, ` · ${orgName}`)),
    h('a', {
      class: 'btn btn-primary', href: `#/org/${reminder.orgId}/health`, 'data-testid': 'health-reminder-open',
      onclick: () => dismissReminder(reminder),
    }, t('health.reminder.open')),
    button(t('common.dismiss'), { 'data-testid': 'health-reminder-dismiss', onclick: () => dismissReminder(reminder) }));
}

/** The reminders, for the header. */
export function healthReminders() {
  const el = h('section', { class: 'health-reminders', 'aria-label': t('health.reminder.title'), 'data-testid': 'health-reminders' });
  const render = () => {
    const { items } = reminders.get();
    el.replaceChildren(...items.map(reminderView));
    el.hidden = !items.length;
  };
  reminders.subscribe(render);
  health.subscribe(render);
  locale.subscribe(render);
  render();
  return el;
}
