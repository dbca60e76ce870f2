import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listTasks, processTree } from '../../src/proc/index.js';
import { killAll, spawnTracked, waitFor } from '../helpers/procs.js';
import { tempDir } from '../helpers/wrappers.js';

afterEach(() => killAll());

test('processTree: a real process and its descendants, depth first, with state and cmdline', async () => {
  // bash → (sleep, bash → sleep), in a process group of its own so the whole tree can be killed.
  const top = spawnTracked('/bin/bash', ['-c', 'sleep 1000 & bash -c "sleep 1001 & wait" & wait'], { detached: true });
  try {
    const tree = await waitFor('4 processes in the tree', async () => {
      const t = await processTree(top.pid!);
      return t.length === 4 && t.filter((p) => p.cmdline.startsWith('sleep')).length === 2 ? t : null;
    }, 10_000);
    assert.equal(tree[0]!.pid, top.pid);
    assert.equal(tree[0]!.depth, 0);
    const s1000 = tree.find((p) => p.cmdline === 'sleep 1000')!;
    const s1001 = tree.find((p) => p.cmdline === 'sleep 1001')!;
    assert.equal(s1000.depth, 1);
    assert.equal(s1000.ppid, top.pid);
    assert.equal(s1001.depth, 2);
    assert.match(s1001.state, /^[SR]$/);
    // Depth first: a child's subtree comes right after it.
    const inner = tree.find((p) => p.depth === 1 && p.cmdline.startsWith('bash'))!;
    assert.equal(tree[tree.indexOf(inner) + 1], s1001);
    assert.deepEqual(await processTree(0x3ffffff0), [], 'a pid that does not exist has no tree');
  } finally {
    process.kill(-top.pid!, 'SIGKILL'); // killAll() would reach bash only, not the sleeps under it
  }
});

test('processTree without the kernel children files scans every stat (fake /proc)', async () => {
  const root = tempDir('fakeproc');
  const proc = (pid: number, ppid: number, comm: string, cmdline: string) => {
    mkdirSync(join(root, String(pid), 'task', String(pid)), { recursive: true });
    const stat = `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 ${100 + pid} 1000 50`;
    writeFileSync(join(root, String(pid), 'stat'), stat);
    writeFileSync(join(root, String(pid), 'task', String(pid), 'stat'), stat);
    writeFileSync(join(root, String(pid), 'cmdline'), cmdline.split(' ').join('\0') + '\0');
  };
  proc(10, 1, 'procd', 'node procd run');
  proc(11, 10, 'procd-fail', 'sh procd-fail --resource a');
  proc(12, 11, 'sleep) x', 'sleep 5');
  proc(20, 1, 'other', 'other');
  const tree = await processTree(10, { root, batch: 1 });
  assert.deepEqual(tree.map((p) => [p.pid, p.depth, p.comm, p.cmdline]), [
    [10, 0, 'procd', 'node procd run'],
    [11, 1, 'procd-fail', 'sh procd-fail --resource a'],
    [12, 2, 'sleep) x', 'sleep 5'],
  ]);
  assert.deepEqual(listTasks(10, root).map((t) => [t.tid, t.comm, t.state]), [[10, 'procd', 'S']]);
});

test('listTasks: the threads of this process', () => {
  const tasks = listTasks(process.pid);
  assert.ok(tasks.some((t) => t.tid === process.pid));
  assert.ok(tasks.every((t) => typeof t.comm === 'string' && t.state.length === 1));
});
