import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { EventBus, type EventOf, type ProcdEvent } from '../../src/events/index.js';
import { Monitor, type ResourceConfig } from '../../src/monitor/index.js';
import { ExitWatcher } from '../../src/proc/index.js';
import { killAll, procState, sleep, spawnNamed, spawnTracked, spawnZombieMaker, uniqueName, untilDeadSync, waitFor } from '../helpers/procs.js';
import { spawnCmdlineRewriter, spawnDState } from '../helpers/states.js';

const monitors: Monitor[] = [];
afterEach(async () => {
  killAll();
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
});

type Mode = 'event' | 'poll';

/** A started monitor (as a procd with another pid: the test's children are matched). */
function setup(mode: Mode, o: { interval?: number; safetyCheck?: number; grace?: number } = {}) {
  const bus = new EventBus();
  const events: ProcdEvent[] = [];
  bus.subscribe((e) => events.push(e));
  let exitWatcher: ExitWatcher | null = null;
  if (mode === 'event') {
    const w = ExitWatcher.open({ env: {} });
    if (typeof w === 'string') throw new Error(`pidfds are unavailable on this machine: ${w}`);
    exitWatcher = w;
  }
  const m = new Monitor({ bus, interval: o.interval ?? 0.05, grace: o.grace ?? 5, selfPid: 0x3fffffff, exitWatcher, safetyCheck: o.safetyCheck });
  monitors.push(m);
  const lost = () => events.filter((e): e is EventOf<'process-lost'> => e.kind === 'process-lost');
  const found = () => events.filter((e): e is EventOf<'process-found'> => e.kind === 'process-found');
  return { m, events, lost, found };
}

function resource(name: string, procs: Record<string, string>): ResourceConfig {
  return { resource: name, failResource: name, source: 'cib', processes: Object.entries(procs).map(([n, prefix]) => ({ name: n, prefix })) };
}

test('event mode: kill -9 is reported through the pidfd, with no scan and no stat check in between, exactly once', async () => {
  const { m, lost, found } = setup('event', { interval: 3600 });
  assert.equal(m.mode, 'event');
  const name = uniqueName('ev-k9');
  const p = spawnNamed(name);
  await waitFor('sleep', () => procState(p.pid!) === 'S');
  m.upsert(resource('grp', { proc_a: name }));
  m.start();
  assert.equal(found()[0]?.pid, p.pid);
  const { scans, checks } = m;
  p.kill('SIGKILL');
  await waitFor('process-lost', () => lost().length > 0);
  assert.equal(m.scans, scans, 'no /proc scan before the report');
  assert.equal(m.checks, checks, 'no periodic check before the report');
  assert.equal(m.pidfdExits, 1);
  const l = lost()[0]!;
  assert.equal(l.pid, p.pid);
  assert.equal(l.detectedBy, 'pidfd');
  assert.equal(l.reason, 'exited', 'a pidfd exit is `exited`, even before the parent reaps');
  m.tick();
  await sleep(300);
  assert.equal(lost().length, 1);
});

test('event mode steady state: no /proc scans while every spec has a live process; scans at --interval while one waits', async () => {
  const { m, found } = setup('event', { interval: 0.05, safetyCheck: 3600 });
  const a = uniqueName('steady-a');
  const b = uniqueName('steady-b');
  const pa = spawnNamed(a);
  const pb = spawnNamed(b);
  await waitFor('sleeps', () => procState(pa.pid!) === 'S' && procState(pb.pid!) === 'S');
  m.upsert(resource('r', { proc_a: a, proc_b: b }));
  m.start();
  assert.equal(found().length, 2);
  const scans = m.scans;
  await sleep(600);
  assert.equal(m.scans, scans, 'nothing to discover: no scan');
  assert.equal(m.checks, 0, 'no stat reads either until the periodic check');

  const c = uniqueName('steady-c');
  m.upsert(resource('r2', { proc_c: c }));
  await waitFor('scans while proc_c is pending', () => m.scans >= scans + 4, 10_000);
  const pc = spawnNamed(c);
  await waitFor('proc_c found', () => found().some((f) => f.pid === pc.pid), 10_000);
  await sleep(100);
  const after = m.scans;
  await sleep(600);
  assert.equal(m.scans, after, 'all found again: scanning stops');
});

test('event mode: the periodic cheap check reads only the watched pids and finds nothing wrong with live ones', async () => {
  const { m, lost } = setup('event', { interval: 0.05, safetyCheck: 0.05 });
  const name = uniqueName('safety');
  const p = spawnNamed(name);
  await waitFor('sleep', () => procState(p.pid!) === 'S');
  m.upsert(resource('r', { proc_a: name }));
  m.start();
  const scans = m.scans;
  await waitFor('several checks', () => m.checks >= 5, 10_000);
  assert.equal(m.scans, scans);
  assert.equal(lost().length, 0);
});

test('event mode: a process whose parent never reaps it is reported once, at its exit (reason exited), and stays a zombie', async () => {
  const { m, lost, found } = setup('event', { interval: 0.05 });
  const name = uniqueName('zombie');
  spawnZombieMaker(name, 1);
  m.upsert(resource('z', { proc_a: name }));
  m.start();
  await waitFor('the child found', () => found().length > 0, 10_000);
  const pid = found()[0]!.pid;
  await waitFor('lost', () => lost().length > 0, 10_000);
  assert.equal(lost()[0]!.pid, pid);
  assert.equal(lost()[0]!.reason, 'exited');
  assert.equal(lost()[0]!.detectedBy, 'pidfd');
  assert.equal(procState(pid), 'Z');
  await sleep(300);
  assert.equal(lost().length, 1);
});

for (const mode of ['event', 'poll'] as const) {
  test(`${mode} mode: stopped (T) and uninterruptible (D) processes are alive; a later kill -9 is reported once each`, async () => {
    const { m, lost, found } = setup(mode, { interval: 0.05, safetyCheck: 0.05 });
    const t = uniqueName('tstate');
    const d = uniqueName('dstate');
    const pt = spawnNamed(t);
    const pd = spawnDState(d);
    await waitFor('T and D states', () => {
      if (procState(pt.pid!) === 'S') pt.kill('SIGSTOP');
      return procState(pt.pid!) === 'T' && procState(pd.pid!) === 'D';
    }, 10_000);
    m.upsert(resource('r', { proc_t: t, proc_d: d }));
    m.start();
    assert.deepEqual(found().map((f) => f.pid).sort(), [pt.pid, pd.pid].sort());
    const checks = m.checks;
    await waitFor('several checks', () => m.checks >= checks + 10, 10_000);
    assert.equal(procState(pt.pid!), 'T');
    assert.equal(procState(pd.pid!), 'D');
    assert.deepEqual(lost(), []);
    pt.kill('SIGKILL');
    pd.kill('SIGKILL');
    await waitFor('both lost', () => lost().length >= 2, 10_000);
    await sleep(300);
    assert.deepEqual(lost().map((l) => l.pid).sort(), [pt.pid, pd.pid].sort());
  });

  test(`${mode} mode: a process that rewrites its cmdline after it was found (postgres: writer process) is not a death`, async () => {
    const { m, lost, found } = setup(mode, { interval: 0.05, safetyCheck: 0.05 });
    const name = uniqueName('rewrite');
    const p = spawnCmdlineRewriter(name, 1500);
    await waitFor('node up', () => readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').startsWith(name), 10_000);
    m.upsert(resource('r', { proc_a: name }));
    m.start();
    assert.equal(found()[0]?.pid, p.pid);
    await waitFor('the rewrite', () => readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').startsWith('postgres: writer process'), 10_000);
    const checks = m.checks;
    await waitFor('several checks after the rewrite', () => m.checks >= checks + 10, 10_000);
    assert.deepEqual(lost(), []);
    assert.equal(m.status()[0]!.processes[0]!.state, 'running');
    p.kill('SIGKILL');
    await waitFor('lost', () => lost().length > 0, 10_000);
    await sleep(300);
    assert.equal(lost().length, 1);
    assert.equal(lost()[0]!.pid, p.pid);
  });

  test(`${mode} mode: under churn (hundreds of unrelated short-lived processes, some with a similar name) only the real deaths are reported, once each`, async () => {
    const { m, lost, found } = setup(mode, { interval: 0.05 });
    const base = uniqueName('churn');
    const names = Array.from({ length: 8 }, (_, i) => `${base}-w${i}`);
    const procs = names.map((n) => spawnNamed(n));
    await waitFor('sleeps', () => procs.every((p) => procState(p.pid!) === 'S'));
    m.upsert(resource('r', Object.fromEntries(names.map((n, i) => [`proc_${i}`, n]))));
    m.start();
    assert.equal(found().length, 8);
    // Churn: a shell loop starting and ending short-lived processes, some named like the watched ones but not matching.
    const churn = spawnTracked('/bin/bash', ['-c', 'end=$((SECONDS+3)); while [ $SECONDS -lt $end ]; do for i in 1 2 3 4 5 6 7 8 9 10; do (exec -a "$1-x" true) & (exec -a "$1" true) & true & done; wait; done', 'churn', base]);
    await sleep(800);
    const victims = [procs[1]!, procs[5]!];
    victims[0]!.kill('SIGKILL');
    await sleep(700);
    victims[1]!.kill('SIGKILL');
    await new Promise((r) => churn.on('exit', r));
    await waitFor('two deaths', () => lost().length >= 2, 10_000);
    await sleep(500);
    assert.deepEqual(lost().map((l) => l.pid).sort(), victims.map((v) => v.pid).sort(), JSON.stringify(lost()));
    const st = m.status()[0]!.processes;
    assert.equal(st.filter((s) => s.state === 'running').length, 6);
  });
}

test('event mode: a death the kernel has signalled is reported by the discovery scan itself, not after it', async () => {
  const { m, lost } = setup('event', { interval: 3600, grace: 3600 });
  const name = uniqueName('ev-scan');
  const p = spawnNamed(name);
  await waitFor('sleep', () => procState(p.pid!) === 'S');
  // One resource held by a pidfd, one that matches nothing (so every tick scans /proc).
  m.upsert(resource('held', { proc_a: name }));
  m.upsert(resource('waiting', { proc_b: uniqueName('ev-scan-none') }));
  m.start();
  const scans = m.scans;
  p.kill('SIGKILL');
  untilDeadSync(p.pid!);
  assert.equal(lost().length, 0);
  m.tick();
  assert.equal(m.scans, scans + 1);
  assert.equal(lost().length, 1, 'reported inside the tick, by the scan');
  assert.deepEqual([lost()[0]!.pid, lost()[0]!.detectedBy, lost()[0]!.reason], [p.pid, 'pidfd', 'exited']);
  await sleep(300);
  assert.equal(lost().length, 1, 'the poll thread does not report it again');
  assert.equal(m.pidfdExits, 1);
});
