import { connect } from 'node:net';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { defineError, errorLine, ProcdError } from '../errors.js';
import { makeDirs } from '../mkdirs.js';

export const DEFAULT_SOCKET = '/run/procd/procd.sock';
/** Largest request body the control socket reads; larger ones get 413 and the connection closes. */
export const MAX_BODY = 1024 * 1024;

export const ERR_SOCKET = defineError('PROCD_SOCKET', (path: string, why: string) => `control socket ${path}: ${why}`, { exitCode: 2 });
export const ERR_BAD_REQUEST = defineError('PROCD_BAD_REQUEST', (why: string) => why, { statusCode: 400 });
export const ERR_NOT_FOUND = defineError('PROCD_NOT_FOUND', (what: string) => what, { statusCode: 404 });

export interface ControlRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  /** Values of the route's `:name` segments, URL-decoded. */
  params: Record<string, string>;
  /** Parsed JSON body (undefined when there was none). */
  body: unknown;
}
export interface ControlReply {
  status?: number;
  body: unknown;
  /** Content type when body is a string (default JSON for everything else). */
  type?: string;
}
export type ControlHandler = (req: ControlRequest) => ControlReply | Promise<ControlReply>;

/**
 * JSON over HTTP on a Unix socket (so `curl --unix-socket` works). The folder is created 0700,
 * the socket is 0600. A stale socket file left by a crashed daemon is replaced; a live one
 * (something answers) stops startup. Routes are added by the features that own them.
 * Bodies are bounded (MAX_BODY) and slow or silent clients time out, so no client can stall
 * or crash the daemon.
 */
export class ControlServer {
  readonly path: string;
  private routes = new Map<string, ControlHandler>();
  private server: Server | null = null;
  /** Called for each request as its handler starts (body read): the report's watchdog looks at once. */
  readonly onRequest: (() => void)[] = [];

  constructor(path: string) {
    this.path = path;
  }

  /** Registers `METHOD /path`; a segment written `:name` matches any one segment and lands in `params.name`. */
  route(method: string, path: string, handler: ControlHandler): this {
    this.routes.set(`${method.toUpperCase()} ${path}`, handler);
    return this;
  }

  /** The handler for a method and path, with the path's `:name` values; `allowed` lists the methods of a path that matched. */
  private match(method: string, path: string) {
    const segs = path.split('/');
    const allowed: string[] = [];
    for (const [key, handler] of this.routes) {
      const [m, pattern] = key.split(' ') as [string, string];
      const want = pattern.split('/');
      if (want.length !== segs.length) continue;
      const params: Record<string, string> = {};
      const fits = want.every((w, i) => {
        const seg = segs[i]!;
        if (!w.startsWith(':')) return w === seg;
        if (seg === '') return false;
        params[w.slice(1)] = decodeSegment(seg);
        return true;
      });
      if (!fits) continue;
      if (m === method) return { handler, params, allowed };
      allowed.push(m);
    }
    return { handler: null, params: {}, allowed };
  }

  async listen(): Promise<void> {
    const dir = dirname(this.path);
    try {
      makeDirs(dir, 0o700);
    } catch (e) {
      throw ERR_SOCKET(this.path, `cannot create folder ${dir}: ${errorLine(e)}`);
    }
    await this.removeStale();
    const server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 1000 }, (req, res) => void this.handle(req, res));
    server.timeout = 10_000;
    server.on('clientError', (_err, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(ERR_SOCKET(this.path, errorLine(e))));
      server.listen(this.path, () => resolve());
    });
    chmodSync(this.path, 0o600);
    this.server = server;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections?.();
    await new Promise<void>((r) => s.close(() => r()));
    try {
      unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }

  private async removeStale() {
    let st;
    try {
      st = lstatSync(this.path);
    } catch {
      return; // nothing there
    }
    if (!st.isSocket()) throw ERR_SOCKET(this.path, 'exists and is not a socket; refusing to replace it');
    const live = await new Promise<boolean>((resolve) => {
      const c = connect(this.path);
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (live) throw ERR_SOCKET(this.path, 'another procd is listening on it');
    unlinkSync(this.path);
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const send = (status: number, body: unknown, type?: string) => {
      const text = typeof body === 'string' && type ? body : JSON.stringify(body) + '\n';
      res.writeHead(status, { 'content-type': type ?? 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    try {
      const url = new URL(req.url ?? '/', 'http://procd');
      const { handler, params, allowed } = this.match(req.method ?? '', url.pathname);
      if (!handler) {
        if (allowed.length) throw new ProcdError('PROCD_METHOD', `${req.method} is not allowed on ${url.pathname} (allowed: ${allowed.join(', ')})`, { statusCode: 405 });
        throw ERR_NOT_FOUND(`unknown operation ${req.method} ${url.pathname}; known: ${[...this.routes.keys()].join(', ')}`);
      }
      const body = await readJson(req);
      for (const h of this.onRequest) h();
      const reply = await handler({ method: req.method!, path: url.pathname, query: url.searchParams, params, body });
      send(reply.status ?? 200, reply.body, reply.type);
    } catch (e) {
      const status = e instanceof ProcdError && e.statusCode < 500 ? e.statusCode : 500;
      if (!res.headersSent) send(status, { error: errorLine(e), code: e instanceof ProcdError ? e.code : 'PROCD_INTERNAL' });
      if (status === 413) req.socket.destroy();
    }
  }
}

function decodeSegment(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    throw ERR_BAD_REQUEST(`malformed percent-encoding in path segment ${JSON.stringify(seg)}`);
  }
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > MAX_BODY) {
        done = true;
        req.pause();
        reject(new ProcdError('PROCD_TOO_LARGE', `request body larger than ${MAX_BODY} bytes`, { statusCode: 413 }));
        return;
      }
      chunks.push(c);
    });
    req.on('error', (e) => !done && ((done = true), reject(e)));
    req.on('end', () => {
      if (done) return;
      done = true;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch (e) {
        reject(ERR_BAD_REQUEST(`malformed JSON body: ${errorLine(e)}`));
      }
    });
  });
}
