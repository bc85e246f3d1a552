// Incidents: the detector's incidents, open ones first.

import { h } from '../dom.js';
import * as api from '../api.js';
import * as fmt from '../format.js';
import * as moment from '../moment.js';
import { badge, link, serviceLink, incidentKind, empty, errorBox, activeSilences, silenced, mutedTag, stackable, when } from '../ui.js';

const filters = [
  ['', 'All'], ['open', 'Open'], ['firing', 'Firing'], ['pending', 'Pending'], ['resolved', 'Resolved'],
];

export default {
  nav: 'incidents',
  title: 'Incidents',
  async mount(root, ctx) {
    const state = ctx.params.get('state') || '';
    const service = ctx.params.get('service') || '';
    const body = h('div');
    const at = moment.getAsOf();
    root.append(
      h('h1', null, 'Incidents'),
      at ? h('p', { class: 'sub as-of-note' }, 'As the detector knew them at ', h('time', { datetime: fmt.iso(at) }, fmt.dateTime(at)),
        ': their state, peak and reports then; none that had not begun.') : null,
      h('p', { class: 'sub' }, 'Outages the detector found: many different people reporting a service far above its normal level.'),
      h('div', { class: 'toolbar' },
        h('nav', { class: 'segmented', 'aria-label': 'Filter by state' }, filters.map(([v, l]) =>
          h('a', { class: 'button', href: link(['incidents'], { state: v, service }), 'aria-current': v === state ? 'true' : null }, l))),
        service ? h('span', null, 'Service: ', h('strong', null, service), ' ', h('a', { href: link(['incidents'], { state }) }, 'clear')) : null),
      body);
    const draw = async (signal) => {
      const silences = await api.get('v1/silences', {}, { signal }).catch((e) => {
        if (e.status === 404) return null;
        throw e;
      });
      body.replaceChildren(await list(state, service, silences, signal), silencePanel(silences));
    };
    await draw(ctx.signal);
    return at ? {} : { refresh: draw };
  },
};

async function list(state, service, silences, signal) {
  // As of a moment, GET /v1/incidents?at= gives each incident as it was
  // then; state filters select on that state.
  const at = moment.getAsOf();
  const get = (st) => api.get('v1/incidents', { state: st, service, at: at ? at.toISOString() : '', limit: 200 }, { signal });
  let incidents;
  try {
    if (state === 'open') {
      const [f, p] = await Promise.all([get('firing'), get('pending')]);
      incidents = [...f.incidents, ...p.incidents];
    } else {
      incidents = (await get(state)).incidents;
    }
  } catch (e) {
    if (e.status === 404) return errorBox('Incident detection does not run in this process: ' + e.message);
    throw e;
  }
  const rank = { firing: 0, pending: 1, resolved: 2 };
  incidents.sort((a, b) => rank[a.state] - rank[b.state] || Date.parse(b.started_at) - Date.parse(a.started_at));
  if (!incidents.length) return empty('No incidents match.');
  const now = moment.now();
  const muted = activeSilences(silences, now);
  return h('div', { class: 'panel' }, stackable(h('table', { id: 'incident-table' },
    h('caption', { class: 'visually-hidden' }, 'Incidents, open first'),
    h('thead', null, h('tr', null, ['State', 'Incident', 'Severity', 'Started', 'Lasted', 'Peak', 'Reports', 'Top code'].map((c, i) =>
      h('th', { scope: 'col', class: i >= 5 && i <= 6 ? 'num' : null }, c)))),
    h('tbody', null, incidents.map((inc) => {
      const end = fmt.zero(inc.resolved_at) ? now : Date.parse(inc.resolved_at);
      const code = (inc.top_codes || [])[0];
      return h('tr', { 'data-incident': inc.id },
        h('td', null, badge(inc.state), firingFor(inc, now), inc.state === 'resolved' ? null : mutedTag(silenced(inc, muted))),
        h('td', null, h('a', { href: link(['incidents', inc.id]) }, inc.title || inc.service),
          h('div', { class: 'muted small' }, [inc.service, ...(inc.services || []).filter((s) => s !== inc.service)].map((s, i) => [i ? ', ' : '', h('a', { href: serviceLink(s) }, s)]))),
        h('td', null, inc.severity, h('div', { class: 'muted small' }, `${inc.confidence} confidence`)),
        h('td', null, when(inc.started_at)),
        h('td', null, fmt.duration(end - Date.parse(inc.started_at)), fmt.zero(inc.resolved_at) ? h('span', { class: 'muted' }, ' so far') : null),
        h('td', { class: 'num' }, incidentKind(inc).peak(inc)),
        h('td', { class: 'num' }, inc.kind === 'volume_drop' ? '—' : fmt.int(inc.reports)),
        h('td', null, code ? h('code', null, code.code) : h('span', { class: 'muted' }, '—')),
      );
    })))));
}

// silencePanel lists the silences in force or scheduled: notifications for
// those services are recorded but not sent.
function silencePanel(silences) {
  if (!silences) return null;
  const now = moment.now();
  const list = (silences.silences || []).filter((s) => Date.parse(s.ends_at) > now)
    .sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
  return h('section', { 'aria-labelledby': 'h-silences' },
    h('h2', { id: 'h-silences' }, 'Silences'),
    h('p', { class: 'sub' }, 'Incidents of these services are still detected and listed; their webhooks are not sent. Admins silence a service from its page or its incident\'s (or POST /v1/silences with the admin token), and lift a silence here.'),
    !list.length ? empty('No silences in force.') : h('div', { class: 'panel' }, stackable(h('table', { id: 'silence-table' },
      h('caption', { class: 'visually-hidden' }, 'Silences in force or scheduled'),
      h('thead', null, h('tr', null, ['Service', 'State', 'From', 'Until', 'Comment', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'visually-hidden' }, 'Lift'))))),
      h('tbody', null, list.map((s) => {
        const active = Date.parse(s.starts_at) <= now;
        return h('tr', { 'data-silence': s.id, 'data-service': s.service },
          h('td', null, h('a', { href: serviceLink(s.service) }, s.service)),
          h('td', null, active ? 'In force' : 'Scheduled'),
          h('td', null, when(s.starts_at)),
          h('td', null, when(s.ends_at)),
          h('td', null, s.comment || h('span', { class: 'muted' }, '—')),
          h('td', null, api.adminToken() && !moment.getAsOf() ? liftButton(s) : null));
      }))))));
}

// liftButton ends a silence now (DELETE /v1/silences/{id}), for a tab
// given the admin token; the row goes once the API has removed it.
function liftButton(s) {
  const said = h('span', { class: 'form-error', role: 'alert' });
  const lift = async (e) => {
    const b = e.currentTarget;
    b.disabled = true;
    try {
      await api.remove('v1/silences/' + encodeURIComponent(s.id), { token: api.adminToken() });
      b.closest('tr').remove();
    } catch (err) {
      if (err.status === 401) sessionStorage.removeItem(api.TOKEN_KEY);
      said.textContent = 'Not lifted: ' + err.message;
      b.disabled = false;
    }
  };
  return [h('button', { type: 'button', class: 'small lift', onclick: lift, 'aria-label': `Lift the silence on ${s.service}` }, 'Lift'), said];
}

// firingFor says how long a firing incident has fired, by the clock the
// page follows (as of, stream or wall).
function firingFor(inc, now) {
  if (inc.state !== 'firing' || fmt.zero(inc.firing_at)) return null;
  return h('div', { class: 'muted small firing-for' }, `Firing for ${fmt.duration(now - Date.parse(inc.firing_at))}`);
}
