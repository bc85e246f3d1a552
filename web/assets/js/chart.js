// SVG charts drawn by our own small code: a time-series chart with a
// baseline band, incident spans and transition markers, and a sparkline.

import { h, svg } from './dom.js';
import * as fmt from './format.js';

// poissonInterval is the central interval [lo, hi] that holds `mass` of a
// Poisson distribution with mean lambda: the counts one expects to see
// when things are normal. It is the baseline band of the charts.
export function poissonInterval(lambda, mass = 0.95) {
  if (!(lambda > 0)) return [0, 0];
  const lo = (1 - mass) / 2;
  const hi = 1 - lo;
  if (lambda > 200) {
    const sd = Math.sqrt(lambda);
    return [Math.max(0, Math.floor(lambda - 1.96 * sd)), Math.ceil(lambda + 1.96 * sd)];
  }
  let p = Math.exp(-lambda);
  let cdf = p;
  let a = null;
  for (let k = 0; k < 100000; k++) {
    if (a === null && cdf >= lo) a = k;
    if (cdf >= hi) return [a, k];
    p *= lambda / (k + 1);
    cdf += p;
  }
  return [a ?? 0, Math.ceil(lambda)];
}

// linear maps [d0, d1] onto [r0, r1].
export function linear(d0, d1, r0, r1) {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

// niceTicks divides [0, max] into about count steps of 1, 2 or 5 x 10^n
// (whole numbers: the charts count posts).
export function niceTicks(max, count = 5) {
  const m = Math.max(max, 1);
  const raw = m / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  let step = mag;
  for (const f of [1, 2, 5, 10]) {
    if (f * mag >= raw) { step = f * mag; break; }
  }
  step = Math.max(1, Math.round(step));
  const top = Math.ceil(m / step) * step;
  const ticks = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(v);
  return { ticks, top };
}

const MIN = 60e3;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const intervals = [MIN, 2 * MIN, 5 * MIN, 10 * MIN, 15 * MIN, 30 * MIN, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY];

// timeTicks picks at most about count ticks between t0 and t1 (ms) at
// round times of the zone shown (UTC unless the reader chose local time);
// labels are 24-hour clocks, or the day at midnight.
export function timeTicks(t0, t1, count) {
  const span = Math.max(t1 - t0, MIN);
  const iv = intervals.find((i) => span / i <= count) || 7 * DAY;
  const offset = fmt.offsetMs(t0);
  const first = Math.ceil((t0 + offset) / iv) * iv - offset;
  const out = [];
  for (let t = first; t <= t1; t += iv) {
    const f = fmt.fields(t);
    const midnight = f.h === 0 && f.mi === 0;
    out.push({ t, label: iv >= DAY || midnight ? fmt.dayShort(t) : fmt.clock(t) });
  }
  return out;
}

// textWidth estimates the width of a chart label (11.5 px system font);
// a little generous, so that labels laid out by it never touch.
export const textWidth = (s) => String(s).length * 6.6 + 4;

// stackLabels places labels [{x, text}] on rows so that no two overlap:
// each goes on the first row where it fits, and one that fits on none of
// maxRows is left out (its line keeps a tooltip). A label that would pass
// the right edge is drawn to the left of its x.
export function stackLabels(labels, right, maxRows) {
  const rows = [];
  const out = [];
  for (const l of labels) {
    const w = textWidth(l.text);
    const toLeft = l.x + 3 + w > right;
    const a = toLeft ? l.x - 3 - w : l.x + 3;
    const b = a + w;
    let row = 0;
    while (row < maxRows && (rows[row] || []).some(([c, d]) => a < d && c < b)) row++;
    if (row >= maxRows) continue;
    (rows[row] = rows[row] || []).push([a, b]);
    out.push({ ...l, row, anchor: toLeft ? 'end' : 'start', tx: toLeft ? l.x - 3 : l.x + 3 });
  }
  return out;
}

// The position of the chart cursor, per chart id, kept across refreshes.
const cursorMemory = new Map();

// timeChart draws rows of a time series.
//
//   rows:    [{t (ms, start of the step), values: {key: n}, expected?}]
//   step:    ms per row (points are drawn at the middle of their step)
//   x0, x1:  the time range (ms)
//   series:  [{key, label, cls, area?}] lines (or areas) from row.values
//   band:    true to draw the Poisson band and the expected level
//   spans:   [{from, to, cls, label}] shaded time ranges (incidents)
//   markers: [{t, label, cls}] vertical lines (transitions)
//   tip:     row => [lines] for the tooltip
//   yLabel:  what the y axis counts, with its step ("outage posts per 5 min")
//   id, label: element id and accessible summary
//
// The chart is drawn when it is laid out (it needs its width) and again
// when its width changes. The <svg> element exists from the start, so
// that focus can be given to it before it is drawn.
export function timeChart(o) {
  const height = o.height || 280;
  const rows = o.rows || [];
  const wrap = h('div', { class: 'chart' });
  // The chart's height is known before it is drawn: reserving it keeps
  // the first drawing from resizing what the observer watches.
  wrap.style.minHeight = height + 'px';
  const tip = h('div', { class: 'chart-tip', hidden: true, role: 'status', 'aria-live': 'polite' });
  const root = svg('svg', {
    role: 'img', 'aria-label': o.label, tabindex: 0, id: o.id, class: o.cls, 'data-rows': rows.length,
    height, width: '100%',
  });
  wrap.append(root, tip);

  // What the last drawing placed, for the cursor.
  let geo = null;
  let idx = -1;

  const show = (i) => {
    if (!rows.length || !geo) return;
    idx = Math.max(0, Math.min(rows.length - 1, i));
    cursorMemory.set(o.id, idx);
    const r = rows[idx];
    const xx = geo.r2(geo.px(r));
    geo.cursor.setAttribute('x1', xx);
    geo.cursor.setAttribute('x2', xx);
    geo.cursor.setAttribute('visibility', 'visible');
    o.series.forEach((s, k) => {
      geo.dots[k].setAttribute('cx', xx);
      geo.dots[k].setAttribute('cy', geo.r2(geo.y(r.values[s.key] || 0)));
      geo.dots[k].setAttribute('visibility', 'visible');
    });
    const lines = o.tip ? o.tip(r) : [fmt.dateTime(r.t)];
    tip.replaceChildren(...lines.map((l, k) => (k === 0 ? h('strong', null, l) : h('div', null, l))));
    tip.hidden = false;
    const scale = wrap.clientWidth / geo.W || 1;
    const left = xx * scale;
    const tw = tip.offsetWidth;
    const place = left + 12 + tw > wrap.clientWidth ? left - 12 - tw : left + 12;
    tip.style.left = Math.max(0, place) + 'px';
    tip.style.top = '8px';
  };
  const hide = () => {
    idx = -1;
    cursorMemory.delete(o.id);
    if (geo) {
      geo.cursor.setAttribute('visibility', 'hidden');
      geo.dots.forEach((d) => d.setAttribute('visibility', 'hidden'));
    }
    tip.hidden = true;
  };
  const nearest = (clientX) => {
    const box = root.getBoundingClientRect();
    const vx = ((clientX - box.left) / box.width) * geo.W;
    let best = 0;
    let bd = Infinity;
    rows.forEach((r, i) => {
      const d = Math.abs(geo.px(r) - vx);
      if (d < bd) { bd = d; best = i; }
    });
    return best;
  };
  root.addEventListener('pointermove', (e) => { if (geo) show(nearest(e.clientX)); });
  root.addEventListener('pointerleave', () => { if (document.activeElement !== root) hide(); });
  root.addEventListener('blur', hide);
  root.addEventListener('focus', () => { if (idx < 0) show(cursorMemory.get(o.id) ?? rows.length - 1); });
  root.addEventListener('keydown', (e) => {
    const stepBy = e.shiftKey ? 10 : 1;
    if (e.key === 'ArrowLeft') show((idx < 0 ? rows.length : idx) - stepBy);
    else if (e.key === 'ArrowRight') show((idx < 0 ? -1 : idx) + stepBy);
    else if (e.key === 'Home') show(0);
    else if (e.key === 'End') show(rows.length - 1);
    else if (e.key === 'Escape') hide();
    else return;
    e.preventDefault();
    e.stopPropagation();
  });

  let lastWidth = 0;
  const ro = new ResizeObserver((entries) => {
    if (!wrap.isConnected) {
      // Not in the page yet (a page builds its charts before showing
      // them), or taken out of it by a refresh: then stop watching.
      if (lastWidth > 0) ro.disconnect();
      return;
    }
    const w = Math.round(entries[0].contentRect.width);
    if (w > 0 && w !== lastWidth) {
      lastWidth = w;
      draw(w);
    }
  });
  ro.observe(wrap);

  function draw(width) {
    const m = { l: 46, r: 14, t: 30, b: 28 };
    const W = Math.max(width, 240);
    const H = height;
    const pw = W - m.l - m.r;
    const ph = H - m.t - m.b;
    const half = (o.step || 0) / 2;
    // No band where the baseline is still learning (expected null).
    const banded = o.band ? rows.filter((r) => r.expected !== null && r.expected !== undefined) : [];
    const bands = banded.map((r) => poissonInterval(r.expected));

    let ymax = 4;
    rows.forEach((r) => {
      for (const s of o.series) ymax = Math.max(ymax, r.values[s.key] || 0);
    });
    banded.forEach((r, i) => { ymax = Math.max(ymax, bands[i][1], r.expected); });
    const { ticks, top } = niceTicks(ymax, Math.max(3, Math.floor(ph / 50)));
    const x = linear(o.x0, o.x1, m.l, m.l + pw);
    const y = linear(0, top, m.t + ph, m.t);
    const px = (r) => x(r.t + half);
    const r2 = (v) => Math.round(v * 10) / 10;
    root.setAttribute('viewBox', `0 0 ${W} ${H}`);
    root.setAttribute('width', W);
    const parts = [];
    const g = (cls) => svg('g', { class: cls });

    const grid = g('grid');
    for (const v of ticks) {
      grid.append(svg('line', { class: 'grid-line', x1: m.l, x2: m.l + pw, y1: r2(y(v)), y2: r2(y(v)) }));
      grid.append(svg('text', { class: 'tick', x: m.l - 6, y: r2(y(v)) + 4, 'text-anchor': 'end' }, fmt.int(v)));
    }
    parts.push(grid);

    // Span and marker labels share rows at the top of the plot.
    const labels = [];
    const spans = g('spans');
    for (const sp of o.spans || []) {
      const a = Math.max(m.l, x(sp.from));
      const b = Math.min(m.l + pw, x(sp.to));
      if (b <= a) continue;
      spans.append(svg('rect', { class: 'span-' + sp.cls, x: r2(a), y: m.t, width: r2(Math.max(b - a, 2)), height: ph },
        svg('title', null, sp.label)));
      if (b - a > 60) labels.push({ x: a + 1, text: sp.label, cls: 'span-label' });
    }
    parts.push(spans);

    if (banded.length) {
      const upper = banded.map((r, i) => `${r2(px(r))},${r2(y(bands[i][1]))}`);
      const lower = banded.map((r, i) => `${r2(px(r))},${r2(y(bands[i][0]))}`).reverse();
      parts.push(svg('polygon', { class: 'band', points: upper.concat(lower).join(' ') }));
      parts.push(svg('polyline', { class: 'band-edge', points: upper.join(' ') }));
      parts.push(svg('polyline', { class: 'expected', points: banded.map((r) => `${r2(px(r))},${r2(y(r.expected))}`).join(' ') }));
    }

    // A series drawn as an area goes under the lines.
    for (const s of [...o.series].sort((a, b) => Number(!!b.area) - Number(!!a.area))) {
      if (!rows.length) continue;
      const pts = rows.map((r) => `${r2(px(r))},${r2(y(r.values[s.key] || 0))}`);
      if (s.area) {
        const floor = r2(y(0));
        pts.unshift(`${r2(px(rows[0]))},${floor}`);
        pts.push(`${r2(px(rows[rows.length - 1]))},${floor}`);
        parts.push(svg('polygon', { class: s.cls + ' area', 'data-series': s.key, points: pts.join(' ') }));
      } else {
        parts.push(svg('polyline', { class: s.cls, 'data-series': s.key, points: pts.join(' ') }));
      }
    }

    const marks = g('markers');
    for (const mk of (o.markers || []).filter((k) => k.t >= o.x0 && k.t <= o.x1)) {
      const xm = r2(x(mk.t));
      marks.append(svg('line', { class: 'marker ' + (mk.cls || ''), x1: xm, x2: xm, y1: m.t, y2: m.t + ph }, svg('title', null, mk.label)));
      labels.push({ x: xm, text: mk.label, cls: 'marker-label' });
    }
    // Changes a minute apart stack; what fits on no row keeps its tooltip.
    for (const l of stackLabels(labels, m.l + pw, Math.max(1, Math.min(4, Math.floor(ph / 40))))) {
      marks.append(svg('text', { class: l.cls, x: r2(l.tx), y: m.t + 12 + l.row * 13, 'text-anchor': l.anchor }, l.text));
    }
    parts.push(marks);

    parts.push(svg('line', { class: 'axis axis-x', x1: m.l, x2: m.l + pw, y1: m.t + ph, y2: m.t + ph }));
    const xt = g('x-ticks');
    // A label every 70 px or so, and never two that touch.
    let lastEnd = -Infinity;
    for (const t of timeTicks(o.x0, o.x1, Math.max(2, Math.floor(pw / 70)))) {
      const xx = r2(x(t.t));
      const w = textWidth(t.label);
      xt.append(svg('line', { class: 'axis', x1: xx, x2: xx, y1: m.t + ph, y2: m.t + ph + 4 }));
      if (xx - w / 2 < lastEnd + 6 || xx + w / 2 > W || xx - w / 2 < 0) continue;
      lastEnd = xx + w / 2;
      xt.append(svg('text', { class: 'tick', x: xx, y: H - 8, 'text-anchor': 'middle' }, t.label));
    }
    parts.push(xt);
    // What the axes count, and the zone of the times, once each.
    if (o.yLabel) parts.push(svg('text', { class: 'axis-label y-label', x: 4, y: 12 }, o.yLabel));
    parts.push(svg('text', { class: 'axis-label x-zone', x: W - 2, y: 12, 'text-anchor': 'end' }, 'times in ' + fmt.zoneName(o.x1)));

    const cursor = svg('line', { class: 'cursor', y1: m.t, y2: m.t + ph, visibility: 'hidden' });
    const dots = o.series.map((s) => svg('circle', { class: 'dot-' + s.key, r: 3.5, visibility: 'hidden' }));
    parts.push(cursor, ...dots);
    root.replaceChildren(...parts);
    geo = { W, px, y, r2, cursor, dots };
    if (document.activeElement === root) show(idx < 0 ? (cursorMemory.get(o.id) ?? rows.length - 1) : idx);
  }

  return wrap;
}

// sparkline draws outage posts per step over their baseline band, small
// enough for a card (no band where expected is null: still learning).
// points: [{t, posts, expected}].
export function sparkline(points, label) {
  const W = 240;
  const H = 44;
  const root = svg('svg', { class: 'spark', viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': label });
  if (!points || points.length < 2) return root;
  const banded = [];
  points.forEach((p, i) => { if (p.expected !== null && p.expected !== undefined) banded.push({ i, band: poissonInterval(p.expected) }); });
  let ymax = 3;
  points.forEach((p) => { ymax = Math.max(ymax, p.posts); });
  banded.forEach((b) => { ymax = Math.max(ymax, b.band[1]); });
  const x = linear(0, points.length - 1, 1, W - 1);
  const y = linear(0, ymax, H - 2, 2);
  const r2 = (v) => Math.round(v * 10) / 10;
  if (banded.length) {
    const upper = banded.map((b) => `${r2(x(b.i))},${r2(y(b.band[1]))}`);
    const lower = banded.map((b) => `${r2(x(b.i))},${r2(y(b.band[0]))}`).reverse();
    root.append(svg('polygon', { class: 'band', points: upper.concat(lower).join(' ') }));
  }
  root.append(svg('polyline', { class: 'line', 'vector-effect': 'non-scaling-stroke', points: points.map((p, i) => `${r2(x(i))},${r2(y(p.posts))}`).join(' ') }));
  return root;
}
