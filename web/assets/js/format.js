// Formatting numbers, times and links for people.
//
// One time zone rule: every time is shown in UTC, with "UTC" written after
// it, unless the reader switched to local time, and then the local zone is
// written instead. Clocks are 24-hour. The logs and the API speak UTC, so an
// on-call engineer in New York and one in Berlin read the same "19:28 UTC".

const intFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export const int = (n) => intFmt.format(n || 0);
export const dec = (n) => decFmt.format(n || 0);

export const ZONE_KEY = 'downsignal.zone';
let local = readZone() === 'local';

function readZone() {
  try {
    return localStorage.getItem(ZONE_KEY) || 'utc';
  } catch {
    return 'utc';
  }
}

// useLocal switches every time shown from UTC to the browser's zone (true)
// or back, and remembers the choice.
export function useLocal(on) {
  local = !!on;
  try {
    localStorage.setItem(ZONE_KEY, local ? 'local' : 'utc');
  } catch {
    // Private windows may refuse storage; the switch still holds for now.
  }
}

export const isLocal = () => local;

// zoneName is the zone written after times: "UTC", or the local zone's
// short name ("EST", "GMT+1") at time t.
export function zoneName(t = Date.now()) {
  if (!local) return 'UTC';
  const p = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(toDate(t));
  const z = p.find((x) => x.type === 'timeZoneName');
  return z ? z.value : 'local time';
}

// zoneLong names the local zone for the switch: "local time (Europe/Berlin)".
export function zoneLong() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local';
}

// fields are t's calendar fields in the zone shown.
export function fields(t) {
  const d = toDate(t);
  return local
    ? { y: d.getFullYear(), mo: d.getMonth(), d: d.getDate(), h: d.getHours(), mi: d.getMinutes(), s: d.getSeconds() }
    : { y: d.getUTCFullYear(), mo: d.getUTCMonth(), d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds() };
}

// offsetMs is how far the zone shown is ahead of UTC at t.
export function offsetMs(t) {
  return local ? -toDate(t).getTimezoneOffset() * 60e3 : 0;
}

const pad = (n) => String(n).padStart(2, '0');

// clock is "19:28" in the zone shown, without the zone: for chart axes,
// whose caption names the zone once.
export function clock(t) {
  const f = fields(t);
  return `${pad(f.h)}:${pad(f.mi)}`;
}

// dayShort is "22 Jan" in the zone shown.
export function dayShort(t) {
  const f = fields(t);
  return `${f.d} ${months[f.mo]}`;
}

// date is "2026-01-22" in the zone shown.
export function date(t) {
  const f = fields(t);
  return `${f.y}-${pad(f.mo + 1)}-${pad(f.d)}`;
}

export function time(t) { return `${clock(t)} ${zoneName(t)}`; }
export function timeSec(t) { const f = fields(t); return `${pad(f.h)}:${pad(f.mi)}:${pad(f.s)} ${zoneName(t)}`; }
export function day(t) { return dayShort(t); }
export function dateTime(t) { return `${date(t)} ${clock(t)} ${zoneName(t)}`; }
export function iso(t) { return toDate(t).toISOString(); }

// span is a time range on one line: "2026-01-22 19:00–23:59 UTC", the date
// written again only when the range crosses midnight.
export function span(a, b) {
  if (date(a) === date(b)) return `${date(a)} ${clock(a)}–${clock(b)} ${zoneName(b)}`;
  return `${date(a)} ${clock(a)} – ${date(b)} ${clock(b)} ${zoneName(b)}`;
}

export function toDate(t) { return t instanceof Date ? t : new Date(t); }

// zero reports a Go zero time or a missing one.
export function zero(t) { return !t || String(t).startsWith('0001-01-01'); }

// ago says how long before now t was: "just now", "12 min ago", "3 h ago".
export function ago(t, now = Date.now()) {
  return duration(now - toDate(t).getTime()) + ' ago';
}

// duration in words, coarse: "45 s", "12 min", "3 h 20 min", "2 d 4 h".
export function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return m % 60 ? `${hrs} h ${m % 60} min` : `${hrs} h`;
  const d = Math.floor(hrs / 24);
  return hrs % 24 ? `${d} d ${hrs % 24} h` : `${d} d`;
}

// stepWords names a step of the API for people: "5m" -> "5 min".
export function stepWords(step) {
  const m = /^(\d+)([mhd])$/.exec(step || '');
  if (!m) return step || '';
  return `${m[1]} ${{ m: 'min', h: 'h', d: 'day' }[m[2]]}`;
}

// ratio says how far observed is above expected: "24× normal". With no
// expected level (null: the API's baseline has under an hour of history)
// it says "learning" rather than a ratio against a guess.
export function ratio(observed, expected) {
  if (expected === null || expected === undefined) return 'learning';
  if (!observed) return 'none';
  if (expected < 0.05) return 'new (none expected)';
  const r = observed / expected;
  if (r >= 10) return `${intFmt.format(r)}× normal`;
  return `${decFmt.format(r)}× normal`;
}

// bskyURL links an at-URI of a post to its page on bsky.app; null for
// anything that is not a post URI.
export function bskyURL(uri) {
  const m = /^at:\/\/(did:[a-z0-9]+:[A-Za-z0-9._:%-]+)\/app\.bsky\.feed\.post\/([A-Za-z0-9._~:-]+)$/.exec(uri || '');
  if (!m) return null;
  // The pattern admits only characters that are safe in a path.
  return `https://bsky.app/profile/${m[1]}/post/${m[2]}`;
}

// author shortens a DID for display.
export function author(did) {
  if (!did) return 'unknown';
  const s = String(did);
  return s.length > 24 ? s.slice(0, 14) + '…' + s.slice(-6) : s;
}
