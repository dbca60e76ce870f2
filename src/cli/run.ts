import { hostname } from 'node:os';
import type { Argv, CommandModule } from 'yargs';
import { DEFAULT_SOCKET } from '../daemon/control.js';
import { DEFAULT_WRAPPER, LOG_LEVELS, MODES, type LogLevel, type Mode } from '../daemon/options.js';
import { ERR_BAD_FLAG, errorLine } from '../errors.js';
import { parseDurationMs } from '../journal/time.js';
import { DEFAULT_JOURNAL } from '../daemon/options.js';
import { reportOptions } from '../report/options.js';

export interface RunArgs {
  cib?: string;
  node: string;
  interval: number;
  grace: number;
  wrapper: string;
  'wrapper-timeout': number;
  'log-level': LogLevel;
  socket: string;
  registrations?: string;
  mode: Mode;
  'pidfd-disable'?: boolean;
  'spawn-node'?: boolean;
  journal: string;
  'journal-max-age': string;
  'journal-max-rows': number;
  'journal-buffer': number;
  http: string;
  'http-token'?: string;
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
    .option('registrations', { type: 'string', defaultDescription: 'beside the socket: procd.registrations.json', describe: 'file (0600) that keeps socket registrations across restarts: a respawned procd watches them at once; "" keeps none' })
    .option('mode', { type: 'string', default: 'auto' as Mode, describe: 'exit detection (auto|event|poll): event (a pidfd per process, exits seen at once, no /proc scans while all are found), poll (read /proc every --interval), auto (event when pidfds work, else poll)' })
    .option('pidfd-disable', { type: 'boolean', hidden: true, describe: 'test only: behave as if pidfds were unavailable (PROCD_PIDFD_DISABLE=1)' })
    .option('spawn-node', { type: 'boolean', hidden: true, describe: 'test and bench only: start wrappers with Node\'s child_process (a fork of the daemon) instead of posix_spawn (PROCD_SPAWN_NODE=1)' })
    .option('journal', { type: 'string', default: DEFAULT_JOURNAL, describe: 'event journal (SQLite, WAL); "" keeps events in memory only' })
    .option('journal-max-age', { type: 'string', default: '30d', describe: 'delete journal events older than this (30s, 10m, 2h, 7d); "" keeps them' })
    .option('journal-max-rows', { type: 'number', default: 1_000_000, describe: 'keep at most this many journal events; 0 keeps all' })
    .option('journal-buffer', { type: 'number', default: 100_000, describe: 'events kept in memory while the journal cannot be written; more are dropped and counted' })
    .option('http', { type: 'string', default: '', describe: 'HTTP API, SSE stream and web page on HOST:PORT (e.g. 127.0.0.1:8181); "" for none' })
    .option('http-token', { type: 'string', describe: 'bearer token the HTTP API requires; needed to listen on a non-loopback address' })
    .option('log-level', { choices: LOG_LEVELS, default: 'info' as LogLevel, describe: 'JSON log lines on stdout at this level and above' })
    .check((a) => {
      const interval = a.interval as number;
      if (!Number.isFinite(interval) || interval <= 0) throw ERR_BAD_FLAG('--interval', `must be a number of seconds > 0, got ${a.interval}`);
      const grace = a.grace as number;
      if (!Number.isFinite(grace) || grace < 0) throw ERR_BAD_FLAG('--grace', `must be a number of seconds >= 0, got ${a.grace}`);
      const t = a['wrapper-timeout'] as number;
      if (!Number.isFinite(t) || t <= 0) throw ERR_BAD_FLAG('--wrapper-timeout', `must be a number of seconds > 0, got ${a['wrapper-timeout']}`);
      if (!(MODES as readonly unknown[]).includes(a.mode)) throw ERR_BAD_FLAG('--mode', `must be one of ${MODES.join(', ')}, got ${JSON.stringify(a.mode)}`);
      if (typeof a.node !== 'string' || a.node.trim() === '') throw ERR_BAD_FLAG('--node', 'must not be empty');
      if (a.socket === '' && a.registrations) throw ERR_BAD_FLAG('--registrations', 'keeps socket registrations, but --socket is "" (no control socket)');
      if (!a.cib && a.socket === '') throw ERR_BAD_FLAG('--socket', 'is "" and there is no --cib: nothing could ever be watched (give --cib, a socket path, or both)');
      const age = a['journal-max-age'] as string;
      if (age !== '' && parseDurationMs(age) === null) throw ERR_BAD_FLAG('--journal-max-age', `must be a duration like 30s, 10m, 2h or 7d, or "" to keep events, got ${JSON.stringify(age)}`);
      const rows = a['journal-max-rows'] as number;
      if (!Number.isInteger(rows) || rows < 0) throw ERR_BAD_FLAG('--journal-max-rows', `must be an integer >= 0, got ${a['journal-max-rows']}`);
      const buf = a['journal-buffer'] as number;
      if (!Number.isInteger(buf) || buf < 1) throw ERR_BAD_FLAG('--journal-buffer', `must be an integer >= 1, got ${a['journal-buffer']}`);
      return true;
    });
}

/** Runs the daemon in the foreground until SIGTERM/SIGINT; SIGHUP re-reads the CIB. */
export async function runDaemon(a: RunArgs): Promise<void> {
  // yargs reads PROCD_PIDFD_DISABLE as this hidden flag; the pidfd code looks at the variable.
  if (a['pidfd-disable']) process.env.PROCD_PIDFD_DISABLE = '1';
  if (a['spawn-node']) process.env.PROCD_SPAWN_NODE = '1';
  // Before the daemon's threads start (journal writer, watchdog): they share two malloc arenas.
  (await import('../daemon/malloc.js')).limitArenas();
  // Loaded here, not at the top: every other command starts without the daemon's modules.
  if (a.http) (await import('../http/index.js')).checkHttpOptions({ listen: a.http, ...(a['http-token'] ? { token: a['http-token'] } : {}) });
  const { Daemon } = await import('../daemon/daemon.js');
  const daemon = new Daemon({
    cib: a.cib,
    node: a.node,
    interval: a.interval,
    grace: a.grace,
    wrapper: a.wrapper,
    wrapperTimeout: a['wrapper-timeout'],
    logLevel: a['log-level'],
    socket: a.socket,
    ...(a.registrations !== undefined ? { registrations: a.registrations } : {}),
    mode: a.mode,
    journal: a.journal,
    journalMaxAgeMs: a['journal-max-age'] ? parseDurationMs(a['journal-max-age'])! : 0,
    journalMaxRows: a['journal-max-rows'],
    journalBuffer: a['journal-buffer'],
    http: a.http,
    ...(a['http-token'] ? { httpToken: a['http-token'] } : {}),
  });
  // Guru Meditation Report: SIGUSR2 / --report-file, GET /v1/report (before start: it records events).
  (await import('../report/index.js')).attachReports(daemon, a as unknown as Record<string, unknown>);
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
