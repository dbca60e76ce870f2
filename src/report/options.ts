import { accessSync, constants, statSync } from 'node:fs';
import type { Argv } from 'yargs';
import { ERR_BAD_FLAG } from '../errors.js';

export interface ReportSettings {
  /** Watch this file: each touch after start-up writes a report; SIGUSR2 is then ignored. */
  file?: string;
  /** Seconds between polls of `file`. */
  intervalS: number;
  /** Write each report to DIR/procd_gurumeditation_<YYYYmmddHHMMSS> instead of stderr. */
  dir?: string;
  /** TEST-ONLY: POST /v1/test/block on the control socket blocks the event loop. */
  testHooks: boolean;
}

/** The `procd run` flags of the Guru Meditation Report. */
export function reportOptions<T>(y: Argv<T>) {
  return y
    .option('report-file', { type: 'string', requiresArg: true, describe: 'Guru Meditation Report when this file is touched (polled; may be deleted and recreated); SIGUSR2 is then ignored' })
    .option('report-interval', { type: 'number', default: 1, describe: 'seconds between polls of --report-file' })
    .option('report-dir', { type: 'string', requiresArg: true, describe: 'write reports to DIR/procd_gurumeditation_<YYYYmmddHHMMSS> (UTC) instead of stderr' })
    .option('test-hooks', { type: 'boolean', default: false, hidden: true, describe: 'TEST-ONLY (PROCD_TEST_HOOKS=true): POST /v1/test/block {"ms":N} blocks the event loop' })
    .check((a) => {
      const i = a['report-interval'] as number;
      if (!Number.isFinite(i) || i <= 0) throw ERR_BAD_FLAG('--report-interval', `must be a number of seconds > 0, got ${a['report-interval']}`);
      const f = a['report-file'];
      if (f !== undefined && (typeof f !== 'string' || f.trim() === '')) throw ERR_BAD_FLAG('--report-file', 'must be a file path');
      const d = a['report-dir'];
      if (d !== undefined) {
        if (typeof d !== 'string' || d.trim() === '') throw ERR_BAD_FLAG('--report-dir', 'must be a folder path');
        let st;
        try {
          st = statSync(d);
        } catch {
          throw ERR_BAD_FLAG('--report-dir', `${d} does not exist`);
        }
        if (!st.isDirectory()) throw ERR_BAD_FLAG('--report-dir', `${d} is not a folder`);
        try {
          accessSync(d, constants.W_OK | constants.X_OK);
        } catch {
          throw ERR_BAD_FLAG('--report-dir', `${d} is not writable`);
        }
      }
      return true;
    });
}

export function reportSettings(a: Record<string, unknown>): ReportSettings {
  return {
    file: typeof a['report-file'] === 'string' ? a['report-file'] : undefined,
    intervalS: typeof a['report-interval'] === 'number' ? a['report-interval'] : 1,
    dir: typeof a['report-dir'] === 'string' ? a['report-dir'] : undefined,
    testHooks: a['test-hooks'] === true,
  };
}
