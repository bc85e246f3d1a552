// The moment every page shows. Three cases, in this order:
//
//   as of:  the route says at=T (a post-mortem): every page shows T, every
//           link carries it, and nothing follows the clock;
//   stream: the source is a replay, or lags: "now" is the newest event time
//           the pipeline read, so a replay plays out at its own speed;
//   wall:   a live source: now is now.
//
// The source's health comes from GET /v1/status. A process without it
// (an older server) is read through its newest indexed post instead.

import * as api from './api.js';

// A stream more than this far behind the server's clock is shown in its
// own time: as long as the source's default stall limit, so a live stream
// with a quiet minute stays on the wall clock.
export const LAG_MS = 5 * 60e3;

let asOf = null; // Date, from the route
let status = null; // the last /v1/status answer, or the fallback's
let statusSeenAt = 0; // wall clock when it came

export function setAsOf(d) { asOf = d || null; }
export function getAsOf() { return asOf; }
export function getStatus() { return status; }

// parseAt reads at=RFC 3339 from route parameters; null when absent or bad.
export function parseAt(params) {
  const v = params && params.get('at');
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

// streamTime is the newest event time the pipeline read, or null.
export function streamTime() {
  const t = status && status.stream_time ? Date.parse(status.stream_time) : NaN;
  return Number.isFinite(t) ? t : null;
}

// following says which clock a live page follows: 'stream' when the
// newest event is well behind the server's clock (a replay of a past day,
// a source that lags), else 'wall'. A replay of the last minutes is live.
export function following() {
  const st = streamTime();
  if (st === null) return 'wall';
  const serverNow = Date.parse(status.now) || statusSeenAt;
  return serverNow - st > LAG_MS ? 'stream' : 'wall';
}

// now is the time, in ms, that "now" means on the pages: as of, stream or
// wall clock.
export function now() {
  if (asOf) return asOf.getTime();
  if (following() === 'stream') return streamTime();
  return Date.now();
}

// pinned is the moment a page should ask the API about (a Date), or null
// when the API's own clock is right (a live source).
export function pinned() {
  if (asOf) return asOf;
  return following() === 'stream' ? new Date(streamTime()) : null;
}

// stale says whether the source has stopped bringing posts: results are
// then incomplete, and no page may read quiet as "all clear".
export function stale() {
  const s = status && status.source;
  if (!s) return false;
  return s.state === 'connecting' || s.state === 'reconnecting' || s.state === 'stalled';
}

// hasStatus says whether the server serves /v1/status, as its OpenAPI
// document lists it: asked once, so an older server is never sent a
// request it would refuse.
let hasStatus = null;
async function statusServed(signal) {
  if (hasStatus === null) {
    const doc = await api.get('v1/openapi.json', null, { signal }).catch((e) => {
      if (api.isAbort(e)) throw e;
      return null;
    });
    if (!doc) return false;
    hasStatus = !!(doc.paths && doc.paths['/v1/status']);
  }
  return hasStatus;
}

// refresh reads /v1/status; a server without it is read through its newest
// indexed post, which gives the stream time but not the source's health.
export async function refresh(signal) {
  if (await statusServed(signal)) {
    try {
      status = await api.get('v1/status', null, { signal });
      statusSeenAt = Date.now();
    } catch (e) {
      if (api.isAbort(e)) throw e;
      // The page's own requests will say what is wrong.
    }
    return status;
  }
  const newest = await api.get('v1/search', { limit: 1 }, { signal }).catch((e) => {
    if (api.isAbort(e)) throw e;
    return null;
  });
  const hit = newest && newest.hits && newest.hits[0];
  status = { now: new Date().toISOString(), stream_time: hit ? hit.time : null, source: null, fallback: true };
  statusSeenAt = Date.now();
  return status;
}
