import { Worker } from 'node:worker_threads';
import type { BlockEpisode, Frame, WatchdogData, WatchdogReply } from './watchdog-worker.js';

export type { BlockEpisode, Frame, WatchdogReply };

export interface WatchdogOptions {
  /** The loop counts as blocked when it has not answered a ping for this long. */
  thresholdMs?: number;
  /** How often the watchdog looks at the main thread while it idles (kick() makes it look at once). */
  pollMs?: number;
  onError?: (err: unknown) => void;
}

/**
 * Main-thread side of the watchdog: a worker thread (unref'd: it never keeps the daemon alive)
 * that watches which system call the main thread is in, pings it when it is not idle in epoll,
 * and captures its stack when a ping goes unanswered for `thresholdMs`. The main thread has no
 * timer of its own: while the daemon idles it is never woken (issue 4's steady-CPU bar: a 50 ms
 * heartbeat cost 0.9 % of a core on a small VM). It answers a ping by stamping a shared clock.
 * Between looks (every 2 s) the worker sleeps; `kick()`, called when work arrives (an event on the
 * bus, a request on the socket), makes it look at once, so a block in that work is caught from
 * its start. `status()` asks the worker what it saw.
 */
export class Watchdog {
  readonly thresholdMs: number;
  readonly pollMs: number;
  private worker: Worker | null = null;
  private beat: Float64Array | null = null;
  private control: Int32Array | null = null;
  private nextId = 1;
  private waiting = new Map<number, (r: WatchdogReply | null) => void>();
  private readonly onError: (err: unknown) => void;
  /** Why the worker is not running (failed to start or crashed), if so. */
  failure: string | null = null;

  constructor(o: WatchdogOptions = {}) {
    this.thresholdMs = o.thresholdMs ?? 250;
    this.pollMs = o.pollMs ?? 2000;
    this.onError = o.onError ?? (() => {});
  }

  start() {
    if (this.worker) return;
    const sab = new SharedArrayBuffer(8);
    const control = new SharedArrayBuffer(12);
    this.beat = new Float64Array(sab);
    this.control = new Int32Array(control);
    this.beat[0] = performance.timeOrigin + performance.now();
    const data: WatchdogData = { heartbeat: sab, control, thresholdMs: this.thresholdMs, pollMs: this.pollMs };
    try {
      this.worker = new Worker(new URL('./watchdog-worker.js', import.meta.url), { workerData: data, name: 'procd-watchdog', stdout: false, stderr: false });
    } catch (e) {
      this.failure = (e as Error).message;
      this.onError(e);
      return;
    }
    this.worker.on('message', (r: WatchdogReply | { type: 'ping' }) => {
      // A ping: the loop got to it, so it is not blocked.
      if ('type' in r) return void (this.beat![0] = performance.timeOrigin + performance.now());
      this.waiting.get(r.id)?.(r);
      this.waiting.delete(r.id);
    });
    this.worker.on('error', (e) => {
      this.failure = e.message;
      this.onError(e);
    });
    this.worker.on('exit', () => {
      this.worker = null;
      for (const w of this.waiting.values()) w(null);
      this.waiting.clear();
    });
    // After the listeners: adding a 'message' listener refs the worker's port again.
    this.worker.unref();
  }

  get threadId(): number | null {
    return this.worker?.threadId ?? null;
  }

  /** The watchdog's view: recent block episodes with the main stack; null when it is not running or does not answer in 2 s. */
  status(): Promise<WatchdogReply | null> {
    const w = this.worker;
    if (!w) return Promise.resolve(null);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiting.delete(id);
        resolve(null);
      }, 2000);
      t.unref();
      this.waiting.set(id, (r) => {
        clearTimeout(t);
        resolve(r);
      });
      w.postMessage({ type: 'status', id });
      this.wakeWorker();
    });
  }

  /**
   * Work is starting on the main thread: if the worker is asleep between idle looks, it looks now
   * (and then every 50 ms until the loop is idle again). Costs one atomic load when it is awake.
   */
  kick() {
    const c = this.control;
    if (!c || Atomics.load(c, 2) !== 1) return;
    Atomics.store(c, 2, 0);
    this.wakeWorker();
  }

  /** The worker sleeps in Atomics.wait between looks: wake it for a request. */
  private wakeWorker() {
    if (!this.control) return;
    Atomics.store(this.control, 0, 1);
    Atomics.notify(this.control, 0);
  }

  async stop() {
    const w = this.worker;
    this.worker = null;
    if (this.control) Atomics.store(this.control, 1, 1);
    this.wakeWorker();
    if (w) await w.terminate();
  }
}

/** `fn (url:line:col)` lines for a captured stack. */
export function formatFrames(frames: Frame[], indent = '  '): string[] {
  return frames.map((f) => `${indent}at ${f.fn} (${f.url || '<anonymous>'}:${f.line}:${f.column})`);
}
