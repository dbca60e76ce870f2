import type { EventKind } from '../events/types.js';

const ALL: Record<EventKind, true> = {
  'daemon-started': true,
  'daemon-stopped': true,
  'daemon-reloaded': true,
  'resource-added': true,
  'resource-removed': true,
  'process-found': true,
  'process-lost': true,
  'wrapper-started': true,
  'wrapper-finished': true,
  'wrapper-retry': true,
  'failcount-written': true,
  'failure-reported': true,
  'report-failed': true,
};

/** Every event kind (the compiler checks this list against the ProcdEvent union). */
export const EVENT_KINDS = Object.keys(ALL) as EventKind[];

export function isEventKind(s: string): s is EventKind {
  return Object.hasOwn(ALL, s);
}
