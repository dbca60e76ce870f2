import type { Argv, CommandModule } from 'yargs';
import { ERR_BAD_FLAG } from '../errors.js';
import { apiGet } from './api.js';
import { api, cell, clientOptions, Printer, type Format } from './events.js';

interface FailuresArgs {
  url: string;
  'http-token'?: string;
  format: Format;
  resource?: string;
  since?: string;
  failure?: string;
  limit: number;
}

interface FailureRow {
  failureId: string;
  detectedAt: string | null;
  resource: string | null;
  process: string | null;
  pid: number | null;
  reason: string | null;
  outcome: string;
  attempts: number;
  failcount: number | null;
  detectedToWrapperMs: number | null;
  wrapperMs: number | null;
  totalMs: number | null;
}

export const FAILURE_COLUMNS = ['failure', 'detected', 'resource', 'process', 'pid', 'reason', 'outcome', 'attempts', 'to_wrapper_ms', 'wrapper_ms', 'total_ms', 'failcount'] as const;

export const failuresCommand: CommandModule<object, FailuresArgs> = {
  command: 'failures',
  describe: 'one line per failure with its timings: detected, wrapper started/finished, total (REST API)',
  builder: (y) =>
    clientOptions(y)
      .option('resource', { alias: 'r', type: 'string', describe: 'only this resource', requiresArg: true })
      .option('since', { type: 'string', describe: 'detected since (30s, 10m, 2h, 7d or an ISO date)', requiresArg: true })
      .option('failure', { type: 'string', describe: 'only this failure id', requiresArg: true })
      .option('limit', { alias: 'n', type: 'number', default: 100, describe: 'at most this many, newest first' })
      .check((a) => {
        if (!Number.isInteger(a.limit) || a.limit < 1 || a.limit > 1000) throw ERR_BAD_FLAG('--limit', `must be an integer from 1 to 1000, got ${a.limit}`);
        return true;
      }) as unknown as Argv<FailuresArgs>,
  handler: async (a) => {
    const { failures } = await apiGet<{ failures: FailureRow[] }>(api(a), '/api/v1/failures', { resource: a.resource, since: a.since, failure: a.failure, limit: String(a.limit) });
    const rows = failures.map((f) =>
      [f.failureId, f.detectedAt, f.resource, f.process, f.pid, f.reason, f.outcome, f.attempts, f.detectedToWrapperMs, f.wrapperMs, f.totalMs, f.failcount].map(cell),
    );
    new Printer(a.format, FAILURE_COLUMNS).print(rows, failures);
  },
};
