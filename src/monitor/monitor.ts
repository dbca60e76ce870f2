import { randomUUID } from 'node:crypto';
import { EventBus, nowUs } from '../events/index.js';
import type { DetectedBy, LostReason } from '../events/index.js';
import { isDeadState, readState, Scanner, PROC_ROOT, type ExitWatcher, type ProcState } from '../proc/index.js';
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
  /**
   * Event mode: exits come from this pidfd watcher at once; /proc is scanned only while a spec
   * waits for a process. Without it: poll mode (the seed's semantics at `interval`).
   */
  exitWatcher?: ExitWatcher | null;
  /** Event mode: seconds between cheap checks of the held pids' stat (default max(interval, 60): a pidfd already reports exits and zombies; this is the safety net). */
  safetyCheck?: number;
}

/** event: pidfds report exits; poll: the watched pids' stat is read every interval. */
export type DetectionMode = 'event' | 'poll';

interface SpecState extends ProcessStatus {
  armedAtMs: number;
  /** Event mode: a pidfd holds (pid, starttime). */
  held: boolean;
}

interface ResourceState {
  config: ResourceConfig;
  specs: SpecState[];
}

/** Why the process watched as (pid, starttime) counts as dead, or null when it is alive. */
function judge(st: ProcState | null, starttime: number | null): LostReason | null {
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
  private timerDue = 0;
  private running = false;
  private watcher: ExitWatcher | null = null;
  private readonly safetyMs: number;
  private lastSafetyMs = 0;
  /** Duration of the last discovery scan in milliseconds, and how many ran. */
  lastScanMs = 0;
  scans = 0;
  /** Passes over the watched pids' stat (poll mode: every tick; event mode: the periodic cheap check). */
  checks = 0;
  /** Deaths first seen through a pidfd (event mode). */
  pidfdExits = 0;
  /** Called once when the pidfd watcher fails and the monitor falls back to polling. */
  onFallback: (why: string) => void = () => {};

  constructor(o: MonitorOptions) {
    this.bus = o.bus;
    this.intervalMs = Math.max(1, Math.round(o.interval * 1000));
    this.graceMs = Math.max(0, Math.round(o.grace * 1000));
    this.procRoot = o.procRoot ?? PROC_ROOT;
    this.scanner = new Scanner(this.procRoot, o.selfPid ?? process.pid);
    this.safetyMs = Math.max(1, Math.round((o.safetyCheck ?? Math.max(o.interval, 60)) * 1000));
    if (o.exitWatcher) this.useExitWatcher(o.exitWatcher);
  }

  get mode(): DetectionMode {
    return this.watcher ? 'event' : 'poll';
  }

  /** Switches to event mode: every live watched process gets held by a pidfd. */
  useExitWatcher(w: ExitWatcher) {
    this.watcher = w;
    w.onExit = (pid, starttime) => this.exited(pid, starttime);
    w.onError = (why) => this.fallBack(why);
    for (const r of this.resources.values()) for (const s of r.specs) if (s.state === 'running') this.hold(r, s);
  }

  /** Drops the pidfd watcher (it failed): back to polling at `interval`. */
  private fallBack(why: string) {
    const w = this.watcher;
    if (!w) return;
    this.watcher = null;
    for (const r of this.resources.values()) for (const s of r.specs) s.held = false;
    void w.close().catch(() => {});
    this.onFallback(why);
    this.schedule();
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
    if (cur) for (const s of cur.specs) if (!specs.includes(s)) this.release(s);
    if (cur) this.bus.emit({ kind: 'resource-removed', resource: config.resource });
    this.resources.set(config.resource, { config: { ...config, processes: config.processes.map((p) => ({ ...p })) }, specs });
    this.bus.emit({ kind: 'resource-added', resource: config.resource, failResource: config.failResource, processes: config.processes, source: config.source });
    if (this.running) {
      this.discover();
      this.schedule();
    }
    return true;
  }

  /** Removes a resource; returns false when it was not there. */
  remove(resource: string): boolean {
    const r = this.resources.get(resource);
    if (!r) return false;
    this.resources.delete(resource);
    for (const s of r.specs) this.release(s);
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
        processes: r.specs.map(({ armedAtMs: _a, held: _h, ...s }) => ({ ...s })),
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

  /** Stops the loop and closes the pidfd watcher (its worker thread and every pidfd). */
  async stop() {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const w = this.watcher;
    this.watcher = null;
    if (w) {
      w.onExit = () => {};
      await w.close();
    }
  }

  /**
   * One check cycle. Poll mode: every watched pid's stat, then discovery for specs without a
   * live process. Event mode: only the pids no pidfd holds (and all of them every `safetyCheck`),
   * then discovery only if some spec waits; with every spec held it reads nothing.
   */
  tick() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    try {
      if (!this.watcher) this.checkWatched();
      else {
        const nowMs = performance.now();
        const all = nowMs - this.lastSafetyMs >= this.safetyMs - 1;
        if (all) this.lastSafetyMs = nowMs;
        this.checkWatched(all);
      }
      this.discover();
    } finally {
      this.schedule();
    }
  }

  /** Plans the next tick: at `interval`, or in event mode with nothing to look for, at the next cheap check. */
  private schedule() {
    if (!this.running) return;
    let delay = this.intervalMs;
    if (this.watcher && !this.needsDiscovery() && !this.hasUnheld()) delay = Math.max(1, this.safetyMs - (performance.now() - this.lastSafetyMs));
    const due = performance.now() + delay;
    if (this.timer && this.timerDue <= due) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => this.tick(), delay);
  }

  private hasUnheld(): boolean {
    for (const r of this.resources.values()) for (const s of r.specs) if (s.state === 'running' && !s.held) return true;
    return false;
  }

  /**
   * Checks watched pids' stat: gone, Z/X, or a new starttime is a death, reported once.
   * `all` false (event mode between cheap checks): only the pids no pidfd holds.
   */
  checkWatched(all = true) {
    const now = nowUs();
    const seen = new Map<number, ProcState | null>();
    let read = false;
    for (const r of this.resources.values()) {
      for (const s of r.specs) {
        if (s.state !== 'running' || s.pid === null) continue;
        if (!all && s.held) continue;
        let st = seen.get(s.pid);
        if (st === undefined) {
          st = readState(s.pid, this.procRoot);
          seen.set(s.pid, st);
          read = true;
        }
        s.lastCheck = now;
        const reason = judge(st, s.starttime);
        if (reason) this.lose(r, s, reason, now, 'check');
      }
    }
    if (read) this.checks++;
  }

  /** Checks only the specs watching this pid. */
  checkPid(pid: number, detectedBy: DetectedBy = 'check') {
    const now = nowUs();
    let st: ProcState | null | undefined;
    for (const r of this.resources.values()) {
      for (const s of r.specs) {
        if (s.state !== 'running' || s.pid !== pid) continue;
        st ??= readState(pid, this.procRoot);
        s.lastCheck = now;
        const reason = judge(st, s.starttime);
        if (reason) this.lose(r, s, reason, now, detectedBy);
      }
    }
  }

  /** A pidfd became readable: (pid, starttime) exited. Confirmed by its stat, reported at once. */
  private exited(pid: number, starttime: number) {
    this.pidfdExits++;
    const now = nowUs();
    const st = readState(pid, this.procRoot);
    for (const r of this.resources.values()) {
      for (const s of r.specs) {
        if (s.state !== 'running' || s.pid !== pid || s.starttime !== starttime) continue;
        s.held = false;
        s.lastCheck = now;
        // A readable pidfd means the process has exited: `exited`, also while its parent has not
        // reaped it yet (state Z for that instant: calling it `zombie` would blame a healthy
        // parent). Only a new starttime on the pid says more. `zombie` stays the periodic check's
        // word for a dead process that lingers unreaped.
        this.lose(r, s, st !== null && st.starttime !== starttime ? 'pid-reused' : 'exited', now, 'pidfd');
      }
    }
    this.schedule();
  }

  /** Event mode: holds a newly found process by a pidfd and confirms it is still the one found. */
  private hold(r: ResourceState, s: SpecState): boolean {
    if (!this.watcher || s.pid === null || s.starttime === null) return true;
    const w = this.watcher.watch(s.pid, s.starttime);
    s.held = w.held;
    const reason = judge(w.stat, s.starttime);
    if (reason) {
      this.lose(r, s, reason, nowUs(), 'check');
      return false;
    }
    return true;
  }

  /** Lets go of a spec's pidfd unless another spec watches the same process. */
  private release(s: SpecState) {
    if (!s.held || s.pid === null || s.starttime === null) return;
    s.held = false;
    if (!this.watcher) return;
    for (const r of this.resources.values()) for (const o of r.specs) if (o !== s && o.held && o.pid === s.pid && o.starttime === s.starttime) return;
    this.watcher.unwatch(s.pid, s.starttime);
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
    // Event mode: deaths the pidfds see during the scan are reported during it (they only
    // change running specs; the scan's results go to the specs that were waiting).
    const w = this.watcher;
    const found = this.scanner.scan(waiting.map(([, s]) => s.prefix), w ? { checkpoint: () => w.pollNow() } : {});
    this.lastScanMs = performance.now() - t0;
    this.scans++;
    const now = nowUs();
    const nowMs = performance.now();
    for (const [r, s] of waiting) {
      s.lastCheck = now;
      const c = found.get(s.prefix)?.[0];
      if (c) {
        Object.assign(s, { state: 'running', pid: c.pid, starttime: c.starttime, cmdline: c.cmdline, since: now, held: false });
        this.bus.emit({ kind: 'process-found', resource: r.config.resource, process: s.name, prefix: s.prefix, pid: c.pid, starttime: c.starttime, cmdline: c.cmdline });
        this.hold(r, s);
      } else if (s.state === 'pending' && nowMs - s.armedAtMs >= this.graceMs) {
        this.lose(r, s, 'missing', now, 'scan');
      }
    }
  }

  private newSpec(p: ProcessSpec, now: number): SpecState {
    return { name: p.name, prefix: p.prefix, state: 'pending', pid: null, starttime: null, cmdline: null, since: now, lastCheck: null, failures: 0, armedAtMs: performance.now(), held: false };
  }

  private lose(r: ResourceState, s: SpecState, reason: LostReason, now: number, detectedBy: DetectedBy) {
    const pid = s.pid ?? 0;
    this.release(s);
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
      detectedBy,
      failureId: randomUUID(),
    });
  }
}
