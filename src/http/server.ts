import { timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { defineError, errorLine, ProcdError, ERR_BAD_FLAG } from '../errors.js';
import type { EventBus } from '../events/index.js';
import { isoUs, matches, type Journal, type StoredEvent } from '../journal/index.js';
import type { Monitor } from '../monitor/index.js';
import { PACKAGE_ROOT } from '../version.js';
import { Metrics } from './metrics.js';
import {
  checkQuery,
  decodeCursor,
  encodeCursor,
  ERR_HTTP_BAD_QUERY,
  ERR_HTTP_NOT_FOUND,
  ERR_HTTP_UNAUTHORIZED,
  FILTER_PARAMS,
  parseFilter,
  parseId,
  parseLimit,
  parseTime,
  TOKEN_PARAM,
} from './query.js';

export const ERR_HTTP_LISTEN = defineError('PROCD_HTTP_LISTEN', (addr: string, why: string) => `--http ${addr}: ${why}`, { exitCode: 2 });

/** What the API reads: the daemon's parts, passed in so src/http does not depend on src/daemon. */
export interface HttpDeps {
  bus: EventBus;
  monitor: Monitor;
  journal: Journal;
  log: Logger;
  node: string;
  startedAt: number;
}

export interface HttpOptions {
  /** host:port, e.g. 127.0.0.1:8181 or [::1]:8181 (port 0 picks a free one). */
  listen: string;
  /** Bearer token; required when the address is not loopback. */
  token?: string;
  /** Folder with the built web page (index.html, app.js); default dist/web of the package. */
  webRoot?: string;
}

/** Splits host:port; throws one clear line for anything else. */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw ERR_BAD_FLAG('--http', `"${s}" is not HOST:PORT (e.g. 127.0.0.1:8181, [::1]:8181)`);
  return { host: (m[1] ?? m[2])!, port };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}

/** Refuses a non-loopback address without a token (the API shows process names, pids and failures). */
export function checkHttpOptions(o: HttpOptions) {
  const { host } = parseListen(o.listen);
  if (!isLoopback(host) && !o.token) throw ERR_BAD_FLAG('--http', `${o.listen} is not a loopback address: set --http-token (clients send Authorization: Bearer TOKEN) or listen on 127.0.0.1`);
}

const WEB_FILES: Record<string, string> = { '/': 'index.html', '/app.js': 'app.js', '/app.css': 'app.css' };
const TYPES: Record<string, string> = { 'index.html': 'text/html; charset=utf-8', 'app.js': 'text/javascript; charset=utf-8', 'app.css': 'text/css; charset=utf-8' };
/** A slow SSE client whose unsent data grows past this is cut off (it reconnects with Last-Event-ID). */
const MAX_STREAM_BACKLOG = 8 * 1024 * 1024;

/** An event as the API shows it: the journal event plus `at`, its time in ISO 8601 with microseconds. */
export function view(e: StoredEvent) {
  return { ...e, at: isoUs(e.time) };
}

/**
 * The read-only HTTP API (fastify) under /api/v1, the SSE stream, /healthz, /metrics and the
 * live web page at /. Reads the journal, the monitor's status and the bus; writes nothing.
 */
export class HttpApi {
  readonly app: FastifyInstance;
  readonly metrics: Metrics;
  private readonly d: HttpDeps;
  private readonly o: HttpOptions;
  private readonly streams = new Set<Socket>();
  private readonly failcounts = new Map<string, StoredEvent>();
  private readonly off: (() => void)[] = [];
  private readonly web = new Map<string, Buffer>();
  address = '';

  constructor(d: HttpDeps, o: HttpOptions) {
    checkHttpOptions(o);
    this.d = d;
    this.o = o;
    this.metrics = new Metrics(d.bus, d.monitor, d.journal);
    const webRoot = o.webRoot ?? join(PACKAGE_ROOT, 'dist/web');
    for (const f of Object.values(WEB_FILES)) if (existsSync(join(webRoot, f))) this.web.set(f, readFileSync(join(webRoot, f)));
    // Fail-counts as last written: from the journal (in listen()), then live from the journal's stream.
    this.off.push(d.journal.onEvent((e) => e.kind === 'failcount-written' && this.failcounts.set(e.resource, e)));
    this.app = Fastify({ logger: false, forceCloseConnections: true, return503OnClosing: true });
    this.routes();
  }

  async listen(): Promise<string> {
    const { host, port } = parseListen(this.o.listen);
    for (const e of this.d.journal.lastPerResource('failcount-written')) if (!this.failcounts.has((e as { resource: string }).resource)) this.failcounts.set((e as { resource: string }).resource, e);
    try {
      await this.app.listen({ host, port });
    } catch (e) {
      throw ERR_HTTP_LISTEN(this.o.listen, errorLine(e));
    }
    const a = this.app.server.address();
    this.address = a && typeof a === 'object' ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : this.o.listen;
    this.d.log.info({ http: this.address }, `HTTP API and web page on http://${this.address}/`);
    return this.address;
  }

  async close() {
    for (const f of this.off.splice(0)) f();
    for (const s of this.streams) s.end();
    this.streams.clear();
    this.metrics.close();
    await this.app.close();
  }

  private authorized(req: FastifyRequest): boolean {
    const token = this.o.token;
    if (!token) return true;
    const h = req.headers.authorization;
    const given = h?.startsWith('Bearer ') ? h.slice(7) : ((req.query as Record<string, unknown>)?.[TOKEN_PARAM] as string | undefined);
    if (typeof given !== 'string') return false;
    const a = Buffer.from(given);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private routes() {
    const app = this.app;
    const { journal, monitor } = this.d;

    app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
      if (err instanceof ProcdError) return reply.code(err.statusCode).send({ error: err.code, message: err.message });
      const status = err.statusCode ?? 500;
      if (status < 500) return reply.code(status).send({ error: err.code ?? 'PROCD_HTTP_BAD_REQUEST', message: errorLine(err) });
      this.d.log.error({ url: req.url, err: errorLine(err) }, `HTTP ${req.method} ${req.url} failed: ${errorLine(err)}`);
      return reply.code(500).send({ error: 'PROCD_HTTP_INTERNAL', message: 'internal error; the daemon log has the details' });
    });
    app.setNotFoundHandler((req, reply) => {
      reply.code(404).send({ error: ERR_HTTP_NOT_FOUND.code, message: `no such endpoint: ${req.method} ${req.url.split('?')[0]} (the API is read-only; see /api/v1)` });
    });
    app.addHook('onRequest', async (req, reply) => {
      const path = req.url.split('?')[0]!;
      if (path === '/healthz' || WEB_FILES[path]) return;
      if (!this.authorized(req)) {
        const e = ERR_HTTP_UNAUTHORIZED();
        reply.header('www-authenticate', 'Bearer').code(401).send({ error: e.code, message: e.message });
      }
    });

    for (const [path, file] of Object.entries(WEB_FILES)) {
      app.get(path, async (req, reply) => {
        checkQuery(req.query, []);
        const body = this.web.get(file);
        if (!body) return reply.code(503).type('text/plain; charset=utf-8').send(`procd: the web page is not built (${file} missing); run "npm run build"\n`);
        return reply.type(TYPES[file]!).header('cache-control', 'no-cache').send(body);
      });
    }

    app.get('/healthz', async (req) => {
      checkQuery(req.query, []);
      const j = journal.stats();
      return { status: j.state === 'open' ? 'ok' : 'degraded', pid: process.pid, node: this.d.node, uptimeSeconds: (Date.now() - this.d.startedAt) / 1000, journal: j };
    });

    app.get('/metrics', async (req, reply) => {
      checkQuery(req.query, []);
      reply.type(this.metrics.contentType);
      return this.metrics.text();
    });

    app.get('/api/v1', async (req) => {
      checkQuery(req.query, []);
      return {
        endpoints: ['/api/v1/resources', '/api/v1/resources/:name', '/api/v1/events', '/api/v1/events/:id', '/api/v1/failures', '/api/v1/stream', '/healthz', '/metrics'],
      };
    });

    const resourceView = (r: ReturnType<Monitor['status']>[number]) => {
      const fc = this.failcounts.get(r.resource) as (StoredEvent & { attribute: string; value: number; failureId: string }) | undefined;
      return {
        ...r,
        processes: r.processes.map((p) => ({ ...p, sinceAt: isoUs(p.since), lastCheckAt: p.lastCheck === null ? null : isoUs(p.lastCheck) })),
        failcount: fc ? { attribute: fc.attribute, value: fc.value, at: isoUs(fc.time), failureId: fc.failureId, eventId: fc.id } : null,
      };
    };

    app.get('/api/v1/resources', async (req) => {
      checkQuery(req.query, []);
      return { node: this.d.node, resources: monitor.status().map(resourceView) };
    });

    app.get<{ Params: { name: string } }>('/api/v1/resources/:name', async (req) => {
      checkQuery(req.query, []);
      const r = monitor.status(req.params.name)[0];
      if (!r) throw ERR_HTTP_NOT_FOUND(`no resource "${req.params.name}" is watched (watched: ${monitor.status().map((x) => x.resource).join(', ') || 'none'})`);
      return resourceView(r);
    });

    app.get('/api/v1/events', async (req) => {
      const q = checkQuery(req.query, [...FILTER_PARAMS, 'limit', 'cursor', 'order'], ['kind']);
      const f = parseFilter(q);
      const limit = parseLimit(q.limit);
      if (q.order !== undefined && q.order !== 'asc' && q.order !== 'desc') throw ERR_HTTP_BAD_QUERY(`order: must be asc (oldest first) or desc (newest first), got "${q.order}"`);
      let order: 'asc' | 'desc' = (q.order as 'asc' | 'desc' | undefined) ?? 'asc';
      let afterId: number | undefined;
      if (q.cursor !== undefined) {
        const c = decodeCursor(q.cursor);
        if (q.order !== undefined && q.order !== c.order) throw ERR_HTTP_BAD_QUERY(`cursor: it pages ${c.order}, but order=${q.order} was asked`);
        if (!journal.get(c.id)) throw ERR_HTTP_BAD_QUERY(`cursor: "${q.cursor}" does not exist (its event is gone from the journal, or it comes from another daemon)`);
        order = c.order;
        afterId = c.id;
      }
      const events = journal.page({ ...f, limit, order, ...(afterId !== undefined ? { afterId } : {}) });
      const last = events.at(-1);
      return { events: events.map(view), next: events.length === limit && last ? encodeCursor(order, last.id) : null };
    });

    app.get<{ Params: { id: string } }>('/api/v1/events/:id', async (req) => {
      checkQuery(req.query, []);
      const id = parseId('event id', req.params.id)!;
      const e = journal.get(id);
      if (!e) throw ERR_HTTP_NOT_FOUND(`no event ${id} in the journal`);
      return view(e);
    });

    app.get('/api/v1/failures', async (req) => {
      const q = checkQuery(req.query, ['resource', 'failure', 'since', 'limit']);
      const since = parseTime('since', q.since);
      const rows = journal.failures({
        limit: parseLimit(q.limit),
        ...(q.resource !== undefined ? { resource: q.resource } : {}),
        ...(q.failure !== undefined ? { failureId: q.failure } : {}),
        ...(since !== undefined ? { sinceUs: since } : {}),
      });
      const t = (us: number | null) => (us === null ? null : isoUs(us));
      return { failures: rows.map((r) => ({ ...r, detectedAt: t(r.detected), wrapperStartedAt: t(r.wrapperStarted), wrapperFinishedAt: t(r.wrapperFinished) })) };
    });

    app.get('/api/v1/stream', (req, reply) => this.stream(req, reply));
  }

  /** Server-Sent Events: every new event as `id: <journal id>` + JSON; resumes after Last-Event-ID from the journal. */
  private stream(req: FastifyRequest, reply: FastifyReply) {
    const q = checkQuery(req.query, [...FILTER_PARAMS, 'lastEventId'], ['kind']);
    const f = parseFilter(q);
    const header = req.headers['last-event-id'];
    const last = parseId('Last-Event-ID', typeof header === 'string' && header !== '' ? header : q.lastEventId);
    reply.hijack();
    // The response is written straight to the socket: ServerResponse.write corks until the next
    // tick, which would hold an event back behind whatever else runs in this tick (a wrapper's
    // spawn). No chunked encoding: the stream ends when the connection closes.
    const sock = reply.raw.socket!;
    sock.setNoDelay(true);
    sock.write('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\ncache-control: no-cache\r\nconnection: close\r\nx-accel-buffering: no\r\n\r\nretry: 1000\n\n');
    let open = true;
    const send = (e: StoredEvent) => {
      if (!open) return;
      sock.write(`id: ${e.id}\ndata: ${JSON.stringify(view(e))}\n\n`);
      if (sock.writableLength > MAX_STREAM_BACKLOG) {
        this.d.log.warn({ client: req.ip }, 'SSE client too slow; closing its stream (it resumes with Last-Event-ID)');
        sock.end();
      }
    };
    // Replay and subscribe in the same tick: nothing is missed or sent twice between the two.
    if (last !== undefined) {
      let after = last;
      for (;;) {
        const page = this.d.journal.page({ ...f, afterId: after, limit: 1000, order: 'asc' });
        for (const e of page) send(e);
        if (page.length < 1000) break;
        after = page.at(-1)!.id;
      }
    }
    const off = this.d.journal.onEvent((e) => matches(e, f) && send(e));
    const ping = setInterval(() => open && sock.write(': keep-alive\n\n'), 15_000);
    this.streams.add(sock);
    sock.on('close', () => {
      open = false;
      off();
      clearInterval(ping);
      this.streams.delete(sock);
    });
  }
}
