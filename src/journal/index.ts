export { Journal, DEFAULT_JOURNAL, matches } from './journal.js';
export type { StoredEvent, EventFilter, PageQuery, FailureRow, JournalStats, JournalOptions } from './journal.js';
export { parseDurationMs, parseTimeUs, isoUs } from './time.js';
export { EVENT_KINDS, isEventKind } from './kinds.js';
