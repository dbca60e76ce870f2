import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { twoNodeCib } from '../helpers/cibs.js';
import { DaemonProc, procd } from '../helpers/daemon.js';
import { killAll, procState, sleep, spawnNamed, spawnTracked, uniqueName, waitFor } from '../helpers/procs.js';
import { recordingWrapper, tempDir } from '../helpers/wrappers.js';

const daemons: DaemonProc[] = [];
const pids: number[] = [];
afterEach(async () => {
  killAll();
  for (const p of pids.splice(0)) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await Promise.all(daemons.splice(0).map((d) => d.stop('SIGKILL')));
});
function run(args: string[], env: NodeJS.ProcessEnv = {}, launcher: string[] = []) {
  const d = new DaemonProc(args, env, launcher);
  daemons.push(d);
  return d;
}

test('--mode event: a kill -9 is seen through the pidfd and the wrapper runs once', async () => {
  const dir = tempDir('mode');
  const name = uniqueName('event');
  const cib = twoNodeCib(dir, name);
  const log = join(dir, 'calls');
  const p = spawnNamed(name);
  const d = run(['--cib', cib, '--node', 'node1', '--mode', 'event', '--interval', '0.2', '--wrapper', recordingWrapper(dir, log)]);
  const started = await d.waitFor('daemon-started', (l) => l.event === 'daemon-started');
  assert.equal(started.mode, 'event');
  await d.waitFor('found', (l) => l.event === 'process-found' && l.pid === p.pid);
  p.kill('SIGKILL');
  const lost = await d.waitFor('lost', (l) => l.event === 'process-lost');
  assert.equal(lost.pid, p.pid);
  assert.equal(lost.detectedBy, 'pidfd');
  await d.waitFor('reported', (l) => l.event === 'failure-reported');
  await sleep(500);
  assert.equal(d.events('process-lost').length, 1);
  assert.equal(readFileSync(log, 'utf8').trim().split('\n').length, 1);
  assert.equal(d.lines.filter((l) => l.level === 'warn' && /poll/.test(l.msg)).length, 0, 'no fallback');
});

test('--mode event refuses to start when pidfds are unavailable (PROCD_PIDFD_DISABLE=1), with one clear line', () => {
  const r = procd(['run', '--mode', 'event', '--node', 'n1', '--socket', join(tempDir('mode'), 'procd.sock')], { PROCD_PIDFD_DISABLE: '1' });
  assert.equal(r.code, 2);
  assert.equal(r.stdout.includes('daemon-started'), false);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^procd: --mode event: pidfds are unavailable: .*PROCD_PIDFD_DISABLE=1/);
});

test('--mode auto falls back to polling with one logged reason and still reports deaths', async () => {
  const dir = tempDir('mode');
  const name = uniqueName('auto');
  const cib = twoNodeCib(dir, name);
  const p = spawnNamed(name);
  const d = run(['--cib', cib, '--node', 'node1', '--interval', '0.1', '--wrapper', recordingWrapper(dir, join(dir, 'calls'))], { PROCD_PIDFD_DISABLE: '1' });
  const started = await d.waitFor('daemon-started', (l) => l.event === 'daemon-started');
  assert.equal(started.mode, 'poll');
  const warns = d.lines.filter((l) => l.level === 'warn' && /pidfd/.test(l.msg));
  assert.equal(warns.length, 1);
  assert.match(warns[0]!.msg, /--mode auto: pidfds are unavailable, polling every 0.1s: pidfds disabled by PROCD_PIDFD_DISABLE=1/);
  await d.waitFor('found', (l) => l.event === 'process-found');
  p.kill('SIGKILL');
  const lost = await d.waitFor('lost', (l) => l.event === 'process-lost');
  assert.equal(lost.detectedBy, 'check');
  assert.equal(d.lines.filter((l) => /pidfd/.test(l.msg)).length, 1, 'the reason is logged once');
});

test('--mode poll: no pidfds, the seed\'s polling; a bad --mode is one clear line', async () => {
  const dir = tempDir('mode');
  const name = uniqueName('poll');
  const cib = twoNodeCib(dir, name);
  const p = spawnNamed(name);
  const d = run(['--cib', cib, '--node', 'node1', '--interval', '0.1', '--mode', 'poll', '--wrapper', recordingWrapper(dir, join(dir, 'calls'))]);
  assert.equal((await d.waitFor('daemon-started', (l) => l.event === 'daemon-started')).mode, 'poll');
  await d.waitFor('found', (l) => l.event === 'process-found');
  p.kill('SIGKILL');
  assert.equal((await d.waitFor('lost', (l) => l.event === 'process-lost')).detectedBy, 'check');
  assert.equal(d.lines.filter((l) => l.level === 'warn' && /pidfd/.test(l.msg)).length, 0);

  const bad = procd(['run', '--mode', 'fast', '--node', 'n1', '--socket', '']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /--mode|mode/);
});

/** The pids (host view) of processes whose cmdline starts with `name`. */
function hostPids(name: string): number[] {
  const out: number[] = [];
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      if (readFileSync(`/proc/${n}/cmdline`, 'utf8').startsWith(name)) out.push(Number(n));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Runs a bash script inside procd's pid and mount namespace; resolves with the first line it prints (a pid in that namespace). */
async function inNamespace(procdPid: number, script: string, ...args: string[]): Promise<number> {
  const c = spawnTracked('nsenter', ['-t', String(procdPid), '-p', '-m', '/bin/bash', '-c', script, 'sh', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  c.stdout!.on('data', (b) => (out += b));
  await waitFor('the namespaced pid', () => out.includes('\n'), 10_000);
  return Number(out.split('\n')[0]);
}

for (const mode of ['event', 'poll'] as const) {
  test(`${mode} mode: a pid reused by a new process with the same cmdline is reported as the old one's death (pid-reused), never adopted silently`, async () => {
    const dir = tempDir('reuse');
    const name = uniqueName(`reuse-${mode}`);
    const cib = twoNodeCib(dir, name);
    const log = join(dir, 'calls');
    // procd runs as pid 1 of a new pid namespace whose /proc it reads; there we can pick the next pid.
    const d = run(['--cib', cib, '--node', 'node1', '--mode', mode, '--interval', '0.1', '--grace', '60', '--wrapper', recordingWrapper(dir, log)], {}, [
      'unshare',
      '--pid',
      '--fork',
      '--mount-proc',
    ]);
    await d.waitFor('daemon-started', (l) => l.event === 'daemon-started');
    const procdPid = Number(readFileSync(`/proc/${d.child.pid}/task/${d.child.pid}/children`, 'utf8').trim().split(' ')[0]);
    pids.push(procdPid);
    assert.ok(procdPid > 0);

    const start = '(exec -a "$1" sleep 100000) & echo $!; wait';
    const P = await inNamespace(procdPid, start, name);
    const found = await d.waitFor('found', (l) => l.event === 'process-found');
    assert.equal(found.pid, P);
    const [hostPid] = hostPids(name);
    assert.ok(hostPid, 'the target as seen from the host');

    // procd is frozen while the old process dies and a new one takes its pid: it cannot have seen the gap.
    process.kill(procdPid, 'SIGSTOP');
    try {
      await waitFor('procd stopped', () => procState(procdPid) === 'T');
      process.kill(hostPid!, 'SIGKILL');
      await waitFor('the old process reaped', () => procState(hostPid!) === null);
      const again = await inNamespace(procdPid, 'echo $(($2 - 1)) > /proc/sys/kernel/ns_last_pid; (exec -a "$1" sleep 100000) & echo $!; wait', name, String(P));
      assert.equal(again, P, 'the new process got the old pid');
    } finally {
      process.kill(procdPid, 'SIGCONT');
    }
    const lost = await d.waitFor('lost', (l) => l.event === 'process-lost');
    assert.equal(lost.pid, P);
    assert.equal(lost.reason, 'pid-reused');
    const refound = await d.waitFor('the new process found', (l) => l.event === 'process-found' && l.starttime !== found.starttime);
    assert.equal(refound.pid, P);
    assert.ok(d.lines.indexOf(refound) > d.lines.indexOf(lost), 'the death is reported before the new process is watched');
    await d.waitFor('reported', (l) => l.event === 'failure-reported');
    await sleep(500);
    assert.equal(d.events('process-lost').length, 1);
    assert.equal(readFileSync(log, 'utf8').trim().split('\n').length, 1);
  });
}
