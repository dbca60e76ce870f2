import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { Journal, type JournalOptions } from '../../src/journal/index.js';
import type { NewEvent, ProcdEvent } from '../../src/events/index.js';
import { nowUs } from '../../src/events/index.js';
import { DaemonProc, ROOT } from '../helpers/daemon.js';
import { killAll, spawnNamed, uniqueName, waitFor } from '../helpers/procs.js';
import { tempDir } from '../helpers/wrappers.js';
import { crmFailcount, twoNodeCib } from '../helpers/cibs.js';

const open: Journal[] = [];
const daemons: DaemonProc[] = [];
afterEach(async () => {
  for (const j of open.splice(0)) await j.close();
  killAll();
  await Promise.all(daemons.splice(0).map((d) => d.stop('SIGKILL')));
});

function logger() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines, errors: () => lines.filter((l) => l.level >= 50) };
}

function journal(path: string, o: Partial<JournalOptions> = {}) {
  const l = logger();
  const j = new Journal({ path, node: 'node1', log: l.log, ...o });
  open.push(j);
  return { j: j.open(), ...l };
}

function ev(e: NewEvent, time = nowUs()): ProcdEvent {
  return { ...e, time } as ProcdEvent;
}

const lost = (failureId: string, time?: number) =>
  ev({ kind: 'process-lost', resource: 'web', failResource: 'web', process: 'proc_app', prefix: 'app', pid: 4242, reason: 'exited', failureId }, time);

test('events land in real indexed columns (time in µs, node, resource, process, pid, kind, reason, failure id) with the rest as JSON', async () => {
  const dir = tempDir('journal');
  const path = join(dir, 'j.db');
  const { j, errors } = journal(path);
  const t = nowUs();
  j.append(ev({ kind: 'process-found', resource: 'web', process: 'proc_app', prefix: 'app', pid: 4242, starttime: 99, cmdline: 'app --x' }, t));
  j.append(lost('f-1', t + 1));
  await waitFor('written', () => j.stats().written === 2);
  assert.deepEqual(errors(), []);

  const db = new Database(path, { readonly: true });
  const cols = (db.prepare('PRAGMA table_info(events)').all() as { name: string; type: string }[]).map((c) => `${c.name}:${c.type}`);
  assert.deepEqual(cols, ['id:INTEGER', 'time:INTEGER', 'kind:TEXT', 'node:TEXT', 'resource:TEXT', 'process:TEXT', 'pid:INTEGER', 'reason:TEXT', 'failure_id:TEXT', 'data:TEXT']);
  const indexed = new Set((db.prepare("SELECT name FROM pragma_index_list('events')").all() as { name: string }[]).flatMap((i) => (db.prepare(`SELECT name FROM pragma_index_info('${i.name}')`).all() as { name: string }[]).map((c) => c.name)));
  for (const c of ['time', 'node', 'resource', 'process', 'pid', 'kind', 'reason', 'failure_id']) assert.ok(indexed.has(c), `${c} is indexed`);
  const rows = db.prepare('SELECT * FROM events ORDER BY id').all() as Record<string, unknown>[];
  assert.equal(rows.length, 2);
  assert.deepEqual({ ...rows[1], data: JSON.parse(rows[1]!.data as string) }, {
    id: 2, time: t + 1, kind: 'process-lost', node: 'node1', resource: 'web', process: 'proc_app', pid: 4242, reason: 'exited', failure_id: 'f-1',
    data: { failResource: 'web', prefix: 'app' },
  });
  assert.equal((db.pragma('journal_mode') as { journal_mode: string }[])[0]!.journal_mode, 'wal');
  db.close();

  // Read back: the same event, plus id and node.
  assert.deepEqual(j.get(2), { ...lost('f-1', t + 1), id: 2, node: 'node1' });
  assert.deepEqual(j.page({ kinds: ['process-found'], limit: 10 }).map((e) => e.id), [1]);
  assert.deepEqual(j.page({ limit: 10, order: 'desc' }).map((e) => e.id), [2, 1]);
  assert.deepEqual(j.page({ limit: 10, afterId: 1 }).map((e) => e.id), [2]);
  assert.deepEqual(j.page({ failureId: 'f-1', limit: 10 }).map((e) => e.kind), ['process-lost']);
  assert.deepEqual(j.page({ sinceUs: t + 1, limit: 10 }).map((e) => e.id), [2]);
  assert.deepEqual(j.page({ untilUs: t + 1, limit: 10 }).map((e) => e.id), [1]);

  // Reopening continues the ids.
  await j.close();
  const again = journal(path).j;
  assert.equal(again.append(lost('f-2'))!.id, 3);
});

test('failures: one row per failure id with detected, wrapper started, wrapper finished and total', async () => {
  const { j } = journal(join(tempDir('journal'), 'j.db'));
  const t = 1_700_000_000_000_000;
  const common = { resource: 'web', failResource: 'web' };
  j.append(lost('ok', t));
  j.append(ev({ kind: 'wrapper-started', failureId: 'ok', ...common, attempt: 1, argv: [], sinceDetectedUs: 5000 }, t + 5000));
  j.append(ev({ kind: 'wrapper-finished', failureId: 'ok', ...common, attempt: 1, exitCode: 0, signal: null, timedOut: false, durationMs: 50, message: '' }, t + 55_000));
  j.append(ev({ kind: 'failcount-written', failureId: 'ok', ...common, node: 'node1', attribute: 'fail-count-web#asyncmon_0', value: 3 }, t + 56_000));
  j.append(ev({ kind: 'failure-reported', failureId: 'ok', ...common, node: 'node1', attempts: 1, totalMs: 60 }, t + 60_000));
  const t2 = t + 10_000_000;
  j.append(lost('bad', t2));
  for (let a = 1; a <= 3; a++) {
    j.append(ev({ kind: 'wrapper-started', failureId: 'bad', ...common, attempt: a, argv: [], sinceDetectedUs: a * 1000 }, t2 + a * 1_000_000));
    j.append(ev({ kind: 'wrapper-finished', failureId: 'bad', ...common, attempt: a, exitCode: 1, signal: null, timedOut: false, durationMs: 10, message: 'no' }, t2 + a * 1_000_000 + 10_000));
  }
  j.append(ev({ kind: 'report-failed', failureId: 'bad', ...common, node: 'node1', attempts: 3, error: 'no' }, t2 + 3_020_000));
  j.append(lost('open', t2 + 5_000_000));
  await waitFor('written', () => j.stats().written === 14);

  const rows = j.failures({ limit: 10 });
  assert.deepEqual(rows.map((r) => [r.failureId, r.outcome, r.attempts]), [['open', 'pending', 0], ['bad', 'failed', 3], ['ok', 'reported', 1]]);
  const ok = rows[2]!;
  assert.deepEqual(
    { detected: ok.detected, wrapperStarted: ok.wrapperStarted, wrapperFinished: ok.wrapperFinished, toWrapper: ok.detectedToWrapperMs, wrapper: ok.wrapperMs, total: ok.totalMs, failcount: ok.failcount, pid: ok.pid, reason: ok.reason, process: ok.process, events: ok.events },
    { detected: t, wrapperStarted: t + 5000, wrapperFinished: t + 55_000, toWrapper: 5, wrapper: 50, total: 60, failcount: 3, pid: 4242, reason: 'exited', process: 'proc_app', events: 5 },
  );
  assert.equal(rows[1]!.totalMs, 3020);
  assert.equal(rows[1]!.wrapperMs, 2010);
  assert.equal(rows[0]!.totalMs, null);
  assert.deepEqual(j.failures({ failureId: 'ok', limit: 10 }).map((r) => r.failureId), ['ok']);
  assert.deepEqual(j.failures({ sinceUs: t2, limit: 10 }).map((r) => r.failureId), ['open', 'bad']);
});

test('retention: --journal-max-rows keeps the newest rows, --journal-max-age drops old ones, in small batches', async () => {
  const rows = journal(join(tempDir('journal'), 'rows.db'), { maxRows: 100, pruneBatch: 64 }).j;
  for (let i = 0; i < 1000; i++) rows.append(lost(`f${i}`));
  await waitFor('written', () => rows.stats().written === 1000);
  let yielded = false;
  setImmediate(() => (yielded = true));
  const deleted = await rows.prune();
  assert.equal(deleted, 900);
  assert.ok(yielded, 'retention yields to the event loop between batches');
  const left = rows.page({ limit: 1000 });
  assert.equal(left.length, 100);
  assert.equal(left[0]!.id, 901);
  assert.equal(left.at(-1)!.id, 1000);

  const age = journal(join(tempDir('journal'), 'age.db'), { maxAgeMs: 60_000, pruneBatch: 10 }).j;
  const old = nowUs() - 3_600_000_000;
  for (let i = 0; i < 50; i++) age.append(lost(`old${i}`, old + i));
  for (let i = 0; i < 5; i++) age.append(lost(`new${i}`));
  await waitFor('written', () => age.stats().written === 55);
  assert.equal(await age.prune(), 50);
  assert.deepEqual(age.page({ limit: 100 }).map((e) => (e as { failureId: string }).failureId), ['new0', 'new1', 'new2', 'new3', 'new4']);
  assert.equal(age.stats().pruned, 50);
});

test('a corrupt journal file is moved aside with a clear log line and a new one is started', async () => {
  const dir = tempDir('journal');
  const path = join(dir, 'j.db');
  const garbage = 'this is not an SQLite database\n'.repeat(200);
  writeFileSync(path, garbage);
  const { j, errors } = journal(path);
  assert.equal(j.stats().state, 'open');
  const aside = readdirSync(dir).filter((f) => f.startsWith('j.db.corrupt-'));
  assert.equal(aside.length, 1, `one file moved aside: ${readdirSync(dir).join(', ')}`);
  assert.equal(readFileSync(join(dir, aside[0]!), 'utf8'), garbage, 'the bad file is kept as it was');
  assert.equal(errors().length, 1);
  assert.match(errors()[0]!.msg, new RegExp(`journal ${path} is corrupt \\(.*\\); moved it aside to ${join(dir, aside[0]!)} and started a new one`));
  j.append(lost('after'));
  await waitFor('written', () => j.stats().written === 1);
  assert.equal(j.page({ limit: 10 }).length, 1);
});

test('when the journal cannot be opened the events wait in a bounded buffer, drops are counted, one error line', async () => {
  const dir = tempDir('journal');
  writeFileSync(join(dir, 'file'), 'x');
  const path = join(dir, 'file', 'j.db'); // the parent is a file: cannot be created, not even by root
  const { j, errors } = journal(path, { bufferMax: 10, retryMs: 50 });
  assert.equal(j.stats().state, 'unavailable');
  for (let i = 0; i < 15; i++) j.append(lost(`f${i}`));
  await new Promise((r) => setTimeout(r, 300)); // a few retries
  const s = j.stats();
  assert.deepEqual([s.buffered, s.dropped, s.written], [10, 5, 0]);
  assert.match(s.error!, /cannot open/);
  // Still readable from memory: the API keeps working.
  assert.equal(j.page({ limit: 100 }).length, 10);
  const e = errors();
  assert.equal(e.filter((l) => /cannot open/.test(l.msg)).length, 1, `one "cannot open" line despite retries: ${JSON.stringify(e)}`);
  assert.match(e[0]!.msg, new RegExp(`journal ${path}: cannot open: .*; monitoring and failover go on, up to 10 events wait in memory`));
  assert.equal(e.filter((l) => /dropping new events/.test(l.msg)).length, 1, 'one line about dropping');
});

test('a read-only folder (as an unprivileged user): the journal buffers and counts drops', () => {
  const dir = tempDir('journal');
  chmodSync(dir, 0o555);
  const script = `
    import { pino } from 'pino';
    import { Journal } from ${JSON.stringify(join(ROOT, 'dist/src/journal/index.js'))};
    const lines = [];
    const log = pino({ level: 'info' }, { write: (s) => lines.push(JSON.parse(s).msg) });
    const j = new Journal({ path: ${JSON.stringify(join(dir, 'j.db'))}, node: 'n', log, bufferMax: 3 }).open();
    for (let i = 0; i < 5; i++) j.append({ kind: 'resource-removed', resource: 'r' + i, time: Date.now() * 1000 });
    const s = j.stats();
    await j.close();
    console.log(JSON.stringify({ uid: process.getuid(), state: s.state, buffered: s.buffered, dropped: s.dropped, lines }));
  `;
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', cwd: ROOT });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.uid, 65534);
  assert.deepEqual([out.state, out.buffered, out.dropped], ['unavailable', 3, 2]);
  assert.match(out.lines[0], /cannot open: unable to open database file/);
  assert.match(out.lines.at(-1), /3 events could not be written before exit/);
  assert.equal(existsSync(join(dir, 'j.db')), false);
});

test('a locked database: writes wait in memory, nothing is lost, and the journal recovers when the lock goes', async () => {
  const path = join(tempDir('journal'), 'j.db');
  const { j, errors, lines } = journal(path, { retryMs: 50 });
  j.append(lost('before'));
  await waitFor('written', () => j.stats().written === 1);
  const other = new Database(path);
  other.exec('BEGIN EXCLUSIVE');
  for (let i = 0; i < 20; i++) j.append(lost(`locked${i}`));
  await waitFor('unavailable', () => j.stats().state === 'unavailable');
  assert.equal(j.stats().written, 1);
  assert.match(errors()[0]!.msg, /cannot write: database is locked/);
  other.exec('COMMIT');
  other.close();
  await waitFor('recovered', () => j.stats().written === 21, 5000);
  assert.deepEqual([j.stats().dropped, j.stats().buffered, j.stats().state], [0, 0, 'open']);
  assert.equal(j.page({ limit: 100 }).length, 21);
  assert.ok(lines.some((l) => /writable again/.test(l.msg)));
  assert.equal(errors().length, 1, 'one error line for the whole outage');
});

test('SIGTERM: every event the daemon accepted is in the journal file, up to daemon-stopped', async () => {
  const dir = tempDir('journal');
  const name = uniqueName('jterm');
  const cib = twoNodeCib(dir, name);
  const path = join(dir, 'journal.db');
  const p = spawnNamed(name);
  const d = new DaemonProc(['--cib', cib, '--node', 'node1', '--interval', '0.1', '--journal', path, '--log-level', 'debug']);
  daemons.push(d);
  await d.waitFor('found', (l) => l.event === 'process-found');
  p.kill('SIGKILL');
  await d.waitFor('reported', (l) => l.event === 'failure-reported');
  const exit = await d.stop('SIGTERM');
  assert.equal(exit.code, 0);
  const logged = d.lines.filter((l) => l.event).map((l) => l.event);
  const db = new Database(path, { readonly: true });
  const stored = (db.prepare('SELECT kind FROM events ORDER BY id').all() as { kind: string }[]).map((r) => r.kind);
  db.close();
  assert.deepEqual(stored, logged, 'the journal holds exactly the events the daemon logged, in order');
  assert.equal(stored.at(-1), 'daemon-stopped');
  assert.ok(stored.includes('process-lost') && stored.includes('failcount-written'));
});

test('the daemon starts on a corrupt journal file: moves it aside with a clear log line and journals into a new one', async () => {
  const dir = tempDir('journal');
  const path = join(dir, 'journal.db');
  writeFileSync(path, Buffer.alloc(8192, 0xab));
  const d = new DaemonProc(['--node', 'node1', '--interval', '0.1', '--journal', path]);
  daemons.push(d);
  const line = await d.waitFor('moved aside', (l) => /is corrupt/.test(l.msg));
  assert.equal(line.level, 'error');
  assert.match(line.msg, new RegExp(`^journal ${path} is corrupt \\(file is not a database\\); moved it aside to ${path}\\.corrupt-\\d{8}T\\d{6}Z and started a new one$`));
  await d.waitFor('started', (l) => l.event === 'daemon-started');
  assert.equal((await d.stop()).code, 0);
  const db = new Database(path, { readonly: true });
  assert.deepEqual((db.prepare('SELECT kind FROM events ORDER BY id').all() as { kind: string }[]).map((r) => r.kind), ['daemon-started', 'daemon-stopped']);
  db.close();
  assert.ok(existsSync(String(line.movedTo)));
});

test('a journal that cannot be opened: the daemon still detects and fails over, says so once, and counts drops in /metrics', async () => {
  const dir = tempDir('journal');
  const name = uniqueName('jbroken');
  const cib = twoNodeCib(dir, name);
  writeFileSync(join(dir, 'not-a-dir'), 'x');
  const path = join(dir, 'not-a-dir', 'journal.db');
  const p = spawnNamed(name);
  const d = new DaemonProc(['--cib', cib, '--node', 'node1', '--interval', '0.1', '--journal', path, '--journal-buffer', '3', '--http', '127.0.0.1:0']);
  daemons.push(d);
  const base = `http://${(await d.waitFor('http', (l) => typeof l.http === 'string')).http}`;
  await d.waitFor('found', (l) => l.event === 'process-found');
  p.kill('SIGKILL');
  await d.waitFor('reported', (l) => l.event === 'failure-reported', 30_000);
  assert.equal(crmFailcount(cib, 'watch', 'node1'), 1, 'failover went on');
  const health = (await (await fetch(`${base}/healthz`)).json()) as { status: string; journal: { error: string } };
  assert.equal(health.status, 'degraded');
  assert.match(health.journal.error, /cannot open/);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  const dropped = Number(/^procd_journal_dropped_total (\d+)$/m.exec(metrics)![1]);
  assert.ok(dropped > 0, metrics);
  assert.match(metrics, /^procd_journal_up 0$/m);
  const errs = d.lines.filter((l) => l.level === 'error');
  assert.equal(errs.filter((l) => /cannot open/.test(l.msg)).length, 1, JSON.stringify(errs));
  assert.equal(errs.filter((l) => /dropping new events/.test(l.msg)).length, 1, JSON.stringify(errs));
  assert.equal((await d.stop()).code, 0);
});
