// The journal's writer, a task of the daemon's helper thread (src/thread): inserts batches in
// transactions and runs retention steps, so the daemon's event loop (detection, wrapper, HTTP)
// never waits on SQLite. Messages in: {t:'write', rows} | {t:'prune', maxAgeMs, maxRows, batch}
// | {t:'close'}; out: {t:'ready'} | {t:'written', n} | {t:'pruned', n} | {t:'closed'} |
// {t:'error', op, code, message}.
import Database from 'better-sqlite3';
import type { Task, TaskContext } from '../thread/index.js';
import type { StoredEvent } from './journal.js';
import { INSERT, pruneStep, toRow } from './rows.js';

type WriterMessage = { t: 'write'; rows: StoredEvent[] } | { t: 'prune'; maxAgeMs: number; maxRows: number; batch: number } | { t: 'close' };

export function createTask({ port, data }: TaskContext): Task {
  const fail = (op: string, err: unknown) => port.postMessage({ t: 'error', op, code: (err as { code?: string }).code ?? null, message: err instanceof Error ? err.message : String(err) });
  let db: Database.Database | null = null;
  let write: (rows: StoredEvent[]) => void = () => {};
  try {
    // Waiting for a lock here blocks only this thread.
    db = new Database((data as { path: string }).path, { timeout: 1000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // Index pages stay in memory (failure ids are random, so their index is written all over).
    db.pragma('cache_size = -65536');
    const insert = db.prepare(INSERT);
    write = db.transaction((rows: StoredEvent[]) => {
      for (const e of rows) insert.run(...toRow(e));
    });
    port.postMessage({ t: 'ready' });
  } catch (err) {
    db?.close();
    db = null;
    fail('open', err);
  }
  const close = () => {
    db?.close();
    db = null;
  };
  return {
    onMessage(raw) {
      const m = raw as WriterMessage;
      try {
        if (m.t === 'close') {
          close();
          port.postMessage({ t: 'closed' });
          return;
        }
        if (!db) throw Object.assign(new Error('the journal writer has no open database'), { code: 'PROCD_WRITER_CLOSED' });
        if (m.t === 'write') {
          write(m.rows);
          port.postMessage({ t: 'written', n: m.rows.length });
        } else {
          port.postMessage({ t: 'pruned', n: pruneStep(db, m) });
        }
      } catch (err) {
        fail(m.t, err);
      }
    },
    close,
  };
}
