import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { twoNodeCib } from '../helpers/cibs.js';
import { DaemonProc, PROCD, procd } from '../helpers/daemon.js';
import { killAll, spawnNamed, uniqueName, waitFor } from '../helpers/procs.js';
import { tempDir } from '../helpers/wrappers.js';

const daemons: DaemonProc[] = [];
const followers: ReturnType<typeof spawn>[] = [];
afterEach(async () => {
  for (const f of followers.splice(0)) f.kill('SIGKILL');
  killAll();
  await Promise.all(daemons.splice(0).map((d) => d.stop('SIGKILL')));
});

async function start() {
  const dir = tempDir('cli');
  const name = uniqueName('cli');
  const p = spawnNamed(name);
  const d = new DaemonProc(['--cib', twoNodeCib(dir, name), '--node', 'node1', '--interval', '0.1', '--journal', join(dir, 'j.db'), '--http', '127.0.0.1:0']);
  daemons.push(d);
  const line = await d.waitFor('http', (l) => typeof l.http === 'string');
  await d.waitFor('found', (l) => l.event === 'process-found');
  return { d, p, url: `http://${line.http}` };
}

test('procd events --follow prints each new event as one TSV line (grep-able); events, failures and show read the journal', async () => {
  const { d, p, url } = await start();
  // The follower learns the URL from PROCD_URL, as an operator would set it.
  const f = spawn(PROCD, ['events', '--follow', '--kind', 'process-lost,failure-reported'], { env: { ...process.env, PROCD_URL: url } });
  followers.push(f);
  let out = '';
  let err = '';
  f.stdout!.on('data', (b) => (out += b));
  f.stderr!.on('data', (b) => (err += b));
  await new Promise((r) => setTimeout(r, 500)); // connected (it would also resume: the stream starts after the last printed event)
  p.kill('SIGKILL');
  await waitFor('followed lines', () => out.split('\n').filter(Boolean).length >= 2, 30_000).catch((e: Error) => {
    throw new Error(`${e.message}; follower exit ${f.exitCode}, stdout ${JSON.stringify(out)}, stderr ${JSON.stringify(err)}`);
  });
  const followed = out.split('\n').filter(Boolean).map((l) => l.split('\t'));
  assert.deepEqual(followed.map((c) => c.length), [10, 10]);
  assert.deepEqual(followed.map((c) => c[3]), ['process-lost', 'failure-reported']);
  const lost = followed[0]!;
  assert.deepEqual([lost[2], lost[4], lost[5], lost[6]], ['node1', 'watch', 'proc_app', String(p.pid)]);
  // Event mode may see the killed child for an instant as a zombie, before this test process reaps it.
  assert.ok(['exited', 'zombie'].includes(lost[7]!), lost[7]);
  assert.match(lost[1]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  const failureId = lost[8]!;
  await d.waitFor('reported', (l) => l.event === 'failure-reported');

  const all = procd(['events', '--url', url]);
  assert.equal(all.code, 0, all.stderr);
  const lines = all.stdout.trim().split('\n').map((l) => l.split('\t'));
  assert.ok(lines.every((c) => c.length === 10));
  assert.deepEqual(lines.map((c) => c[3]).slice(0, 3), ['resource-added', 'process-found', 'daemon-started']);
  assert.ok(lines.some((c) => c[3] === 'wrapper-finished' && /exitCode=0/.test(c[9]!)));

  const one = procd(['events', '--url', url, '--failure', failureId, '--format', 'json']);
  assert.deepEqual(one.stdout.trim().split('\n').map((l) => JSON.parse(l).kind), ['process-lost', 'wrapper-started', 'wrapper-finished', 'failcount-written', 'failure-reported']);
  const since = procd(['events', '--url', url, '--since', '10m', '--resource', 'watch', '--kind', 'process-found']);
  assert.equal(since.stdout.trim().split('\n').length, 1);
  const table = procd(['events', '--url', url, '--format', 'table', '-n', '2']);
  assert.match(table.stdout.split('\n')[0]!, /^ID\s+TIME\s+NODE\s+KIND\s+RESOURCE\s+PROCESS\s+PID\s+REASON\s+FAILURE\s+DETAIL$/);

  await waitFor('failure row', () => /\treported\t/.test(procd(['failures', '--url', url]).stdout));
  const failures = procd(['failures', '--url', url]);
  assert.equal(failures.code, 0, failures.stderr);
  const row = failures.stdout.trim().split('\t');
  assert.equal(row.length, 12);
  assert.deepEqual([row[0], row[2], row[4], row[5], row[6], row[7], row[11]], [failureId, 'watch', String(p.pid), lost[7], 'reported', '1', '1']);
  assert.ok(Number(row[10]) >= Number(row[8]), row.join(' '));

  const show = procd(['show', lost[0]!, '--url', url]);
  assert.equal(show.code, 0, show.stderr);
  const [fields, related] = show.stdout.split('\n\n');
  assert.match(fields!, new RegExp(`^failureId\\t${failureId}$`, 'm'));
  assert.match(fields!, /^kind\tprocess-lost$/m);
  assert.equal(related!.trim().split('\n').length, 5);
});

test('CLI bad input: one clear line and a non-zero exit', async () => {
  const { url } = await start();
  const cases: [string[], number, RegExp][] = [
    [['show', 'abc', '--url', url], 2, /^procd: EVENT_ID: must be an event id/],
    [['show', '99999', '--url', url], 1, /^procd: \/api\/v1\/events\/99999: HTTP 404: no event 99999 in the journal$/],
    [['events', '--url', url, '--since', 'yesterday'], 1, /^procd: \/api\/v1\/events: HTTP 400: since: "yesterday" is neither a duration/],
    [['events', '--url', url, '--kind', 'bogus'], 1, /HTTP 400: kind: unknown event kind "bogus"/],
    [['events', '--url', url, '--limit', '0'], 2, /--limit: must be an integer from 1 to 1000/],
    [['events', '--url', 'http://127.0.0.1:1'], 1, /^procd: http:\/\/127\.0\.0\.1:1: cannot reach the procd HTTP API .*; is the daemon running with --http\?$/],
    [['events', '--url', 'not a url'], 1, /^procd: not a url: is not a URL/],
    [['events', '--url', url, '--format', 'xml'], 2, /Invalid values/],
  ];
  for (const [args, code, msg] of cases) {
    const r = procd(args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr.trim(), msg, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, `${args.join(' ')}: one line: ${r.stderr}`);
  }
});
