import { Worker } from 'node:worker_threads';
import type { BlockEpisode, Frame, WatchdogData, WatchdogReply } from './watchdog-worker.js';

export type { BlockEpisode, Frame, WatchdogReply };

export interface WatchdogOptions {
  /** The loop counts as blocked when the heartbeat is older than this. */
  thresholdMs?: number;
  /** How often the main thread stamps the heartbeat. */
  beatMs?: number;
  /** How often the watchdog looks at it. */
  pollMs?: number;
  onError?: (err: unknown) => void;
}

/**
 * Main-thread side of the watchdog: a heartbeat in shared memory (an unref'd interval) and a
 * worker thread (unref'd: it never keeps the daemon alive) that captures the main stack
 * whenever the heartbeat stops. `status()` asks the worker what it saw.
 */
export class Watchdog {
  readonly thresholdMs: number;
  readonly beatMs: number;
  readonly pollMs: number;
  private worker: Worker | null = null;
  private beat: Float64Array | null = null;
  private timer: NodeJS.Timeout | null = null;
  private nextId = 1;
  private waiting = new Map<number, (r: WatchdogReply | null) => void>();
  private readonly onError: (err: unknown) => void;
  /** Why the worker is not running (failed to start or crashed), if so. */
  failure: string | null = null;

  constructor(o: WatchdogOptions = {}) {
    this.thresholdMs = o.thresholdMs ?? 250;
    this.beatMs = o.beatMs ?? 50;
    this.pollMs = o.pollMs ?? 50;
    this.onError = o.onError ?? (() => {});
  }

  start() {
    if (this.worker) return;
    const sab = new SharedArrayBuffer(8);
    this.beat = new Float64Array(sab);
    const stamp = () => (this.beat![0] = performance.timeOrigin + performance.now());
    stamp();
    this.timer = setInterval(stamp, this.beatMs);
    this.timer.unref();
    const data: WatchdogData = { heartbeat: sab, thresholdMs: this.thresholdMs, pollMs: this.pollMs, beatMs: this.beatMs };
    try {
      this.worker = new Worker(new URL('./watchdog-worker.js', import.meta.url), { workerData: data, name: 'procd-watchdog', stdout: false, stderr: false });
    } catch (e) {
      this.failure = (e as Error).message;
      this.onError(e);
      return;
    }
    this.worker.on('message', (r: WatchdogReply) => {
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
    });
  }

  async stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}

/** `fn (url:line:col)` lines for a captured stack. */
export function formatFrames(frames: Frame[], indent = '  '): string[] {
  return frames.map((f) => `${indent}at ${f.fn} (${f.url || '<anonymous>'}:${f.line}:${f.column})`);
}
