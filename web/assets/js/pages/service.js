// Service page: the trend against the baseline, incidents, codes, regions
// and the newest reports, over a chosen time range.

import { h } from '../dom.js';
import * as api from '../api.js';
import * as fmt from '../format.js';
import { timeChart } from '../chart.js';
import * as moment from '../moment.js';
import { silenceSection } from '../silence.js';
import { badge, link, serviceLink, stateRank, incidentStateAt, empty, posts, barTable, errorBox, timeField, fromInput } from '../ui.js';

const MIN = 60e3;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

// Preset ranges and the step each is drawn at.
export const ranges = [
  { key: '1h', label: '1 hour', ms: HOUR, step: '1m' },
  { key: '6h', label: '6 hours', ms: 6 * HOUR, step: '5m' },
  { key: '24h', label: '24 hours', ms: DAY, step: '15m' },
  { key: '3d', label: '3 days', ms: 3 * DAY, step: '1h' },
  { key: '7d', label: '7 days', ms: 7 * DAY, step: '1h' },
];
const steps = [['1m', MIN], ['5m', 5 * MIN], ['15m', 15 * MIN], ['1h', HOUR], ['1d', DAY]];

// pickRange reads range=6h or from=...&to=... (RFC 3339) from the hash. A
// preset range ends now, or at the moment pinned (end, a Date: as of, or
// the stream's time); then it has from and to like a custom one.
export function pickRange(params, end = null) {
  const from = Date.parse(params.get('from') || '');
  const to = Date.parse(params.get('to') || '');
  if (Number.isFinite(from) && Number.isFinite(to) && to > from) {
    const span = to - from;
    const step = (steps.find(([, ms]) => span / ms <= 400) || steps[steps.length - 1])[0];
    return { custom: true, from: new Date(from), to: new Date(to), step, ms: span };
  }
  const r = ranges.find((x) => x.key === params.get('range')) || ranges[1];
  if (end) return { ...r, custom: false, from: new Date(end.getTime() - r.ms), to: end };
  return { ...r, custom: false };
}

const stepMs = (s) => steps.find(([k]) => k === s)[1];

export default {
  nav: '',
  title: 'Service',
  async mount(root, ctx) {
    const catalog = await api.services();
    const want = ctx.arg.toLowerCase();
    const svc = catalog.services.find((s) => s.name.toLowerCase() === want || s.id === want ||
      (s.aliases || []).some((a) => a.toLowerCase() === want));
    if (!svc) {
      root.append(h('h1', null, ctx.arg), errorBox(`No service named "${ctx.arg}" in the catalog.`),
        h('p', null, h('a', { href: link(['search'], { q: ctx.arg }) }, `Search posts for "${ctx.arg}" instead`)));
      return {};
    }
    ctx.setTitle(svc.name);
    const range = pickRange(ctx.params, moment.pinned());
    const parentName = (catalog.services.find((s) => s.id === svc.parent) || {}).name;

    const stateHolder = h('span', { id: 'svc-state' });
    const head = h('div', { class: 'page-head' },
      h('div', null,
        h('h1', null, svc.name, ' ', stateHolder),
        h('p', { class: 'sub' },
          [parentName ? ['Part of ', h('a', { href: serviceLink(parentName) }, parentName)] : null,
            svc.category ? svc.category : null].filter(Boolean).flatMap((x, i) => (i ? [' · ', x] : [x])),
          svc.status_page ? [' · ', h('a', { href: svc.status_page, rel: 'noopener noreferrer', target: '_blank' }, 'Official status page')] : null)),
      h('a', { class: 'button', href: link(['search'], { service: svc.name, outage: 'only', since: range.from ? range.from.toISOString() : '-' + range.key, until: range.to ? range.to.toISOString() : '' }) }, 'Search these posts'),
    );
    const body = h('div', { id: 'service-body', class: 'stack' });
    root.append(head, rangePicker(svc.name, range), body, silenceSection([svc.name]) || '');

    const draw = async (signal) => {
      // Following the stream, a preset range moves with its time.
      const r = range.custom ? range : pickRange(ctx.params, moment.pinned());
      const { nodes, state } = await build(svc, r, signal);
      body.replaceChildren(...nodes);
      stateHolder.replaceChildren(badge(state));
    };
    await draw(ctx.signal);
    // A range that ends now follows the clock; a custom one, or one seen
    // as of a moment, stays put.
    return range.custom || moment.getAsOf() ? {} : { refresh: draw };
  },
};


function rangePicker(name, range) {
  const now = new Date(moment.now());
  const from = range.from || new Date(now.getTime() - range.ms);
  const to = range.to || now;
  const fromField = timeField('range-from', from);
  const toField = timeField('range-to', to);
  const apply = (e) => {
    e.preventDefault();
    const f = fromInput(fromField.value);
    const t = fromInput(toField.value);
    if (!f || !t || !(t > f)) {
      toField.setCustomValidity('The end must be after the start.');
      toField.reportValidity();
      return;
    }
    location.hash = serviceLink(name, { from: f.toISOString(), to: t.toISOString() });
  };
  toField.addEventListener('input', () => toField.setCustomValidity(''));
  return h('div', { class: 'toolbar' },
    h('div', { role: 'group', 'aria-label': 'Time range', class: 'segmented' },
      ranges.map((r) => h('button', {
        type: 'button', 'aria-pressed': String(!range.custom && r.key === range.key), title: 'Last ' + r.label,
        onclick: () => { location.hash = serviceLink(name, { range: r.key }); },
      }, r.key))),
    h('form', { class: 'toolbar', onsubmit: apply, 'aria-label': 'Custom time range' },
      h('label', { class: 'field' }, h('span', null, `From (${fmt.zoneName()})`), fromField),
      h('label', { class: 'field' }, h('span', null, `To (${fmt.zoneName()})`), toField),
      h('button', { type: 'submit' }, 'Apply')),
  );
}

async function build(svc, range, signal) {
  const opt = { signal };
  const since = range.from ? range.from.toISOString() : '-' + range.key;
  const until = range.to ? range.to.toISOString() : '';
  const windowMin = Math.max(1, Math.min(24 * 60, Math.round(range.ms / MIN)));
  const [trend, incidents, found, codeInfo, level] = await Promise.all([
    api.get('v1/trends', { service: svc.name, since, until, step: range.step }, opt),
    // As of a moment, the incidents as they were then (GET /v1/incidents?at=).
    api.get('v1/incidents', { service: svc.name, since, until, at: moment.getAsOf() ? until : '', limit: 50 }, opt).catch((e) => {
      if (e.status === 404) return null;
      throw e;
    }),
    api.get('v1/search', { service: svc.name, since, until, outage: 'only', facets: true, limit: 100 }, opt),
    api.get('v1/codes/top', { window: windowMin + 'm', at: until, limit: 200 }, opt),
    until ? api.get('v1/services', { at: until }, opt) : api.services(),
  ]);

  // State at the range's end: the incident open then, else the level then.
  const end = until ? Date.parse(until) : Date.now();
  const lvl = level.services.find((s) => s.name === svc.name) || { state: 'normal' };
  let state = lvl.state;
  const list = incidents ? incidents.incidents : [];
  for (const inc of list) {
    const st = incidentStateAt(inc, end);
    if ((st === 'firing' || st === 'pending') && stateRank(st) > stateRank(state)) state = st;
  }

  const x0 = Date.parse(trend.since);
  const x1 = Date.parse(trend.until);
  const step = stepMs(trend.step);
  const rows = trend.points.map((p) => ({
    t: Date.parse(p.t), values: { posts: p.posts, authors: p.authors }, expected: p.expected, anomaly: p.anomaly, mentions: p.mentions,
  }));
  const spans = list.map((inc) => ({
    from: Date.parse(inc.started_at),
    to: fmt.zero(inc.resolved_at) ? x1 : Date.parse(inc.resolved_at),
    cls: inc.state,
    label: `${inc.state} incident`,
  }));
  const peak = rows.reduce((m, r) => (r.values.posts > m.values.posts ? r : m), rows[0] || { values: { posts: 0 }, t: x0 });
  const per = fmt.stepWords(trend.step);
  const label = `Outage posts and distinct authors for ${svc.name} per ${per} from ${fmt.dateTime(x0)} to ${fmt.dateTime(x1)}; ` +
    `peak ${peak.values.posts} posts at ${fmt.time(peak.t)}, ` +
    (peak.expected === null || peak.expected === undefined ? 'normal level still being learned.' : `expected about ${fmt.dec(peak.expected)}.`);
  const chart = timeChart({
    id: 'trend-chart', cls: 'trend', label, rows, step, x0, x1, band: true, spans, height: 320,
    yLabel: `outage posts per ${per}`,
    series: [
      { key: 'posts', label: 'Outage posts', cls: 's-posts' },
      { key: 'authors', label: 'Distinct authors', cls: 's-authors', area: true },
    ],
    tip: (r) => [
      `${fmt.dateTime(r.t)} (${per})`,
      `${fmt.int(r.values.posts)} outage posts`,
      `${fmt.int(r.values.authors)} distinct authors`,
      `${fmt.int(r.mentions)} mentions`,
      r.expected === null || r.expected === undefined ? 'normal level: learning (under an hour of history)' : `expected ${fmt.dec(r.expected)} · anomaly ${fmt.dec(r.anomaly)}`,
    ],
  });

  // Codes: counts over the range (facets), meanings from the code series.
  const meaning = new Map((codeInfo.codes || []).map((c) => [c.code, c.meaning || c.family]));
  for (const hit of found.hits) for (const c of hit.error_codes || []) if (c.meaning && !meaning.has(c.code)) meaning.set(c.code, c.meaning);
  const codeRows = ((found.facets && found.facets.codes) || []).map((f) => ({ name: h('a', { href: link(['search'], { service: svc.name, code: f.term, since, until }) }, h('code', null, f.term)), detail: meaning.get(f.term), count: f.count }));

  // Regions: named in the newest reports (the index keeps no region facet).
  const regions = new Map();
  for (const hit of found.hits) for (const r of hit.regions || []) regions.set(r.name, (regions.get(r.name) || 0) + 1);
  const regionRows = [...regions.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([name, count]) => ({ name, count }));

  const totalPosts = rows.reduce((s, r) => s + r.values.posts, 0);
  const out = [
    h('section', { class: 'panel', 'aria-labelledby': 'h-trend' },
      h('h2', { id: 'h-trend', class: 'visually-hidden' }, 'Trend'),
      h('p', { class: 'muted small chart-note' }, `${fmt.int(totalPosts)} outage posts in range, drawn per ${per} · in the 15 min before ${until ? fmt.time(end) : 'now'}: ${fmt.int(lvl.authors || 0)} people, ${fmt.ratio(lvl.posts || 0, lvl.expected)}`),
      chart,
      h('ul', { class: 'legend' },
        h('li', null, h('span', { class: 'swatch posts' }), 'Outage posts'),
        h('li', null, h('span', { class: 'swatch authors-area' }), 'Distinct authors'),
        h('li', null, h('span', { class: 'swatch band' }), 'Normal range (95% of counts at the baseline)'),
        h('li', null, h('span', { class: 'swatch expected' }), 'Expected'),
        spans.length ? h('li', null, h('span', { class: 'swatch firing' }), 'Incident') : null),
    ),
    h('div', { class: 'grid cols-3' },
      h('section', { class: 'panel', 'aria-labelledby': 'h-codes' },
        h('h2', { id: 'h-codes' }, 'Top error codes'),
        codeRows.length ? barTable(codeRows, { caption: 'Error codes quoted in outage posts', nameHeader: 'Code', countHeader: 'Posts' }) : empty('No error codes quoted in this range.')),
      h('section', { class: 'panel', 'aria-labelledby': 'h-regions' },
        h('h2', { id: 'h-regions' }, 'Regions'),
        regionRows.length ? barTable(regionRows, { caption: 'Regions named in the newest reports', nameHeader: 'Region', countHeader: 'Posts' }) : empty('No region named in the newest reports.'),
        h('p', { class: 'muted small' }, `Named in the newest ${fmt.int(found.hits.length)} of ${fmt.int(found.total)} reports.`)),
      h('section', { class: 'panel', 'aria-labelledby': 'h-inc' },
        h('h2', { id: 'h-inc' }, 'Incidents'),
        incidents === null ? empty('Incident detection does not run in this process.')
          : list.length ? h('ul', null, list.map((inc) => h('li', null, badge(inc.state), ' ',
            h('a', { href: link(['incidents', inc.id]) }, inc.title || inc.service), h('div', { class: 'muted small' }, h('time', { datetime: fmt.iso(inc.started_at) }, fmt.dateTime(inc.started_at)), ` · peak ${fmt.int(inc.peak_authors)} people`))))
            : empty('No incident in this range.')),
    ),
    h('section', { 'aria-labelledby': 'h-posts' },
      h('h2', { id: 'h-posts' }, 'Newest reports'),
      posts(found.hits.slice(0, 12)),
      found.total > 12 ? h('p', null, h('a', { href: link(['search'], { service: svc.name, outage: 'only', since, until }) }, `All ${fmt.int(found.total)} reports in this range`)) : null),
  ];
  return { nodes: out, state };
}
