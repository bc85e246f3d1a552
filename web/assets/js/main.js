// The dashboard shell: hash routes, live refresh, theme, keyboard.

import { h } from './dom.js';
import * as fmt from './format.js';
import { isAbort } from './api.js';
import * as moment from './moment.js';
import { link } from './ui.js';
import overview from './pages/overview.js';
import service from './pages/service.js';
import search from './pages/search.js';
import incidents from './pages/incidents.js';
import incident from './pages/incident.js';

const main = document.getElementById('main');
const live = document.getElementById('live');
const liveText = document.getElementById('live-text');
const refreshSelect = document.getElementById('refresh');
const themeButton = document.getElementById('theme');
const zoneButton = document.getElementById('zone');
const menuButton = document.getElementById('menu');
const momentBar = document.getElementById('moment');

// route maps the hash (#/service/Outlook?range=6h) to a page.
export function route(hash) {
  const raw = (hash || '').replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  let parts;
  try {
    parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    parts = ['?'];
  }
  const [first, second] = parts;
  if (parts.length === 0) return { page: overview, params, parts };
  if (first === 'service' && second && parts.length === 2) return { page: service, params, parts, arg: second };
  if (first === 'search' && parts.length === 1) return { page: search, params, parts };
  if (first === 'incidents' && parts.length === 1) return { page: incidents, params, parts };
  if (first === 'incidents' && parts.length === 2) return { page: incident, params, parts, arg: second };
  return { page: notFound, params, parts };
}

const notFound = {
  nav: '',
  title: 'Not found',
  async mount(root) {
    root.append(h('h1', { tabindex: -1 }, 'Page not found'), h('p', null, 'There is no such page. ', h('a', { href: '#/' }, 'Go to the overview'), '.'));
    return {};
  },
};

let current = null; // {page, ctl: AbortController, handle}
let refreshing = false;

// navigate shows the page the hash names; retry shows it again after it
// failed to load, without moving the focus.
async function navigate(retry = false) {
  const r = route(location.hash);
  if (current) current.ctl.abort();
  const ctl = new AbortController();
  current = { ...r, ctl, handle: null };
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === r.page.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = (r.page.title ? r.page.title + ' · ' : '') + 'downsignal';
  const root = h('div', { class: 'page' });
  main.replaceChildren(h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  closeMenu();
  moment.setAsOf(moment.parseAt(r.params));
  try {
    await readStatus(ctl.signal);
    const handle = await r.page.mount(root, { params: r.params, arg: r.arg, signal: ctl.signal, setTitle });
    if (ctl.signal.aborted) return;
    current.handle = handle || {};
    main.replaceChildren(root);
    showMoment();
    markUpdated();
  } catch (e) {
    if (isAbort(e) || ctl.signal.aborted) return;
    main.replaceChildren(root);
    showMoment();
    root.prepend(h('div', { class: 'error-box', role: 'alert' }, 'Could not load this page: ' + e.message));
    markFailed(e);
    // Try again at the next refresh: downsignal may be restarting.
    current.handle = { retry: true };
  }
  // Move focus to the new page (its heading, or what the page asks for)
  // so that keyboard and screen-reader users start there.
  const target = (current.handle && current.handle.focus) || (navigated ? main.querySelector('h1') : null);
  if (target && !retry && !ctl.signal.aborted) {
    if (!target.hasAttribute('tabindex') && !/^(INPUT|SELECT|TEXTAREA|BUTTON|A)$/.test(target.tagName)) target.setAttribute('tabindex', '-1');
    target.focus({ preventScroll: target.tagName !== 'INPUT' });
  }
  navigated = true;
  schedule();
}
let navigated = false;

function setTitle(t) {
  document.title = t + ' · downsignal';
}

// refresh re-reads the current page's data, if it has live data. A page
// without live data (a search, a fixed range) still follows the source's
// health, so a stale-source banner comes and goes on every live page.
async function refresh() {
  if (current && current.handle && current.handle.retry) {
    navigate(true);
    return;
  }
  if (!current || !current.handle || refreshing || moment.getAsOf()) return;
  const follows = !!current.handle.refresh;
  // Someone typing into a field of the page keeps what they typed: the
  // next refresh comes once they leave it.
  const el = document.activeElement;
  if (follows && el && main.contains(el) && el.matches('input, select, textarea')) return;
  refreshing = true;
  const c = current;
  const focus = focusedPlace();
  const wasStale = moment.stale();
  try {
    await readStatus(c.ctl.signal);
    if (follows) await c.handle.refresh(c.ctl.signal);
    if (c === current) {
      showMoment();
      restoreFocus(focus);
      if (follows || wasStale !== moment.stale()) markUpdated();
    }
  } catch (e) {
    if (!isAbort(e) && c === current) {
      showMoment();
      markFailed(e);
    }
  } finally {
    refreshing = false;
  }
}

// A refresh rebuilds parts of the page; a keyboard user must not lose
// their place. focusedPlace notes the focused element as a selector and
// its index among the matches, restoreFocus finds its successor.
function focusedPlace() {
  const el = document.activeElement;
  if (!el || el === document.body || el === main || !main.contains(el)) return null;
  let sel = null;
  if (el.id) sel = '#' + CSS.escape(el.id);
  else if (el.getAttribute('href')) sel = `${el.tagName.toLowerCase()}[href="${CSS.escape(el.getAttribute('href'))}"]`;
  else if (el.dataset.key) sel = `[data-key="${CSS.escape(el.dataset.key)}"]`;
  if (!sel) return null;
  return { el, sel, index: [...main.querySelectorAll(sel)].indexOf(el) };
}

function restoreFocus(place) {
  if (!place || place.el.isConnected) return;
  const all = main.querySelectorAll(place.sel);
  const el = all[Math.max(0, Math.min(place.index, all.length - 1))];
  if (el) el.focus({ preventScroll: true });
}

// readStatus reads the source's health and the stream time for the page
// to draw with. The bar under the header (showMoment) changes only once
// the page is drawn, so the two never disagree: no banner over a page
// that still reads all clear.
async function readStatus(signal) {
  if (!moment.getAsOf()) await moment.refresh(signal);
}

// showMoment fills the bar under the header: the moment of an "as of"
// view with the way back to live, the stream time of a replay or a lagging
// source, and a warning while the source brings no posts.
function showMoment() {
  const at = moment.getAsOf();
  const st = moment.getStatus();
  const src = st && st.source;
  const parts = [];
  if (at) {
    parts.push(h('div', { class: 'moment-line asof' },
      h('strong', null, 'As of '), h('time', { datetime: fmt.iso(at) }, fmt.dateTime(at)),
      h('span', { class: 'muted' }, ' · every page and link shows this moment '),
      h('a', { class: 'button small back-live', href: liveHash() }, 'Back to live')));
  } else if (moment.following() === 'stream') {
    const what = src && src.state === 'replaying' ? 'replay in progress'
      : src && src.state === 'done' ? 'replay finished'
        : src && src.name ? `${src.name} lags` : 'the newest post read';
    parts.push(h('div', { class: 'moment-line stream' },
      h('strong', null, 'Stream time '), h('time', { datetime: fmt.iso(moment.streamTime()) }, fmt.dateTime(moment.streamTime())),
      h('span', { class: 'muted' }, ` · "now" on every page is the newest post's time (${what})`)));
  }
  if (!at && moment.stale()) {
    const last = src.last_event_at ? `No posts since ${fmt.time(src.last_event_at)}` : 'No posts yet';
    parts.push(h('div', { class: 'moment-line stale', role: 'alert' },
      h('strong', null, last), ', results are incomplete', src.last_error ? ': ' + src.last_error : '',
      h('span', { class: 'muted' }, ` (source ${src.name || ''} ${src.state})`)));
  }
  momentBar.replaceChildren(...parts);
  momentBar.hidden = parts.length === 0;
  momentBar.dataset.mode = at ? 'asof' : moment.following();
  momentBar.dataset.stale = String(!at && moment.stale());
}

// liveHash is the current route without its moment.
function liveHash() {
  const r = route(location.hash);
  const params = Object.fromEntries(r.params);
  delete params.at;
  return link(r.parts, { ...params, at: '' });
}

function markUpdated() {
  const when = fmt.timeSec(new Date());
  if (moment.getAsOf()) {
    live.dataset.state = 'idle';
    liveText.textContent = `As of ${fmt.dateTime(moment.getAsOf())}`;
    return;
  }
  if (moment.stale()) {
    live.dataset.state = 'error';
    liveText.textContent = `Source ${moment.getStatus().source.state} · updated ${when}`;
    return;
  }
  const follows = current && current.handle && current.handle.refresh;
  if (!follows) {
    live.dataset.state = 'idle';
    liveText.textContent = `Loaded ${when}`;
  } else if (refreshSeconds() > 0) {
    live.dataset.state = 'ok';
    liveText.textContent = `Live · updated ${when}`;
  } else {
    live.dataset.state = 'paused';
    liveText.textContent = `Paused · updated ${when}`;
  }
}

function markFailed(e) {
  live.dataset.state = 'error';
  liveText.textContent = 'Update failed: ' + (e && e.message ? e.message.slice(0, 80) : 'unknown error');
}

function refreshSeconds() {
  return Number(refreshSelect.value) || 0;
}

let timer = 0;
function schedule() {
  clearTimeout(timer);
  const s = refreshSeconds();
  if (s > 0) {
    timer = setTimeout(async () => {
      if (!document.hidden) await refresh();
      schedule();
    }, s * 1000);
  }
}

function setupRefresh() {
  const saved = localStorage.getItem('downsignal.refresh');
  refreshSelect.value = saved !== null && [...refreshSelect.options].some((o) => o.value === saved) ? saved : '10';
  refreshSelect.addEventListener('change', () => {
    localStorage.setItem('downsignal.refresh', refreshSelect.value);
    markUpdated();
    schedule();
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && refreshSeconds() > 0) refresh();
  });
}

function setTheme(theme) {
  document.documentElement.dataset.theme = theme;
  themeButton.setAttribute('aria-label', theme === 'dark' ? 'Switch to light theme' : 'Switch to dark theme');
}

function setupTheme() {
  const saved = localStorage.getItem('downsignal.theme');
  const system = window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  setTheme(saved === 'dark' || saved === 'light' ? saved : system);
  themeButton.addEventListener('click', toggleTheme);
}

function toggleTheme() {
  const next = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
  localStorage.setItem('downsignal.theme', next);
  setTheme(next);
}

function setupZone() {
  const show = () => {
    zoneButton.textContent = fmt.isLocal() ? `Local (${fmt.zoneName()})` : 'UTC';
    zoneButton.setAttribute('aria-label', fmt.isLocal()
      ? `Times in local time (${fmt.zoneLong()}); switch to UTC` : `Times in UTC; switch to local time (${fmt.zoneLong()})`);
  };
  show();
  zoneButton.addEventListener('click', () => {
    fmt.useLocal(!fmt.isLocal());
    show();
    // Every time on the page is redrawn in the new zone.
    navigate(true);
  });
  return show;
}
let toggleZone = () => {};

function closeMenu() {
  menuButton.setAttribute('aria-expanded', 'false');
  document.querySelector('header.top').dataset.menu = 'closed';
}

function setupMenu() {
  closeMenu();
  menuButton.addEventListener('click', () => {
    const open = menuButton.getAttribute('aria-expanded') !== 'true';
    menuButton.setAttribute('aria-expanded', String(open));
    document.querySelector('header.top').dataset.menu = open ? 'open' : 'closed';
  });
}

// Keyboard: single keys outside form fields; "g" then a letter to go.
function setupKeys() {
  const dialog = document.getElementById('shortcuts');
  document.getElementById('help').addEventListener('click', () => dialog.showModal());
  let pendingG = 0;
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    const t = e.target;
    if (t && (t.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA'].includes(t.tagName))) return;
    if (dialog.open) return;
    const go = (hash) => { e.preventDefault(); location.hash = hash; };
    if (pendingG && Date.now() - pendingG < 1500) {
      pendingG = 0;
      if (e.key === 'o') return go('#/');
      if (e.key === 's') return go('#/search');
      if (e.key === 'i') return go('#/incidents');
    }
    pendingG = 0;
    switch (e.key) {
      case 'g': pendingG = Date.now(); break;
      case '/': {
        e.preventDefault();
        const q = document.getElementById('q');
        if (q) q.focus();
        else location.hash = '#/search?focus=1';
        break;
      }
      case 't': toggleTheme(); break;
      case 'z': toggleZone(); break;
      case 'r': refresh(); break;
      case '?': e.preventDefault(); dialog.showModal(); break;
    }
  });
}

setupTheme();
setupZone();
toggleZone = () => zoneButton.click();
setupMenu();
setupRefresh();
setupKeys();
window.addEventListener('hashchange', () => navigate());
navigate();
