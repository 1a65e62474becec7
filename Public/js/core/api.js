/** The HTTP client: JSON in and out, CSRF header, problem+json errors, retries on 429/503. */

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const MAX_ATTEMPTS = 4;
/** Longer waits are not retried by themselves: the person is told to come back later. */
const MAX_WAIT_MS = 10_000;

/** An `application/problem+json` answer (or a network failure, with status 0). */
export class ApiError extends Error {
  constructor(status, problem = {}, retryAfterMs = 0) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.retryAfterMs = retryAfterMs;
    this.code = problem.code ?? (status ? 'http_error' : 'network');
    this.detail = problem.detail;
    this.errors = problem.errors ?? [];
  }
}

let onUnauthenticated = () => {};

/** Called when a signed-in request answers 401 (the session has ended). */
export function setUnauthenticatedHandler(handler) {
  onUnauthenticated = handler;
}

function cookie(name) {
  const pair = document.cookie.split('; ').find((p) => p.startsWith(`${name}=`));
  return pair ? decodeURIComponent(pair.slice(name.length + 1)) : undefined;
}

function retryDelay(response, attempt) {
  const header = response?.headers.get('Retry-After');
  const seconds = Number(header);
  let ms = 500 * 2 ** attempt;
  if (header && Number.isFinite(seconds)) ms = seconds * 1000;
  else if (header && !Number.isNaN(Date.parse(header))) ms = Date.parse(header) - Date.now();
  return Math.max(ms, 0);
}

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends one request. `body` is sent as JSON unless `contentType` says otherwise. `create: true`
 * adds an Idempotency-Key, kept for every retry of this call, so a create whose answer was lost
 * (network error) can be retried safely.
 */
export async function request(method, path, { body, query, contentType, create = false } = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value != null && value !== '') url.searchParams.set(key, value);
  }
  const headers = { Accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['Content-Type'] = contentType ?? 'application/json';
  if (create) headers['Idempotency-Key'] = crypto.randomUUID();

  for (let attempt = 0; ; attempt++) {
    if (UNSAFE.has(method)) headers['X-CSRF-Token'] = cookie('tack_csrf') ?? '';
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        credentials: 'same-origin',
        body: body === undefined || contentType ? body : JSON.stringify(body),
      });
    } catch {
      if ((method === 'GET' || create) && attempt + 1 < MAX_ATTEMPTS) {
        await wait(retryDelay(null, attempt));
        continue;
      }
      throw new ApiError(0);
    }
    const busy = response.status === 429 || response.status === 503;
    const delay = busy ? retryDelay(response, attempt) : 0;
    if (busy && delay <= MAX_WAIT_MS && attempt + 1 < MAX_ATTEMPTS) {
      await wait(delay);
      continue;
    }
    return parse(response, path, delay);
  }
}

async function parse(response, path, retryAfterMs) {
  const type = response.headers.get('Content-Type') ?? '';
  const data = type.includes('json') ? await response.json().catch(() => undefined) : undefined;
  if (response.ok) return data;
  if (response.status === 401 && !path.startsWith('/api/v1/auth/')) onUnauthenticated();
  throw new ApiError(response.status, data, retryAfterMs);
}

export const api = {
  get: (path, query) => request('GET', path, { query }),
  post: (path, body, options) => request('POST', path, { body, ...options }),
  create: (path, body, options) => request('POST', path, { body, create: true, ...options }),
  patch: (path, body) => request('PATCH', path, { body }),
  put: (path, body) => request('PUT', path, { body }),
  delete: (path) => request('DELETE', path),
};
