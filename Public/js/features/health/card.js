/**
 * The health card: full width on a phone, green, yellow or red — with the colour written out too —
 * the holder's name, today's date, a clock ticking by the second (a screenshot is visibly stale)
 * and today's check code in large letters; yellow and red cards say how many normal days are
 * still needed to turn green.
 */
import { h } from '../../core/dom.js';
import { t } from '../../core/i18n.js';
import { colourName, formatDay, liveClock } from './parts.js';

/** `card`: a HealthCard; `timeZone`: the organisation's (the clock's and the date's). */
export function healthCard(card, timeZone) {
  const toGreen = card.colour !== 'green' && card.daysToGreen != null;
  return h('article', { class: `health-card is-${card.colour}`, 'data-colour': card.colour, 'data-testid': 'health-card' },
    h('p', { class: 'health-card-colour', 'data-testid': 'health-card-colour' }, t('health.card.colour', { colour: colourName(card.colour) })),
    h('p', { class: 'health-card-name', 'data-testid': 'health-card-name' }, card.member.name),
    card.reportTitle && h('p', { class: 'health-card-report' }, card.reportTitle),
    h('p', { class: 'health-card-when' },
      h('span', { 'data-testid': 'health-card-day' }, formatDay(card.day, 'full')), ' ',
      liveClock(timeZone, { class: 'health-card-clock', 'data-testid': 'health-card-clock' })),
    h('p', { class: 'health-card-code-label' }, t('health.card.code')),
    card.code
      ? h('p', { class: 'health-card-code', translate: 'no', 'data-testid': 'health-card-code' }, card.code)
      : h('p', { class: 'health-card-nocode', 'data-testid': 'health-card-nocode' }, t('health.card.noCode')),
    toGreen && h('p', { class: 'health-card-days', 'data-testid': 'health-card-days' }, t('health.card.daysToGreen', { count: card.daysToGreen })));
}
