import type { EventKind, EventOf, NewEvent, ProcdEvent } from './types.js';

type Listener = (e: ProcdEvent) => void;

/** Microseconds since the epoch, monotonic-corrected within the process. */
const originUs = Date.now() * 1000;
const originHr = process.hrtime.bigint();
export function nowUs(): number {
  return originUs + Number((process.hrtime.bigint() - originHr) / 1000n);
}

/**
 * The one-way channel from producers (monitor, failover, daemon) to consumers (logs, journal,
 * HTTP, reports...). Delivery is synchronous and in order; a listener that throws is isolated
 * (reported through `onListenerError`) so one broken consumer never stops detection.
 */
export class EventBus {
  private listeners: Listener[] = [];
  onListenerError: (err: unknown, e: ProcdEvent) => void = () => {};

  emit(e: NewEvent): ProcdEvent {
    const ev = { ...e, time: e.time ?? nowUs() } as ProcdEvent;
    for (const l of this.listeners) {
      try {
        l(ev);
      } catch (err) {
        try {
          this.onListenerError(err, ev);
        } catch {
          /* never let a consumer break the producer */
        }
      }
    }
    return ev;
  }

  /** Subscribes to every event; returns the unsubscribe function. */
  subscribe(l: Listener): () => void {
    this.listeners.push(l);
    return () => {
      this.listeners = this.listeners.filter((x) => x !== l);
    };
  }

  /** Subscribes to one kind. */
  on<K extends EventKind>(kind: K, l: (e: EventOf<K>) => void): () => void {
    return this.subscribe((e) => {
      if (e.kind === kind) l(e as EventOf<K>);
    });
  }
}
