// Incident detail: facts, the timeline the detector kept, what people
// quoted and said, and the webhook deliveries made for it.

import { h } from '../dom.js';
import * as api from '../api.js';
import * as fmt from '../format.js';
import { timeChart } from '../chart.js';
import * as moment from '../moment.js';
import { silenceSection } from '../silence.js';
import { badge, link, serviceLink, empty, errorBox, posts, barTable, stackable, when } from '../ui.js';

const TOKEN_KEY = api.TOKEN_KEY;
const MIN = 60e3;

export default {
  nav: 'incidents',
  title: 'Incident',
  async mount(root, ctx) {
    const id = ctx.arg;
    const main = h('div', { class: 'stack' });
    const deliveries = h('section', { 'aria-labelledby': 'h-deliveries', id: 'deliveries' });
    const said = h('section', { 'aria-labelledby': 'h-samples' });
    const silence = h('div');
    root.append(h('p', { class: 'small' }, h('a', { href: link(['incidents']) }, '‹ All incidents')), main, silence, deliveries, said);

    let inc;
    const draw = async (signal) => {
      // As of a moment, the incident as the detector knew it then
      // (GET /v1/incidents/{id}?at=): state, peak, reports, services and
      // timeline up to that moment.
      const at = moment.getAsOf();
      try {
        inc = await api.get('v1/incidents/' + encodeURIComponent(id), { at: at ? at.toISOString() : '' }, { signal });
      } catch (e) {
        if (e.status === 404) {
          main.replaceChildren(...notFound(id, at, e));
          return;
        }
        throw e;
      }
      ctx.setTitle(inc.title || inc.service);
      main.replaceChildren(...detail(inc));
      // Made once: a refresh must not wipe what an admin is typing.
      if (!silence.firstChild) silence.append(silenceSection([inc.service, ...(inc.services || []).filter((s) => s !== inc.service)]) || '');
      said.replaceChildren(h('h2', { id: 'h-samples' }, 'What people said'), posts((inc.samples || []).slice(0, 10)));
      await showDeliveries(deliveries, id, signal);
    };
    await draw(ctx.signal);
    return moment.getAsOf() ? {} : { refresh: draw };
  },
};

// notFound says why there is no incident to show: none by that id, or,
// as of a moment, one that had not begun then (with the way to see it).
function notFound(id, at, e) {
  if (!at || !/had not begun/.test(e.message)) return [h('h1', null, 'Incident not found'), errorBox(e.message)];
  return [h('h1', null, 'Not begun yet'),
    h('p', { class: 'empty not-begun' }, 'This incident had not begun at ', h('time', { datetime: fmt.iso(at) }, fmt.dateTime(at)),
      '. ', h('a', { href: link(['incidents', id], { at: '' }) }, 'See it as it is now'), '.')];
}

// views say how each kind of incident is measured on this page: people
// reporting per window for reports, the stream's posts per minute against
// the expected level for a volume drop (which has no people to count).
const views = {
  reports: {
    point: (p) => ({ values: { authors: p.authors }, expected: p.expected, score: p.score }),
    chart: (inc) => ({
      yLabel: 'people reporting per window',
      label: `Distinct people reporting per evaluation window during the incident, peak ${inc.peak_authors}, expected about ${fmt.dec(inc.expected)} at onset.`,
      series: [{ key: 'authors', label: 'People reporting', cls: 's-authors' }],
      tip: (r) => [`${fmt.int(r.values.authors)} people in the window`, `expected ${fmt.dec(r.expected)} · score ${fmt.dec(r.score)}`],
    }),
    legend: [['authors', 'People reporting (sliding window)'], ['band', 'Normal range'], ['expected', 'Expected']],
    facts: (inc) => [['Peak people / window', fmt.int(inc.peak_authors)], ['Expected at onset', fmt.dec(inc.expected)],
      ['Anomaly score', fmt.dec(inc.score)], ['Reports', fmt.int(inc.reports)]],
    columns: ['People', (p) => fmt.int(p.authors), 'Expected', (p) => fmt.dec(p.expected), 'Score', (p) => fmt.dec(p.score)],
  },
  volume_drop: {
    point: (p) => ({ values: { posts: p.posts || 0 }, expected: p.expected }),
    chart: (inc) => ({
      yLabel: 'posts per minute, all of Bluesky',
      label: `Posts per minute in the whole Bluesky stream during the incident against the ${fmt.int(Math.round(inc.expected_volume || 0))} expected; ${fmt.int(Math.round(inc.observed_volume || 0))} a minute on average since the drop began.`,
      series: [{ key: 'posts', label: 'Posts per minute', cls: 's-posts' }],
      tip: (r) => [`${fmt.int(r.values.posts)} posts that minute`, `expected ${fmt.dec(r.expected)}`],
    }),
    legend: [['posts', 'Posts per minute (the whole stream)'], ['band', 'Normal range'], ['expected', 'Expected']],
    facts: (inc) => [['Posts per minute', `${fmt.int(Math.round(inc.observed_volume || 0))} since the drop began`],
      ['Expected per minute', fmt.int(Math.round(inc.expected_volume || 0))]],
    columns: ['Posts', (p) => fmt.int(p.posts), 'Expected', (p) => fmt.dec(p.expected)],
  },
};

function detail(inc) {
  const view = views[inc.kind] || views.reports;
  const nowMs = moment.now();
  const started = Date.parse(inc.started_at);
  const end = fmt.zero(inc.resolved_at) ? nowMs : Date.parse(inc.resolved_at);
  const fact = (label, value) => h('div', null, h('dt', null, label), h('dd', null, value));
  // Links to the services open a range around the incident.
  const around = { from: new Date(started - 60 * MIN).toISOString(), to: new Date(end + 30 * MIN).toISOString() };
  const transitions = (inc.timeline || []).filter((p) => p.kind !== 'minute');
  return [
    h('div', { class: 'page-head' },
      h('div', null,
        h('h1', null, inc.title || inc.service),
        h('p', { class: 'sub' }, badge(inc.state), ` ${inc.severity} · ${inc.confidence} confidence · `,
          [inc.service, ...(inc.services || []).filter((s) => s !== inc.service)].map((s, i) => [i ? ', ' : '', h('a', { href: serviceLink(s, around) }, s)]))),
      h('a', { class: 'button', href: link(['search'], { service: inc.service, outage: 'only', since: around.from, until: around.to }) }, 'Search its posts')),
    h('dl', { class: 'facts panel', 'data-kind': inc.kind || 'reports' },
      fact('Started', when(inc.started_at)),
      fact('Firing since', when(inc.firing_at)),
      fact('Resolved', when(inc.resolved_at)),
      fact(fmt.zero(inc.resolved_at) ? 'Open for' : 'Lasted', fmt.duration(end - started)),
      view.facts(inc).map(([label, value]) => fact(label, value)),
      fact('Notifications', fmt.int(inc.seq))),
    h('section', { class: 'panel', 'aria-labelledby': 'h-timeline' },
      h('h2', { id: 'h-timeline' }, 'Timeline'),
      timelineChart(inc, view, started, end, transitions),
      h('ul', { class: 'legend' }, view.legend.map(([cls, text]) => h('li', null, h('span', { class: 'swatch ' + cls }), text))),
      transitions.length ? transitionTable(transitions, view.columns) : null),
    h('div', { class: 'grid cols-2' },
      h('section', { class: 'panel', 'aria-labelledby': 'h-icodes' },
        h('h2', { id: 'h-icodes' }, 'Error codes quoted'),
        (inc.top_codes || []).length ? barTable(inc.top_codes.map((c) => ({ name: h('code', null, c.code), detail: c.family, count: c.reports })),
          { caption: 'Error codes quoted during the incident', nameHeader: 'Code', countHeader: 'Reports' }) : empty('None.')),
      h('section', { class: 'panel', 'aria-labelledby': 'h-iregions' },
        h('h2', { id: 'h-iregions' }, 'Regions'),
        (inc.regions || []).length ? barTable(inc.regions.map((r) => ({ name: r.name, count: r.reports })),
          { caption: 'Regions named during the incident', nameHeader: 'Region', countHeader: 'Reports' }) : empty('No region named.'))),
  ];
}

// timelineChart draws the incident's timeline as its kind measures it.
function timelineChart(inc, view, started, end, transitions) {
  const rows = (inc.timeline || []).map((p) => ({ t: Date.parse(p.t), kind: p.kind, note: p.note, ...view.point(p) }));
  if (!rows.length) return empty('No timeline kept for this incident.');
  const spec = view.chart(inc);
  return timeChart({
    id: 'incident-chart', cls: 'timeline', rows, step: 0, band: true, height: 240,
    x0: Math.min(rows[0].t, started) - 5 * MIN, x1: Math.max(rows[rows.length - 1].t, end) + 5 * MIN,
    yLabel: spec.yLabel, label: spec.label, series: spec.series,
    spans: [{ from: started, to: end, cls: inc.state, label: inc.state }],
    markers: transitions.map((p) => ({ t: Date.parse(p.t), label: p.kind, cls: p.kind })),
    tip: (r) => [fmt.timeSec(r.t), ...spec.tip(r), r.kind !== 'minute' ? r.kind + (r.note ? ': ' + r.note : '') : null].filter(Boolean),
  });
}

// transitionTable lists the state changes; columns alternate a heading and
// how to read it from a timeline point.
function transitionTable(transitions, columns) {
  const heads = columns.filter((c, i) => i % 2 === 0);
  const cells = columns.filter((c, i) => i % 2 === 1);
  return stackable(h('table', { class: 'transitions' },
    h('caption', { class: 'visually-hidden' }, 'State changes'),
    h('thead', null, h('tr', null, ['Time', 'Change', ...heads, 'Note'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, transitions.map((p) => h('tr', null,
      h('td', null, when(p.t)), h('td', null, p.kind), cells.map((f) => h('td', null, f(p))),
      h('td', null, p.note || (p.services || []).join(', ')))))));
}

// showDeliveries lists the webhook deliveries made for the incident. The
// webhook admin API needs the admin token; it is kept for this tab only.
async function showDeliveries(section, incidentID, signal) {
  const token = sessionStorage.getItem(TOKEN_KEY) || '';
  const head = h('h2', { id: 'h-deliveries' }, 'Webhook deliveries');
  if (!token) {
    // Leave a form being filled in alone.
    if (!section.querySelector('form.token-form')) section.replaceChildren(head, tokenForm(section, incidentID));
    return;
  }
  const open = new Set([...section.querySelectorAll('details[open][data-key]')].map((d) => d.dataset.key));
  let rows;
  try {
    const eps = await api.get('v1/webhooks', null, { signal, token });
    const per = await Promise.all(eps.webhooks.map(async (ep) => {
      const d = await api.get(`v1/webhooks/${encodeURIComponent(ep.id)}/deliveries`, { limit: 500 }, { signal, token });
      return d.deliveries.filter((x) => x.incident_id === incidentID).map((x) => ({ ...x, endpoint: ep }));
    }));
    rows = per.flat().sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || (b.event_seq || 0) - (a.event_seq || 0));
  } catch (e) {
    if (api.isAbort(e)) throw e;
    const msg = e.status === 401 ? 'The admin token was refused.'
      : e.status === 403 ? 'Administrative endpoints are off: start downsignal with --admin-token.'
        : e.status === 404 ? 'Webhook delivery does not run in this process.'
          : 'Could not read the deliveries: ' + e.message;
    if (e.status === 401) sessionStorage.removeItem(TOKEN_KEY);
    section.replaceChildren(head, errorBox(msg), e.status === 401 ? tokenForm(section, incidentID) : null);
    return;
  }
  const forget = h('button', { type: 'button', onclick: () => { sessionStorage.removeItem(TOKEN_KEY); showDeliveries(section, incidentID); } }, 'Forget token');
  section.replaceChildren(head,
    rows.length ? h('div', { class: 'panel' }, deliveryTable(rows, open)) : empty('No webhook delivery was made for this incident.'),
    h('p', { class: 'small' }, forget));
}

function tokenForm(section, incidentID) {
  const input = h('input', { id: 'admin-token', type: 'password', autocomplete: 'off', required: true });
  return h('form', {
    class: 'token-form', 'aria-label': 'Admin token',
    onsubmit: (e) => {
      e.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      showDeliveries(section, incidentID).catch(() => {});
    },
  },
  h('label', { class: 'field' }, h('span', null, 'Admin token (webhook deliveries are an administrative view)'), input),
  h('button', { type: 'submit' }, 'Show deliveries'));
}

function deliveryTable(rows, open) {
  return stackable(h('table', { id: 'delivery-table' },
    h('caption', { class: 'visually-hidden' }, 'Webhook deliveries for this incident, newest first'),
    h('thead', null, h('tr', null, ['Created', 'Event', 'Endpoint', 'Status', 'Attempts', 'Last response', 'Payload'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, rows.map((d) => {
      const last = (d.attempts || [])[d.attempts.length - 1];
      return h('tr', { 'data-delivery': d.id, 'data-status': d.status },
        h('td', null, when(d.created_at, fmt.timeSec)),
        h('td', null, h('code', null, d.type)),
        h('td', null, endpointName(d.endpoint)),
        h('td', null, badge(d.status), d.status === 'pending' && !fmt.zero(d.next_attempt) ? h('div', { class: 'muted small' }, 'next ' + fmt.timeSec(d.next_attempt)) : null),
        h('td', { class: 'num' }, fmt.int((d.attempts || []).length)),
        h('td', null, last ? [last.status_code ? `HTTP ${last.status_code}` : last.error || '—', h('div', { class: 'muted small' }, `${fmt.int(last.duration_ms)} ms`)] : '—',
          d.error && (!last || d.error !== last.error) ? h('div', { class: 'muted small' }, d.error) : null),
        h('td', null, h('details', { 'data-key': d.id, open: open.has(d.id) }, h('summary', null, 'Show'), h('pre', { class: 'payload' }, JSON.stringify(d.body, null, 2)))),
      );
    }))));
}

// endpointName shows the host only: receiver URLs (Slack, Teams) carry
// their secret in the path.
function endpointName(ep) {
  let host = '';
  try {
    host = new URL(ep.url).host;
  } catch {
    host = '?';
  }
  return [ep.description || host, h('div', { class: 'muted small' }, `${ep.format} · ${host}`)];
}
