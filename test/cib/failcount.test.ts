import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bumpFailCount, readFailCount, resetFailCount } from '../../src/cib/index.js';
import { crmFailcount, crmSimulatePlan, twoNodeCib } from '../helpers/cibs.js';
import { PROCD, procd, sh } from '../helpers/daemon.js';
import { tempDir } from '../helpers/wrappers.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../../fixtures/${name}`, import.meta.url));

function copyFixture(name: string): string {
  const dir = tempDir('cib');
  const p = join(dir, name.split('/').pop()!);
  copyFileSync(fixture(name), p);
  chmodSync(p, 0o644);
  return p;
}

/** Line diff (LCS): lines only in a, lines only in b. */
function diffLines(a: string, b: string): { removed: string[]; added: string[] } {
  const x = a.split('\n');
  const y = b.split('\n');
  const L = Array.from({ length: x.length + 1 }, () => new Array<number>(y.length + 1).fill(0));
  for (let i = x.length - 1; i >= 0; i--) for (let j = y.length - 1; j >= 0; j--) L[i]![j] = x[i] === y[j] ? L[i + 1]![j + 1]! + 1 : Math.max(L[i + 1]![j]!, L[i]![j + 1]!);
  const removed: string[] = [];
  const added: string[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    if (x[i] === y[j]) (i++, j++);
    else if (L[i + 1]![j]! >= L[i]![j + 1]!) removed.push(x[i++]!);
    else added.push(y[j++]!);
  }
  removed.push(...x.slice(i));
  added.push(...y.slice(j));
  return { removed, added };
}

const numUpdates = (s: string) => Number(/num_updates="(\d+)"/.exec(s)![1]);

test('round trip of the real Pacemaker 2.1.5 CIB: only the two nvpairs and num_updates change, byte for byte', async () => {
  const p = copyFixture('cib/pacemaker-2.1.5-live.xml');
  const before = readFileSync(p, 'utf8');
  const now = new Date('2026-11-24T12:00:00Z');
  const r = await bumpFailCount(p, { resource: 'app', node: 'node1', now });
  assert.deepEqual(r, { attribute: 'fail-count-app#asyncmon_0', value: 7, lastFailure: 1795521600 });
  const after = readFileSync(p, 'utf8');
  const d = diffLines(before, after);
  assert.equal(d.removed.length, 3, JSON.stringify(d));
  assert.equal(d.added.length, 3);
  assert.equal(d.added[0], d.removed[0]!.replace('num_updates="64"', 'num_updates="65"'));
  assert.equal(d.added[1], d.removed[1]!.replace('value="1795346530"', 'value="1795521600"'));
  assert.equal(d.added[2], d.removed[2]!.replace('value="6"', 'value="7"'));
  assert.match(after, /epoch="8"/);
  // The real tools agree: 7 (asyncmon) + 2 (monitor_10000).
  assert.equal(crmFailcount(p, 'app', 'node1'), 9);
  assert.equal(await readFailCount(p, { resource: 'app', node: 'node1' }), 9);
  const v = sh('crm_verify', ['-x', p]);
  assert.equal(v.code, 0, v.out);
});

test('round trip of every fixture: a bump changes num_updates and adds only the status elements it needs', async () => {
  const cases: [string, string, string, string[]][] = [
    ['cib/heartbeat-2.1.3.xml', 'prmPc1PostgreSQLDB', 'act', ['<transient_attributes', '<instance_attributes', '<attributes>', 'name="fail-count-prmPc1PostgreSQLDB" value="1"', '</attributes>', '</instance_attributes>', '</transient_attributes>']],
    ['cib/nested-modern.xml', 'db', 'alpha', ['<status>', '<node_state id="101" uname="alpha">', '<transient_attributes id="101">', '<instance_attributes id="status-101">', 'id="status-101-last-failure-db.asyncmon_0"', 'id="status-101-fail-count-db.asyncmon_0" name="fail-count-db#asyncmon_0" value="1"', '</instance_attributes>', '</transient_attributes>', '</node_state>', '</status>']],
    ['demo/cib.xml', 'demo-watch', 'demo-node', ['<status>', '<node_state id="1" uname="demo-node">', '<transient_attributes id="1">', '<instance_attributes id="status-1">', 'last-failure-demo-watch#asyncmon_0', 'name="fail-count-demo-watch#asyncmon_0" value="1"', '</instance_attributes>', '</transient_attributes>', '</node_state>', '</status>']],
  ];
  for (const [name, resource, node, expectAdded] of cases) {
    const p = copyFixture(name);
    const before = readFileSync(p, 'utf8');
    await bumpFailCount(p, { resource, node });
    const after = readFileSync(p, 'utf8');
    const d = diffLines(before, after);
    const root = d.removed.find((l) => l.includes('num_updates'));
    assert.ok(root, name);
    assert.equal(numUpdates(after), numUpdates(before) + 1, name);
    assert.deepEqual(d.removed.filter((l) => l !== root && l.trim() !== '<status/>'), [], `${name}: nothing else removed`);
    const others = d.added.filter((l) => !l.includes('num_updates'));
    assert.equal(others.length, expectAdded.length, `${name}: ${others.join('\n')}`);
    others.forEach((l, k) => assert.ok(l.includes(expectAdded[k]!), `${name}: line ${k} ${l} lacks ${expectAdded[k]}`));
    if (!name.startsWith('cib/heartbeat')) {
      const v = sh('crm_verify', ['-x', p]);
      assert.equal(v.code, 0, `${name}: ${v.out}`);
      assert.equal(crmFailcount(p, resource, node), 1);
    }
    // A second bump only changes values.
    const mid = readFileSync(p, 'utf8');
    await bumpFailCount(p, { resource, node });
    const d2 = diffLines(mid, readFileSync(p, 'utf8'));
    assert.ok(d2.added.length <= 3 && d2.added.length === d2.removed.length, `${name}: ${JSON.stringify(d2)}`);
    assert.equal(await readFailCount(p, { resource, node }), 2);
  }
});

test('crm_simulate: one bump with migration-threshold=1 moves the group to the other node; none does not', async () => {
  const p = twoNodeCib(tempDir('sim'), 'x');
  assert.equal(crmSimulatePlan(p), '');
  await bumpFailCount(p, { resource: 'watch', node: 'node1' });
  const plan = crmSimulatePlan(p);
  assert.match(plan, /Move\s+app\s+\( node1 -> node2 \)/);
  assert.match(plan, /Move\s+watch\s+\( node1 -> node2 \)/);
});

test('20 concurrent `procd cib fail` processes give exactly +20', async () => {
  const p = copyFixture('demo/cib.xml');
  const runs = Array.from({ length: 20 }, () =>
    new Promise<number>((resolve) => spawn(PROCD, ['cib', 'fail', '--cib', p, '-r', 'demo-watch', '-N', 'demo-node'], { stdio: 'ignore' }).on('exit', (c) => resolve(c ?? -1))),
  );
  assert.deepEqual(await Promise.all(runs), new Array(20).fill(0));
  assert.equal(crmFailcount(p, 'demo-watch', 'demo-node'), 20);
  assert.equal(numUpdates(readFileSync(p, 'utf8')), 20);
  assert.deepEqual(readdirSync(join(p, '..')).sort(), ['cib.xml'], 'no lock or temp file left');
});

test('the file mode is kept; a stale lock from a crashed writer is broken', async () => {
  const p = copyFixture('demo/cib.xml');
  chmodSync(p, 0o640);
  writeFileSync(`${p}.lock`, '999999\n'); // no such pid
  await bumpFailCount(p, { resource: 'demo-watch', node: 'demo-node' });
  assert.equal(statSync(p).mode & 0o777, 0o640);
  assert.equal(await readFailCount(p, { resource: 'demo-watch', node: 'demo-node' }), 1);
});

test('read-only CIB (mode 0444) and read-only file system: one clear line, exit 1, file untouched, no temp file', () => {
  const p = copyFixture('demo/cib.xml');
  const before = readFileSync(p, 'utf8');
  chmodSync(p, 0o444);
  let r = procd(['cib', 'fail', '--cib', p, '-r', 'demo-watch', '-N', 'demo-node']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), `procd: ${p}: cannot write the CIB: the file is read-only (mode 0444)`);
  assert.equal(readFileSync(p, 'utf8'), before);
  assert.deepEqual(readdirSync(join(p, '..')), ['cib.xml']);

  // A real read-only mount (root ignores mode bits, not a read-only file system).
  const mnt = join(tempDir('ro'), 'mnt');
  mkdirSync(mnt);
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]).status, 0, 'mount tmpfs');
  try {
    const q = join(mnt, 'cib.xml');
    writeFileSync(q, before);
    assert.equal(spawnSync('mount', ['-o', 'remount,ro', mnt]).status, 0, 'remount ro');
    r = procd(['cib', 'fail', '--cib', q, '-r', 'demo-watch', '-N', 'demo-node']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /cib\.xml: (cannot create lock file .*|cannot write the CIB: )read-only file system/i);
    assert.equal(readFileSync(q, 'utf8'), before);
  } finally {
    spawnSync('umount', [mnt]);
  }
});

test('unknown node: error lists the known nodes, CIB untouched', () => {
  const p = copyFixture('cib/nested-modern.xml');
  const before = readFileSync(p, 'utf8');
  const r = procd(['cib', 'fail', '--cib', p, '-r', 'db', '-N', 'gamma']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim(), `procd: ${p}: node "gamma" is not in the CIB's nodes (known: alpha, beta)`);
  assert.equal(readFileSync(p, 'utf8'), before);
  assert.deepEqual(readdirSync(join(p, '..')), ['nested-modern.xml']);
});

test('reset removes fail-count and last-failure of every operation of that resource on that node only', async () => {
  const p = copyFixture('cib/pacemaker-2.1.5-live.xml');
  const before = readFileSync(p, 'utf8');
  const r = procd(['cib', 'reset', '--cib', p, '-r', 'app', '-N', 'node1']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'removed 4 attribute(s)');
  const after = readFileSync(p, 'utf8');
  assert.equal(crmFailcount(p, 'app', 'node1'), 0);
  const d = diffLines(before, after);
  assert.equal(d.removed.length, 5);
  assert.deepEqual(d.removed.slice(1).map((l) => /name="([^"]+)"/.exec(l)![1]), ['last-failure-app#asyncmon_0', 'fail-count-app#asyncmon_0', 'last-failure-app#monitor_10000', 'fail-count-app#monitor_10000']);
  assert.ok(after.includes('name="#feature-set"'));
  assert.equal(sh('crm_verify', ['-x', p]).code, 0);
  assert.deepEqual(await resetFailCount(p, { resource: 'app', node: 'node1' }), { removed: 0 });
  assert.equal(readFileSync(p, 'utf8'), after, 'nothing to reset: file not rewritten');
});

test('CLI: failcount prints the number alone; --json gives objects; shell metacharacters are data', () => {
  const p = copyFixture('demo/cib.xml');
  const evil = `x$(touch ${join(p, '..')}/pwned);'"<&>`;
  let r = procd(['cib', 'fail', '--cib', p, '-r', evil, '-N', 'demo-node']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `fail-count-${evil}#asyncmon_0=1\n`);
  assert.ok(readFileSync(p, 'utf8').includes(`name="fail-count-x$(touch ${join(p, '..')}/pwned);'&quot;&lt;&amp;&gt;#asyncmon_0"`));
  assert.deepEqual(readdirSync(join(p, '..')), ['cib.xml']);
  r = procd(['cib', 'failcount', '--cib', p, '-r', evil, '-N', 'demo-node']);
  assert.equal(r.stdout, '1\n');
  r = procd(['cib', 'failcount', '--cib', p, '-r', 'nosuch', '-N', 'demo-node', '--json']);
  assert.deepEqual(JSON.parse(r.stdout), { resource: 'nosuch', node: 'demo-node', failcount: 0 });
  r = procd(['cib', 'list', '--cib', p, '--json']);
  assert.equal(JSON.parse(r.stdout).resources[0].processes.length, 2);
  r = procd(['cib', 'list', '--cib', p]);
  assert.match(r.stdout, /^RESOURCE\s+FAIL-RESOURCE\s+PROCESS\s+PREFIX\ndemo-watch\s+demo-watch\s+proc_web\s+node demo\/service.mjs procd-demo-web\n/);
  r = procd(['cib', 'fail', '--cib', p, '-N', 'demo-node']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Missing required argument: resource/);
});
