import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { twoNodeCib } from '../helpers/cibs.js';
import { daemonsPerTest, DaemonProc, PROCD } from '../helpers/daemon.js';
import { sleep, spawnNamed, uniqueName, waitFor } from '../helpers/procs.js';
import { tempDir, writeScript } from '../helpers/wrappers.js';
import { parseReport, SECTIONS } from './parse.js';

const { run } = daemonsPerTest();
const written = (d: DaemonProc) => d.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('guru meditation report written'));
const headers = (text: string) => text.split('\n').filter((l) => /^={4,}  Package  ={4,}$/.test(l)).length;

/** `procd report` against a socket, run asynchronously (the daemon may be busy). */
function procdReport(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(PROCD, ['report', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function post(socket: string, path: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = request({ socketPath: socket, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

async function started(d: DaemonProc) {
  await d.waitFor('daemon-started', (l) => l.event === 'daemon-started');
}

test('SIGUSR2 writes the report to stderr: every section in order, the watched pids, options with their source, no environment', async () => {
  const dir = tempDir('gmr');
  const name = uniqueName('gmr');
  const p = spawnNamed(name);
  const marker = `marker-${uniqueName('env')}`;
  const d = run(['--cib', twoNodeCib(dir, name), '--node', 'node1', '--interval', '0.2'], { GMR_SECRET_TOKEN: marker, SOME_PASSWORD: marker, PROCD_GRACE: '3' });
  const found = await d.waitFor('process-found', (l) => l.event === 'process-found');
  assert.equal(found.pid, p.pid);
  d.child.kill('SIGUSR2');
  await waitFor('a report on stderr', () => written(d).length === 1 && d.stderr.includes('====  Detection  ===='), 15_000);
  await waitFor('the whole Detection section', () => /watched pids\s+= .+\n/.test(d.stderr), 5000);
  const report = parseReport(d.stderr);
  assert.deepEqual(report.map((s) => s.title), SECTIONS);
  const sec = Object.fromEntries(report.map((s) => [s.title, s.body]));

  assert.match(sec.Package!, /product\s+= procd/);
  assert.match(sec.Package!, new RegExp(`node\\s+= ${process.version.replace(/\./g, '\\.')}`));
  assert.match(sec.Threads!, /Thread main \(pid \d+/);
  // One helper thread (one V8 isolate) runs both the watchdog and the journal's writer.
  assert.match(sec.Threads!, /Thread procd-helper \(Node thread \d+\)/);
  assert.match(sec.Threads!, /tasks: (report watchdog, journal writer|journal writer, report watchdog)\n/);
  assert.doesNotMatch(sec.Threads!, /Node thread 2/, 'no other Node thread');
  assert.match(sec['Green Threads']!, /Timeout/);
  assert.match(sec['Green Threads']!, /this\.tick\(\)/, 'the monitor timer is listed');
  assert.match(sec['Green Threads']!, /running: none/);
  // Processes: procd itself, from /proc, with its state.
  const self = new RegExp(`^\\s+${d.child.pid}\\s+\\d+\\s+[RSD]\\s.*bin/procd run`, 'm');
  assert.match(sec.Processes!, self);
  assert.match(sec.Configuration!, /^\s+interval\s+= 0\.2\s+\(flag\)$/m);
  assert.match(sec.Configuration!, /^\s+grace\s+= 3\s+\(env PROCD_GRACE\)$/m);
  assert.match(sec.Configuration!, /^\s+socket\s+= ".*"\s+\(flag\)$/m);
  assert.match(sec.Configuration!, /^\s+log-level\s+= "info"\s+\(default\)$/m);
  assert.match(sec.Resources!, new RegExp(`app\\s+running\\s+${p.pid}\\s`));
  assert.match(sec.Resources!, /^watch \(fail resource watch, from cib\):$/m);
  assert.match(sec['Fail-counts']!, /no failure reported/);
  assert.match(sec.Detection!, /mode\s+= (event|poll)/);
  assert.match(sec.Detection!, /watched pid count = 1/);
  assert.match(sec.Detection!, new RegExp(`watched pids\\s+= ${p.pid}$`, 'm'));
  // No environment dump: marker values of variables are nowhere, nor is PATH.
  assert.ok(!d.stderr.includes(marker), 'environment values must not appear');
  assert.ok(!d.stderr.includes(process.env.PATH!), 'PATH must not appear');
  assert.equal(d.child.exitCode, null, 'the daemon is still running');
  const exit = await d.stop();
  assert.equal(exit.code, 0, 'stops cleanly with the watchdog thread running');
});

test('after a failure, Fail-counts shows what the wrapper wrote', async () => {
  const dir = tempDir('gmr');
  const name = uniqueName('gmrfc');
  const p = spawnNamed(name);
  const d = run(['--cib', twoNodeCib(dir, name), '--node', 'node1', '--interval', '0.2']);
  await d.waitFor('process-found', (l) => l.event === 'process-found');
  p.kill('SIGKILL');
  await d.waitFor('failure-reported', (l) => l.event === 'failure-reported', 20_000);
  const before = d.stderr.length;
  d.child.kill('SIGUSR2');
  await waitFor('a report', () => written(d).length === 1 && /watched pids\s+= .+\n/.test(d.stderr), 15_000);
  const second = parseReport(d.stderr.slice(before));
  const fc = second.find((s) => s.title === 'Fail-counts')!.body;
  assert.match(fc, /watch\s+node1\s+fail-count-watch#asyncmon_0=1\s+\d{4}-\d\d-\d\dT\S+Z\s+reported\s+1\s+0/);
  assert.match(second.find((s) => s.title === 'Resources')!.body, /proc_app\s+lost\s+-\s.*\s1\s+"procd-test-gmrfc/);
});

test('--report-file: one report per touch after start-up, none at start-up, works after delete + recreate; SIGUSR2 is ignored', async () => {
  const dir = tempDir('gmr');
  const file = join(dir, 'trigger');
  writeFileSync(file, '');
  const d = run(['--node', 'n1', '--report-file', file, '--report-interval', '0.1']);
  await started(d);
  await sleep(800);
  assert.equal(written(d).length, 0, 'no report at start-up');
  const touch = () => assert.equal(spawnSync('touch', [file]).status, 0);
  touch();
  await waitFor('report 1', () => written(d).length === 1, 15_000);
  await sleep(400);
  touch();
  await waitFor('report 2', () => written(d).length === 2, 15_000);
  rmSync(file);
  await sleep(500);
  assert.equal(written(d).length, 2, 'deleting the file is not a touch');
  touch();
  await waitFor('report 3 after recreate', () => written(d).length === 3, 15_000);
  await sleep(500);
  assert.equal(written(d).length, 3, 'exactly one report per touch');
  d.child.kill('SIGUSR2');
  await d.waitFor('SIGUSR2 ignored', (l) => typeof l.msg === 'string' && l.msg.startsWith('SIGUSR2 ignored'));
  await sleep(500);
  assert.equal(d.child.exitCode, null, 'SIGUSR2 did not kill the daemon');
  assert.equal(d.child.signalCode, null);
  assert.equal(written(d).length, 3, 'SIGUSR2 wrote no report');
  await waitFor('three complete reports', () => headers(d.stderr) === 3 && d.stderr.trimEnd().endsWith('watched pids      = -'), 5000);
  touch();
  await waitFor('report 4', () => written(d).length === 4, 15_000);
  assert.equal((await d.stop()).code, 0);
});

test('a blocked event loop: the Threads section names the function that blocked it', async () => {
  const d = run(['--node', 'n1'], { PROCD_TEST_HOOKS: 'true' });
  await started(d);
  // Block for 2 s; the SIGUSR2 arrives during the block and is handled right after it.
  const blocking = post(d.socket, '/v1/test/block', { ms: 2000 });
  await d.waitFor('block started', (l) => typeof l.msg === 'string' && l.msg.startsWith('TEST-ONLY: blocking'));
  await sleep(300);
  d.child.kill('SIGUSR2');
  const r = await blocking;
  assert.equal(r.status, 200, r.body);
  await waitFor('report', () => written(d).length === 1, 15_000);
  await waitFor('Threads complete', () => d.stderr.includes('====  Green Threads  ===='), 5000);
  const threads = parseReport(d.stderr).find((s) => s.title === 'Threads')!.body;
  assert.match(threads, /main thread blocked for \d[\d.]* (s|ms) from /);
  assert.match(threads, /at testOnlyBlockEventLoop \(file:\/\/.*test-hooks\.js:\d+:\d+\)/);
  const m = /main thread blocked for ([\d.]+) (s|ms)/.exec(threads)!;
  const ms = Number(m[1]) * (m[2] === 's' ? 1000 : 1);
  assert.ok(ms >= 1000, `blocked for about 2 s, reported ${m[0]}`);
  // And over the socket, afterwards.
  const viaSocket = await procdReport(['--socket', d.socket]);
  assert.equal(viaSocket.code, 0, viaSocket.stderr);
  assert.match(viaSocket.stdout, /at testOnlyBlockEventLoop/);
  assert.equal((await d.stop()).code, 0);
});

test('a block in a timer, which does not kick the watchdog, is caught by its idle look', async () => {
  const d = run(['--node', 'n1'], { PROCD_TEST_HOOKS: 'true' });
  await started(d);
  // The watchdog looks every 2 s while the loop idles: a 3 s block always contains a look.
  const r = await post(d.socket, '/v1/test/block', { ms: 3000, afterMs: 700 });
  assert.equal(r.status, 200, r.body);
  await d.waitFor('block started', (l) => typeof l.msg === 'string' && l.msg.startsWith('TEST-ONLY: blocking') && l.msg.includes('from a timer'));
  await sleep(300);
  d.child.kill('SIGUSR2');
  await waitFor('report', () => written(d).length === 1, 15_000);
  await waitFor('Threads complete', () => d.stderr.includes('====  Green Threads  ===='), 5000);
  const threads = parseReport(d.stderr).find((s) => s.title === 'Threads')!.body;
  assert.match(threads, /at testOnlyBlockEventLoop \(file:\/\/.*test-hooks\.js:\d+:\d+\)/);
  assert.match(threads, /at Timeout\.block|at block/, 'called from the timer');
  const m = /main thread blocked for ([\d.]+) (s|ms)/.exec(threads)!;
  assert.ok(m, threads);
  const ms = Number(m[1]) * (m[2] === 's' ? 1000 : 1);
  assert.ok(ms >= 2500, `blocked for about 3 s, reported ${m[0]}`);
  assert.equal((await d.stop()).code, 0);
});

test('the test-only block route does not exist without --test-hooks', async () => {
  const d = run(['--node', 'n1']);
  await started(d);
  const r = await post(d.socket, '/v1/test/block', { ms: 100 });
  assert.equal(r.status, 404);
});

test('procd report prints the report over the control socket; --json gives sections with data', async () => {
  const dir = tempDir('gmr');
  const name = uniqueName('gmrsock');
  const p = spawnNamed(name);
  const d = run(['--cib', twoNodeCib(dir, name), '--node', 'node1', '--interval', '0.2']);
  await d.waitFor('process-found', (l) => l.event === 'process-found');
  const text = await procdReport(['--socket', d.socket]);
  assert.equal(text.code, 0, text.stderr);
  assert.deepEqual(parseReport(text.stdout).map((s) => s.title), SECTIONS);
  const json = await procdReport(['--socket', d.socket, '--json']);
  assert.equal(json.code, 0, json.stderr);
  const j = JSON.parse(json.stdout) as { pid: number; sections: { title: string; text: string; data?: { watchedPids?: number[] } }[] };
  assert.equal(j.pid, d.child.pid);
  assert.deepEqual(j.sections.map((s) => s.title), SECTIONS);
  assert.deepEqual(j.sections.find((s) => s.title === 'Detection')!.data!.watchedPids, [p.pid]);
  assert.equal(d.stderr.includes('====  Package  ===='), false, 'a socket report does not go to stderr');
  // No daemon: one clear line, non-zero exit.
  const none = await procdReport(['--socket', join(dir, 'nope.sock')]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^procd: control socket .*nope\.sock: does not exist/);
  assert.equal(none.stderr.trim().split('\n').length, 1);
});

test('--report-dir writes procd_gurumeditation_<YYYYmmddHHMMSS> files, one file per report', async () => {
  const dir = tempDir('gmrdir');
  const d = run(['--node', 'n1', '--report-dir', dir]);
  await started(d);
  d.child.kill('SIGUSR2');
  await waitFor('one report', () => written(d).length === 1, 15_000);
  d.child.kill('SIGUSR2');
  await waitFor('two reports', () => written(d).length === 2, 15_000);
  const files = readdirSync(dir).sort();
  assert.equal(files.length, 2, files.join(' '));
  for (const f of files) {
    assert.match(f, /^procd_gurumeditation_\d{14}(\.\d+)?$/);
    assert.deepEqual(parseReport(readFileSync(join(dir, f), 'utf8')).map((s) => s.title), SECTIONS);
  }
  const stamp = /_(\d{14})/.exec(files[0]!)![1]!;
  const t = Date.UTC(+stamp.slice(0, 4), +stamp.slice(4, 6) - 1, +stamp.slice(6, 8), +stamp.slice(8, 10), +stamp.slice(10, 12), +stamp.slice(12, 14));
  assert.ok(Math.abs(Date.now() - t) < 10 * 60_000, 'the name carries the UTC time');
  assert.deepEqual(written(d).map((l) => l.report).sort(), files.map((f) => join(dir, f)));
  assert.equal(d.stderr.includes('====  Package  ===='), false, 'nothing on stderr');
});

test('a closed stderr never kills the daemon; reports still come over the socket', async () => {
  const d = run(['--node', 'n1']);
  await started(d);
  d.child.stderr!.destroy();
  await sleep(200);
  for (let i = 0; i < 3; i++) {
    d.child.kill('SIGUSR2');
    await sleep(300);
  }
  await d.waitFor('dropped report logged', (l) => typeof l.msg === 'string' && l.msg.startsWith('guru meditation report dropped'));
  assert.equal(d.child.exitCode, null, 'still running');
  const r = await procdReport(['--socket', d.socket]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /====  Detection  ====/);
  assert.equal((await d.stop()).code, 0);
});

test('bad report flags: one clear line, exit 2', () => {
  const dir = tempDir('gmrbad');
  const bad = (args: string[], re: RegExp) => {
    const r = spawnSync(PROCD, ['run', '--node', 'n1', '--socket', join(dir, 'procd.sock'), ...args], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  };
  bad(['--report-interval', '0'], /--report-interval: must be a number of seconds > 0/);
  bad(['--report-dir', join(dir, 'missing')], /--report-dir: .*missing does not exist/);
  writeFileSync(join(dir, 'f'), '');
  bad(['--report-dir', join(dir, 'f')], /--report-dir: .* is not a folder/);
  assert.equal(existsSync(join(dir, 'missing')), false);
});

test('a full stderr (nobody reads it) neither stalls detection nor holds up the exit', async () => {
  const dir = tempDir('gmrfull');
  const name = uniqueName('gmrfull');
  const p = spawnNamed(name);
  const sock = join(dir, 'procd.sock');
  const wrapper = writeScript(dir, 'quick-wrapper', 'exit 0');
  // procd's stderr goes into a pipe whose reader (sleep) never reads; its stdout comes to us.
  const sh = spawn('/bin/sh', ['-c', 'exec 3>&1; "$0" run --cib "$1" --node node1 --interval 0.2 --socket "$2" --wrapper "$3" --journal "" 2>&1 1>&3 3>&- | sleep 100000', PROCD, twoNodeCib(dir, name), sock, wrapper], {
    stdio: ['ignore', 'pipe', 'ignore'],
    detached: true,
  });
  let out = '';
  sh.stdout!.on('data', (d) => (out += d));
  try {
    const line = await waitFor('daemon-started', () => out.split('\n').find((l) => l.includes('"daemon-started"')), 20_000);
    const pid = (JSON.parse(line) as { pid: number }).pid;
    await waitFor('process-found', () => out.includes(`"pid":${p.pid}`), 20_000);
    for (let i = 0; i < 40; i++) {
      process.kill(pid, 'SIGUSR2');
      await sleep(50);
    }
    await waitFor('some reports written', () => out.includes('guru meditation report written to stderr'), 20_000);
    await sleep(1000);
    const before = (out.match(/report written to stderr/g) ?? []).length;
    assert.ok(before < 40, `the pipe filled up (${before} of 40 reports went through)`);
    p.kill('SIGKILL');
    await waitFor('process-lost while stderr is full', () => out.includes('"event":"process-lost"'), 60_000);
    await waitFor('the failure reported while stderr is full', () => out.includes('"event":"failure-reported"'), 60_000);
    process.kill(pid, 'SIGTERM');
    await waitFor('daemon-stopped', () => out.includes('"event":"daemon-stopped"'), 60_000).catch((e: Error) => {
      throw new Error(`${e.message}; log:\n${out.split('\n').filter((l) => !l.includes('report written')).join('\n')}`);
    });
    await waitFor('the daemon process is gone', () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 20_000);
  } finally {
    try {
      process.kill(-sh.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

test('stderr redirected to a file: the report is appended to it', async () => {
  const dir = tempDir('gmrfile');
  const errFile = join(dir, 'procd.err');
  const fd = openSync(errFile, 'a');
  const sock = join(dir, 'procd.sock');
  const c = spawn(PROCD, ['run', '--node', 'n1', '--socket', sock, '--journal', ''], { stdio: ['ignore', 'pipe', fd] });
  closeSync(fd);
  let out = '';
  c.stdout!.on('data', (d) => (out += d));
  try {
    await waitFor('daemon-started', () => out.includes('"daemon-started"'), 20_000);
    c.kill('SIGUSR2');
    await waitFor('report written', () => out.includes('guru meditation report written to stderr'), 20_000);
    c.kill('SIGUSR2');
    await waitFor('second report written', () => (out.match(/report written to stderr/g) ?? []).length === 2, 20_000);
    const reports = readFileSync(errFile, 'utf8');
    assert.equal(headers(reports), 2);
    assert.deepEqual(parseReport(reports).map((s) => s.title), [...SECTIONS, ...SECTIONS]);
  } finally {
    c.kill('SIGKILL');
  }
});
