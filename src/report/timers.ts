import { createHook } from 'node:async_hooks';
import { REPORT_INTERNAL } from './registry.js';

/** Node's Timeout object, read defensively: these fields are internal to Node. */
interface TimeoutLike {
  _idleTimeout?: number;
  _idleStart?: number;
  _repeat?: number | null;
  _destroyed?: boolean;
  _onTimeout?: ((...a: unknown[]) => unknown) | null;
  hasRef?: () => boolean;
}

export interface TimerInfo {
  /** Milliseconds until it fires (negative: overdue, the loop has not got to it yet). */
  firesInMs: number;
  /** Repeat period for setInterval, else null. */
  repeatMs: number | null;
  /** Whether it keeps the process alive. */
  ref: boolean;
  /** The callback's name, or the start of its source. */
  callback: string;
}

/** Describes a callback: its name, else the first 60 characters of its source on one line. */
function describe(fn: unknown): string {
  if (typeof fn !== 'function') return '?';
  if (fn.name && fn.name !== 'bound ') return fn.name;
  const src = Function.prototype.toString.call(fn).replace(/\s+/g, ' ');
  if (src.includes('[native code]')) return '(native or Node-internal function)';
  return src.length > 60 ? `${src.slice(0, 57)}...` : src;
}

/**
 * Tracks the timers of this thread (setTimeout/setInterval), so a report can say what is
 * scheduled and when it fires. Node keeps no public list of them; the async_hooks `init`
 * callback hands over each Timeout object, held here by WeakRef (never kept alive).
 */
export class TimerTracker {
  private timers = new Map<number, WeakRef<TimeoutLike>>();
  private hook = createHook({
    init: (id, type, _trigger, resource) => {
      if (type === 'Timeout') this.timers.set(id, new WeakRef(resource as TimeoutLike));
    },
    destroy: (id) => {
      this.timers.delete(id);
    },
  });

  enable(): this {
    this.hook.enable();
    return this;
  }

  disable() {
    this.hook.disable();
    this.timers.clear();
  }

  /** The live timers, soonest first. */
  list(): TimerInfo[] {
    // The loop's clock, as Node's own timers read it (a timer's _idleStart is in that clock).
    const probe = setTimeout(() => {}, 0) as unknown as TimeoutLike;
    const now = probe._idleStart;
    clearTimeout(probe as unknown as NodeJS.Timeout);
    const out: TimerInfo[] = [];
    for (const [id, ref] of this.timers) {
      const t = ref.deref();
      if (!t || t._destroyed || t === probe || (t as Record<symbol, unknown>)[REPORT_INTERNAL] || typeof t._idleTimeout !== 'number' || t._idleTimeout < 0) {
        if (!t || t._destroyed) this.timers.delete(id);
        continue;
      }
      const firesInMs = typeof now === 'number' && typeof t._idleStart === 'number' ? t._idleStart + t._idleTimeout - now : NaN;
      out.push({ firesInMs, repeatMs: typeof t._repeat === 'number' ? t._repeat : null, ref: t.hasRef ? t.hasRef() : true, callback: describe(t._onTimeout) });
    }
    return out.sort((a, b) => a.firesInMs - b.firesInMs);
  }
}
