import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crmFailcount, crmSimulatePlan, twoNodeCib } from '../helpers/cibs.js';
import { daemonsPerTest, procd, sh } from '../helpers/daemon.js';
import { sleep, spawnNamed, uniqueName } from '../helpers/procs.js';
import { recordingWrapper, tempDir, writeScript } from '../helpers/wrappers.js';

const { run } = daemonsPerTest();

test('end to end: kill -9 of a watched process bumps the fail-count in the CIB file; Pacemaker tools agree and move the group', async () => {
  const dir = tempDir('e2e');
  const name = uniqueName('e2e');
  const cib = twoNodeCib(dir, name);
  assert.equal(crmSimulatePlan(cib), '', 'the group runs on node1 and stays there before the failure');
  const p = spawnNamed(name);
  const before = readFileSync(cib, 'utf8');
  const d = run(['--cib', cib, '--node', 'node1', '--interval', '0.1', '--grace', '2']);
  const found = await d.waitFor('process-found', (l) => l.event === 'process-found');
  assert.equal(found.pid, p.pid);
  assert.equal(found.resource, 'watch');
  p.kill('SIGKILL');
  const lost = await d.waitFor('process-lost', (l) => l.event === 'process-lost');
  assert.equal(lost.reason, 'exited');
  assert.equal(lost.pid, p.pid);
  const reported = await d.waitFor('failure-reported', (l) => l.event === 'failure-reported');
  assert.equal(reported.failureId, lost.failureId);
  const written = d.events('failcount-written')[0]!;
  assert.equal(written.attribute, 'fail-count-watch#asyncmon_0');
  assert.equal(written.value, 1);

  assert.equal(crmFailcount(cib, 'watch', 'node1'), 1);
  const verify = sh('crm_verify', ['-x', cib]);
  assert.equal(verify.code, 0, verify.out);
  const plan = crmSimulatePlan(cib);
  assert.match(plan, /Move\s+app\s+\( node1 -> node2 \)/);
  assert.match(plan, /Move\s+watch\s+\( node1 -> node2 \)/);
  // Only the status section changed: num_updates + 1, epoch kept.
  const after = readFileSync(cib, 'utf8');
  assert.equal(after.slice(0, after.indexOf('<status>')).replace(/num_updates="\d+"/, ''), before.slice(0, before.indexOf('<status>')).replace(/num_updates="\d+"/, ''));
  const nu = (s: string) => Number(/num_updates="(\d+)"/.exec(s)![1]);
  assert.equal(nu(after), nu(before) + 1);
  // Exactly once: no further reports.
  await sleep(500);
  assert.equal(d.events('process-lost').length, 1);
  assert.equal(crmFailcount(cib, 'watch', 'node1'), 1);
  const exit = await d.stop();
  assert.equal(exit.code, 0, 'SIGTERM exits 0');
});

test('fail_resource names the resource whose fail-count is bumped', async () => {
  const dir = tempDir('e2e');
  const name = uniqueName('failrsc');
  const cib = twoNodeCib(dir, name, '\n            <nvpair id="watch-fr" name="fail_resource" value="app"/>');
  const p = spawnNamed(name);
  const d = run(['--cib', cib, '--node', 'node1', '--interval', '0.1']);
  await d.waitFor('found', (l) => l.event === 'process-found');
  p.kill('SIGKILL');
  await d.waitFor('reported', (l) => l.event === 'failure-reported');
  assert.equal(crmFailcount(cib, 'app', 'node1'), 1);
  assert.equal(crmFailcount(cib, 'watch', 'node1'), 0);
});

test('flags given as PROCD_* variables configure the daemon and do not leak into the wrapper\'s procd', async () => {
  const dir = tempDir('e2e');
  const name = uniqueName('envflags');
  const cib = twoNodeCib(dir, name);
  const p = spawnNamed(name);
  const d = run([], { PROCD_CIB: cib, PROCD_NODE: 'node1', PROCD_INTERVAL: '0.1', PROCD_GRACE: '3' });
  await d.waitFor('found', (l) => l.event === 'process-found');
  p.kill('SIGKILL');
  await d.waitFor('reported', (l) => l.event === 'failure-reported');
  assert.equal(d.events('report-failed').length, 0);
  assert.equal(crmFailcount(cib, 'watch', 'node1'), 1);
});

test('a missing process is reported after the grace period; a custom --wrapper gets the argv contract and PROCD_CIB', async () => {
  const dir = tempDir('e2e');
  const name = uniqueName('never');
  const cib = twoNodeCib(dir, name);
  const log = join(dir, 'calls');
  const d = run(['--cib', cib, '--node', 'node1', '--interval', '0.1', '--grace', '0.5', '--wrapper', recordingWrapper(dir, log)]);
  const lost = await d.waitFor('missing', (l) => l.event === 'process-lost');
  assert.equal(lost.reason, 'missing');
  await d.waitFor('reported', (l) => l.event === 'failure-reported');
  const call = JSON.parse(readFileSync(log, 'utf8').trim());
  assert.deepEqual(call.argv, ['--resource', 'watch', '--node', 'node1', '--reason', 'missing', '--pid', '0']);
  assert.equal(call.cib, cib);
  assert.equal(call.failureId, lost.failureId);
});

test('SIGHUP re-reads the CIB: added specs start, unchanged ones keep their watched pid', async () => {
  const dir = tempDir('e2e');
  const a = uniqueName('hup-a');
  const b = uniqueName('hup-b');
  const cib = twoNodeCib(dir, a);
  const pa = spawnNamed(a);
  const pb = spawnNamed(b);
  const d = run(['--cib', cib, '--node', 'node1', '--interval', '0.1']);
  await d.waitFor('a found', (l) => l.event === 'process-found' && l.pid === pa.pid);
  const appPair = `name="proc_app" value="${a}"/>`;
  const xml = readFileSync(cib, 'utf8');
  assert.ok(xml.includes(appPair));
  writeFileSync(cib, xml.replace(appPair, `${appPair}\n            <nvpair id="watch-b" name="proc_b" value="${b}"/>`));
  d.child.kill('SIGHUP');
  await d.waitFor('reloaded', (l) => l.event === 'daemon-reloaded');
  await d.waitFor('b found', (l) => l.event === 'process-found' && l.pid === pb.pid);
  assert.equal(d.events('process-found').filter((l) => l.pid === pa.pid).length, 1, 'a kept its state (not found again)');
  // A broken CIB on reload keeps the old configuration.
  writeFileSync(cib, '<cib><oops></cib>');
  d.child.kill('SIGHUP');
  await d.waitFor('reload failed', (l) => /reload failed/.test(l.msg));
  pa.kill('SIGKILL');
  await d.waitFor('still watching', (l) => l.event === 'process-lost' && l.pid === pa.pid);
});

test('bad input: each gets one clear line, a non-zero exit, and the CIB is untouched', async () => {
  const dir = tempDir('bad');
  const cib = twoNodeCib(dir, uniqueName('bad'));
  const before = readFileSync(cib, 'utf8');
  const cases: [string[], RegExp][] = [
    [['run', '--cib', cib, '--node', 'nosuch'], /node "nosuch" is not in the CIB's nodes \(known: node1, node2\)/],
    [['run', '--cib', cib, '--node', 'node1', '--wrapper', join(dir, 'missing')], /wrapper .*missing: does not exist/],
    [['run', '--cib', join(dir, 'nofile.xml'), '--node', 'node1'], /nofile\.xml/],
    [['run', '--cib', cib, '--interval', '0'], /--interval: must be a number of seconds > 0/],
    [['run', '--cib', cib, '--grace', '-1'], /--grace/],
    [['run', '--bogus'], /Unknown argument: bogus/],
  ];
  const noexec = join(dir, 'noexec');
  writeFileSync(noexec, '#!/bin/sh\n');
  chmodSync(noexec, 0o644);
  cases.push([['run', '--cib', cib, '--node', 'node1', '--wrapper', noexec], /noexec: is not executable/]);
  const bad = join(dir, 'bad.xml');
  writeFileSync(bad, '<cib validate-with="pacemaker-3.9">\n  <configuration>\n  </configurashun>\n</cib>\n');
  cases.push([['run', '--cib', bad, '--node', 'node1'], /bad\.xml.*(line|:)\s*3/]);
  for (const [args, re] of cases) {
    const r = procd(args);
    assert.notEqual(r.code, 0, `${args.join(' ')} must fail`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
    assert.match(lines[0]!, re);
  }
  assert.equal(readFileSync(cib, 'utf8'), before);
});

test('a CIB without procdctl primitives starts and warns that nothing is watched', async () => {
  const dir = tempDir('e2e');
  const cib = join(dir, 'cib.xml');
  writeFileSync(cib, readFileSync(twoNodeCib(dir, 'x'), 'utf8').replace('type="procdctl"', 'type="Dummy"'));
  const d = run(['--cib', cib, '--node', 'node1']);
  await d.waitFor('warning', (l) => l.level === 'warn' && /nothing is watched/.test(l.msg));
  const exit = await d.stop('SIGINT');
  assert.equal(exit.code, 0);
});

test('a wrapper that hangs is killed at --wrapper-timeout and the failure is logged as not reported', async () => {
  const dir = tempDir('e2e');
  const name = uniqueName('hang');
  const cib = twoNodeCib(dir, name);
  const p = spawnNamed(name);
  const d = run(['--cib', cib, '--node', 'node1', '--interval', '0.1', '--wrapper', writeScript(dir, 'hang', 'exec sleep 100'), '--wrapper-timeout', '0.3'], {});
  await d.waitFor('found', (l) => l.event === 'process-found');
  p.kill('SIGKILL');
  const failed = await d.waitFor('report-failed', (l) => l.event === 'report-failed', 20_000);
  assert.equal(failed.level, 'error');
  assert.match(String(failed.error), /timed out after 300 ms/);
  assert.equal(d.events('wrapper-finished').length, 3);
});

test('the control socket answers health over HTTP (curl --unix-socket) and is 0600 in a 0700 folder', async () => {
  const dir = tempDir('sock');
  const sock = join(dir, 'sub', 'procd.sock');
  const d = run(['--cib', twoNodeCib(dir, uniqueName('sock')), '--node', 'node1', '--socket', sock]);
  await d.waitFor('started', (l) => l.event === 'daemon-started');
  const r = sh('curl', ['-sS', '--unix-socket', sock, 'http://procd/v1/health']);
  assert.equal(r.code, 0, r.out);
  const j = JSON.parse(r.stdout);
  assert.equal(j.status, 'ok');
  assert.equal(j.node, 'node1');
  assert.equal(j.resources, 1);
  assert.equal(statSync(sock).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'sub')).mode & 0o777, 0o700);
  const nf = sh('curl', ['-sS', '-w', '%{http_code}', '--unix-socket', sock, 'http://procd/v1/nope']);
  assert.match(nf.stdout, /unknown operation GET \/v1\/nope.*404$/s);
  assert.equal((await d.stop()).code, 0);
  assert.equal(existsSync(sock), false, 'the socket is removed on stop');
});
