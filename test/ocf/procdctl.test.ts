import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProc, procd, ROOT, sh } from '../helpers/daemon.js';
import { killAll, spawnNamed, uniqueName, waitFor } from '../helpers/procs.js';
import { tempDir } from '../helpers/wrappers.js';

const AGENT = `${ROOT}ocf/procdctl`;
const DTD = '/usr/share/resource-agents/ra-api-1.dtd';
let daemon: DaemonProc;
let name: string;
const PATH = `${ROOT}bin:${process.env.PATH}`;

before(async () => {
  name = uniqueName('ocf');
  spawnNamed(name);
  daemon = new DaemonProc(['--interval', '0.2', '--grace', '0.5']);
  await daemon.waitFor('started', (l) => l.event === 'daemon-started');
});
after(async () => {
  killAll();
  await daemon.stop();
});

/** Runs the agent like pacemaker-execd: action argv, parameters as OCF_RESKEY_*. */
function agent(action: string, params: Record<string, string>, env: NodeJS.ProcessEnv = {}) {
  const reskeys = Object.fromEntries(Object.entries(params).map(([k, v]) => [`OCF_RESKEY_${k}`, v]));
  return sh(AGENT, [action], { PATH, OCF_ROOT: '/usr/lib/ocf', OCF_RESOURCE_INSTANCE: 'watch1', OCF_RESKEY_socket: daemon.socket, ...reskeys, ...env });
}

test('ocf-tester passes with the daemon running', () => {
  const r = sh('ocf-tester', ['-n', 'procdctl', '-o', `proc_1=${name}`, '-o', `socket=${daemon.socket}`, AGENT], { PATH });
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /passed all tests/);
});

test('meta-data is valid against ra-api-1.dtd and documents proc_<name>, procd, fail_resource and socket', () => {
  const r = agent('meta-data', {});
  assert.equal(r.code, 0);
  assert.match(r.stdout, /<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">/);
  const file = join(tempDir('md'), 'md.xml');
  writeFileSync(file, r.stdout);
  const v = sh('xmllint', ['--noout', '--dtdvalid', DTD, file]);
  assert.equal(v.code, 0, v.out);
  for (const p of ['proc_1', 'procd', 'fail_resource', 'socket']) assert.match(r.stdout, new RegExp(`<parameter name="${p}"`));
  assert.match(r.stdout, /proc_NAME/);
  const actions = [...r.stdout.matchAll(/<action name="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(actions, ['start', 'stop', 'monitor', 'validate-all', 'meta-data']);
});

test('start registers every proc_* and procd with fail_resource; monitor 0/1/7; start and stop are idempotent', async () => {
  const other = uniqueName('ocf-b');
  const p2 = spawnNamed(other);
  const params = { proc_a: name, procd: other, fail_resource: 'appsrv' };
  assert.equal(agent('monitor', params).code, 7, 'not registered yet: not running');
  assert.equal(agent('start', params).code, 0);
  assert.equal(agent('start', params).code, 0, 'start twice');
  const st = JSON.parse(procd(['status', '--socket', daemon.socket, '-r', 'watch1', '--json']).stdout);
  assert.equal(st.failResource, 'appsrv');
  assert.deepEqual(st.processes.map((x: { name: string; prefix: string }) => [x.name, x.prefix]).sort(), [['proc_a', name], ['procd', other]]);
  assert.equal(agent('monitor', params).code, 0);
  assert.equal(agent('monitor', { ...params, CRM_meta_interval: '0' }).code, 0, 'a probe behaves the same');
  p2.kill('SIGKILL');
  await waitFor('monitor says failed', () => agent('monitor', params).code === 1, 10_000);
  assert.match(agent('monitor', params).stderr, /ocf-exit-reason:a watched process of watch1 is dead or missing: procd lost;/);
  assert.equal(agent('stop', params).code, 0);
  assert.equal(agent('stop', params).code, 0, 'stop twice');
  assert.equal(agent('monitor', params).code, 7);
});

test('without fail_resource the failures go to the instance itself', () => {
  assert.equal(agent('start', { proc_x: name }).code, 0);
  assert.equal(JSON.parse(procd(['status', '--socket', daemon.socket, '-r', 'watch1', '--json']).stdout).failResource, 'watch1');
  assert.equal(agent('stop', { proc_x: name }).code, 0);
});

test('validate-all: 6 without a process or with an empty one, 5 without procd; unknown action 3', () => {
  let r = agent('validate-all', {});
  assert.equal(r.code, 6);
  assert.match(r.stderr, /ocf-exit-reason:no process to watch: set proc_NAME \(a cmdline prefix\) or procd/);
  r = agent('validate-all', { proc_a: name, proc_b: '  ' });
  assert.equal(r.code, 6);
  assert.match(r.stderr, /parameter proc_b is empty/);
  r = agent('validate-all', { proc_a: name }, { PATH: '/usr/bin:/bin' });
  assert.equal(r.code, 5);
  assert.match(r.stderr, /procd is not installed/);
  assert.equal(agent('start', { proc_a: name }, { PATH: '/usr/bin:/bin' }).code, 5);
  assert.equal(agent('validate-all', { proc_a: name }).code, 0);
  assert.equal(agent('frobnicate', { proc_a: name }).code, 3);
});

test('start fails with an exit reason when the daemon does not answer; stop still succeeds', () => {
  const gone = join(tempDir('nodaemon'), 'procd.sock');
  const r = agent('start', { proc_a: name, socket: gone });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /ocf-exit-reason:procd did not register watch1: procd: cannot reach procd at .*no such socket/);
  assert.equal(agent('stop', { proc_a: name, socket: gone }).code, 0);
  assert.equal(agent('monitor', { proc_a: name, socket: gone }).code, 7);
});

test('works without ocf-shellfuncs', () => {
  const env = { OCF_ROOT: '/nonexistent', OCF_FUNCTIONS_DIR: '/nonexistent' };
  assert.equal(agent('start', { proc_a: name }, env).code, 0);
  assert.equal(agent('monitor', { proc_a: name }, env).code, 0);
  assert.equal(agent('stop', { proc_a: name }, env).code, 0);
  const r = agent('validate-all', {}, env);
  assert.equal(r.code, 6);
  assert.match(r.stderr, /^ocf-exit-reason:no process to watch/m);
});

test('procd install-ocf installs both agents pointing at this procd; --provider picks the folder', () => {
  const root = tempDir('ocfroot');
  const r = procd(['install-ocf', '--ocf-root', root, '--provider', 'acme']);
  assert.equal(r.code, 0, r.stderr);
  for (const a of ['procdctl', 'procd-fail']) {
    const p = join(root, 'resource.d', 'acme', a);
    assert.match(r.stdout, new RegExp(`^installed ${p}$`, 'm'));
    assert.equal(statSync(p).mode & 0o777, 0o755);
    assert.match(readFileSync(p, 'utf8'), new RegExp(`^PROCD_DEFAULT_BIN='${ROOT}bin/procd'$`, 'm'));
  }
  // The installed agent finds procd without PATH help.
  const installed = join(root, 'resource.d', 'acme', 'procdctl');
  const v = sh(installed, ['validate-all'], { PATH: '/usr/bin:/bin', OCF_RESKEY_proc_a: name });
  assert.equal(v.code, 0, v.out);
  assert.match(procd(['install-ocf', '--ocf-root', root]).stdout, /resource\.d\/heartbeat\/procdctl/);
  const bad = procd(['install-ocf', '--ocf-root', root, '--provider', '../etc']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^procd: --provider: "..\/etc" must be one folder name/);
});

test('stop unregisters with curl for plain ids and through procd ctl for any other name', () => {
  for (const instance of ['clone-app:1', 'odd@name']) {
    const env = { OCF_RESOURCE_INSTANCE: instance };
    assert.equal(agent('start', { proc_a: name }, env).code, 0);
    assert.equal(procd(['status', '--socket', daemon.socket, '-r', instance]).code, 0);
    assert.equal(agent('stop', { proc_a: name }, env).code, 0);
    assert.equal(procd(['status', '--socket', daemon.socket, '-r', instance]).code, 3, `${instance} unregistered`);
    assert.equal(agent('stop', { proc_a: name }, env).code, 0);
  }
});
