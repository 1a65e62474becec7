/** Small pieces the health views share: tabs, colours in words, days, a live clock, answers as text. */
import { h } from '../../core/dom.js';
import { formatTime, locale, t } from '../../core/i18n.js';
import { tabBar } from '../orgs/tabs.js';
import { canManageHealth, isOwner, photoUrl } from './state.js';

export const COLOURS = ['green', 'yellow', 'red'];

/** The colour in words (never by colour alone). */
export const colourName = (colour) => t(`health.colour.${colour}`);

/** A coloured dot followed by the colour's name. */
export function colourMark(colour, testId = 'health-colour') {
  if (!colour) return '';
  return h('span', { class: `health-mark is-${colour}`, 'data-colour': colour, 'data-testid': testId },
    h('span', { class: 'health-dot', 'aria-hidden': 'true' }), colourName(colour));
}

/** A report day (`YYYY-MM-DD`) as a date in the current language. */
export function formatDay(day, style = 'medium') {
  if (!day) return '';
  const options = style === 'short' ? { month: 'numeric', day: 'numeric' } : { dateStyle: style };
  return new Intl.DateTimeFormat(locale.get().value, { ...options, timeZone: 'UTC' }).format(new Date(`${day}T00:00:00Z`));
}

/** °C with one decimal. */
export const formatTemperature = (value) => (value == null ? '' : `${Number(value).toFixed(1)} °C`);

/**
 * The time now, to the second, in `timeZone` (the organisation's), ticking — so that a screenshot
 * of a card is visibly stale. Stops by itself once the element has left the page.
 */
export function liveClock(timeZone, attrs = {}) {
  let format;
  try {
    format = new Intl.DateTimeFormat(locale.get().value, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZone });
  } catch {
    format = new Intl.DateTimeFormat(locale.get().value, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  }
  const el = h('time', { ...attrs, 'aria-live': 'off' });
  let shown = false;
  const tick = () => {
    if (el.isConnected) shown = true;
    else if (shown) return clearInterval(timer);
    el.textContent = format.format(new Date());
    return undefined;
  };
  const timer = setInterval(tick, 1000);
  tick();
  return el;
}

/** The tabs over the health pages: today, card check, and for managers the reports, for owners the access log. */
export function healthTabs(orgId, current) {
  const base = `#/org/${orgId}/health`;
  return tabBar(t('nav.health'), 'health', [
    ['today', base, t('health.tab.today')],
    ['check', `${base}/check`, t('health.tab.check')],
    canManageHealth(orgId) && ['reports', `${base}/reports`, t('health.tab.reports')],
    isOwner(orgId) && ['access', `${base}/access-log`, t('health.tab.access')],
  ].filter(Boolean), current);
}

/** A page of the health section: a title, the tabs, and `children`. */
export function healthSection(orgId, current, title, ...children) {
  return h('section', { class: 'health', 'data-testid': `health-${current}-page` },
    h('h1', { class: 'health-title' }, title),
    healthTabs(orgId, current),
    children);
}

/** One answer as a reader sees it; `question` may be gone (the report changed since). */
export function answerValue(orgId, question, answer) {
  if (answer.temperature != null) return formatTemperature(answer.temperature);
  if (answer.choices) {
    return answer.choices.map((id) => question?.options?.find((o) => o.id === id)?.label ?? id).join(t('health.listSeparator'));
  }
  if (answer.yes != null) return answer.yes ? t('health.yes') : t('health.no');
  if (answer.photoId) {
    const url = photoUrl(orgId, answer.photoId);
    return h('a', { href: url, target: '_blank', rel: 'noopener' },
      h('img', { class: 'health-thumb', src: url, alt: t('health.photo'), loading: 'lazy', 'data-testid': 'health-photo-thumb' }));
  }
  return answer.text ?? '';
}

/** Answers as a definition list, in the report's question order (unknown questions last). */
export function answerList(orgId, questions, answers) {
  const order = new Map((questions ?? []).map((q, i) => [q.id, i]));
  const sorted = [...answers].sort((a, b) => (order.get(a.questionId) ?? 999) - (order.get(b.questionId) ?? 999));
  return h('dl', { class: 'health-answers', 'data-testid': 'health-answers' }, sorted.map((answer) => {
    const question = questions?.find((q) => q.id === answer.questionId);
    return [h('dt', {}, question?.title ?? answer.questionId), h('dd', { 'data-question-id': answer.questionId }, answerValue(orgId, question, answer))];
  }));
}

/** Where today's item stands: no report today, opens at, open until, closed, reported at. */
export function statusText(item, now) {
  // A window that closes at midnight says so, rather than "12:00 AM".
  const at = (iso) => (new Date(iso).getHours() === 0 && new Date(iso).getMinutes() === 0 ? t('health.midnight') : formatTime(iso));
  if (!item.reportDay) return t('health.status.notReportDay');
  const open = item.open;
  if (item.submission) {
    return open
      ? t('health.status.reportedOpen', { time: at(item.submission.submittedAt), close: at(item.closesAt) })
      : t('health.status.reported', { time: at(item.submission.submittedAt) });
  }
  if (open) return t('health.status.openUntil', { close: at(item.closesAt) });
  if (item.opensAt && Date.parse(item.opensAt) > now) return t('health.status.opensAt', { time: at(item.opensAt) });
  return t('health.status.missed', { close: at(item.closesAt) });
}
