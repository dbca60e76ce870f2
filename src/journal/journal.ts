import Database from 'better-sqlite3';
import { existsSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { HelperThread, type TaskHandle } from '../thread/index.js';
import type { Logger } from 'pino';
import { errorLine } from '../errors.js';
import type { EventKind, ProcdEvent } from '../events/index.js';
import { INSERT, pruneStep, SCHEMA, toRow } from './rows.js';
import { makeDirs } from '../mkdirs.js';

export { DEFAULT_JOURNAL } from '../daemon/options.js';

/** An event as the journal keeps it: the bus event plus its journal id and the node it happened on. */
export type StoredEvent = ProcdEvent & { id: number; node: string };

export interface EventFilter {
  resource?: string;
  kinds?: EventKind[];
  node?: string;
  process?: string;
  failureId?: string;
  /** Microseconds since the epoch, inclusive. */
  sinceUs?: number;
  /** Microseconds since the epoch, exclusive. */
  untilUs?: number;
}

export interface PageQuery extends EventFilter {
  /** Only events with a larger id (asc) or a smaller id (desc). */
  afterId?: number;
  limit: number;
  order?: 'asc' | 'desc';
}

/** One failure (all events sharing a failure id), with its timings (StackTach's "Timing"). */
export interface FailureRow {
  failureId: string;
  node: string;
  resource: string | null;
  failResource: string | null;
  process: string | null;
  pid: number | null;
  reason: string | null;
  /** µs since the epoch: the process-lost event. */
  detected: number | null;
  /** µs: the first wrapper attempt started / the last attempt finished. */
  wrapperStarted: number | null;
  wrapperFinished: number | null;
  attempts: number;
  /** reported (fail-count written), failed (every try failed), pending (still running). */
  outcome: 'reported' | 'failed' | 'pending';
  failcount: number | null;
  /** ms from detection to the first wrapper start, to the last wrapper finish, and to the outcome. */
  detectedToWrapperMs: number | null;
  wrapperMs: number | null;
  totalMs: number | null;
  /** Number of journal events of this failure. */
  events: number;
}

export interface JournalStats {
  path: string;
  /** open: writing; unavailable: cannot open or write, buffering and retrying; closed. */
  state: 'open' | 'unavailable' | 'closed';
  error: string | null;
  written: number;
  buffered: number;
  dropped: number;
  pruned: number;
  lastId: number;
}

export interface JournalOptions {
  path: string;
  /** This daemon's node: the node column of events that do not name one. */
  node: string;
  log: Logger;
  /** Delete events older than this (ms); 0 or unset keeps them. */
  maxAgeMs?: number;
  /** Keep at most this many events; 0 or unset keeps all. */
  maxRows?: number;
  /** Events kept in memory while the database cannot be written; newer ones are dropped and counted. */
  bufferMax?: number;
  /** Rows per write transaction; the writer yields to the event loop between transactions. */
  chunk?: number;
  /** How often an unavailable journal is retried. */
  retryMs?: number;
  /** How often retention runs, and how many rows one retention step deletes. */
  retentionEveryMs?: number;
  pruneBatch?: number;
  /** The daemon's helper thread, where the writer runs; the journal starts one of its own when unset. */
  thread?: HelperThread;
}

interface Row {
  id: number;
  time: number;
  kind: string;
  node: string;
  resource: string | null;
  process: string | null;
  pid: number | null;
  reason: string | null;
  failure_id: string | null;
  data: string;
}

function isCorrupt(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB';
}

function fromRow(r: Row): StoredEvent {
  const e: Record<string, unknown> = { id: r.id, time: r.time, kind: r.kind, node: r.node };
  if (r.resource !== null) e.resource = r.resource;
  if (r.process !== null) e.process = r.process;
  if (r.pid !== null) e.pid = r.pid;
  if (r.reason !== null) e.reason = r.reason;
  if (r.failure_id !== null) e.failureId = r.failure_id;
  Object.assign(e, JSON.parse(r.data));
  return e as unknown as StoredEvent;
}

/** Whether a stored event passes a filter (the in-memory twin of the SQL WHERE clause). */
export function matches(e: StoredEvent, f: EventFilter): boolean {
  const x = e as unknown as Record<string, unknown>;
  if (f.resource !== undefined && x.resource !== f.resource) return false;
  if (f.kinds !== undefined && f.kinds.length > 0 && !f.kinds.includes(e.kind)) return false;
  if (f.node !== undefined && e.node !== f.node) return false;
  if (f.process !== undefined && x.process !== f.process) return false;
  if (f.failureId !== undefined && x.failureId !== f.failureId) return false;
  if (f.sinceUs !== undefined && e.time < f.sinceUs) return false;
  if (f.untilUs !== undefined && e.time >= f.untilUs) return false;
  return true;
}

function where(f: EventFilter): { sql: string[]; args: unknown[] } {
  const sql: string[] = [];
  const args: unknown[] = [];
  if (f.resource !== undefined) (sql.push('resource = ?'), args.push(f.resource));
  if (f.kinds !== undefined && f.kinds.length > 0) (sql.push(`kind IN (${f.kinds.map(() => '?').join(',')})`), args.push(...f.kinds));
  if (f.node !== undefined) (sql.push('node = ?'), args.push(f.node));
  if (f.process !== undefined) (sql.push('process = ?'), args.push(f.process));
  if (f.failureId !== undefined) (sql.push('failure_id = ?'), args.push(f.failureId));
  if (f.sinceUs !== undefined) (sql.push('time >= ?'), args.push(f.sinceUs));
  if (f.untilUs !== undefined) (sql.push('time < ?'), args.push(f.untilUs));
  return { sql, args };
}

/**
 * The event journal: every bus event appended to SQLite (better-sqlite3, WAL). append() only
 * stamps an id and buffers; a worker thread writes the rows in transactions and runs retention,
 * so the journal never delays detection or the wrapper. When the file cannot be opened or
 * written the daemon goes on: one error line, a bounded buffer, dropped events counted, a retry
 * every few seconds. A corrupt file is moved aside and a new one started. Reads (the API) use
 * the main thread's own connection; events not yet on disk are read from memory.
 */
export class Journal {
  readonly path: string;
  private readonly o: Required<Omit<JournalOptions, 'log' | 'thread'>> & { log: Logger };
  private readonly thread: HelperThread;
  /** The thread is the journal's own (no `thread` option): stopped at close(). */
  private readonly ownThread: boolean;
  /** The main thread's connection: opens and checks the file, serves reads, writes at close. */
  private db: Database.Database | null = null;
  private worker: TaskHandle | null = null;
  /** Accepted, not yet handed to the writer. */
  private buffer: StoredEvent[] = [];
  /** Handed to the writer, not yet confirmed. */
  private inflight: StoredEvent[] = [];
  private seq = 0;
  private sendScheduled = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private retentionTimer: NodeJS.Timeout | null = null;
  private pruning: Promise<number> | null = null;
  private pruneReply: ((n: number) => void) | null = null;
  private drained: (() => void)[] = [];
  private closed = false;
  private error: string | null = null;
  private dropping = false;
  private listeners: ((e: StoredEvent) => void)[] = [];
  written = 0;
  dropped = 0;
  pruned = 0;

  constructor(o: JournalOptions) {
    const { thread, ...rest } = o;
    this.o = { maxAgeMs: 0, maxRows: 0, bufferMax: 100_000, chunk: 5000, retryMs: 2000, retentionEveryMs: 10_000, pruneBatch: 1000, ...rest };
    this.thread = thread ?? new HelperThread('procd-journal');
    this.ownThread = !thread;
    this.path = o.path;
  }

  /** Opens (or creates) the database. Never throws: a failure is logged and retried. */
  open(): this {
    this.tryOpen();
    this.retentionOn = this.o.maxAgeMs > 0 || this.o.maxRows > 0;
    this.scheduleRetention(this.o.retentionEveryMs);
    return this;
  }

  /** Calls `fn` (synchronously, in order) for every event accepted, with its journal id. */
  onEvent(fn: (e: StoredEvent) => void): () => void {
    this.listeners.push(fn);
    return () => {
      this.listeners = this.listeners.filter((x) => x !== fn);
    };
  }

  /** Accepts one event: gives it an id and queues it for writing. Cheap; never touches the disk. */
  append(ev: ProcdEvent): StoredEvent | null {
    if (this.closed || this.buffer.length + this.inflight.length >= this.o.bufferMax) {
      this.dropped++;
      if (!this.dropping) {
        this.dropping = true;
        this.o.log.error(
          { journal: this.path, buffered: this.buffer.length + this.inflight.length },
          this.closed
            ? `journal ${this.path}: closed; dropping events`
            : `journal ${this.path}: ${this.o.bufferMax} events wait in memory (the limit); dropping new events until the journal can be written (counted in journal drops)`,
        );
      }
      return null;
    }
    const e = { ...ev, id: ++this.seq, node: (ev as { node?: string }).node ?? this.o.node } as StoredEvent;
    this.buffer.push(e);
    for (const l of this.listeners) l(e);
    this.schedule();
    if (this.retentionIdle) {
      this.retentionIdle = false;
      this.scheduleRetention(this.o.retentionEveryMs);
    }
    return e;
  }

  stats(): JournalStats {
    return {
      path: this.path,
      state: this.closed ? 'closed' : this.db && this.worker && this.error === null ? 'open' : 'unavailable',
      error: this.error,
      written: this.written,
      buffered: this.buffer.length + this.inflight.length,
      dropped: this.dropped,
      pruned: this.pruned,
      lastId: this.seq,
    };
  }

  /** Resolves when everything accepted so far is on disk (or the journal is unavailable). */
  drain(): Promise<void> {
    if ((this.buffer.length === 0 && this.inflight.length === 0) || !this.worker) return Promise.resolve();
    return new Promise((r) => this.drained.push(r));
  }

  /**
   * SIGTERM: waits (bounded) for the writer, stops it, then writes whatever is left from this
   * thread, so nothing accepted is lost; logs what could not be written. Stops the timers.
   */
  async close(waitMs = 5000) {
    if (this.closed) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.retentionTimer) clearTimeout(this.retentionTimer);
    this.retentionOn = false;
    this.retryTimer = this.retentionTimer = null;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.drain(), new Promise((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
    await this.stopWorker(true);
    if (this.ownThread) await this.thread.stop();
    this.closed = true;
    const left = [...this.inflight, ...this.buffer];
    this.inflight = [];
    this.buffer = [];
    if (left.length > 0) {
      if (!this.db) this.openMain();
      try {
        if (!this.db) throw new Error(this.error ?? 'not open');
        const insert = this.db.prepare(INSERT);
        this.db.transaction(() => left.forEach((e) => insert.run(...toRow(e))))();
        this.written += left.length;
      } catch (err) {
        this.o.log.error({ journal: this.path, lost: left.length }, `journal ${this.path}: ${left.length} events could not be written before exit: ${errorLine(err)}`);
      }
    }
    try {
      this.db?.close();
    } catch {
      /* closing anyway */
    }
    this.db = null;
  }

  /** One page of events, oldest first (asc) or newest first (desc); events not yet on disk are included. */
  page(q: PageQuery): StoredEvent[] {
    const order = q.order ?? 'asc';
    const after = (id: number) => q.afterId === undefined || (order === 'asc' ? id > q.afterId : id < q.afterId);
    const byId = new Map<number, StoredEvent>();
    if (this.db) {
      const { sql, args } = where(q);
      if (q.afterId !== undefined) (sql.push(order === 'asc' ? 'id > ?' : 'id < ?'), args.push(q.afterId));
      const rows = this.readSafely(
        () => this.db!.prepare(`SELECT * FROM events ${sql.length ? `WHERE ${sql.join(' AND ')}` : ''} ORDER BY id ${order === 'asc' ? 'ASC' : 'DESC'} LIMIT ?`).all(...args, q.limit) as Row[],
      );
      for (const r of rows) byId.set(r.id, fromRow(r));
    }
    // Memory holds the newest ids (not yet on disk, or on disk but not confirmed yet).
    for (const e of [...this.inflight, ...this.buffer]) if (!byId.has(e.id) && after(e.id) && matches(e, q)) byId.set(e.id, e);
    return [...byId.values()].sort((x, y) => (order === 'asc' ? x.id - y.id : y.id - x.id)).slice(0, q.limit);
  }

  /** One event by id (written or still in memory), or null. */
  get(id: number): StoredEvent | null {
    const m = this.buffer.find((e) => e.id === id) ?? this.inflight.find((e) => e.id === id);
    if (m) return m;
    if (!this.db) return null;
    const r = this.readSafely(() => this.db!.prepare('SELECT * FROM events WHERE id = ?').get(id) as Row | undefined);
    return r ? fromRow(r) : null;
  }

  /** The last event of each kind given, per resource (e.g. the last fail-count written). */
  lastPerResource(kind: EventKind): StoredEvent[] {
    if (!this.db) return [];
    const rows = this.readSafely(
      () => this.db!.prepare('SELECT e.* FROM events e JOIN (SELECT MAX(id) id FROM events WHERE kind = ? GROUP BY resource) m ON e.id = m.id').all(kind) as Row[],
    );
    return rows.map(fromRow);
  }

  /** One row per failure id, newest first, with its timings. */
  failures(q: { resource?: string; failureId?: string; sinceUs?: number; limit: number }): FailureRow[] {
    if (!this.db) return [];
    // The newest failures first, picked by their process-lost row (kind index, newest first);
    // then only their events are aggregated, so a large journal is not scanned on the main thread.
    const cond: string[] = ["kind = 'process-lost'", 'failure_id IS NOT NULL'];
    const args: unknown[] = [];
    if (q.resource !== undefined) (cond.push('resource = ?'), args.push(q.resource));
    if (q.failureId !== undefined) (cond.push('failure_id = ?'), args.push(q.failureId));
    if (q.sinceUs !== undefined) (cond.push('time >= ?'), args.push(q.sinceUs));
    const rows = this.readSafely(
      () =>
        this.db!.prepare(
          `SELECT failure_id, MIN(id) first_id, COUNT(*) n, MAX(node) node, MAX(resource) resource,
             MAX(CASE WHEN kind = 'process-lost' THEN json_extract(data, '$.failResource') END) fail_resource,
             MAX(CASE WHEN kind = 'process-lost' THEN process END) process,
             MAX(CASE WHEN kind = 'process-lost' THEN pid END) pid,
             MAX(CASE WHEN kind = 'process-lost' THEN reason END) reason,
             MIN(CASE WHEN kind = 'process-lost' THEN time END) detected,
             MIN(CASE WHEN kind = 'wrapper-started' THEN time END) wrapper_started,
             MAX(CASE WHEN kind = 'wrapper-finished' THEN time END) wrapper_finished,
             SUM(kind = 'wrapper-started') attempts,
             MAX(CASE WHEN kind = 'failcount-written' THEN json_extract(data, '$.value') END) failcount,
             MAX(CASE WHEN kind = 'failure-reported' THEN time END) reported,
             MAX(CASE WHEN kind = 'report-failed' THEN time END) failed
           FROM events
           WHERE failure_id IN (SELECT failure_id FROM events WHERE ${cond.join(' AND ')} ORDER BY id DESC LIMIT ?)
           GROUP BY failure_id ORDER BY first_id DESC`,
        ).all(...args, q.limit) as Record<string, number | string | null>[],
    );
    const ms = (a: number | string | null, b: number | string | null) => (a === null || b === null ? null : Math.round((Number(b) - Number(a)) / 10) / 100);
    return rows.map((r) => {
      const end = r.reported ?? r.failed;
      return {
        failureId: String(r.failure_id),
        node: String(r.node),
        resource: r.resource as string | null,
        failResource: r.fail_resource as string | null,
        process: r.process as string | null,
        pid: r.pid as number | null,
        reason: r.reason as string | null,
        detected: r.detected as number | null,
        wrapperStarted: r.wrapper_started as number | null,
        wrapperFinished: r.wrapper_finished as number | null,
        attempts: Number(r.attempts ?? 0),
        outcome: r.reported !== null ? 'reported' : r.failed !== null ? 'failed' : 'pending',
        failcount: r.failcount as number | null,
        detectedToWrapperMs: ms(r.detected, r.wrapper_started),
        wrapperMs: ms(r.wrapper_started, r.wrapper_finished),
        totalMs: ms(r.detected, end),
        events: Number(r.n),
      };
    });
  }

  /**
   * Retention runs every `retentionEveryMs` while events come in. An idle daemon's journal does
   * not change: after a prune that found nothing to delete with nothing appended meanwhile, the
   * row limit cannot be over and the age limit moves slowly, so the next one is a minute away
   * (neither the main thread nor the writer is woken every 10 s); the next append brings it back.
   */
  private retentionTick() {
    const every = this.o.retentionEveryMs;
    if (this.pruning) return this.scheduleRetention(every);
    const seq = this.seq;
    void this.prune().then((n) => {
      this.retentionIdle = n === 0 && seq === this.seq;
      this.scheduleRetention(this.retentionIdle ? Math.max(60_000, every) : every);
    });
  }

  /** Retention in `ms` (or sooner, if it is already due sooner). */
  private scheduleRetention(ms: number) {
    if (!this.retentionOn || this.closed) return;
    const due = Date.now() + ms;
    if (this.retentionTimer && this.retentionDue <= due) return;
    if (this.retentionTimer) clearTimeout(this.retentionTimer);
    this.retentionDue = due;
    this.retentionTimer = setTimeout(() => {
      this.retentionTimer = null;
      this.retentionTick();
    }, ms);
    this.retentionTimer.unref();
  }
  private retentionOn = false;
  /** The last prune found nothing, and nothing was appended since: the next one is a minute away. */
  private retentionIdle = false;
  private retentionDue = 0;

  /**
   * Applies --journal-max-age and --journal-max-rows: the writer deletes in small batches, one
   * message each, so writes go on in between. Resolves to the rows deleted.
   */
  prune(): Promise<number> {
    if (this.pruning) return this.pruning;
    const step = async (): Promise<number> => {
      let total = 0;
      for (;;) {
        const w = this.worker;
        if (!w || this.closed) return total;
        w.ref?.();
        const n = await new Promise<number>((resolve) => {
          this.pruneReply = resolve;
          w.postMessage({ t: 'prune', maxAgeMs: this.o.maxAgeMs, maxRows: this.o.maxRows, batch: this.o.pruneBatch });
        });
        if (this.inflight.length === 0) w.unref?.();
        total += n;
        this.pruned += n;
        if (n < this.o.pruneBatch) return total;
      }
    };
    this.pruning = step().finally(() => (this.pruning = null));
    return this.pruning;
  }

  private readSafely<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (isCorrupt(err)) this.recoverCorrupt(err);
      throw err;
    }
  }

  private schedule() {
    if (this.sendScheduled || !this.worker || this.inflight.length > 0 || this.closed) return;
    this.sendScheduled = true;
    setImmediate(() => {
      this.sendScheduled = false;
      if (!this.worker || this.inflight.length > 0 || this.buffer.length === 0) return;
      this.inflight = this.buffer.splice(0, this.o.chunk);
      // Referenced while it holds rows: a pending write keeps the process alive; an idle writer does not.
      this.worker.ref?.();
      this.worker.postMessage({ t: 'write', rows: this.inflight });
    });
  }

  private onMessage(w: TaskHandle, m: { t: string; n?: number; op?: string; code?: string | null; message?: string }) {
    if (w !== this.worker) return;
    switch (m.t) {
      case 'written':
        this.written += this.inflight.length;
        this.inflight = [];
        if (this.error !== null) {
          this.o.log.info({ journal: this.path }, `journal ${this.path}: writable again (${this.buffer.length} events still to write, ${this.dropped} dropped)`);
          this.error = null;
        }
        this.dropping = false;
        if (this.buffer.length > 0) this.schedule();
        else {
          w.unref?.();
          for (const r of this.drained.splice(0)) r();
        }
        break;
      case 'ready':
        if (this.buffer.length > 0) this.schedule();
        else if (this.error !== null && this.inflight.length === 0) this.error = null;
        break;
      case 'pruned':
        this.pruneReply?.((m.n ?? 0));
        this.pruneReply = null;
        break;
      case 'error': {
        const err = Object.assign(new Error(m.message ?? 'unknown error'), { code: m.code ?? undefined });
        if (m.op === 'prune') {
          this.o.log.warn({ journal: this.path }, `journal ${this.path}: retention step failed: ${errorLine(err)}`);
          this.pruneReply?.(0);
          this.pruneReply = null;
          break;
        }
        this.buffer.unshift(...this.inflight);
        this.inflight = [];
        if (isCorrupt(err)) this.recoverCorrupt(err);
        else this.unavailable(m.op === 'open' ? 'cannot open' : 'cannot write', err);
      }
    }
  }

  private startWorker() {
    const w = this.thread.attach(new URL('./writer.js', import.meta.url), { path: this.path }, 'journal writer');
    this.worker = w;
    w.on('message', (m) => this.onMessage(w, m));
    w.on('error', (err) => {
      if (w !== this.worker) return;
      this.buffer.unshift(...this.inflight);
      this.inflight = [];
      this.unavailable('writer failed', err);
    });
  }

  /** Stops the writer: `graceful` lets it close its connection (WAL checkpointed) first, for at most 1 s. */
  private async stopWorker(graceful = false) {
    const w = this.worker;
    this.worker = null;
    if (!w) return;
    this.pruneReply?.(0);
    this.pruneReply = null;
    if (graceful && this.inflight.length === 0 && this.path !== ':memory:') {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => {
          w.on?.('message', (m: { t: string }) => m.t === 'closed' && resolve());
          w.on?.('exit', () => resolve());
          w.ref?.();
          w.postMessage({ t: 'close' });
        }),
        new Promise((r) => (timer = setTimeout(r, 1000))),
      ]);
      clearTimeout(timer);
    }
    await w.terminate().catch(() => {});
  }

  /** Opens the main connection: creates the schema, checks the file reads, continues the ids. */
  private openMain(): boolean {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        if (this.path !== ':memory:') makeDirs(dirname(this.path));
        const db = new Database(this.path, { timeout: 20 });
        try {
          db.pragma('journal_mode = WAL');
          db.pragma('synchronous = NORMAL');
          db.exec(SCHEMA);
          const max = (db.prepare('SELECT MAX(id) m FROM events').get() as { m: number | null }).m ?? 0;
          // Ids handed out while the file was unavailable stay unique.
          if (max >= (this.buffer[0]?.id ?? this.seq + 1)) {
            let id = max;
            for (const e of this.buffer) e.id = ++id;
            this.seq = id;
          }
          this.seq = Math.max(this.seq, max);
        } catch (err) {
          db.close();
          throw err;
        }
        this.db = db;
        return true;
      } catch (err) {
        if (attempt === 0 && isCorrupt(err)) {
          this.moveAside(err);
          continue;
        }
        this.unavailable('cannot open', err);
        return false;
      }
    }
    return false;
  }

  private tryOpen(): boolean {
    if (!this.openMain()) return false;
    // An in-memory journal (no --journal file) has only the main connection: it writes there.
    if (this.path === ':memory:') {
      this.startMemoryWriter();
      return true;
    }
    this.startWorker();
    return true;
  }

  /** For ':memory:' a worker cannot share the database: a writer on this thread, in setImmediate batches. */
  private startMemoryWriter() {
    const db = this.db!;
    const insert = db.prepare(INSERT);
    const write = db.transaction((rows: StoredEvent[]) => rows.forEach((e) => insert.run(...toRow(e))));
    const fake = {
      postMessage: (m: { t: string; rows?: StoredEvent[]; maxAgeMs?: number; maxRows?: number; batch?: number }) =>
        setImmediate(() => {
          try {
            if (m.t === 'write') (write(m.rows!), this.onMessage(fake, { t: 'written', n: m.rows!.length }));
            else if (m.t === 'prune') this.onMessage(fake, { t: 'pruned', n: pruneStep(db, { maxAgeMs: m.maxAgeMs!, maxRows: m.maxRows!, batch: m.batch! }) });
          } catch (err) {
            this.onMessage(fake, { t: 'error', op: m.t, code: (err as { code?: string }).code ?? null, message: errorLine(err) });
          }
        }),
      terminate: async () => 0,
      ref: () => {},
      unref: () => {},
    } as unknown as TaskHandle;
    this.worker = fake;
  }

  private recoverCorrupt(err: unknown) {
    void this.stopWorker();
    try {
      this.db?.close();
    } catch {
      /* it is corrupt */
    }
    this.db = null;
    this.moveAside(err);
    this.tryOpen();
  }

  private moveAside(err: unknown) {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
    const aside = `${this.path}.corrupt-${stamp}`;
    try {
      renameSync(this.path, aside);
      for (const ext of ['-wal', '-shm']) if (existsSync(this.path + ext)) renameSync(this.path + ext, aside + ext);
      this.o.log.error({ journal: this.path, movedTo: aside }, `journal ${this.path} is corrupt (${errorLine(err)}); moved it aside to ${aside} and started a new one`);
    } catch (e) {
      this.o.log.error({ journal: this.path }, `journal ${this.path} is corrupt (${errorLine(err)}) and could not be moved aside: ${errorLine(e)}`);
    }
  }

  private unavailable(what: string, err: unknown) {
    void this.stopWorker();
    try {
      this.db?.close();
    } catch {
      /* already broken */
    }
    this.db = null;
    for (const r of this.drained.splice(0)) r();
    const code = (err as { code?: string }).code;
    const msg = `${what}: ${errorLine(err)}${code && !errorLine(err).includes(code) ? ` (${code})` : ''}`;
    if (this.error === null)
      this.o.log.error(
        { journal: this.path },
        `journal ${this.path}: ${msg}; monitoring and failover go on, up to ${this.o.bufferMax} events wait in memory, retrying every ${this.o.retryMs / 1000} s`,
      );
    this.error = msg;
    if (!this.closed && !this.retryTimer) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        if (!this.closed) this.tryOpen();
      }, this.o.retryMs);
      this.retryTimer.unref();
    }
  }
}
