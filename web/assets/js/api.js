// The dashboard's only way to data: the JSON API under v1/, relative to the
// page, so the dashboard also works behind a proxy that adds a path prefix.

export class ApiError extends Error {
  constructor(status, message, path) {
    super(message);
    this.status = status;
    this.path = path;
  }
}

export function apiURL(path, params) {
  const u = new URL(path.replace(/^\/+/, ''), document.baseURI);
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    u.searchParams.set(k, String(v));
  }
  return u.toString();
}

// get fetches JSON. A non-2xx answer throws ApiError with the server's
// error message; an abort rethrows the AbortError for the caller to ignore.
export async function get(path, params, { signal, token } = {}) {
  const url = apiURL(path, params);
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  let res;
  try {
    res = await fetch(url, { headers, signal, cache: 'no-store' });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'cannot reach downsignal: ' + e.message, path);
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) {
    const msg = (body && body.error) || `HTTP ${res.status}`;
    throw new ApiError(res.status, msg, path);
  }
  return body;
}

// send posts a JSON body with the admin token and returns the JSON answer;
// a non-2xx answer throws ApiError with the server's message.
export async function send(path, body, { token } = {}) {
  const headers = { Accept: 'application/json', 'Content-Type': 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  let res;
  try {
    res = await fetch(apiURL(path), { method: 'POST', headers, body: JSON.stringify(body), cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'cannot reach downsignal: ' + e.message, path);
  }
  let answer = null;
  try {
    answer = await res.json();
  } catch {
    answer = null;
  }
  if (!res.ok) throw new ApiError(res.status, (answer && answer.error) || `HTTP ${res.status}`, path);
  return answer;
}

// remove sends DELETE with the admin token; a non-2xx answer throws
// ApiError with the server's message.
export async function remove(path, { token } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  let res;
  try {
    res = await fetch(apiURL(path), { method: 'DELETE', headers, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'cannot reach downsignal: ' + e.message, path);
  }
  if (res.ok) return;
  const answer = await res.json().catch(() => null);
  throw new ApiError(res.status, (answer && answer.error) || `HTTP ${res.status}`, path);
}

// adminToken is the admin token this tab was given (on the incident page),
// or ''.
export const TOKEN_KEY = 'downsignal.adminToken';
export const adminToken = () => sessionStorage.getItem(TOKEN_KEY) || '';

export const isAbort = (e) => e && e.name === 'AbortError';

// services returns the catalog with each service's current level, cached
// for a few seconds so that pages opened together share one request.
let servicesCache = null;
export async function services(maxAgeMs = 5000) {
  const now = Date.now();
  if (servicesCache && now - servicesCache.at < maxAgeMs) return servicesCache.promise;
  // No abort signal: the request is shared between callers.
  const promise = get('v1/services');
  servicesCache = { at: now, promise };
  promise.catch(() => { if (servicesCache && servicesCache.promise === promise) servicesCache = null; });
  return promise;
}
