import { defineError, errorLine } from '../errors.js';

export const DEFAULT_URL = 'http://127.0.0.1:8181';
export const ERR_API = defineError('PROCD_API', (url: string, why: string) => `${url}: ${why}`, { exitCode: 1 });

export interface ApiOptions {
  url: string;
  token?: string;
}

function endpoint(o: ApiOptions, path: string, query: Record<string, string | undefined> = {}): URL {
  let base: URL;
  try {
    base = new URL(o.url);
  } catch {
    throw ERR_API(o.url, 'is not a URL (e.g. http://127.0.0.1:8181; --url or PROCD_URL)');
  }
  const u = new URL(path, base);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, v);
  return u;
}

function headers(o: ApiOptions, extra: Record<string, string> = {}): Record<string, string> {
  return { accept: 'application/json', ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...extra };
}

/** GET one JSON document from the daemon's API; a non-2xx answer ends in the server's one-line message. */
export async function apiGet<T>(o: ApiOptions, path: string, query: Record<string, string | undefined> = {}): Promise<T> {
  const u = endpoint(o, path, query);
  let res: Response;
  try {
    res = await fetch(u, { headers: headers(o) });
  } catch (e) {
    const cause = (e as { cause?: unknown }).cause;
    throw ERR_API(o.url, `cannot reach the procd HTTP API (${errorLine(cause ?? e)}); is the daemon running with --http?`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw ERR_API(u.pathname, `HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok) throw ERR_API(u.pathname, `HTTP ${res.status}: ${(body as { message?: string }).message ?? text}`);
  return body as T;
}

export interface SseMessage {
  id?: string;
  data: string;
}

/** Parses a Server-Sent Events body into messages (id + data); comments and retry lines are skipped. */
export async function* sseMessages(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  let buf = '';
  let id: string | undefined;
  let data: string[] = [];
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      if (line === '') {
        if (data.length > 0) yield { ...(id !== undefined ? { id } : {}), data: data.join('\n') };
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'data') data.push(value);
    }
  }
}

/** Opens the SSE stream once; yields parsed events. Ends when the server closes it. */
export async function* openStream<T>(o: ApiOptions, query: Record<string, string | undefined>, lastEventId?: string): AsyncGenerator<T & { id: number }> {
  const u = endpoint(o, '/api/v1/stream', query);
  let res: Response;
  try {
    res = await fetch(u, { headers: headers(o, { accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) }) });
  } catch (e) {
    const cause = (e as { cause?: unknown }).cause;
    throw ERR_API(o.url, `cannot reach the procd HTTP API (${errorLine(cause ?? e)}); is the daemon running with --http?`);
  }
  if (!res.ok || !res.body) {
    const text = await res.text();
    let msg = text;
    try {
      msg = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      /* not JSON */
    }
    throw ERR_API(u.pathname, `HTTP ${res.status}: ${msg}`);
  }
  for await (const m of sseMessages(res.body)) yield JSON.parse(m.data) as T & { id: number };
}
