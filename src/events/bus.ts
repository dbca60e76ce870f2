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
 * HTTP, reports...). Delivery is synchronous and in order: an event emitted by a listener
 * (the failover's wrapper-started, while process-lost is delivered) waits until the current
 * event has reached every listener, so each consumer sees events in the order they happened.
 * A listener that throws is isolated (reported through `onListenerError`) so one broken
 * consumer never stops detection.
 */
export class EventBus {
  private listeners: Listener[] = [];
  private queue: ProcdEvent[] = [];
  private delivering = false;
  onListenerError: (err: unknown, e: ProcdEvent) => void = () => {};

  emit(e: NewEvent): ProcdEvent {
    const ev = { ...e, time: e.time ?? nowUs() } as ProcdEvent;
    this.queue.push(ev);
    if (this.delivering) return ev;
    this.delivering = true;
    try {
      let next: ProcdEvent | undefined;
      while ((next = this.queue.shift())) this.deliver(next);
    } finally {
      this.delivering = false;
    }
    return ev;
  }

  private deliver(ev: ProcdEvent) {
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
  }

  /**
   * Subscribes to every event; returns the unsubscribe function. `first`: called before the
   * listeners already there (the failover, whose wrapper start the cluster waits for, goes
   * before logs and the journal).
   */
  subscribe(l: Listener, o: { first?: boolean } = {}): () => void {
    if (o.first) this.listeners.unshift(l);
    else this.listeners.push(l);
    return () => {
      this.listeners = this.listeners.filter((x) => x !== l);
    };
  }

  /** Subscribes to one kind. */
  on<K extends EventKind>(kind: K, l: (e: EventOf<K>) => void, o: { first?: boolean } = {}): () => void {
    return this.subscribe((e) => {
      if (e.kind === kind) l(e as EventOf<K>);
    }, o);
  }
}
