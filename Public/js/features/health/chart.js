/**
 * The dashboard's trend: for each report day, the people who reported (blue) and, in front, those
 * who were abnormal (red), drawn as inline SVG that scales to its box. Each day carries a tooltip
 * and the chart a text summary for screen readers.
 */
import { t } from '../../core/i18n.js';
import { formatDay } from './parts.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 480;
const HEIGHT = 220;
const PAD = { top: 12, right: 8, bottom: 28, left: 36 };

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) if (value != null) el.setAttribute(name, String(value));
  el.append(...children);
  return el;
}

/** A round step for the y axis: 1, 2, 5, 10, 20, 50, … */
function niceStep(max) {
  const rough = Math.max(1, max) / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough);
}

/** `trend`: HealthTotals, oldest first. */
export function trendChart(trend) {
  const abnormal = (d) => d.yellow + d.red;
  const top = Math.max(1, ...trend.map((d) => Math.max(d.audience, d.reported)));
  const step = Math.max(1, Math.round(niceStep(top)));
  const yMax = Math.ceil(top / step) * step;
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const y = (v) => PAD.top + plotH - (v / yMax) * plotH;
  const slot = plotW / Math.max(1, trend.length);
  const barW = Math.max(4, Math.min(28, slot * 0.6));
  // Counted back from the last day, which is always labelled.
  const labelEvery = Math.ceil(trend.length / 5);

  const grid = [];
  for (let v = 0; v <= yMax; v += step) {
    grid.push(svg('line', { class: 'health-chart-grid', x1: PAD.left, x2: WIDTH - PAD.right, y1: y(v), y2: y(v) }),
      svg('text', { class: 'health-chart-label', x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, String(v)));
  }
  const days = trend.map((d, i) => {
    const x = PAD.left + slot * i + (slot - barW) / 2;
    const summary = t('health.chart.day', { day: formatDay(d.day), reported: d.reported, audience: d.audience, abnormal: abnormal(d) });
    return svg('g', { class: 'health-chart-day', 'data-testid': 'health-chart-day', 'data-day': d.day },
      svg('title', {}, summary),
      svg('rect', { class: 'health-chart-reported', x, y: y(d.reported), width: barW, height: Math.max(0, y(0) - y(d.reported)) }),
      svg('rect', { class: 'health-chart-abnormal', x: x + barW * 0.2, y: y(abnormal(d)), width: barW * 0.6, height: Math.max(0, y(0) - y(abnormal(d))) }),
      (trend.length - 1 - i) % labelEvery === 0
        ? svg('text', { class: 'health-chart-label', x: x + barW / 2, y: HEIGHT - 8, 'text-anchor': 'middle' }, formatDay(d.day, 'short'))
        : '');
  });
  const last = trend[trend.length - 1];
  return svg('svg', {
    class: 'health-chart', viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'data-testid': 'health-chart',
    'aria-label': last ? t('health.chart.summary', { days: trend.length, reported: last.reported, abnormal: abnormal(last) }) : t('health.chart.title'),
  }, ...grid, svg('line', { class: 'health-chart-axis', x1: PAD.left, x2: WIDTH - PAD.right, y1: y(0), y2: y(0) }), ...days);
}
