// Overview: what is failing right now, open incidents first.

import { h } from '../dom.js';
import * as api from '../api.js';
import * as fmt from '../format.js';
import { sparkline } from '../chart.js';
import { badge, serviceLink, link, stateRank, empty, posts, activeSilences, silenced, mutedTag } from '../ui.js';

// The most services drawn with a sparkline; the rest are listed.
const MAX_CARDS = 12;

export default {
  nav: 'overview',
  title: 'Overview',
  async mount(root, ctx) {
    // at=RFC 3339 shows the overview as it was then (a replay, a
    // post-mortem); without it the page follows the clock.
    const at = parseAt(ctx.params.get('at'));
    const draw = async (signal) => {
      root.replaceChildren(await build(signal, at));
    };
    await draw(ctx.signal);
    return at ? {} : { refresh: draw };
  },
};

function parseAt(v) {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

const HOUR = 3600e3;

// stateAt is an incident's state at time t, as the detector recorded it.
function stateAt(inc, t) {
  const ms = (x) => (fmt.zero(x) ? null : Date.parse(x));
  const pending = ms(inc.pending_at) ?? ms(inc.started_at);
  const firing = ms(inc.firing_at);
  const resolved = ms(inc.resolved_at);
  if (pending === null || t < pending) return null;
  if (resolved !== null && t >= resolved) return 'resolved';
  if (firing !== null && t >= firing) return 'firing';
  return 'pending';
}

// optional reads an endpoint that a process may not serve (incidents need
// the detector): a 404 means "not here", not a failure.
async function optional(p) {
  try {
    return await p;
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

async function build(signal, at) {
  const opt = { signal };
  const iso = at ? at.toISOString() : undefined;
  const since = (ms) => (at ? new Date(at.getTime() - ms).toISOString() : `-${ms / HOUR}h`);
  let open;
  let detector;
  let catalog, codes, latest, silences;
  if (at) {
    // Incidents of that time, in the state they had then.
    let all;
    [catalog, all, codes, latest, silences] = await Promise.all([
      api.get('v1/services', { at: iso }, opt),
      optional(api.get('v1/incidents', { since: iso, until: new Date(at.getTime() + 1000).toISOString(), limit: 500 }, opt)),
      api.get('v1/codes/top', { window: '1h', limit: 20, at: iso }, opt),
      api.get('v1/search', { outage: 'only', since: since(HOUR), until: iso, limit: 8 }, opt),
      optional(api.get('v1/silences', {}, opt)),
    ]);
    detector = all !== null;
    open = (all ? all.incidents : [])
      .map((inc) => ({ ...inc, state: stateAt(inc, at.getTime()) }))
      .filter((inc) => inc.state === 'firing' || inc.state === 'pending')
      .sort((a, b) => stateRank(b.state) - stateRank(a.state));
  } else {
    let firing, pending;
    [catalog, firing, pending, codes, latest, silences] = await Promise.all([
      api.services(0),
      optional(api.get('v1/incidents', { state: 'firing', limit: 50 }, opt)),
      optional(api.get('v1/incidents', { state: 'pending', limit: 50 }, opt)),
      api.get('v1/codes/top', { window: '1h', limit: 20 }, opt),
      api.get('v1/search', { outage: 'only', since: '-1h', limit: 8 }, opt),
      optional(api.get('v1/silences', {}, opt)),
    ]);
    detector = firing !== null;
    open = [...(firing ? firing.incidents : []), ...(pending ? pending.incidents : [])];
  }
  const muted = at ? new Map() : activeSilences(silences);

  // A service's state is its own level (normal, elevated) or the state of
  // an open incident that names it, whichever is more urgent.
  const byName = new Map(catalog.services.map((s) => [s.name, { ...s }]));
  for (const inc of open) {
    for (const name of [inc.service, ...(inc.services || [])]) {
      const s = byName.get(name);
      if (!s) continue;
      if (stateRank(inc.state) > stateRank(s.state)) s.state = inc.state;
      if (!s.openIncident || stateRank(inc.state) > stateRank(s.openIncident.state)) s.openIncident = inc;
    }
  }
  const above = [...byName.values()]
    .filter((s) => s.state !== 'normal')
    .sort((a, b) => stateRank(b.state) - stateRank(a.state) || b.anomaly - a.anomaly || b.authors - a.authors || a.name.localeCompare(b.name));

  const shown = above.slice(0, MAX_CARDS);
  const trends = await Promise.all(shown.map((s) =>
    api.get('v1/trends', { service: s.name, since: since(3 * HOUR), until: iso, step: '5m' }, opt).catch((e) => {
      if (api.isAbort(e)) throw e;
      return null;
    })));
  let quiet = null;
  if (!above.length) quiet = await api.get('v1/trends/top', { window: '15m', limit: 5, at: iso }, opt);

  const parents = new Map(catalog.services.map((s) => [s.id, s.name]));
  const topCode = (name) => (codes.codes || []).find((c) => (c.services || []).includes(name));
  const counts = { firing: 0, pending: 0, elevated: 0 };
  for (const s of above) counts[s.state] = (counts[s.state] || 0) + 1;

  return h('div', null,
    h('div', { class: 'page-head' },
      h('div', null,
        h('h1', null, at ? ['As of ', h('time', { datetime: iso }, fmt.dateTime(at))] : 'Right now'),
        h('p', { class: 'sub' }, `Services people report as failing, measured over the 15 minutes before ${at ? 'then' : 'now'} against their normal level.`)),
      asOfPicker(at),
    ),
    h('div', { class: 'summary', role: 'group', 'aria-label': 'Summary' },
      stat(open.filter((i) => i.state === 'firing').length, 'incidents firing', 'firing'),
      stat(open.filter((i) => i.state === 'pending').length, 'incidents pending', 'pending'),
      stat(above.length, above.length === 1 ? 'service above normal' : 'services above normal', above.length ? 'elevated' : 'ok'),
      stat(latest.total, at ? 'outage reports in the hour before' : 'outage reports in the last hour', ''),
    ),

    h('section', { 'aria-labelledby': 'h-open' },
      h('h2', { id: 'h-open' }, 'Open incidents'),
      !detector ? empty('Incident detection does not run in this process.')
        : open.length ? h('div', { class: 'incidents' }, open.map((inc) => incidentCard(inc, silenced(inc, muted), at)))
          : empty('No open incidents.'),
    ),

    h('section', { 'aria-labelledby': 'h-above' },
      h('h2', { id: 'h-above' }, 'Above normal'),
      above.length
        ? h('div', { class: 'services', id: 'above-normal' }, shown.map((s, i) => serviceCard(s, trends[i], topCode(s.name), parents, muted.get(s.name) || muted.get(parents.get(s.parent)), at)))
        : quietPanel(quiet),
      above.length > MAX_CARDS
        ? h('p', { class: 'muted' }, 'Also above normal: ', above.slice(MAX_CARDS).map((s, i) => [i ? ', ' : '', h('a', { href: serviceLink(s.name) }, s.name)]))
        : null,
    ),

    h('div', { class: 'split' },
      h('section', { 'aria-labelledby': 'h-say' },
        h('h2', { id: 'h-say' }, 'What people say'),
        posts(latest.hits),
        latest.total > latest.hits.length ? h('p', null, h('a', { href: link(['search'], { outage: 'only', since: since(HOUR), until: iso }) }, `All ${fmt.int(latest.total)} reports of ${at ? 'that' : 'the last'} hour`)) : null,
      ),
      h('section', { 'aria-labelledby': 'h-codes' },
        h('h2', { id: 'h-codes' }, at ? 'Error codes quoted (the hour before)' : 'Error codes quoted (last hour)'),
        codesTable(codes.codes || []),
      ),
    ),
  );
}

function stat(n, label, cls) {
  return h('div', { class: ['stat', cls] }, h('div', { class: 'n' }, fmt.int(n)), h('div', { class: 'l' }, label));
}

function incidentCard(inc, silence, at) {
  const since = fmt.zero(inc.firing_at) || inc.state === 'pending' ? inc.started_at : inc.firing_at;
  const now = at ? at.getTime() : Date.now();
  return h('a', { class: ['incident-card', inc.state], href: link(['incidents', inc.id]), 'data-incident': inc.id },
    h('div', null, badge(inc.state), ' ', h('span', { class: 'muted small' }, `${inc.severity || ''} · ${inc.confidence || ''} confidence`)),
    h('div', { class: 'title' }, inc.title || inc.service),
    h('div', { class: 'meta' },
      `${inc.state === 'firing' ? 'Firing' : 'Pending'} for ${fmt.duration(now - fmt.toDate(since).getTime())}`,
      ` · peak ${fmt.int(inc.peak_authors)} people per window · ${fmt.int(inc.reports)} reports`),
    (inc.services || []).length ? h('div', { class: 'meta' }, 'Affects ', inc.services.join(', ')) : null,
    (inc.top_codes || []).length ? h('div', { class: 'meta' }, 'Quoted: ', inc.top_codes.slice(0, 3).map((c, i) => [i ? ', ' : '', h('code', null, c.code)])) : null,
    silence ? h('div', { class: 'meta' }, mutedTag(silence)) : null,
  );
}

function serviceCard(s, trend, code, parents, silence, at) {
  const points = trend ? trend.points : [];
  const peak = points.reduce((m, p) => Math.max(m, p.posts), 0);
  const label = `${s.name}: outage posts per 5 minutes over the last 3 hours, peak ${peak}; the band is the normal range.`;
  return h('article', { class: ['service-card', s.state], 'data-service': s.name, 'data-state': s.state },
    h('header', null,
      h('h3', null, h('a', { href: serviceLink(s.name) }, s.name)),
      badge(s.state)),
    s.parent || s.category ? h('div', { class: 'muted small' }, [parents.get(s.parent), s.category].filter(Boolean).join(' · ')) : null,
    sparkline(points, label),
    h('div', { class: 'spark-axis', 'aria-hidden': 'true' }, h('span', null, '3 h before'), h('span', null, at ? fmt.time(at) : 'now')),
    h('div', { class: 'nums' },
      h('span', null, h('b', null, fmt.int(s.authors)), ' people'),
      h('span', null, h('b', null, fmt.int(s.posts)), ' reports'),
      h('span', { class: s.learning ? 'ratio learning' : 'ratio', title: s.learning ? 'under an hour of history: the normal level is still being learned' : `expected ${fmt.dec(s.expected)} in 15 minutes; anomaly score ${fmt.dec(s.anomaly)}` }, h('b', null, fmt.ratio(s.posts, s.expected)))),
    code ? h('div', { class: 'small' }, 'Top code ', h('code', { class: 'chip' }, code.code), code.meaning ? h('span', { class: 'muted' }, ' ', code.meaning) : null) : null,
    s.openIncident ? h('div', { class: 'small' }, h('a', { href: link(['incidents', s.openIncident.id]) }, `${s.openIncident.state === 'firing' ? 'Firing' : 'Pending'} incident: ${s.openIncident.title || s.openIncident.service}`)) : null,
    silence ? h('div', { class: 'small' }, mutedTag(silence)) : null,
  );
}

function quietPanel(quiet) {
  const list = (quiet && quiet.services) || [];
  return h('div', null,
    empty('No service is above its normal level right now.'),
    list.length ? h('div', { class: 'panel' },
      h('h3', null, 'Most reported in the last 15 minutes'),
      h('ul', null, list.map((r) => h('li', null, h('a', { href: serviceLink(r.service) }, r.service), ` · ${fmt.int(r.posts)} reports, ${fmt.ratio(r.posts, r.expected)}`)))) : null,
  );
}

function codesTable(codes) {
  if (!codes.length) return empty('No error codes quoted in the last hour.');
  return h('table', null,
    h('caption', { class: 'visually-hidden' }, 'Error codes quoted in the last hour'),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Code'), h('th', { scope: 'col' }, 'Services'), h('th', { scope: 'col', class: 'num' }, 'Reports'))),
    h('tbody', null, codes.slice(0, 10).map((c) => h('tr', null,
      h('td', null, h('a', { href: link(['search'], { code: c.code, since: '-1h' }) }, h('code', null, c.code)),
        c.meaning ? h('div', { class: 'muted small' }, c.meaning) : null),
      h('td', null, (c.services || []).slice(0, 3).map((s, i) => [i ? ', ' : '', h('a', { href: serviceLink(s) }, s)])),
      h('td', { class: 'num' }, fmt.int(c.mentions || c.posts)),
    ))),
  );
}

// asOfPicker shows the overview at another time: a replayed day, the
// minutes of a past incident.
function asOfPicker(at) {
  const toLocalInput = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60e3).toISOString().slice(0, 16);
  const input = h('input', { type: 'datetime-local', id: 'as-of', value: toLocalInput(at || new Date()) });
  const go = (e) => {
    e.preventDefault();
    const d = new Date(input.value);
    if (Number.isNaN(d.getTime())) return;
    location.hash = link([], { at: d.toISOString() });
  };
  return h('form', { class: 'toolbar', onsubmit: go, 'aria-label': 'Show the overview at another time' },
    h('label', { class: 'field' }, h('span', null, 'As of'), input),
    h('button', { type: 'submit' }, 'Show'),
    at ? h('a', { class: 'button', href: link([]) }, 'Now') : null);
}
