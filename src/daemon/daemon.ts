import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { readCibConfig, type CibConfig } from '../cib/index.js';
import { defineError, errorLine } from '../errors.js';
import { EventBus } from '../events/index.js';
import { Failover, spawnMethod } from '../failover/index.js';
// Type only: fastify and prom-client (~10 MB RSS) load in start(), and only with --http.
import type { HttpApi } from '../http/index.js';
import { Journal } from '../journal/index.js';
import { Monitor } from '../monitor/index.js';
import { ExitWatcher } from '../proc/index.js';
import { HelperThread } from '../thread/index.js';
import { ControlServer } from './control.js';
import { createLogger, logEvent, type LogLevel } from './log.js';
import { trimHeap } from './malloc.js';
import { defaultRegistrationsPath, Registrations } from './registrations.js';
import { addResourceRoutes } from './resources.js';
import { PROCD_BIN, type Mode } from './options.js';

export const ERR_WRAPPER = defineError('PROCD_WRAPPER', (path: string, why: string) => `wrapper ${path}: ${why}`, { exitCode: 2 });
export const ERR_UNKNOWN_NODE = defineError(
  'PROCD_UNKNOWN_NODE',
  (node: string, cib: string, known: string[]) => `${cib}: node ${JSON.stringify(node)} is not in the CIB's nodes (known: ${known.join(', ') || 'none'})`,
  { exitCode: 2 },
);

export const ERR_NO_PIDFD = defineError('PROCD_NO_PIDFD', (why: string) => `--mode event: pidfds are unavailable: ${why}; use --mode auto or poll`, { exitCode: 2 });

export { DEFAULT_WRAPPER, MODES, PROCD_BIN, type Mode } from './options.js';

export interface DaemonOptions {
  cib?: string;
  node: string;
  interval: number;
  grace: number;
  wrapper: string;
  wrapperTimeout: number;
  logLevel: LogLevel;
  procRoot?: string;
  /** Delay before the second wrapper attempt (doubles for the third). */
  retryBackoffMs?: number;
  /** Control socket path (JSON over HTTP on a 0600 Unix socket); none when empty or unset. */
  socket?: string;
  /** Where socket registrations are kept across restarts: beside the socket when unset; not kept when empty. */
  registrations?: string;
  /** Exit detection: auto (default), event (pidfd), poll. */
  mode?: Mode;
  /** Event journal (SQLite file); in memory when empty or unset. */
  journal?: string;
  journalMaxAgeMs?: number;
  journalMaxRows?: number;
  journalBuffer?: number;
  /** HTTP API, SSE stream and web page on host:port; off when empty or unset. */
  http?: string;
  httpToken?: string;
}

/** Checks that the wrapper exists, is a file and is executable; throws one clear line otherwise. */
export function checkWrapper(path: string) {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw ERR_WRAPPER(path, 'does not exist');
  }
  if (!st.isFile()) throw ERR_WRAPPER(path, 'is not a file');
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw ERR_WRAPPER(path, 'is not executable (chmod +x?)');
  }
}

/**
 * The running daemon: the monitor's events go to the failover runner and the log. Everything
 * else (socket, journal, HTTP, reports) attaches to `bus` the same way.
 */
export class Daemon {
  readonly bus = new EventBus();
  readonly log: Logger;
  readonly monitor: Monitor;
  readonly failover: Failover;
  readonly options: DaemonOptions;
  /** The control socket; features add their routes to it before start(). */
  readonly control: ControlServer | null;
  /** The file socket registrations are kept in across restarts (null: not kept). */
  private readonly registrations: Registrations | null;
  /** Every event, in SQLite (the HTTP API and the CLI read it). */
  readonly journal: Journal;
  /** One worker thread for the journal's writer and the report's watchdog (each used to have an isolate of its own). */
  readonly thread = new HelperThread();
  /** Set by start() when --http is given (the module is loaded only then). */
  http: HttpApi | null = null;
  readonly startedAt = Date.now();
  private stopping = false;
  private trimTimer: NodeJS.Timeout | null = null;

  constructor(o: DaemonOptions, log?: Logger) {
    this.options = o;
    this.log = log ?? createLogger(o.logLevel);
    this.bus.onListenerError = (err, e) => this.log.error({ err, event: e.kind }, `event consumer failed: ${errorLine(err)}`);
    this.bus.subscribe((e) => logEvent(this.log, e));
    this.monitor = new Monitor({ bus: this.bus, interval: o.interval, grace: o.grace, procRoot: o.procRoot });
    const env: Record<string, string> = { PROCD_BIN };
    if (o.cib) env.PROCD_CIB = resolve(o.cib);
    this.failover = new Failover({
      bus: this.bus,
      wrapper: o.wrapper,
      node: o.node,
      env,
      timeoutMs: o.wrapperTimeout * 1000,
      backoffMs: o.retryBackoffMs ?? 1000,
    });
    this.journal = new Journal({
      path: o.journal || ':memory:',
      node: o.node,
      log: this.log,
      maxAgeMs: o.journalMaxAgeMs ?? 0,
      maxRows: o.journalMaxRows ?? (o.journal ? 0 : 100_000),
      thread: this.thread,
      ...(o.journalBuffer ? { bufferMax: o.journalBuffer } : {}),
    });
    this.bus.subscribe((e) => void this.journal.append(e));
    this.control = o.socket ? new ControlServer(o.socket) : null;
    this.bus.subscribe(this.active);
    this.control?.onRequest.push(this.active);
    // A minute after activity, malloc's free pages go back to the kernel: a burst leaves them
    // behind and the steady state never needs them. An idle daemon is not woken for it.
    this.onActivity(() => this.trimLater());
    this.control?.route('GET', '/v1/health', () => ({
      body: { status: 'ok', pid: process.pid, node: o.node, uptimeSeconds: (Date.now() - this.startedAt) / 1000, resources: this.monitor.status().length, watchedPids: this.monitor.watchedPids().length },
    }));
    this.registrations = o.socket && o.registrations !== '' ? new Registrations(o.registrations ?? defaultRegistrationsPath(o.socket), this.log) : null;
    if (this.control) addResourceRoutes(this.control, this.monitor, () => this.registrations?.save(this.monitor));
  }

  /** Reads the CIB (if any), checks the wrapper and the node, and starts watching. */
  async start() {
    try {
      const o = this.options;
      // First, before anything is emitted: the API subscribes to the bus (metrics, SSE).
      if (o.http) {
        const { HttpApi } = await import('../http/index.js');
        this.http = new HttpApi({ bus: this.bus, monitor: this.monitor, journal: this.journal, log: this.log, node: o.node, startedAt: this.startedAt }, { listen: o.http, ...(o.httpToken ? { token: o.httpToken } : {}) });
      }
      checkWrapper(o.wrapper);
      if (o.cib) this.applyCib(await this.readCib());
      this.restoreRegistrations();
      // What can refuse the start comes before the journal, so a refused start leaves no file behind.
      this.startExitWatcher();
      await this.control?.listen();
      // Synchronous, and before any request on the socket is handled (those are later turns of the loop).
      this.journal.open();
      await this.http?.listen();
      this.failover.attach();
      this.monitor.start();
      this.bus.emit({ kind: 'daemon-started', node: o.node, pid: process.pid, mode: this.monitor.mode, spawn: spawnMethod(), ...(o.cib ? { cib: resolve(o.cib) } : {}) });
      if (this.monitor.status().length === 0) this.log.warn(`nothing is watched yet${o.cib ? ' (no procdctl resource in the CIB)' : ''}${this.control ? `; waiting for registrations on ${this.control.path}` : ''}`);
    } catch (e) {
      await this.release();
      throw e;
    }
  }

  /**
   * Calls `fn` when work arrives: an event on the bus, a request on the control socket (for what
   * should happen after activity, never on a clock: an idle daemon is not woken).
   */
  onActivity(fn: () => void) {
    this.activityHooks.push(fn);
  }
  private readonly activityHooks: (() => void)[] = [];
  private readonly active = () => {
    for (const f of this.activityHooks) f();
  };

  private trimLater() {
    if (this.trimTimer || this.stopping) return;
    this.trimTimer = setTimeout(() => {
      this.trimTimer = null;
      trimHeap();
    }, 60_000).unref();
  }

  /** Registers again what the socket had registered before a restart (before the socket accepts new ones). */
  private restoreRegistrations() {
    if (!this.registrations) return;
    const saved = this.registrations.load();
    for (const c of saved) this.monitor.upsert(c);
    if (saved.length) this.log.info({ registrations: this.registrations.path }, `restored ${saved.length} socket registration${saved.length === 1 ? '' : 's'} from ${this.registrations.path}: ${saved.map((c) => c.resource).join(', ')}`);
  }

  /** Closes what a failed start() opened (socket, HTTP, journal, pidfd watcher), so the process can exit with its one error line. */
  private async release() {
    await this.monitor.stop();
    await this.control?.close();
    await this.http?.close();
    await this.journal.close();
    await this.thread.stop();
  }

  /** SIGHUP: re-reads the CIB; added and removed specs apply, unchanged ones keep their state. A bad CIB keeps the old config. */
  async reload() {
    if (!this.options.cib) return;
    try {
      const cfg = await this.readCib();
      const diff = this.applyCib(cfg);
      this.bus.emit({ kind: 'daemon-reloaded', ...diff });
    } catch (err) {
      this.log.error({ err: errorLine(err) }, `reload failed, keeping the previous configuration: ${errorLine(err)}`);
    }
  }

  /** Stops detection, lets queued failure reports finish (bounded), logs any that could not. */
  async stop(signal?: string, drainMs = 10_000) {
    if (this.stopping) return;
    this.stopping = true;
    if (this.trimTimer) clearTimeout(this.trimTimer);
    await this.monitor.stop();
    await this.control?.close();
    const drained = await Promise.race([this.failover.idle().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), drainMs).unref())]);
    if (!drained) {
      const left = [this.failover.inFlight()?.failureId, ...this.failover.pending().map((e) => e.failureId)].filter(Boolean);
      this.log.error({ failures: left }, `stopping with ${left.length} failure report(s) unfinished`);
    }
    this.failover.detach();
    this.bus.emit({ kind: 'daemon-stopped', node: this.options.node, ...(signal ? { signal } : {}) });
    await this.http?.close();
    await this.journal.close();
    await this.thread.stop();
  }

  /** --mode: holds watched processes by pidfds (event), or says once why it polls (auto), or refuses (event). */
  private startExitWatcher() {
    const mode = this.options.mode ?? 'auto';
    this.monitor.onFallback = (why) => this.log.warn({ mode: 'poll' }, `exit detection falls back to polling every ${this.options.interval}s: ${why}`);
    if (mode === 'poll') return;
    const w = ExitWatcher.open({ procRoot: this.options.procRoot });
    if (typeof w === 'string') {
      if (mode === 'event') throw ERR_NO_PIDFD(w);
      this.log.warn({ mode: 'poll' }, `--mode auto: pidfds are unavailable, polling every ${this.options.interval}s: ${w}`);
      return;
    }
    this.monitor.useExitWatcher(w);
  }

  private async readCib(): Promise<CibConfig> {
    const cfg = await readCibConfig(this.options.cib!);
    if (!cfg.nodes.some((n) => n.uname === this.options.node)) throw ERR_UNKNOWN_NODE(this.options.node, this.options.cib!, cfg.nodes.map((n) => n.uname));
    for (const w of cfg.warnings) this.log.warn({ cib: cfg.path }, w);
    return cfg;
  }

  private applyCib(cfg: CibConfig) {
    return this.monitor.replaceSource('cib', cfg.resources);
  }
}
