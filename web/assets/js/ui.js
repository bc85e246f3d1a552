// Pieces shared by the pages.

import * as api from './api.js';
import { h, highlighted } from './dom.js';
import * as fmt from './format.js';
import { getAsOf } from './moment.js';

// link builds a hash link: link(['service', 'Outlook'], {range: '6h'}).
// In an "as of" view every link carries the moment (at=...), unless params
// name their own (at: '' leaves it out: the way back to live).
export function link(parts, params) {
  const path = '#/' + parts.map((p) => encodeURIComponent(p)).join('/');
  const q = new URLSearchParams();
  const all = { ...params };
  const at = getAsOf();
  if (at && !('at' in all)) all.at = at.toISOString();
  for (const [k, v] of Object.entries(all)) {
    if (v !== undefined && v !== null && v !== '' && v !== false) q.set(k, String(v));
  }
  const qs = q.toString();
  return qs ? path + '?' + qs : path;
}

export const serviceLink = (name, params) => link(['service', name], params);

const stateWords = {
  firing: 'Firing', pending: 'Pending', elevated: 'Elevated', normal: 'Normal', resolved: 'Resolved',
  delivered: 'Delivered', failed: 'Failed',
};

export function badge(state) {
  return h('span', { class: ['badge', state], 'data-state': state }, stateWords[state] || state);
}

// incidentStateAt is an incident's state at time t (ms), as the detector
// recorded it: null before it began.
export function incidentStateAt(inc, t) {
  const ms = (x) => (fmt.zero(x) ? null : Date.parse(x));
  const pending = ms(inc.pending_at) ?? ms(inc.started_at);
  const firing = ms(inc.firing_at);
  const resolved = ms(inc.resolved_at);
  if (pending === null || t < pending) return null;
  if (resolved !== null && t >= resolved) return 'resolved';
  if (firing !== null && t >= firing) return 'firing';
  return 'pending';
}

// Incident kinds: what each measures, in its own terms. A reports
// incident counts people reporting a service; a volume_drop is the whole
// stream's posts per minute collapsing (Bluesky itself down: nobody can
// post about it), so it has no people to count.
const kinds = {
  reports: {
    short: (inc) => `${inc.service} outage${(inc.hot_regions || []).length === 1 ? ' in ' + inc.hot_regions[0] : ''}`,
    size: (inc) => `Peak ${fmt.int(inc.peak_authors)} people in one window · ${fmt.int(inc.reports)} reports in all`,
    peak: (inc) => fmt.int(inc.peak_authors),
  },
  volume_drop: {
    short: () => 'Bluesky volume drop',
    size: (inc) => `Bluesky's post volume fell to ${fmt.int(Math.round(inc.observed_volume || 0))} a minute from ${fmt.int(Math.round(inc.expected_volume || 0))} expected`,
    peak: (inc) => `${fmt.int(Math.round(inc.observed_volume || 0))} of ${fmt.int(Math.round(inc.expected_volume || 0))} posts/min`,
  },
};

// incidentKind is the kind's entry; an incident from before kinds is one
// of reports.
export const incidentKind = (inc) => kinds[inc.kind] || kinds.reports;

// stateRank orders states from the most urgent.
export function stateRank(s) {
  return { firing: 4, pending: 3, elevated: 2, normal: 1 }[s] || 0;
}

export function errorBox(message) {
  return h('div', { class: 'error-box', role: 'alert' }, message);
}

export function empty(message) {
  return h('p', { class: 'empty' }, message);
}

// post renders one post (a search hit or an incident sample); fragments,
// when present, show the matched terms highlighted.
export function post(p, { showServices = true } = {}) {
  const url = fmt.bskyURL(p.uri);
  const text = p.fragments && p.fragments.length
    ? p.fragments.flatMap((f, i) => (i ? [' … ', ...highlighted(f)] : highlighted(f)))
    : [p.text];
  const services = (p.services || []).map((s) => (typeof s === 'string' ? s : s.name));
  const codes = (p.error_codes || []).map((c) => h('span', { class: 'chip code', title: c.meaning || c.family || '' }, c.code));
  return h('li', { class: 'post', 'data-uri': p.uri },
    h('div', { class: 'meta' },
      h('time', { datetime: fmt.iso(p.time), title: fmt.iso(p.time) }, fmt.dateTime(p.time)),
      h('span', { title: p.author }, fmt.author(p.author)),
      p.intent && p.intent !== 'none' ? h('span', { class: 'chip' }, p.intent) : null,
      url ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, 'Open on Bluesky', h('span', { class: 'visually-hidden' }, ' (new tab)')) : null,
    ),
    h('p', { class: 'text' }, text),
    h('div', { class: 'tags' },
      showServices ? services.map((s) => h('a', { class: 'chip', href: serviceLink(s) }, s)) : null,
      codes,
      (p.regions || []).map((r) => h('span', { class: 'chip' }, typeof r === 'string' ? r : r.name)),
    ),
    labelControl(p),
  );
}

// labelControl shows an analyst's correction of the classifier, and to an
// admin (a tab given the admin token) the buttons that make one. A
// correction changes no count: it is kept to retrain the classifier.
function labelControl(p) {
  if (!p.uri || (!p.label && !api.adminToken())) return null;
  const said = h('span', { class: 'label-said', 'data-label': p.label ? String(p.label.outage) : '' },
    p.label ? (p.label.outage ? 'Marked an outage report' : 'Marked not an outage') : '');
  const box = h('div', { class: 'label-control' }, said);
  if (!api.adminToken()) return box;
  const mark = (outage) => async () => {
    for (const b of box.querySelectorAll('button')) b.disabled = true;
    try {
      const l = await api.send(`v1/posts/${encodeURIComponent(p.uri)}/label`, { outage }, { token: api.adminToken() });
      said.dataset.label = String(l.outage);
      said.textContent = l.outage ? 'Marked an outage report' : 'Marked not an outage';
      for (const b of box.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.outage === String(l.outage)));
    } catch (e) {
      said.textContent = 'Not saved: ' + e.message;
    } finally {
      for (const b of box.querySelectorAll('button')) b.disabled = false;
    }
  };
  box.append(
    h('button', { type: 'button', class: 'small', 'data-outage': 'false', 'aria-pressed': String(!!p.label && !p.label.outage), onclick: mark(false), title: 'Correct the classifier: this post does not report an outage' }, 'Not an outage'),
    h('button', { type: 'button', class: 'small', 'data-outage': 'true', 'aria-pressed': String(!!p.label && p.label.outage), onclick: mark(true), title: 'Correct the classifier: this post reports an outage' }, 'Outage'),
  );
  return box;
}

export function posts(list, opts) {
  if (!list || !list.length) return empty('No posts.');
  return h('ul', { class: 'posts' }, list.map((p) => post(p, opts)));
}

// stackable lets a table read as a list on a narrow screen: each cell
// gets its column's name, which the style sheet shows before it.
export function stackable(table) {
  table.classList.add('stackable');
  const names = [...table.querySelectorAll('thead th')].map((th) => th.textContent.trim());
  for (const tr of table.querySelectorAll('tbody tr')) {
    [...tr.children].forEach((td, i) => { if (names[i]) td.dataset.label = names[i]; });
  }
  return table;
}

// when is a <time> element: the time in the zone shown, written with it.
export function when(t, format = fmt.dateTime) {
  if (fmt.zero(t)) return '—';
  return h('time', { datetime: fmt.iso(t), title: fmt.iso(t) }, format(t));
}

// timeField is a field for a time, "2026-01-22 19:40" in the zone shown:
// a text field, because the browser's own date field shows a 12-hour
// clock in some locales.
export function timeField(id, t) {
  const d = fmt.toDate(t);
  const value = new Date(d.getTime() + fmt.offsetMs(d)).toISOString().slice(0, 16).replace('T', ' ');
  return h('input', {
    type: 'text', id, value, size: 16, inputmode: 'numeric', autocomplete: 'off', spellcheck: 'false',
    pattern: '\\d{4}-\\d{2}-\\d{2}[ T]\\d{2}:\\d{2}', placeholder: 'YYYY-MM-DD HH:MM', title: `YYYY-MM-DD HH:MM, 24-hour, ${fmt.zoneName()}`,
  });
}

// fromInput reads a timeField in the zone shown; null if empty or bad.
export function fromInput(v) {
  const m = /^\s*(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})\s*$/.exec(v || '');
  if (!m) return null;
  const s = `${m[1]}T${m[2]}`;
  const d = fmt.isLocal() ? new Date(s) : new Date(s + 'Z');
  return Number.isNaN(d.getTime()) ? null : d;
}

// bars renders a ranked list with proportional bars.
export function barTable(rows, { caption, nameHeader, countHeader }) {
  const max = Math.max(1, ...rows.map((r) => r.count));
  return h('table', null,
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, nameHeader), h('th', { scope: 'col', class: 'num' }, countHeader))),
    h('tbody', null, rows.map((r) => h('tr', null,
      h('td', null, r.name, r.detail ? h('div', { class: 'muted small' }, r.detail) : null,
        h('div', { class: 'bar', 'aria-hidden': 'true' }, barFill(r.count / max))),
      h('td', { class: 'num' }, fmt.int(r.count)),
    ))),
  );
}

// barFill is a bar of a given fraction, sized through a class so that no
// inline style is needed (the page's policy allows none).
function barFill(frac) {
  const pct = Math.round(Math.max(0, Math.min(1, frac)) * 20) * 5;
  return h('span', { class: 'w-' + pct });
}

// activeSilences maps each silenced service (or group) name to the
// silence that mutes it now.
export function activeSilences(list, now = Date.now()) {
  const m = new Map();
  for (const s of (list && list.silences) || []) {
    if (Date.parse(s.starts_at) <= now && now < Date.parse(s.ends_at)) {
      const cur = m.get(s.service);
      if (!cur || Date.parse(s.ends_at) > Date.parse(cur.ends_at)) m.set(s.service, s);
    }
  }
  return m;
}

// silenced returns the silence muting an incident's notifications, as the
// detector decides it: one on the group, or one on every service it names.
export function silenced(inc, active) {
  if (active.has(inc.service)) return active.get(inc.service);
  const names = (inc.services || []).filter((n) => n !== inc.service);
  if (!names.length || !names.every((n) => active.has(n))) return null;
  return active.get(names[0]);
}

// mutedTag marks a service or incident whose notifications are silenced.
export function mutedTag(s) {
  if (!s) return null;
  return h('span', { class: 'chip muted-tag', 'data-silence': s.id, title: s.comment || 'Notifications are silenced' },
    `Silenced until ${fmt.dateTime(s.ends_at)}`);
}
