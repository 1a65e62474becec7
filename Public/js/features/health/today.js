/**
 * The health page: today's reports — one per report and person (oneself, and the students one
 * reports for as their guardian) — each with where it stands, the form, and the health card
 * (first once reported). Reloads itself when a window opens or closes, and when a report is made
 * elsewhere (`health.submitted`).
 */
import { h } from '../../core/dom.js';
import { errorText, t } from '../../core/i18n.js';
import { watch } from '../../core/store.js';
import { healthCard } from './card.js';
import { healthSection, statusText } from './parts.js';
import { reportForm } from './report-form.js';
import { fetchCard, health, itemKey, loadToday } from './state.js';

/** What an item's rendering depends on: it is rendered again only when this changes. */
function signature(item) {
  const s = item.submission;
  return [item.open, item.reportDay, s?.revision, s?.submittedAt, item.card?.colour, item.card?.code, item.card?.daysToGreen, item.report.updatedAt].join('|');
}

const historyPath = (orgId, item) => `#/org/${orgId}/health/history/${item.report.id}${item.relation === 'ward' ? `/${item.member.memberId}` : ''}`;

/** The card of an item, or (when today's list does not carry it) fetched. */
function cardSlot(orgId, item) {
  if (item.card) return healthCard(item.card, item.report.timeZone);
  const slot = h('div', { class: 'health-card-slot' });
  fetchCard(orgId, item.report.id, item.relation === 'ward' ? item.member.memberId : undefined)
    .then((card) => slot.replaceChildren(healthCard(card, item.report.timeZone)), () => slot.remove());
  return slot;
}

function itemView(orgId, item, now) {
  const ward = item.relation === 'ward';
  const reported = !!item.submission;
  const card = cardSlot(orgId, item);
  const formEl = item.reportDay ? reportForm(orgId, item) : '';
  return h('article', {
    class: `health-item${reported ? ' is-reported' : ''}`, 'data-testid': 'health-item',
    'data-report-id': item.report.id, 'data-relation': item.relation, 'data-member-id': item.member.memberId,
  },
  h('header', { class: 'health-item-head' },
    h('h2', { class: 'health-item-title', 'data-testid': 'health-item-title' }, item.report.title),
    ward && h('p', { class: 'health-for', 'data-testid': 'health-item-for' }, t('health.forWard', { name: item.member.name })),
    h('p', { class: `health-status${reported ? ' is-done' : ''}`, role: 'status', 'data-testid': 'health-status' }, statusText(item, now))),
  reported ? [card, formEl] : [formEl, card],
  h('p', { class: 'health-actions' },
    h('a', { class: 'health-history-link', href: historyPath(orgId, item), 'data-testid': 'health-history-link' },
      ward ? t('health.historyOf', { name: item.member.name }) : t('health.myHistory')),
    // Managers, and everyone where the report shows its counts, reach the figures from here.
    (item.report.canManage || item.report.aggregatesVisible) && h('a', {
      class: 'health-history-link', href: `#/org/${orgId}/health/reports/${item.report.id}`, 'data-testid': 'health-figures-link',
    }, t('health.figures'))));
}

/** Loads today's list again just after the next window opens or closes (within a day). */
function boundaryTimer(orgId, items) {
  const now = Date.now();
  const next = items.flatMap((i) => [i.opensAt, i.closesAt]).filter(Boolean).map(Date.parse)
    .filter((at) => at > now && at - now < 86_400_000).sort((a, b) => a - b)[0];
  return next ? setTimeout(() => loadToday(orgId), next - now + 1000) : undefined;
}

export function todayPage(root, { orgId }) {
  loadToday(orgId);
  const status = h('p', { class: 'health-note', role: 'status', 'data-testid': 'health-today-status' });
  const list = h('div', { class: 'health-items', 'data-testid': 'health-items' });
  root.append(healthSection(orgId, 'today', t('health.title'), status, list));
  const shown = new Map();
  let timer;
  const unwatch = watch(health, (s) => [s.orgId, s.items, s.loaded, s.error], ([shownOrg, items, loaded, error]) => {
    if (shownOrg !== orgId) return;
    status.textContent = error ? errorText(error) : !loaded ? t('common.loading') : items.length ? '' : t('health.nothingToday');
    const now = Date.now();
    const views = items.map((item) => {
      const key = itemKey(item.report.id, item.member.memberId);
      const known = shown.get(key);
      if (known?.signature === signature(item)) {
        known.el.querySelector('[data-testid="health-status"]').textContent = statusText(item, now);
        return [key, known];
      }
      return [key, { signature: signature(item), el: itemView(orgId, item, now) }];
    });
    shown.clear();
    views.forEach(([key, view]) => shown.set(key, view));
    list.replaceChildren(...views.map(([, view]) => view.el));
    clearTimeout(timer);
    timer = boundaryTimer(orgId, items);
  });
  return () => {
    unwatch();
    clearTimeout(timer);
  };
}
