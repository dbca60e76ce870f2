import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { daemonsPerTest, DaemonProc, procd, sh } from '../helpers/daemon.js';
import { sleep, spawnNamed, spawnTracked, uniqueName, waitFor } from '../helpers/procs.js';
import { recordingWrapper, tempDir } from '../helpers/wrappers.js';

const { daemons } = daemonsPerTest();
async function started(args: string[]) {
  const d = new DaemonProc(args);
  daemons.push(d);
  await d.waitFor('daemon-started', (l) => l.event === 'daemon-started');
  return d;
}
function curl(sock: string, method: string, path: string, body?: string) {
  const r = sh('curl', ['-sS', '-X', method, '-w', '\n%{http_code}', '--unix-socket', sock, ...(body === undefined ? [] : ['-H', 'content-type: application/json', '--data-binary', body]), `http://procd${path}`]);
  const lines = r.stdout.trimEnd().split('\n');
  const status = Number(lines.pop());
  return { status, body: lines.join('\n') ? JSON.parse(lines.join('\n')) : null };
}

test('procd run without --cib serves the socket: ctl add registers (idempotently), status shows it, a death is reported, ctl remove unregisters', async () => {
  const dir = tempDir('ctl');
  const log = join(dir, 'calls.jsonl');
  const name = uniqueName('ctl');
  const p = spawnNamed(name);
  const d = await started(['--interval', '0.2', '--grace', '1', '--wrapper', recordingWrapper(dir, log)]);
  await d.waitFor('nothing-watched warning', (l) => l.level === 'warn' && /nothing is watched yet; waiting for registrations on/.test(l.msg));
  const s = ['--socket', d.socket];

  const add = procd(['ctl', 'add', ...s, '--resource', 'web', '--proc', `proc_web=${name}`, '--fail-resource', 'websrv']);
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, /^web: registered \(1 process, failures reported against websrv\)$/m);
  const again = procd(['ctl', 'add', ...s, '--resource', 'web', '--proc', `proc_web=${name}`, '--fail-resource', 'websrv']);
  assert.match(again.stdout, /already registered, unchanged/);
  await d.waitFor('resource-added', (l) => l.event === 'resource-added');
  await sleep(300);
  assert.equal(d.events('resource-added').length, 1, 'the same specs again is a no-op');

  const st = procd(['status', ...s, '--resource', 'web', '--json']);
  assert.equal(st.code, 0, st.stderr);
  const j = JSON.parse(st.stdout);
  assert.deepEqual({ resource: j.resource, failResource: j.failResource, source: j.source }, { resource: 'web', failResource: 'websrv', source: 'socket' });
  assert.deepEqual(j.processes.map((x: { name: string; prefix: string; state: string; pid: number }) => [x.name, x.prefix, x.state, x.pid]), [['proc_web', name, 'running', p.pid]]);
  assert.ok(j.processes[0].since > 0);

  const table = procd(['status', ...s]);
  assert.equal(table.code, 0);
  assert.match(table.stdout, /^RESOURCE\s+FAIL-RESOURCE\s+SOURCE\s+PROCESS\s+STATE\s+PID\s+SINCE\s+PREFIX$/m);
  assert.match(table.stdout, new RegExp(`^web\\s+websrv\\s+socket\\s+proc_web\\s+running\\s+${p.pid}\\s+\\S+Z\\s+${name}$`, 'm'));

  // Other specs for the same resource replace the old ones.
  const other = uniqueName('ctl-other');
  const repl = procd(['ctl', 'add', ...s, '--resource', 'web', '--proc', `proc_web=${name}`, '--proc', `proc_other=${other}`]);
  assert.match(repl.stdout, /web: registered \(2 processes, failures reported against web\)/);
  await waitFor('proc_other missing after the grace', () => procd(['status', ...s, '--resource', 'web']).code === 1, 10_000);

  p.kill('SIGKILL');
  const lost = await d.waitFor('proc_web lost', (l) => l.event === 'process-lost' && l.process === 'proc_web');
  assert.equal(lost.pid, p.pid);
  await d.waitFor('its failure reported', (l) => l.event === 'failure-reported' && l.failureId === lost.failureId);

  assert.equal(procd(['ctl', 'remove', ...s, '--resource', 'web']).code, 0);
  const gone = procd(['ctl', 'remove', ...s, '--resource', 'web']);
  assert.equal(gone.code, 3);
  assert.equal(gone.stderr, 'procd: resource "web" is not registered\n');
  assert.equal(procd(['status', ...s, '--resource', 'web']).code, 3);
  assert.equal(procd(['status', ...s]).stdout, 'no resources are watched\n');
});

test('socket-registered resources live beside the CIB ones and survive SIGHUP', async () => {
  const dir = tempDir('ctl-cib');
  const { twoNodeCib } = await import('../helpers/cibs.js');
  const cibName = uniqueName('ctl-cib');
  spawnNamed(cibName);
  const d = await started(['--cib', twoNodeCib(dir, cibName), '--node', 'node1', '--interval', '0.2']);
  const name = uniqueName('ctl-sock');
  spawnNamed(name);
  assert.equal(procd(['ctl', 'add', '--socket', d.socket, '-r', 'extra', '--proc', `p=${name}`]).code, 0);
  d.child.kill('SIGHUP');
  await d.waitFor('reloaded', (l) => l.event === 'daemon-reloaded');
  const all = JSON.parse(procd(['status', '--socket', d.socket, '--json']).stdout).resources;
  assert.deepEqual(all.map((r: { resource: string; source: string }) => `${r.resource}:${r.source}`).sort(), ['extra:socket', 'watch:cib']);
});

test('bad requests get a 4xx with one clear message, and no client can stall or crash the daemon', async () => {
  const d = await started(['--interval', '0.2']);
  const sock = d.socket;
  const bad = [
    [curl(sock, 'POST', '/v1/resources', '{"resource": '), 400, /^malformed JSON body/],
    [curl(sock, 'POST', '/v1/resources', '[]'), 400, /body must be a JSON object/],
    [curl(sock, 'POST', '/v1/resources', '{"resource":"r","processes":[]}'), 400, /processes must be a non-empty array/],
    [curl(sock, 'POST', '/v1/resources', '{"resource":"r","processes":[{"name":"a","prefix":"  "}]}'), 400, /processes\[0\]\.prefix must be a non-empty cmdline prefix/],
    [curl(sock, 'POST', '/v1/resources', '{"resource":"r","processes":[{"name":"a","prefix":"x"},{"name":"a","prefix":"y"}]}'), 400, /processes\[1\]\.name "a" is given twice/],
    [curl(sock, 'POST', '/v1/resources', '{"resource":"a b","processes":[{"name":"a","prefix":"x"}]}'), 400, /resource "a b" must not contain spaces/],
    [curl(sock, 'POST', '/v1/resources', '{"resource":"r","processes":[{"name":"a","prefix":"x"}],"colour":1}'), 400, /unknown field\(s\) colour/],
    [curl(sock, 'GET', '/v1/nope'), 404, /^unknown operation GET \/v1\/nope; known: /],
    [curl(sock, 'PATCH', '/v1/resources/x'), 405, /^PATCH is not allowed on \/v1\/resources\/x \(allowed: GET, DELETE\)$/],
    [curl(sock, 'GET', '/v1/resources/%E0%A4%A'), 400, /malformed percent-encoding/],
    [curl(sock, 'DELETE', '/v1/resources/never'), 404, /^resource "never" is not registered$/],
  ] as const;
  for (const [r, status, msg] of bad) {
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.match(r.body.error, msg);
    assert.ok(!String(r.body.error).includes('\n'));
  }

  // A client that connects and says nothing, one that sends 10 MB: the daemon answers others meanwhile and stays up.
  const silent = connect(sock);
  const huge = connect(sock);
  const closed = new Promise<void>((r) => huge.on('close', () => r()));
  huge.on('error', () => {});
  huge.write(`POST /v1/resources HTTP/1.1\r\nhost: procd\r\ncontent-type: application/json\r\ncontent-length: ${10 * 1024 * 1024}\r\n\r\n`);
  const chunk = Buffer.alloc(64 * 1024, 'x');
  for (let i = 0; i < 160 && !huge.destroyed; i++) huge.write(chunk);
  await closed;
  assert.equal(curl(sock, 'GET', '/v1/health').status, 200);
  await sleep(100);
  assert.equal(curl(sock, 'GET', '/v1/health').status, 200);
  silent.destroy();
  assert.equal(d.child.exitCode, null, 'the daemon is still running');
});

test('the socket folder is created when missing; one that cannot be created stops startup with one line', async () => {
  const dir = tempDir('sockdir');
  const d = await started(['--socket', join(dir, 'a', 'b', 'procd.sock')]);
  assert.equal(statSync(join(dir, 'a', 'b')).mode & 0o777, 0o700);
  await d.stop();
  mkdirSync(join(dir, 'ro'));
  chmodSync(join(dir, 'ro'), 0o500);
  const file = join(dir, 'plainfile');
  sh('touch', [file]);
  const bad = new DaemonProc(['--socket', join(file, 'sub', 'procd.sock')]);
  daemons.push(bad);
  const { code } = await bad.exited;
  assert.equal(code, 2);
  assert.match(bad.stderr, new RegExp(`^procd: control socket ${file}/sub/procd.sock: cannot create folder ${file}/sub: .*\\n$`));
  assert.equal(bad.stderr.split('\n').length, 2, bad.stderr);
  // Under /proc, Node's own recursive mkdir would spin forever; procd says no at once.
  const proc = procd(['run', '--socket', '/proc/procd-nope/procd.sock']);
  assert.equal(proc.code, 2);
  assert.match(proc.stderr, /^procd: control socket \/proc\/procd-nope\/procd.sock: cannot create folder \/proc\/procd-nope: ENOENT/);
  const none = procd(['run', '--socket', '']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^procd: --socket: is "" and there is no --cib: nothing could ever be watched/);
});

test('a stale socket left by a crashed daemon is replaced; a live one stops the second daemon; a plain file is refused', async () => {
  const dir = tempDir('stale');
  const sock = join(dir, 'procd.sock');
  // A process that listens on the path and is killed: the socket file stays, nobody answers.
  const crashed = spawnTracked(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(sock)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((r) => crashed.stdout!.once('data', () => r()));
  crashed.kill('SIGKILL');
  await new Promise<void>((r) => crashed.once('exit', () => r()));
  assert.ok(statSync(sock).isSocket(), 'the crashed listener left its socket file');
  const d = await started(['--socket', sock]);
  assert.equal(curl(sock, 'GET', '/v1/health').body.pid, d.child.pid);

  const second = new DaemonProc(['--socket', sock]);
  daemons.push(second);
  assert.equal((await second.exited).code, 2);
  assert.equal(second.stderr, `procd: control socket ${sock}: another procd is listening on it\n`);
  assert.equal(curl(sock, 'GET', '/v1/health').body.pid, d.child.pid, 'the first daemon still answers');

  const file = join(dir, 'not-a-socket');
  sh('touch', [file]);
  const third = new DaemonProc(['--socket', file]);
  daemons.push(third);
  assert.equal((await third.exited).code, 2);
  assert.match(third.stderr, /exists and is not a socket; refusing to replace it\n$/);
});

test('socket registrations survive a crash: a respawned procd watches them at once, removals stick, a bad file is moved aside', async () => {
  const dir = tempDir('ctl-keep');
  const sock = join(dir, 'procd.sock');
  const file = join(dir, 'procd.registrations.json');
  const name = uniqueName('ctl-keep');
  const p = spawnNamed(name);
  const first = await started(['--socket', sock, '--interval', '0.2']);
  const s = ['--socket', sock];
  assert.equal(procd(['ctl', 'add', ...s, '--resource', 'web', '--proc', `proc_web=${name}`, '--fail-resource', 'websrv']).code, 0);
  assert.equal(procd(['ctl', 'add', ...s, '--resource', 'gone', '--proc', `proc_x=${name}`]).code, 0);
  assert.equal(procd(['ctl', 'remove', ...s, '--resource', 'gone']).code, 0);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { resources: [{ resource: 'web', failResource: 'websrv', processes: [{ name: 'proc_web', prefix: name }] }] });

  await first.stop('SIGKILL');
  const second = await started(['--socket', sock, '--interval', '0.2']);
  await second.waitFor('restored line', (l) => /^restored 1 socket registration from .*: web$/.test(l.msg));
  const found = await second.waitFor('the same process watched again', (l) => l.event === 'process-found' && l.resource === 'web');
  assert.equal(found.pid, p.pid);
  const st = JSON.parse(procd(['status', ...s, '--resource', 'web', '--json']).stdout);
  assert.deepEqual([st.failResource, st.source, st.processes[0].state], ['websrv', 'socket', 'running']);
  assert.equal(procd(['status', ...s, '--resource', 'gone']).code, 3, 'a removal is kept too');
  await second.stop();

  writeFileSync(file, '{"resources": [{"resource": "bad name", "processes": []}]}');
  const third = await started(['--socket', sock]);
  const err = await third.waitFor('one error line', (l) => l.level === 'error' && l.msg.startsWith(`registrations file ${file}: `));
  assert.match(err.msg, /resources\[0\]: resource "bad name" must not contain spaces.*; moved aside to .*\.bad-\d+, starting with no socket registrations$/);
  assert.equal(procd(['status', ...s]).stdout, 'no resources are watched\n');
  assert.equal(readdirSync(dir).filter((f) => f.includes('.bad-')).length, 1);
});

test('--registrations "" keeps nothing on disk; --registrations without a socket is refused', async () => {
  const dir = tempDir('ctl-nokeep');
  const sock = join(dir, 'procd.sock');
  const name = uniqueName('ctl-nokeep');
  spawnNamed(name);
  const d = await started(['--socket', sock, '--registrations', '']);
  assert.equal(procd(['ctl', 'add', '--socket', sock, '--resource', 'web', '--proc', `proc_web=${name}`]).code, 0);
  await d.stop();
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('registrations')), []);
  const bad = procd(['run', '--socket', '', '--registrations', join(dir, 'r.json'), '--cib', join(dir, 'none.xml')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--registrations.*no control socket/);
});
