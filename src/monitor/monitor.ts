import { randomUUID } from 'node:crypto';
import { EventBus, nowUs } from '../events/index.js';
import type { LostReason } from '../events/index.js';
import { isDeadState, readStat, Scanner, PROC_ROOT, type ProcStat } from '../proc/index.js';
import type { ProcessSpec, ResourceConfig } from './types.js';

/**
 * pending: not found yet, within the grace period. running: a live process is watched.
 * missing: nothing matched within the grace period (reported once; still looking).
 * lost: the watched process died (reported once); waiting for the restarted service.
 */
export type SpecStateName = 'pending' | 'running' | 'missing' | 'lost';

export interface ProcessStatus {
  name: string;
  prefix: string;
  state: SpecStateName;
  pid: number | null;
  starttime: number | null;
  cmdline: string | null;
  /** Microseconds since the epoch when the spec entered its state. */
  since: number;
  /** Microseconds since the epoch of the last check of the watched pid (or discovery scan). */
  lastCheck: number | null;
  /** Deaths reported for this spec since it was added. */
  failures: number;
}

export interface ResourceStatus {
  resource: string;
  failResource: string;
  source: 'cib' | 'socket';
  processes: ProcessStatus[];
}

export interface MonitorOptions {
  bus: EventBus;
  /** Seconds between checks (fractional allowed). */
  interval: number;
  /** Seconds a new spec may match nothing before it is reported `missing`. */
  grace: number;
  procRoot?: string;
  selfPid?: number;
}

interface SpecState extends ProcessStatus {
  armedAtMs: number;
}

interface ResourceState {
  config: ResourceConfig;
  specs: SpecState[];
}

/** Why the process watched as (pid, starttime) counts as dead, or null when it is alive. */
function judge(st: ProcStat | null, starttime: number | null): LostReason | null {
  if (st === null) return 'exited';
  if (st.starttime !== starttime) return 'pid-reused';
  if (st.state === 'Z') return 'zombie';
  if (isDeadState(st.state)) return 'dead';
  return null;
}

function sameSpecs(a: ResourceConfig, b: ResourceConfig): boolean {
  return (
    a.failResource === b.failResource &&
    a.processes.length === b.processes.length &&
    a.processes.every((p, i) => p.name === b.processes[i]!.name && p.prefix === b.processes[i]!.prefix)
  );
}

/**
 * The detection loop: resources → process specs → live state. It reads /proc only through
 * src/proc, and reports only by emitting events on the bus; it never runs the wrapper or
 * touches the CIB.
 */
export class Monitor {
  readonly bus: EventBus;
  readonly intervalMs: number;
  readonly graceMs: number;
  readonly scanner: Scanner;
  private readonly procRoot: string;
  private resources = new Map<string, ResourceState>();
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  /** Duration of the last discovery scan in milliseconds, and how many ran. */
  lastScanMs = 0;
  scans = 0;

  constructor(o: MonitorOptions) {
    this.bus = o.bus;
    this.intervalMs = Math.max(1, Math.round(o.interval * 1000));
    this.graceMs = Math.max(0, Math.round(o.grace * 1000));
    this.procRoot = o.procRoot ?? PROC_ROOT;
    this.scanner = new Scanner(this.procRoot, o.selfPid ?? process.pid);
  }

  /** Adds or replaces one resource. Same specs again: a no-op that keeps the live state. Returns whether anything changed. */
  upsert(config: ResourceConfig): boolean {
    const cur = this.resources.get(config.resource);
    if (cur && sameSpecs(cur.config, config)) {
      cur.config = { ...cur.config, source: config.source };
      return false;
    }
    const now = nowUs();
    const specs = config.processes.map((p) => {
      const kept = cur?.specs.find((s) => s.name === p.name && s.prefix === p.prefix);
      return kept ?? this.newSpec(p, now);
    });
    if (cur) this.bus.emit({ kind: 'resource-removed', resource: config.resource });
    this.resources.set(config.resource, { config: { ...config, processes: config.processes.map((p) => ({ ...p })) }, specs });
    this.bus.emit({ kind: 'resource-added', resource: config.resource, failResource: config.failResource, processes: config.processes, source: config.source });
    if (this.running) this.discover();
    return true;
  }

  /** Removes a resource; returns false when it was not there. */
  remove(resource: string): boolean {
    if (!this.resources.delete(resource)) return false;
    this.bus.emit({ kind: 'resource-removed', resource });
    return true;
  }

  /**
   * Replaces every resource of one source (e.g. all `cib` resources on SIGHUP): added ones
   * start pending, removed ones go, unchanged ones keep their state.
   */
  replaceSource(source: 'cib' | 'socket', configs: ResourceConfig[]) {
    const added: string[] = [];
    const removed: string[] = [];
    const changed: string[] = [];
    const unchanged: string[] = [];
    const names = new Set(configs.map((c) => c.resource));
    for (const [name, r] of [...this.resources]) {
      if (r.config.source === source && !names.has(name)) {
        this.remove(name);
        removed.push(name);
      }
    }
    for (const c of configs) {
      const existed = this.resources.has(c.resource);
      const didChange = this.upsert(c);
      (existed ? (didChange ? changed : unchanged) : added).push(c.resource);
    }
    return { added, removed, changed, unchanged };
  }

  has(resource: string): boolean {
    return this.resources.has(resource);
  }

  status(resource?: string): ResourceStatus[] {
    const out: ResourceStatus[] = [];
    for (const r of this.resources.values()) {
      if (resource !== undefined && r.config.resource !== resource) continue;
      out.push({
        resource: r.config.resource,
        failResource: r.config.failResource,
        source: r.config.source,
        processes: r.specs.map(({ armedAtMs: _a, ...s }) => ({ ...s })),
      });
    }
    return out;
  }

  /** Pids currently watched (for the event-mode exit watcher and reports). */
  watchedPids(): number[] {
    const pids = new Set<number>();
    for (const r of this.resources.values()) for (const s of r.specs) if (s.state === 'running' && s.pid !== null) pids.add(s.pid);
    return [...pids];
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.tick();
  }

  stop() {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** One check cycle: the watched pids, then discovery for specs without a live process. */
  tick() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    try {
      this.checkWatched();
      this.discover();
    } finally {
      if (this.running) {
        this.timer = setTimeout(() => this.tick(), this.intervalMs);
      }
    }
  }

  /** Checks every watched pid's stat: gone, Z/X, or a new starttime is a death, reported once. */
  checkWatched() {
    const now = nowUs();
    const seen = new Map<number, ProcStat | null>();
    for (const r of this.resources.values()) {
      for (const s of r.specs) {
        if (s.state !== 'running' || s.pid === null) continue;
        let st = seen.get(s.pid);
        if (st === undefined) {
          st = readStat(s.pid, this.procRoot);
          seen.set(s.pid, st);
        }
        s.lastCheck = now;
        const reason = judge(st, s.starttime);
        if (reason) this.lose(r, s, reason, now);
      }
    }
  }

  /** Checks only the specs watching this pid (the event-mode exit watcher calls this at once). */
  checkPid(pid: number) {
    const now = nowUs();
    let st: ProcStat | null | undefined;
    for (const r of this.resources.values()) {
      for (const s of r.specs) {
        if (s.state !== 'running' || s.pid !== pid) continue;
        st ??= readStat(pid, this.procRoot);
        s.lastCheck = now;
        const reason = judge(st, s.starttime);
        if (reason) this.lose(r, s, reason, now);
      }
    }
  }

  /** True while some spec has no live watched process (discovery scans are needed). */
  needsDiscovery(): boolean {
    for (const r of this.resources.values()) for (const s of r.specs) if (s.state !== 'running') return true;
    return false;
  }

  /** Scans /proc for specs without a live process; adopts the oldest match; reports `missing` after the grace period. */
  discover() {
    const waiting: [ResourceState, SpecState][] = [];
    for (const r of this.resources.values()) for (const s of r.specs) if (s.state !== 'running') waiting.push([r, s]);
    if (waiting.length === 0) return;
    const t0 = performance.now();
    const found = this.scanner.scan(waiting.map(([, s]) => s.prefix));
    this.lastScanMs = performance.now() - t0;
    this.scans++;
    const now = nowUs();
    const nowMs = performance.now();
    for (const [r, s] of waiting) {
      s.lastCheck = now;
      const c = found.get(s.prefix)?.[0];
      if (c) {
        Object.assign(s, { state: 'running', pid: c.pid, starttime: c.starttime, cmdline: c.cmdline, since: now });
        this.bus.emit({ kind: 'process-found', resource: r.config.resource, process: s.name, prefix: s.prefix, pid: c.pid, starttime: c.starttime, cmdline: c.cmdline });
      } else if (s.state === 'pending' && nowMs - s.armedAtMs >= this.graceMs) {
        this.lose(r, s, 'missing', now);
      }
    }
  }

  private newSpec(p: ProcessSpec, now: number): SpecState {
    return { name: p.name, prefix: p.prefix, state: 'pending', pid: null, starttime: null, cmdline: null, since: now, lastCheck: null, failures: 0, armedAtMs: performance.now() };
  }

  private lose(r: ResourceState, s: SpecState, reason: LostReason, now: number) {
    const pid = s.pid ?? 0;
    s.failures++;
    Object.assign(s, { state: reason === 'missing' ? 'missing' : 'lost', pid: null, starttime: null, cmdline: null, since: now, armedAtMs: performance.now() });
    this.bus.emit({
      kind: 'process-lost',
      resource: r.config.resource,
      failResource: r.config.failResource,
      process: s.name,
      prefix: s.prefix,
      pid,
      reason,
      failureId: randomUUID(),
    });
  }
}
