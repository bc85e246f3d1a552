// Formatting numbers, times and links for people.

const intFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const timeSecFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

export const int = (n) => intFmt.format(n || 0);
export const dec = (n) => decFmt.format(n || 0);

export function time(t) { return timeFmt.format(toDate(t)); }
export function timeSec(t) { return timeSecFmt.format(toDate(t)); }
export function day(t) { return dayFmt.format(toDate(t)); }
export function dateTime(t) { return dateTimeFmt.format(toDate(t)); }
export function iso(t) { return toDate(t).toISOString(); }

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
