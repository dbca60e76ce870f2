import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { procd } from '../helpers/daemon.js';
import { killAll, sleep, spawnNamed, uniqueName } from '../helpers/procs.js';

afterEach(killAll);

test('--help works on procd and on every command, and names every flag', () => {
  const top = procd(['--help']);
  assert.equal(top.code, 0);
  for (const cmd of ['run', 'status', 'ctl', 'cib', 'ps', 'install-ocf']) assert.match(top.stdout, new RegExp(`procd ${cmd}`));
  const run = procd(['run', '--help']);
  assert.equal(run.code, 0);
  for (const flag of ['--cib', '--node', '--interval', '--grace', '--wrapper', '--wrapper-timeout', '--log-level']) assert.ok(run.stdout.includes(flag), flag);
  for (const sub of ['list', 'fail', 'failcount', 'reset']) {
    const r = procd(['cib', sub, '--help']);
    assert.equal(r.code, 0, `cib ${sub} --help: ${r.stderr}`);
    assert.match(r.stdout, /--cib/);
  }
  assert.equal(procd(['ps', '--help']).code, 0);
  for (const [args, flags] of [
    [['status'], ['--socket', '--resource', '--json']],
    [['ctl', 'add'], ['--socket', '--resource', '--proc', '--fail-resource']],
    [['ctl', 'remove'], ['--socket', '--resource']],
    [['install-ocf'], ['--provider', '--ocf-root']],
  ] as const) {
    const r = procd([...args, '--help']);
    assert.equal(r.code, 0, `${args.join(' ')} --help: ${r.stderr}`);
    for (const f of flags) assert.ok(r.stdout.includes(f), `${args.join(' ')} --help names ${f}`);
  }
});

test('no command, or an unknown one: one line and exit 2', () => {
  for (const args of [[], ['frobnicate']]) {
    const r = procd(args);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('procd ps PREFIX prints the exact cmdline, marks the oldest, and gives a pasteable nvpair', async () => {
  const name = uniqueName('ps');
  const a = spawnNamed(`${name} "quoted" & <tag>`);
  await sleep(30);
  const b = spawnNamed(`${name} "quoted" & <tag>`, 7);
  await sleep(30);
  const r = procd(['ps', name]);
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.split('\n').filter((l) => l.includes(name) && !l.includes('nvpair'));
  assert.equal(rows.length, 2);
  assert.match(rows[0]!, new RegExp(`^\\s*${a.pid} S\\* ${name} "quoted" & <tag> 100000$`));
  assert.match(rows[1]!, new RegExp(`^\\s*${b.pid} S  `));
  assert.ok(r.stdout.includes(`value="${name} &quot;quoted&quot; &amp; &lt;tag&gt; 100000"`));
  const j = JSON.parse(procd(['ps', name, '--json']).stdout);
  assert.deepEqual(j.map((x: { pid: number }) => x.pid), [a.pid, b.pid]);
  assert.equal(j[0].cmdline, `${name} "quoted" & <tag> 100000`);
  assert.equal(j[0].watched, true);
  const none = procd(['ps', uniqueName('none')]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no process cmdline starts with/);
});
