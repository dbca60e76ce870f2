import { defineError } from '../errors.js';
import { isEventKind, parseTimeUs, EVENT_KINDS, type EventFilter } from '../journal/index.js';
import type { EventKind } from '../events/index.js';

export const ERR_HTTP_BAD_QUERY = defineError('PROCD_HTTP_BAD_QUERY', (why: string) => why, { statusCode: 400 });
export const ERR_HTTP_NOT_FOUND = defineError('PROCD_HTTP_NOT_FOUND', (what: string) => what, { statusCode: 404 });
export const ERR_HTTP_UNAUTHORIZED = defineError('PROCD_HTTP_UNAUTHORIZED', () => 'missing or wrong bearer token (Authorization: Bearer TOKEN)', { statusCode: 401 });

export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 100;

/** The token query parameter the web page and EventSource use (they cannot set headers). */
export const TOKEN_PARAM = 'access_token';

type Query = Record<string, unknown>;

/** Rejects unknown and repeated parameters; returns the query as single strings. */
export function checkQuery(q: unknown, allowed: readonly string[], repeatable: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((q ?? {}) as Query)) {
    if (k === TOKEN_PARAM) continue;
    if (!allowed.includes(k)) throw ERR_HTTP_BAD_QUERY(`unknown query parameter "${k}" (known: ${allowed.join(', ') || 'none'})`);
    if (Array.isArray(v)) {
      if (!repeatable.includes(k)) throw ERR_HTTP_BAD_QUERY(`query parameter "${k}" is given ${v.length} times; give it once`);
      out[k] = v.map(String).join(',');
    } else out[k] = String(v);
  }
  return out;
}

export function parseLimit(s: string | undefined): number {
  if (s === undefined) return DEFAULT_LIMIT;
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < 1 || n > MAX_LIMIT) throw ERR_HTTP_BAD_QUERY(`limit: must be an integer from 1 to ${MAX_LIMIT}, got "${s}"`);
  return n;
}

export function parseTime(name: string, s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const t = parseTimeUs(s);
  if (t === null) throw ERR_HTTP_BAD_QUERY(`${name}: "${s}" is neither a duration back from now (30s, 10m, 2h, 7d) nor an ISO 8601 date (2026-01-31T12:00:00Z)`);
  return t;
}

export function parseKinds(s: string | undefined): EventKind[] | undefined {
  if (s === undefined) return undefined;
  const kinds = s.split(',').map((k) => k.trim()).filter(Boolean);
  for (const k of kinds) if (!isEventKind(k)) throw ERR_HTTP_BAD_QUERY(`kind: unknown event kind "${k}" (known: ${EVENT_KINDS.join(', ')})`);
  return kinds as EventKind[];
}

export function parseId(name: string, s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  if (!/^\d{1,15}$/.test(s)) throw ERR_HTTP_BAD_QUERY(`${name}: must be an event id (a non-negative integer), got "${s}"`);
  return Number(s);
}

/** The filter parameters shared by /events and /stream. */
export const FILTER_PARAMS = ['resource', 'kind', 'node', 'process', 'failure', 'since', 'until'] as const;

export function parseFilter(q: Record<string, string>): EventFilter {
  const f: EventFilter = {};
  if (q.resource !== undefined) f.resource = q.resource;
  if (q.node !== undefined) f.node = q.node;
  if (q.process !== undefined) f.process = q.process;
  if (q.failure !== undefined) f.failureId = q.failure;
  const kinds = parseKinds(q.kind);
  if (kinds) f.kinds = kinds;
  const since = parseTime('since', q.since);
  if (since !== undefined) f.sinceUs = since;
  const until = parseTime('until', q.until);
  if (until !== undefined) f.untilUs = until;
  if (since !== undefined && until !== undefined && until <= since) throw ERR_HTTP_BAD_QUERY(`until (${q.until}) must be later than since (${q.since})`);
  return f;
}

/** Cursors are opaque to clients: base64url of `<order>:<last id>`. */
export function encodeCursor(order: 'asc' | 'desc', id: number): string {
  return Buffer.from(`${order}:${id}`).toString('base64url');
}

export function decodeCursor(s: string): { order: 'asc' | 'desc'; id: number } {
  const m = /^(asc|desc):(\d{1,15})$/.exec(Buffer.from(s, 'base64url').toString('utf8'));
  if (!m || !/^[A-Za-z0-9_-]+$/.test(s)) throw ERR_HTTP_BAD_QUERY(`cursor: "${s}" is not a cursor this API handed out`);
  return { order: m[1] as 'asc' | 'desc', id: Number(m[2]) };
}
