// Overview: what is failing right now, open incidents first.

import { h } from '../dom.js';
import * as api from '../api.js';
import * as fmt from '../format.js';
import { sparkline } from '../chart.js';
import * as moment from '../moment.js';
import { badge, serviceLink, link, stateRank, incidentKind, empty, posts, activeSilences, silenced, mutedTag, stackable, timeField, fromInput } from '../ui.js';

// The most services drawn with a sparkline; the rest are listed.
const MAX_CARDS = 12;

export default {
  nav: 'overview',
  title: 'Overview',
  async mount(root, ctx) {
    // at=RFC 3339 shows the overview as it was then (a post-mortem);
    // without it the page follows the clock, or the stream's time when the
    // source is a replay or lags (moment.js).
    const draw = async (signal) => {
      root.replaceChildren(await build(signal));
    };
    await draw(ctx.signal);
    return moment.getAsOf() ? {} : { refresh: draw };
  },
};

const HOUR = 3600e3;


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

// load reads what the overview shows at a pinned moment (a Date), or now
// by the API's clock (null).
async function load(signal, at) {
  const opt = { signal };
  const iso = at ? at.toISOString() : undefined;
  const since = (ms) => (at ? new Date(at.getTime() - ms).toISOString() : `-${ms / HOUR}h`);
  if (at) {
    // Incidents as the detector knew them then (GET /v1/incidents?at=):
    // their state, peak, reports and services at that moment, none that
    // had not begun.
    const [catalog, then, codes, latest, silences] = await Promise.all([
      api.get('v1/services', { at: iso }, opt),
      optional(api.get('v1/incidents', { at: iso, limit: 500 }, opt)),
      api.get('v1/codes/top', { window: '1h', limit: 20, at: iso }, opt),
      api.get('v1/search', { outage: 'only', since: since(HOUR), until: iso, limit: 8 }, opt),
      optional(api.get('v1/silences', {}, opt)),
    ]);
    const open = (then ? then.incidents : [])
      .filter((inc) => inc.state === 'firing' || inc.state === 'pending')
      .sort((a, b) => stateRank(b.state) - stateRank(a.state));
    return { catalog, open, detector: then !== null, codes, latest, silences, since, iso };
  }
  const [catalog, firing, pending, codes, latest, silences] = await Promise.all([
    api.services(0),
    optional(api.get('v1/incidents', { state: 'firing', limit: 50 }, opt)),
    optional(api.get('v1/incidents', { state: 'pending', limit: 50 }, opt)),
    api.get('v1/codes/top', { window: '1h', limit: 20 }, opt),
    api.get('v1/search', { outage: 'only', since: '-1h', limit: 8 }, opt),
    optional(api.get('v1/silences', {}, opt)),
  ]);
  const open = [...(firing ? firing.incidents : []), ...(pending ? pending.incidents : [])];
  return { catalog, open, detector: firing !== null, codes, latest, silences, since, iso };
}

// aboveNormal ranks the services above their normal level. A service's
// state is its own level or the state of an open incident that names it,
// whichever is more urgent. A group or vendor above normal because its
// children are is rolled up, not counted again: one outage of Outlook and
// Teams is two services above normal, not four.
function aboveNormal(catalog, open) {
  const byName = new Map(catalog.services.map((s) => [s.name, { ...s }]));
  for (const inc of open) {
    for (const name of [inc.service, ...(inc.services || [])]) {
      const s = byName.get(name);
      if (!s) continue;
      if (stateRank(inc.state) > stateRank(s.state)) s.state = inc.state;
      if (!s.openIncident || stateRank(inc.state) > stateRank(s.openIncident.state)) s.openIncident = inc;
    }
  }
  const all = [...byName.values()]
    .filter((s) => s.state !== 'normal')
    .sort((a, b) => stateRank(b.state) - stateRank(a.state) || b.anomaly - a.anomaly || b.authors - a.authors || a.name.localeCompare(b.name));
  const byID = new Map(catalog.services.map((s) => [s.id, s]));
  const ancestors = new Set();
  for (const s of all) {
    const seen = new Set();
    for (let p = byID.get(s.parent); p && !seen.has(p.id); p = byID.get(p.parent)) {
      seen.add(p.id);
      ancestors.add(p.id);
    }
  }
  return { counted: all.filter((s) => !ancestors.has(s.id)), rolledUp: all.filter((s) => ancestors.has(s.id)) };
}

async function build(signal) {
  const asOf = moment.getAsOf();
  const at = moment.pinned();
  const nowMs = moment.now();
  const d = await load(signal, at);
  const { catalog, open, codes, latest, since, iso } = d;
  const opt = { signal };
  const muted = asOf ? new Map() : activeSilences(d.silences, nowMs);
  const { counted: above, rolledUp } = aboveNormal(catalog, open);

  const shown = above.slice(0, MAX_CARDS);
  const trends = await Promise.all(shown.map((s) =>
    api.get('v1/trends', { service: s.name, since: since(3 * HOUR), until: iso, step: '5m' }, opt).catch((e) => {
      if (api.isAbort(e)) throw e;
      return null;
    })));
  let quiet = null;
  if (!above.length) quiet = await api.get('v1/trends/top', { window: '15m', limit: 5, at: iso }, opt);
  // No post at all in the hour shown: say where the data is instead.
  const offer = latest.total === 0 ? await dataOffer(signal, at ? at.getTime() : Date.now()) : null;

  const parents = new Map(catalog.services.map((s) => [s.id, s.name]));
  const topCode = (name) => (codes.codes || []).find((c) => (c.services || []).includes(name));
  const stale = !asOf && moment.stale();

  return h('div', null,
    h('div', { class: 'page-head' },
      h('div', null,
        h('h1', null, asOf ? ['As of ', h('time', { datetime: iso }, fmt.dateTime(asOf))] : 'Right now'),
        h('p', { class: 'sub' }, `Services people report as failing, measured over the 15 minutes before ${asOf ? 'then' : 'now'} against their normal level`,
          at && !asOf ? [' (now is the stream\'s time, ', h('time', { datetime: iso }, fmt.dateTime(at)), ')'] : null, '.')),
      asOfPicker(asOf),
    ),
    offer,
    h('div', { class: 'summary', role: 'group', 'aria-label': 'Summary' },
      stat(open.filter((i) => i.state === 'firing').length, 'incidents firing', 'firing'),
      stat(open.filter((i) => i.state === 'pending').length, 'incidents pending', 'pending'),
      stat(above.length, above.length === 1 ? 'service above normal' : 'services above normal', ['above', stale ? 'unknown' : above.length ? 'elevated' : 'ok'],
        'Services whose own reports are above normal; a group or vendor raised by its children is not counted again'),
      stat(latest.total, asOf ? 'outage reports in the hour before' : 'outage reports in the last hour', ''),
    ),

    h('section', { 'aria-labelledby': 'h-open' },
      h('h2', { id: 'h-open' }, 'Open incidents'),
      !d.detector ? empty('Incident detection does not run in this process.')
        : open.length ? h('div', { class: 'incidents' }, open.map((inc) => incidentCard(inc, silenced(inc, muted), nowMs)))
          : empty(stale ? 'No open incidents known, but the source brings no posts: an outage now would not show.' : 'No open incidents.'),
    ),

    h('section', { 'aria-labelledby': 'h-above' },
      h('h2', { id: 'h-above' }, 'Above normal'),
      above.length
        ? h('div', { class: 'services', id: 'above-normal' }, shown.map((s, i) => serviceCard(s, trends[i], topCode(s.name), parents, muted.get(s.name) || muted.get(parents.get(s.parent)), at)))
        : quietPanel(quiet, stale),
      rolledUp.length
        ? h('p', { class: 'muted small rolled-up' }, 'Raised by the services above, not counted again: ',
          rolledUp.map((s, i) => [i ? ', ' : '', h('a', { href: serviceLink(s.name) }, s.name), ` (${s.category || 'group'}, ${s.state})`]))
        : null,
      above.length > MAX_CARDS
        ? h('p', { class: 'muted' }, 'Also above normal: ', above.slice(MAX_CARDS).map((s, i) => [i ? ', ' : '', h('a', { href: serviceLink(s.name) }, s.name)]))
        : null,
    ),

    h('div', { class: 'split' },
      h('section', { 'aria-labelledby': 'h-say' },
        h('h2', { id: 'h-say' }, 'What people say'),
        posts(latest.hits),
        latest.total > latest.hits.length ? h('p', null, h('a', { href: link(['search'], { outage: 'only', since: since(HOUR), until: iso }) }, `All ${fmt.int(latest.total)} reports of ${asOf ? 'that' : 'the last'} hour`)) : null,
      ),
      h('section', { 'aria-labelledby': 'h-codes' },
        h('h2', { id: 'h-codes' }, asOf ? 'Error codes quoted (the hour before)' : 'Error codes quoted (last hour)'),
        codesTable(codes.codes || [], since(HOUR), iso),
      ),
    ),
  );
}

// dataOffer finds the newest indexed post; when it lies far from the
// moment shown, the page offers to go there ("Data up to ...: view it").
async function dataOffer(signal, shownMs) {
  const newest = await api.get('v1/search', { limit: 1 }, { signal }).catch((e) => {
    if (api.isAbort(e)) throw e;
    return null;
  });
  const hit = newest && newest.hits && newest.hits[0];
  if (!hit) return h('p', { class: 'notice' }, 'No post has been indexed yet.');
  const t = Date.parse(hit.time);
  if (Math.abs(shownMs - t) < HOUR) return null;
  return h('p', { class: 'notice offer' }, `No post in the hour shown. Data up to ${fmt.dateTime(t)} (the newest post): `,
    h('a', { class: 'data-offer', href: link([], { at: new Date(t).toISOString() }) }, 'view it'));
}

function stat(n, label, cls, title) {
  return h('div', { class: ['stat', ...[cls].flat()], title }, h('div', { class: 'n' }, fmt.int(n)), h('div', { class: 'l' }, label));
}

function incidentCard(inc, silence, nowMs) {
  const firing = inc.state === 'firing' && !fmt.zero(inc.firing_at);
  const since = firing ? inc.firing_at : inc.started_at;
  const members = (inc.services || []).filter((s) => s !== inc.service);
  return h('a', { class: ['incident-card', inc.state], href: link(['incidents', inc.id]), 'data-incident': inc.id, title: inc.title },
    h('div', null, badge(inc.state), ' ', h('span', { class: 'muted small' }, `${inc.severity || ''} · ${inc.confidence || ''} confidence`)),
    // Named by its group (the members are listed once, below) or by its
    // kind: a volume drop is Bluesky's.
    h('div', { class: 'title' }, incidentKind(inc).short(inc)),
    h('div', { class: 'meta' },
      h('strong', null, `${firing ? 'Firing' : 'Pending'} for ${fmt.duration(nowMs - fmt.toDate(since).getTime())}`),
      ' · Started ', h('time', { datetime: fmt.iso(inc.started_at) }, fmt.time(inc.started_at)),
      firing ? [' · firing since ', h('time', { datetime: fmt.iso(inc.firing_at) }, fmt.time(inc.firing_at))] : null),
    h('div', { class: 'meta size' }, incidentKind(inc).size(inc)),
    members.length ? h('div', { class: 'meta' }, 'Affects ', members.join(', ')) : null,
    (inc.top_codes || []).length ? h('div', { class: 'meta' }, 'Quoted: ', inc.top_codes.slice(0, 3).map((c, i) => [i ? ', ' : '', h('code', null, c.code)])) : null,
    silence ? h('div', { class: 'meta' }, mutedTag(silence)) : null,
  );
}

function serviceCard(s, trend, code, parents, silence, at) {
  const points = trend ? trend.points : [];
  const peak = points.reduce((m, p) => Math.max(m, p.posts), 0);
  const label = `${s.name}: outage posts per 5 minutes over the 3 hours before ${at ? fmt.dateTime(at) : 'now'}, peak ${peak}; the band is the normal range.`;
  const inc = s.openIncident;
  return h('article', { class: ['service-card', s.state], 'data-service': s.name, 'data-state': s.state },
    h('header', null,
      h('h3', null, h('a', { href: serviceLink(s.name) }, s.name)),
      badge(s.state)),
    s.parent || s.category ? h('div', { class: 'muted small' }, [parents.get(s.parent), s.category].filter(Boolean).join(' · ')) : null,
    sparkline(points, label),
    h('div', { class: 'spark-axis', 'aria-hidden': 'true' }, h('span', null, 'posts per 5 min, 3 h before'), h('span', null, at ? fmt.time(at) : 'now')),
    h('div', { class: 'nums', title: `Counted over the 15 minutes before ${at ? fmt.dateTime(at) : 'now'}` },
      h('span', null, h('b', null, fmt.int(s.authors)), ' people'),
      h('span', null, h('b', null, fmt.int(s.posts)), ' reports'),
      h('span', { class: s.learning ? 'ratio learning' : 'ratio', title: s.learning ? 'under an hour of history: the normal level is still being learned' : `expected ${fmt.dec(s.expected)} in 15 minutes; anomaly score ${fmt.dec(s.anomaly)}` }, h('b', null, fmt.ratio(s.posts, s.expected))),
      h('span', { class: 'window' }, 'in 15 min')),
    code ? h('div', { class: 'small' }, 'Top code ', h('code', { class: 'chip' }, code.code), code.meaning ? h('span', { class: 'muted' }, ' ', code.meaning) : null) : null,
    inc ? h('div', { class: 'small' }, h('a', { href: link(['incidents', inc.id]) }, `${inc.state === 'firing' ? 'Firing' : 'Pending'}: ${incidentKind(inc).short(inc)}`),
      inc.kind === 'volume_drop' ? h('div', { class: 'muted' }, incidentKind(inc).size(inc)) : null) : null,
    silence ? h('div', { class: 'small' }, mutedTag(silence)) : null,
  );
}

function quietPanel(quiet, stale) {
  const list = (quiet && quiet.services) || [];
  return h('div', null,
    empty(stale ? 'No verdict: the source brings no posts, so a quiet count here does not mean all is well.'
      : 'No service is above its normal level right now.'),
    list.length ? h('div', { class: 'panel' },
      h('h3', null, 'Most reported in the last 15 minutes'),
      h('ul', null, list.map((r) => h('li', null, h('a', { href: serviceLink(r.service) }, r.service), ` · ${fmt.int(r.posts)} reports, ${fmt.ratio(r.posts, r.expected)}`)))) : null,
  );
}

function codesTable(codes, since, until) {
  if (!codes.length) return empty('No error codes quoted in the last hour.');
  return stackable(h('table', null,
    h('caption', { class: 'visually-hidden' }, 'Error codes quoted in the last hour'),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Code'), h('th', { scope: 'col' }, 'Services'), h('th', { scope: 'col', class: 'num' }, 'Reports'))),
    h('tbody', null, codes.slice(0, 10).map((c) => h('tr', null,
      h('td', null, h('a', { href: link(['search'], { code: c.code, since, until }) }, h('code', null, c.code)),
        c.meaning ? h('div', { class: 'muted small' }, c.meaning) : null),
      h('td', null, (c.services || []).slice(0, 3).map((s, i) => [i ? ', ' : '', h('a', { href: serviceLink(s) }, s)])),
      h('td', { class: 'num' }, fmt.int(c.mentions || c.posts)),
    ))),
  ));
}

// asOfPicker shows the overview at another time: a replayed day, the
// minutes of a past incident. The field reads in the zone shown.
function asOfPicker(at) {
  const input = timeField('as-of', at || new Date(moment.now()));
  const go = (e) => {
    e.preventDefault();
    const d = fromInput(input.value);
    if (!d) return;
    location.hash = link([], { at: d.toISOString() });
  };
  return h('form', { class: 'toolbar', onsubmit: go, 'aria-label': 'Show the overview at another time' },
    h('label', { class: 'field' }, h('span', null, `As of (${fmt.zoneName()})`), input),
    h('button', { type: 'submit' }, 'Show'),
    at ? h('a', { class: 'button back-live', href: link([], { at: '' }) }, 'Now') : null);
}
