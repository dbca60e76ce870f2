import type { EventBus, ProcessLost } from '../events/index.js';
import { nowUs } from '../events/index.js';
import { runProgram, warmUp } from './spawn.js';

export interface FailoverOptions {
  bus: EventBus;
  /** The failure wrapper, called as `WRAPPER --resource R --node N --reason REASON --pid PID`. */
  wrapper: string;
  node: string;
  /** Extra environment for the wrapper (file mode: PROCD_CIB, PROCD_BIN). */
  env?: Record<string, string>;
  /** Kill the wrapper after this long (SIGTERM, then SIGKILL 2 s later). */
  timeoutMs?: number;
  /** Attempts per failure. */
  tries?: number;
  /** Delay before the 2nd attempt; doubles for each further one. */
  backoffMs?: number;
}

/** A wrapper run in flight, for reports. */
export interface InFlight {
  failureId: string;
  resource: string;
  failResource: string;
  attempt: number;
  /** performance.now() when the attempt started. */
  startedAt: number;
}

const FAILCOUNT_LINE = /^((?:fail-count|last-failure)-\S+)=(\d+)$/;

/**
 * Reports each process-lost event by running the failure wrapper: an argv array started with
 * posix_spawn (never a shell string; see spawn.ts), with a timeout and retries with backoff. Reports run one at a time
 * in the order deaths were detected, so fail-counts move in order; the queue is asynchronous
 * and never blocks detection. A failure that could not be reported after every try is
 * announced as `report-failed`, never dropped silently.
 */
export class Failover {
  private readonly o: Required<FailoverOptions>;
  private queue: ProcessLost[] = [];
  private busy = false;
  private current: InFlight | null = null;
  private idleWaiters: (() => void)[] = [];
  private unsubscribe: (() => void) | null = null;

  /** The wrapper's environment but the per-failure variables: built once, not on the way to each start. */
  private readonly baseEnv: Record<string, string>;

  constructor(o: FailoverOptions) {
    this.o = { env: {}, timeoutMs: 30_000, tries: 3, backoffMs: 1000, ...o };
    // The daemon's own PROCD_* settings (PROCD_GRACE=3, ...) stay out: a `procd` the wrapper
    // runs would read them as its flags and refuse them. Only the wrapper contract's go in.
    this.baseEnv = { ...inheritedEnv(), ...this.o.env };
  }

  /** Starts consuming process-lost events from the bus, before any other consumer: a death's wrapper starts before it is logged or journaled. */
  attach(): this {
    if (!this.unsubscribe) void warmUp();
    this.unsubscribe ??= this.o.bus.on('process-lost', (e) => this.enqueue(e), { first: true });
    return this;
  }

  detach() {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  enqueue(e: ProcessLost) {
    this.queue.push(e);
    if (!this.busy) void this.pump();
  }

  /** Failures waiting for their turn (not counting the one running). */
  pending(): ProcessLost[] {
    return [...this.queue];
  }

  inFlight(): InFlight | null {
    return this.current ? { ...this.current } : null;
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (!this.busy && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async pump() {
    this.busy = true;
    try {
      let e: ProcessLost | undefined;
      while ((e = this.queue.shift())) await this.report(e);
    } finally {
      this.busy = false;
      this.current = null;
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async report(e: ProcessLost) {
    const { bus, wrapper, node, tries, backoffMs, timeoutMs } = this.o;
    const ids = { failureId: e.failureId, resource: e.resource, failResource: e.failResource };
    const argv = ['--resource', e.failResource, '--node', node, '--reason', e.reason, '--pid', String(e.pid)];
    const started = performance.now();
    let lastError = '';
    for (let attempt = 1; attempt <= tries; attempt++) {
      if (attempt > 1) {
        const delayMs = backoffMs * 2 ** (attempt - 2);
        bus.emit({ kind: 'wrapper-retry', ...ids, attempt, delayMs });
        await new Promise((r) => setTimeout(r, delayMs));
      }
      this.current = { ...ids, attempt, startedAt: performance.now() };
      // Announced once the wrapper runs (its start is what the cluster waits for: nothing goes
      // before it), or, when it could not be started, before the failure that says so.
      let announced = false;
      const announce = (wrapperPid?: number) => {
        if (announced) return;
        announced = true;
        bus.emit({ kind: 'wrapper-started', ...ids, attempt, argv: [wrapper, ...argv], wrapperPid, sinceDetectedUs: nowUs() - e.time });
      };
      const t0 = performance.now();
      const r = await runProgram(wrapper, argv, {
        timeoutMs,
        killAfterMs: 2000,
        maxBuffer: 1024 * 1024,
        env: { ...this.baseEnv, PROCD_FAILURE_ID: e.failureId, PROCD_PROCESS: e.process },
        onStart: announce,
      });
      announce();
      const durationMs = performance.now() - t0;
      const ok = !r.timedOut && r.exitCode === 0;
      const stderrLast = r.stderr.trim().split('\n').pop() ?? '';
      const message = ok
        ? stderrLast
        : r.timedOut
          ? `wrapper ${wrapper} timed out after ${timeoutMs} ms and was killed`
          : r.startError !== undefined
            ? `wrapper ${wrapper} could not be run: ${r.startError}`
            : stderrLast || `wrapper ${wrapper} exited with ${r.signal ? `signal ${r.signal}` : `code ${r.exitCode}`}`;
      bus.emit({
        kind: 'wrapper-finished',
        ...ids,
        attempt,
        exitCode: r.exitCode ?? null,
        signal: r.signal ?? null,
        timedOut: Boolean(r.timedOut),
        durationMs,
        message,
      });
      if (ok) {
        for (const line of r.stdout.split('\n')) {
          const m = FAILCOUNT_LINE.exec(line.trim());
          if (m && m[1]!.startsWith('fail-count-')) bus.emit({ kind: 'failcount-written', ...ids, node, attribute: m[1]!, value: Number(m[2]) });
        }
        bus.emit({ kind: 'failure-reported', ...ids, node, attempts: attempt, totalMs: performance.now() - started });
        return;
      }
      lastError = message;
    }
    bus.emit({ kind: 'report-failed', ...ids, node, attempts: tries, error: lastError });
  }
}

/** The daemon's environment without its PROCD_* variables. */
function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('PROCD_')) env[k] = v;
  return env;
}
