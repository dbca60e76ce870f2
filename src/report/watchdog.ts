import { HelperThread, type TaskHandle } from '../thread/index.js';
import type { BlockEpisode, Frame, WatchdogData, WatchdogReply } from './watchdog-worker.js';

export type { BlockEpisode, Frame, WatchdogReply };

export interface WatchdogOptions {
  /** The loop counts as blocked when it has not answered a ping for this long. */
  thresholdMs?: number;
  /** How often the watchdog looks at the main thread while it idles (kick() makes it look at once). */
  pollMs?: number;
  onError?: (err: unknown) => void;
  /** The daemon's helper thread; the watchdog starts one of its own when unset. */
  thread?: HelperThread;
}

/**
 * Main-thread side of the watchdog: a task of the helper thread (which never keeps the daemon
 * alive) that watches which system call the main thread is in, pings it when it is not idle in epoll,
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
  private worker: TaskHandle | null = null;
  /** The thread it runs in (shared with the journal's writer in the daemon). */
  readonly thread: HelperThread;
  private readonly ownThread: boolean;
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
    this.thread = o.thread ?? new HelperThread('procd-watchdog');
    this.ownThread = !o.thread;
  }

  start() {
    if (this.worker) return;
    const sab = new SharedArrayBuffer(8);
    const control = new SharedArrayBuffer(4);
    this.beat = new Float64Array(sab);
    this.control = new Int32Array(control);
    this.beat[0] = performance.timeOrigin + performance.now();
    const data: WatchdogData = { heartbeat: sab, control, thresholdMs: this.thresholdMs, pollMs: this.pollMs };
    try {
      this.worker = this.thread.attach(new URL('./watchdog-worker.js', import.meta.url), data, 'report watchdog');
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
    });
  }

  /**
   * Work is starting on the main thread: if the worker is asleep between idle looks, it looks now
   * (and then every 50 ms until the loop is idle again). Costs one atomic load when it is awake.
   */
  kick() {
    const c = this.control;
    if (!c || !this.worker || Atomics.load(c, 0) !== 1) return;
    Atomics.store(c, 0, 0);
    this.worker.wake();
  }

  async stop() {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
    if (this.ownThread) await this.thread.stop();
  }
}

/** `fn (url:line:col)` lines for a captured stack. */
export function formatFrames(frames: Frame[], indent = '  '): string[] {
  return frames.map((f) => `${indent}at ${f.fn} (${f.url || '<anonymous>'}:${f.line}:${f.column})`);
}
