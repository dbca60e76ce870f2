import { request } from 'node:http';
import { defineError, ProcdError } from '../errors.js';

/** The daemon does not answer on its control socket: exit 4, so scripts (procdctl) can tell it apart. */
export const ERR_UNREACHABLE = defineError('PROCD_UNREACHABLE', (socket: string, why: string) => `cannot reach procd at ${socket}: ${why}`, { exitCode: 4 });

export interface ControlAnswer {
  status: number;
  body: Record<string, unknown>;
}

const WHY: Record<string, string> = {
  ENOENT: 'no such socket (is `procd run` running with this --socket?)',
  ECONNREFUSED: 'nothing listens on it (a stale socket from a stopped daemon?)',
  EACCES: 'permission denied (the socket is 0600: run as the daemon\'s user)',
};

/** One JSON request to the daemon's control socket; rejects with ERR_UNREACHABLE when nobody answers within `timeoutMs`. */
export function controlRequest(socket: string, method: string, path: string, body?: unknown, timeoutMs = 5000): Promise<ControlAnswer> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      { socketPath: socket, method, path, headers: text === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => reject(ERR_UNREACHABLE(socket, e.message)));
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, body: raw.trim() ? JSON.parse(raw) : {} });
          } catch {
            reject(ERR_UNREACHABLE(socket, `answered ${res.statusCode} with something that is not JSON`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => reject(ERR_UNREACHABLE(socket, WHY[e.code ?? ''] ?? e.message)));
    req.end(text);
  });
}

/** The daemon's error reply as a ProcdError (its message is already one line). */
export function replyError(a: ControlAnswer, exitCode = 1): ProcdError {
  const msg = typeof a.body.error === 'string' ? a.body.error : `the daemon answered ${a.status}`;
  return new ProcdError(typeof a.body.code === 'string' ? a.body.code : 'PROCD_CONTROL', msg, { exitCode });
}
