// The journal's writer thread: inserts batches in transactions and runs retention steps, so the
// daemon's event loop (detection, wrapper, HTTP) never waits on SQLite. Messages in:
// {t:'write', rows} | {t:'prune', maxAgeMs, maxRows, batch} | {t:'close'}; out: {t:'written', n} |
// {t:'pruned', n} | {t:'closed'} | {t:'error', op, code, message}.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { StoredEvent } from './journal.js';
import { INSERT, pruneStep, toRow } from './rows.js';

const port = parentPort!;
const fail = (op: string, err: unknown) => port.postMessage({ t: 'error', op, code: (err as { code?: string }).code ?? null, message: err instanceof Error ? err.message : String(err) });

let db: Database.Database;
let write: (rows: StoredEvent[]) => void;
try {
  // Waiting for a lock here blocks only this thread.
  db = new Database((workerData as { path: string }).path, { timeout: 1000 });
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
  fail('open', err);
  port.close();
}

port.on('message', (m: { t: 'write'; rows: StoredEvent[] } | { t: 'prune'; maxAgeMs: number; maxRows: number; batch: number } | { t: 'close' }) => {
  try {
    if (m.t === 'write') {
      write(m.rows);
      port.postMessage({ t: 'written', n: m.rows.length });
    } else if (m.t === 'prune') {
      port.postMessage({ t: 'pruned', n: pruneStep(db, m) });
    } else {
      db.close();
      port.postMessage({ t: 'closed' });
      port.close();
    }
  } catch (err) {
    fail(m.t, err);
  }
});
