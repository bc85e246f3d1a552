// Silencing a service from its page or its incident's: the same request
// and the same rules as POST /v1/silences, checked here first so that a
// mistake is explained before anything is sent. The admin token lives in
// this tab's session storage only, never in a URL.

import { h } from './dom.js';
import * as api from './api.js';
import * as fmt from './format.js';
import * as moment from './moment.js';

// maxSilenceMs is the API's longest silence (90 days).
const maxSilenceMs = 90 * 24 * 3600e3;
const units = { h: 3600e3, m: 60e3, s: 1e3, ms: 1, us: 1e-3, 'µs': 1e-3, ns: 1e-6 };

// parseDuration reads a Go duration ("2h", "1h30m", "90m") in ms; NaN when
// it is not one.
export function parseDuration(v) {
  const s = String(v || '').trim();
  if (!/^[-+]?((\d+(\.\d*)?|\.\d+)(h|m|s|ms|us|µs|ns))+$/.test(s)) return NaN;
  const sign = s.startsWith('-') ? -1 : 1;
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ms|us|µs|ns|h|m|s)/g)) total += Number(m[1]) * units[m[2]];
  return sign * total;
}

// validate applies the API's rules; it returns the API's message for the
// first one broken, or ''.
export function validate({ service, duration, comment }) {
  const bytes = (x) => new TextEncoder().encode(x).length;
  const name = String(service || '').trim();
  if (!name || bytes(name) > 128) return 'service is required (at most 128 bytes)';
  const ms = parseDuration(duration);
  if (!(ms > 0)) return 'duration: want a positive duration like 2h, and no ends_at with it';
  if (ms > maxSilenceMs) return 'silence longer than 2160h0m0s';
  if (bytes(comment || '') > 1024) return 'comment longer than 1024 bytes';
  return '';
}

// silenceForm offers to silence one of services (the first is chosen).
// Following a replay, the silence starts at the stream's time, the time
// the detector's notifications carry.
export function silenceForm(services) {
  const token = h('input', { id: 'silence-token', name: 'token', type: 'password', autocomplete: 'off' });
  const tokenRow = h('label', { class: 'field token-row', hidden: !!api.adminToken() }, h('span', null, 'Admin token'), token);
  const service = h('select', { name: 'service' }, services.map((s) => h('option', { value: s }, s)));
  const duration = h('input', { name: 'duration', type: 'text', value: '2h', size: 6, list: 'silence-durations', autocomplete: 'off' });
  const comment = h('input', { name: 'comment', type: 'text', maxlength: 1024, placeholder: 'e.g. vendor engaged, ticket 4711' });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const done = h('p', { class: 'form-done', role: 'status', hidden: true });
  const say = (el, msg) => {
    error.hidden = true;
    done.hidden = true;
    el.textContent = msg;
    el.hidden = false;
  };
  const submit = async (e) => {
    e.preventDefault();
    const body = { service: service.value, duration: duration.value.trim(), comment: comment.value.trim() };
    const problem = validate(body);
    if (problem) {
      say(error, 'Not sent: ' + problem);
      return;
    }
    if (token.value.trim()) sessionStorage.setItem(api.TOKEN_KEY, token.value.trim());
    if (!api.adminToken()) {
      tokenRow.hidden = false;
      say(error, 'Not sent: silences need the admin token.');
      return;
    }
    if (!moment.getAsOf() && moment.following() === 'stream') body.starts_at = new Date(moment.now()).toISOString();
    try {
      const s = await api.send('v1/silences', body, { token: api.adminToken() });
      token.value = '';
      tokenRow.hidden = true;
      say(done, `Silenced ${s.service} until ${fmt.dateTime(s.ends_at)}. Incidents are still detected; their webhooks are not sent.`);
    } catch (err) {
      if (err.status === 401) {
        sessionStorage.removeItem(api.TOKEN_KEY);
        tokenRow.hidden = false;
      }
      say(error, 'Not saved: ' + err.message);
    }
  };
  return h('form', { class: 'silence-form toolbar', 'aria-label': 'Silence notifications', onsubmit: submit },
    h('label', { class: 'field' }, h('span', null, 'Silence'), service),
    h('label', { class: 'field' }, h('span', null, 'For'), duration),
    h('datalist', { id: 'silence-durations' }, ['30m', '1h', '2h', '4h', '8h', '24h'].map((v) => h('option', { value: v }))),
    h('label', { class: 'field grow' }, h('span', null, 'Comment'), comment),
    tokenRow,
    h('button', { type: 'submit' }, 'Silence'),
    error, done);
}

// silenceSection is the admin's block on a page: hidden in an "as of" view,
// where nothing is live to silence.
export function silenceSection(services) {
  if (moment.getAsOf()) return null;
  return h('section', { 'aria-labelledby': 'h-silence', id: 'silence' },
    h('h2', { id: 'h-silence' }, 'Silence notifications'),
    h('p', { class: 'sub' }, 'For admins: webhooks for these services stop for a while; incidents are still detected and listed.'),
    silenceForm(services));
}
