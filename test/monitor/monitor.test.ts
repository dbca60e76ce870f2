import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus, type ProcdEvent, type EventOf } from '../../src/events/index.js';
import { Monitor, type ResourceConfig } from '../../src/monitor/index.js';
import { killAll, procState, sleep, spawnNamed, spawnZombieMaker, uniqueName, waitFor } from '../helpers/procs.js';

afterEach(killAll);

/** A monitor driven by hand (tick()), as a procd with another pid (the test's children are ours). */
function setup(grace = 5) {
  const bus = new EventBus();
  const events: ProcdEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const m = new Monitor({ bus, interval: 3600, grace, selfPid: 0x3fffffff });
  const lost = () => events.filter((e): e is EventOf<'process-lost'> => e.kind === 'process-lost');
  const found = () => events.filter((e): e is EventOf<'process-found'> => e.kind === 'process-found');
  return { bus, m, events, lost, found };
}

function resource(name: string, procs: Record<string, string>, failResource = name): ResourceConfig {
  return { resource: name, failResource, source: 'cib', processes: Object.entries(procs).map(([n, prefix]) => ({ name: n, prefix })) };
}

test('kill -9: found, then lost with reason exited, reported exactly once', async () => {
  const { m, lost, found } = setup();
  const name = uniqueName('k9');
  const p = spawnNamed(name);
  await sleep(20);
  m.upsert(resource('grp', { proc_a: name }, 'app'));
  m.tick();
  assert.equal(found()[0]?.pid, p.pid);
  assert.equal(m.status()[0]!.processes[0]!.state, 'running');
  p.kill('SIGKILL');
  await waitFor('exit', () => procState(p.pid!) === null);
  m.tick();
  m.tick();
  m.tick();
  assert.equal(lost().length, 1);
  const l = lost()[0]!;
  assert.equal(l.reason, 'exited');
  assert.equal(l.pid, p.pid);
  assert.equal(l.resource, 'grp');
  assert.equal(l.failResource, 'app');
  assert.match(l.failureId, /^[0-9a-f-]{36}$/);
  assert.equal(m.status()[0]!.processes[0]!.state, 'lost');
});

test('a normal exit is a death too; the spec re-arms and watches the restarted service', async () => {
  const { m, lost, found } = setup();
  const name = uniqueName('exit');
  const p = spawnNamed(name, 0.3);
  await sleep(20);
  m.upsert(resource('r', { proc_a: name }));
  m.tick();
  await waitFor('exit', () => procState(p.pid!) === null);
  m.tick();
  assert.equal(lost().length, 1);
  const again = spawnNamed(name);
  await sleep(20);
  m.tick();
  assert.equal(found().length, 2);
  assert.equal(found()[1]!.pid, again.pid);
  again.kill('SIGKILL');
  await waitFor('exit', () => procState(again.pid!) === null);
  m.tick();
  assert.equal(lost().length, 2, 'the second death is reported once more');
  assert.equal(m.status()[0]!.processes[0]!.failures, 2);
});

test('a zombie left by a parent that does not reap counts as dead (reason zombie)', async () => {
  const { m, lost, found } = setup();
  const name = uniqueName('zombie');
  spawnZombieMaker(name, 0.4);
  await sleep(50);
  m.upsert(resource('r', { proc_z: name }));
  m.tick();
  const pid = found()[0]?.pid;
  assert.ok(pid, 'the child was found while alive');
  await waitFor('zombie', () => procState(pid) === 'Z');
  m.tick();
  assert.equal(lost().length, 1);
  assert.equal(lost()[0]!.reason, 'zombie');
  assert.equal(lost()[0]!.pid, pid);
});

test('a stopped (T) process is alive; killed, it is dead', async () => {
  const { m, lost } = setup();
  const name = uniqueName('stopped');
  const p = spawnNamed(name);
  await sleep(20);
  m.upsert(resource('r', { proc_t: name }));
  m.tick();
  process.kill(p.pid!, 'SIGSTOP');
  await waitFor('T state', () => procState(p.pid!) === 'T');
  for (let i = 0; i < 5; i++) m.tick();
  assert.equal(lost().length, 0);
  assert.equal(m.status()[0]!.processes[0]!.state, 'running');
  p.kill('SIGKILL');
  await waitFor('exit', () => procState(p.pid!) === null);
  m.tick();
  assert.equal(lost().length, 1);
});

test('missing: a spec that matches nothing within the grace period is reported once, then found later', async () => {
  const { m, lost, found } = setup(0.2);
  const name = uniqueName('missing');
  m.upsert(resource('r', { proc_m: name }));
  m.tick();
  assert.equal(lost().length, 0, 'within grace');
  await sleep(250);
  m.tick();
  m.tick();
  assert.equal(lost().length, 1);
  assert.equal(lost()[0]!.reason, 'missing');
  assert.equal(lost()[0]!.pid, 0);
  assert.equal(m.status()[0]!.processes[0]!.state, 'missing');
  const p = spawnNamed(name);
  await sleep(20);
  m.tick();
  assert.equal(found()[0]!.pid, p.pid);
});

test('several matches: the oldest is watched', async () => {
  const { m, found } = setup();
  const name = uniqueName('oldest');
  const a = spawnNamed(name);
  await sleep(40);
  spawnNamed(name);
  await sleep(20);
  m.upsert(resource('r', { p: name }));
  m.tick();
  assert.equal(found()[0]!.pid, a.pid);
});

test('upsert with the same specs is a no-op that keeps state; replaceSource diffs a reload', async () => {
  const { m, events } = setup();
  const n1 = uniqueName('keep');
  const n2 = uniqueName('add');
  const p1 = spawnNamed(n1);
  await sleep(20);
  m.upsert(resource('a', { x: n1 }));
  m.tick();
  const since = m.status('a')[0]!.processes[0]!.since;
  assert.equal(m.upsert(resource('a', { x: n1 })), false);
  const diff = m.replaceSource('cib', [resource('a', { x: n1 }), resource('b', { y: n2 })]);
  assert.deepEqual(diff, { added: ['b'], removed: [], changed: [], unchanged: ['a'] });
  assert.equal(m.status('a')[0]!.processes[0]!.pid, p1.pid);
  assert.equal(m.status('a')[0]!.processes[0]!.since, since);
  const diff2 = m.replaceSource('cib', [resource('b', { y: n2, z: n1 })]);
  assert.deepEqual(diff2, { added: [], removed: ['a'], changed: ['b'], unchanged: [] });
  assert.deepEqual(m.status().map((r) => r.resource), ['b']);
  assert.ok(events.some((e) => e.kind === 'resource-removed' && e.resource === 'a'));
});

test('a running monitor detects a kill within its interval on its own', async () => {
  const bus = new EventBus();
  const m = new Monitor({ bus, interval: 0.05, grace: 5, selfPid: 0x3fffffff });
  const name = uniqueName('loop');
  const p = spawnNamed(name);
  await sleep(20);
  const lost = new Promise<EventOf<'process-lost'>>((resolve) => bus.on('process-lost', resolve));
  m.upsert(resource('r', { p: name }));
  m.start();
  try {
    await waitFor('found', () => m.status()[0]!.processes[0]!.state === 'running');
    p.kill('SIGKILL');
    const e = await lost;
    assert.equal(e.pid, p.pid);
  } finally {
    m.stop();
  }
});
