import { request } from 'node:http';
import { defineError, errorLine } from '../errors.js';

export const ERR_NO_DAEMON = defineError(
  'PROCD_NO_DAEMON',
  (socket: string, why: string) => `control socket ${socket}: ${why} (is procd running with this --socket? without a socket: kill -USR2 <pid> writes a report to its stderr)`,
  { exitCode: 1 },
);
export const ERR_REPORT_REQUEST = defineError('PROCD_REPORT_REQUEST', (socket: string, why: string) => `control socket ${socket}: report request failed: ${why}`, { exitCode: 1 });

/** Asks the daemon behind `socket` for a report (GET /v1/report); resolves with the body. */
export function fetchReport(socket: string, format: 'text' | 'json', timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path: `/v1/report?format=${format}`, method: 'GET', timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => reject(ERR_REPORT_REQUEST(socket, errorLine(e))));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 200) return resolve(body);
        let why = `HTTP ${res.statusCode}`;
        try {
          why += `: ${(JSON.parse(body) as { error?: string }).error ?? body.trim()}`;
        } catch {
          why += `: ${body.trim().split('\n')[0]}`;
        }
        reject(ERR_REPORT_REQUEST(socket, why));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') reject(ERR_NO_DAEMON(socket, 'does not exist'));
      else if (e.code === 'ECONNREFUSED') reject(ERR_NO_DAEMON(socket, 'nobody is listening'));
      else if (e.code === 'EACCES') reject(ERR_NO_DAEMON(socket, 'permission denied (run as the daemon\'s user)'));
      else reject(ERR_REPORT_REQUEST(socket, errorLine(e)));
    });
    req.end();
  });
}
