import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { ExitWatcher, PIDFD_DISABLE_ENV, readStat } from '../../src/proc/index.js';
import { killAll, procState, sleep, spawnNamed, spawnTracked, uniqueName, untilDeadSync, waitFor } from '../helpers/procs.js';

const watchers: ExitWatcher[] = [];
afterEach(async () => {
  killAll();
  await Promise.all(watchers.splice(0).map((w) => w.close()));
});

function open(): ExitWatcher {
  const w = ExitWatcher.open({ env: {} });
  if (typeof w === 'string') throw new Error(`pidfds are unavailable on this machine: ${w}`);
  watchers.push(w);
  return w;
}

const threads = () => readdirSync('/proc/self/task').length;
const fds = () => readdirSync('/proc/self/fd').length;

/** A process that is not ours: bash starts it in the background and exits, so init adopts it. */
async function spawnOrphan(name: string): Promise<number> {
  const sh = spawnTracked('/bin/bash', ['-c', '(exec -a "$1" sleep 100000) & echo $!', 'orphan', name], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  sh.stdout!.on('data', (d) => (out += d));
  await new Promise((r) => sh.on('exit', r));
  return Number(out.trim());
}

test('kill -9 of a process that is not our child is reported at once with its (pid, starttime)', async () => {
  const w = open();
  const exits: [number, number][] = [];
  w.onExit = (pid, st) => exits.push([pid, st]);
  const pid = await spawnOrphan(uniqueName('orphan'));
  try {
    const st = readStat(pid)!;
    assert.notEqual(st.ppid, process.pid);
    const r = w.watch(pid, st.starttime);
    assert.equal(r.held, true);
    assert.equal(r.stat?.starttime, st.starttime);
    assert.equal(w.size, 1);
    process.kill(pid, 'SIGKILL');
    await waitFor('the pidfd exit', () => exits.length > 0);
    assert.deepEqual(exits, [[pid, st.starttime]]);
    assert.equal(w.size, 0);
    assert.equal(w.exits, 1);
  } finally {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

test('one poll thread serves 200 pidfds (no thread per process); close() releases every descriptor', async () => {
  const before = { threads: threads(), fds: fds() };
  const w = open();
  const afterOpen = threads();
  // At most libuv's thread pool (4 threads), one of which then blocks in poll(2).
  assert.ok(afterOpen - before.threads <= 4, `open() added ${afterOpen - before.threads} threads`);
  const exits: number[] = [];
  w.onExit = (pid) => exits.push(pid);
  const kids = Array.from({ length: 200 }, () => spawnNamed(uniqueName('many')));
  await waitFor('200 sleeps', () => kids.every((k) => procState(k.pid!) !== null && readStat(k.pid!)?.comm === 'sleep'), 20_000);
  for (const k of kids) assert.equal(w.watch(k.pid!, readStat(k.pid!)!.starttime).held, true);
  assert.equal(w.size, 200);
  assert.equal(threads(), afterOpen, 'no thread per process');
  const victims = kids.filter((_, i) => i % 20 === 0);
  for (const v of victims) v.kill('SIGKILL');
  await waitFor('10 exits', () => exits.length >= victims.length);
  await sleep(200);
  assert.deepEqual([...exits].sort(), victims.map((v) => v.pid!).sort());
  assert.equal(w.size, 190);
  await w.close();
  killAll();
  await waitFor('fds back', () => fds() <= before.fds + 1 && threads() <= before.threads + 1, 10_000);
});

test('unwatch: no report for a process let go; watching a gone pid or a wrong starttime holds nothing', async () => {
  const w = open();
  const exits: number[] = [];
  w.onExit = (pid) => exits.push(pid);
  const a = spawnNamed(uniqueName('unwatch'));
  await waitFor('sleep', () => readStat(a.pid!)?.comm === 'sleep');
  const st = readStat(a.pid!)!.starttime;
  assert.equal(w.watch(a.pid!, st).held, true);
  w.unwatch(a.pid!, st);
  assert.equal(w.size, 0);
  a.kill('SIGKILL');
  await waitFor('exit', () => procState(a.pid!) === null);
  await sleep(200);
  assert.deepEqual(exits, []);

  const gone = w.watch(a.pid!, st);
  assert.equal(gone.held, false);
  assert.equal(gone.stat, null);

  const b = spawnNamed(uniqueName('other'));
  await waitFor('sleep', () => readStat(b.pid!)?.comm === 'sleep');
  const wrong = w.watch(b.pid!, readStat(b.pid!)!.starttime + 1);
  assert.equal(wrong.held, false, 'another starttime is another process: never held');
  assert.equal(wrong.stat?.starttime, readStat(b.pid!)!.starttime);
  assert.equal(w.size, 0);
});

test(`${PIDFD_DISABLE_ENV}=1 makes pidfds unavailable, with the reason`, () => {
  const r = ExitWatcher.open({ env: { [PIDFD_DISABLE_ENV]: '1' } });
  assert.equal(typeof r, 'string');
  assert.match(r as string, /PROCD_PIDFD_DISABLE=1/);
  const other = ExitWatcher.open({ env: {}, procRoot: '/tmp/not-proc' });
  assert.equal(typeof other, 'string');
  assert.match(other as string, /\/tmp\/not-proc/);
});

test('pollNow reports an exit at once on the calling thread; the poll thread does not report it again', async () => {
  const w = open();
  const p = spawnTracked('sleep', ['1000']);
  await waitFor('sleep', () => procState(p.pid!) === 'S');
  const exits: number[] = [];
  w.onExit = (pid) => exits.push(pid);
  assert.equal(w.watch(p.pid!, readStat(p.pid!)!.starttime).held, true);
  assert.equal(w.pollNow(), 0, 'nothing has exited');
  p.kill('SIGKILL');
  untilDeadSync(p.pid!);
  assert.equal(w.pollNow(), 1);
  assert.deepEqual(exits, [p.pid]);
  assert.equal(w.size, 0);
  await sleep(300);
  assert.deepEqual(exits, [p.pid], 'reported once');
  assert.equal(w.exits, 1);
  await w.close();
});

test('re-arming reuses its pollfd buffer: across many polls, with the set shrinking and growing, only real exits are reported', async () => {
  const w = open();
  const exits: number[] = [];
  w.onExit = (pid) => exits.push(pid);
  const kids = Array.from({ length: 70 }, () => spawnNamed(uniqueName('rearm')));
  await waitFor('70 sleeps', () => kids.every((k) => readStat(k.pid!)?.comm === 'sleep'), 20_000);
  const st = (k: (typeof kids)[number]) => readStat(k.pid!)!.starttime;
  for (const k of kids.slice(0, 10)) assert.equal(w.watch(k.pid!, st(k)).held, true);
  const expected: number[] = [];
  for (let round = 0; round < 5; round++) {
    // Grow past the first buffer (64 slots), kill one, let another go.
    for (const k of kids.slice(10 + round * 12, 22 + round * 12)) assert.equal(w.watch(k.pid!, st(k)).held, true);
    const victim = kids[round]!;
    victim.kill('SIGKILL');
    expected.push(victim.pid!);
    await waitFor(`exit ${round + 1}`, () => exits.length === expected.length);
    const letGo = kids[5 + round]!;
    w.unwatch(letGo.pid!, st(letGo));
    letGo.kill('SIGKILL');
    await sleep(100);
    assert.deepEqual(exits, expected);
  }
  assert.equal(w.size, 70 - 10);
  assert.ok(w.polls > 10, `${w.polls} polls`);
});
