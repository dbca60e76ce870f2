import { hostname } from 'node:os';
import type { Argv, CommandModule } from 'yargs';
import { DEFAULT_SOCKET } from '../daemon/control.js';
import { Daemon, DEFAULT_WRAPPER } from '../daemon/daemon.js';
import { LOG_LEVELS, type LogLevel } from '../daemon/log.js';
import { ERR_BAD_FLAG, errorLine } from '../errors.js';
import { attachReports, reportOptions } from '../report/index.js';

export interface RunArgs {
  cib?: string;
  node: string;
  interval: number;
  grace: number;
  wrapper: string;
  'wrapper-timeout': number;
  'log-level': LogLevel;
  socket: string;
}

export function runOptions<T>(y: Argv<T>) {
  return y
    .option('cib', { type: 'string', describe: 'CIB XML file: its procdctl primitives name the processes; file mode bumps fail-counts in it', requiresArg: true })
    .option('node', { type: 'string', default: hostname(), defaultDescription: 'uname -n', describe: 'this node\'s name, as in the CIB\'s <node uname=...>' })
    .option('interval', { type: 'number', default: 1, describe: 'seconds between checks (fractional allowed)' })
    .option('grace', { type: 'number', default: 5, describe: 'seconds a process may be missing after it is configured before that is a failure' })
    .option('wrapper', { type: 'string', default: DEFAULT_WRAPPER, defaultDescription: 'ocf/procd-fail', describe: 'failure wrapper, run as WRAPPER --resource R --node N --reason REASON --pid PID' })
    .option('wrapper-timeout', { type: 'number', default: 30, describe: 'seconds before a hanging wrapper run is killed (3 tries with backoff)' })
    .option('socket', { type: 'string', default: DEFAULT_SOCKET, describe: 'control socket: JSON over HTTP on a 0600 Unix socket (folder created 0700); "" for none' })
    .option('log-level', { choices: LOG_LEVELS, default: 'info' as LogLevel, describe: 'JSON log lines on stdout at this level and above' })
    .check((a) => {
      const interval = a.interval as number;
      if (!Number.isFinite(interval) || interval <= 0) throw ERR_BAD_FLAG('--interval', `must be a number of seconds > 0, got ${a.interval}`);
      const grace = a.grace as number;
      if (!Number.isFinite(grace) || grace < 0) throw ERR_BAD_FLAG('--grace', `must be a number of seconds >= 0, got ${a.grace}`);
      const t = a['wrapper-timeout'] as number;
      if (!Number.isFinite(t) || t <= 0) throw ERR_BAD_FLAG('--wrapper-timeout', `must be a number of seconds > 0, got ${a['wrapper-timeout']}`);
      if (typeof a.node !== 'string' || a.node.trim() === '') throw ERR_BAD_FLAG('--node', 'must not be empty');
      return true;
    });
}

/** Runs the daemon in the foreground until SIGTERM/SIGINT; SIGHUP re-reads the CIB. */
export async function runDaemon(a: RunArgs): Promise<void> {
  const daemon = new Daemon({
    cib: a.cib,
    node: a.node,
    interval: a.interval,
    grace: a.grace,
    wrapper: a.wrapper,
    wrapperTimeout: a['wrapper-timeout'],
    logLevel: a['log-level'],
    socket: a.socket,
  });
  // Guru Meditation Report: SIGUSR2 / --report-file, GET /v1/report (before start: it records events).
  attachReports(daemon, a as unknown as Record<string, unknown>);
  // Signal handlers first: a SIGTERM during start-up still ends in a clean stop.
  let started: Promise<void> | null = null;
  const done = new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      void (started ?? Promise.resolve())
        .catch(() => {})
        .then(() => daemon.stop(signal))
        .catch((err) => daemon.log.error(`stop failed: ${errorLine(err)}`))
        .then(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', () => void daemon.reload());
  });
  started = daemon.start();
  await started;
  await done;
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'run the daemon in the foreground (JSON logs on stdout; SIGHUP re-reads the CIB; SIGTERM/SIGINT stop)',
  builder: (y) => reportOptions(runOptions(y)) as unknown as Argv<RunArgs>,
  handler: async (a) => {
    await runDaemon(a);
    process.exit(0);
  },
};
