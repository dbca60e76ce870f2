import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { readCmdline, Scanner } from '../../src/proc/index.js';
import { killAll, procState, sleep, spawnNamed, spawnTracked, spawnZombieMaker, uniqueName, waitFor } from '../helpers/procs.js';

afterEach(killAll);

// The test's processes are children of this process, which a Scanner for this pid would exclude:
// scan as a procd with another pid.
const NOT_US = 0x3fffffff;
const asProcd = () => new Scanner('/proc', NOT_US);

test('finds processes by literal cmdline prefix, oldest first', async () => {
  const name = uniqueName('scan');
  const a = spawnNamed(name, 1000);
  await sleep(30); // starttime has clock-tick (10 ms) resolution
  const b = spawnNamed(name, 2000);
  await sleep(30);
  const scanner = asProcd();
  const r = scanner.scan([name, `${name} 2000`, `${name} 1000`, `${name}  1000`]);
  assert.deepEqual(r.get(name)!.map((c) => c.pid), [a.pid, b.pid]);
  assert.deepEqual(r.get(`${name} 2000`)!.map((c) => c.pid), [b.pid]);
  assert.equal(r.get(`${name} 1000`)![0]!.cmdline, `${name} 1000`);
  assert.deepEqual(r.get(`${name}  1000`), []);
});

test('the trailing NUL is not a space: "NAME 1000 " does not match cmdline "NAME 1000"', () => {
  const name = uniqueName('nul');
  spawnNamed(name, 1000);
  const r = asProcd().scan([`${name} 1000 `, `${name} 100`]);
  assert.equal(r.get(`${name} 1000 `)!.length, 0);
  assert.equal(r.get(`${name} 100`)!.length, 1); // a prefix, not a word match
});

test('regex and glob characters are literal', () => {
  const name = uniqueName('lit');
  spawnNamed(`${name}.*[x]`, 1000);
  const r = asProcd().scan([`${name}.*`, `${name}.`, `${name}..`]);
  assert.equal(r.get(`${name}.*`)!.length, 1);
  assert.equal(r.get(`${name}.`)!.length, 1);
  assert.equal(r.get(`${name}..`)!.length, 0);
});

test('never matches procd itself or its descendants; empty prefixes match nothing', async () => {
  const name = uniqueName('self');
  spawnNamed(name); // our child
  const grand = uniqueName('grandchild');
  spawnTracked('/bin/bash', ['-c', '(exec -a "$1" sleep 100000) & wait', 'parent', grand]); // our grandchild
  await sleep(50);
  const mine = readCmdline(process.pid)!;
  const own = new Scanner().scan([name, grand, mine]);
  assert.equal(own.get(name)!.length, 0, 'a child of procd is excluded');
  assert.equal(own.get(grand)!.length, 0, 'a grandchild of procd is excluded');
  assert.ok(!own.get(mine)!.some((c) => c.pid === process.pid), 'procd itself is excluded');
  // Seen from another (nonexistent) procd pid, the same processes match.
  const other = asProcd().scan([name, grand, mine]);
  assert.equal(other.get(name)!.length, 1);
  assert.equal(other.get(grand)!.length, 1);
  process.kill(other.get(grand)![0]!.pid, 'SIGKILL'); // killAll() reaches only our children
  assert.ok(other.get(mine)!.some((c) => c.pid === process.pid));
  assert.deepEqual([...new Scanner().scan(['', '']).keys()], []);
});

test('zombies (empty cmdline) and kernel threads are not matched; a T process is', async () => {
  const name = uniqueName('zomb');
  spawnZombieMaker(name, 0.2);
  const found = await waitFor('the child to run', () => asProcd().scan([name]).get(name)![0]);
  await waitFor('the child to become a zombie', () => procState(found.pid) === 'Z');
  assert.equal(asProcd().scan([name]).get(name)!.length, 0);
  const tname = uniqueName('stopped');
  const stopped = spawnNamed(tname);
  await sleep(20);
  process.kill(stopped.pid!, 'SIGSTOP');
  await waitFor('T state', () => procState(stopped.pid!) === 'T');
  assert.deepEqual(asProcd().scan([tname]).get(tname)!.map((c) => c.pid), [stopped.pid]);
});

test('1,000 scans with processes coming and going never throw', async () => {
  const name = uniqueName('churn');
  const scanner = asProcd();
  const end = Date.now() + 1500;
  let scans = 0;
  while (Date.now() < end) {
    const c = spawnNamed(name, 0.01);
    scanner.scan([name, 'x']);
    scans++;
    if (scans % 20 === 0) await sleep(1);
    c.unref();
  }
  assert.ok(scans > 10);
});

test('a checkpoint runs before the scan and about every everyMs during it', async () => {
  const name = uniqueName('scan-cp');
  for (let i = 0; i < 40; i++) spawnNamed(`${name}-${i}`);
  await sleep(200);
  let calls = 0;
  const r = asProcd().scan([name], { checkpoint: () => calls++, everyMs: 0 });
  assert.equal(r.get(name)!.length, 40);
  assert.ok(calls >= 1 + Math.floor(40 / 16), `checkpoint ran ${calls} times`);
  let none = 0;
  asProcd().scan([name], { checkpoint: () => none++, everyMs: 60_000 });
  assert.equal(none, 1, 'only the first one when the scan is shorter than everyMs');
});
