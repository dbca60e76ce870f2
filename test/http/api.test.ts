import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openStream } from '../../src/cli/api.js';
import { twoNodeCib } from '../helpers/cibs.js';
import { daemonsPerTest, DaemonProc, procd } from '../helpers/daemon.js';
import { spawnNamed, uniqueName, waitFor } from '../helpers/procs.js';
import { tempDir } from '../helpers/wrappers.js';

const { daemons } = daemonsPerTest();

/** A real daemon watching one real process, with the HTTP API on a free loopback port. */
async function start(extra: string[] = [], host = '127.0.0.1') {
  const dir = tempDir('http');
  const name = uniqueName('http');
  const cib = twoNodeCib(dir, name);
  const p = spawnNamed(name);
  const d = new DaemonProc(['--cib', cib, '--node', 'node1', '--interval', '0.1', '--journal', join(dir, 'journal.db'), '--http', `${host}:0`, ...extra]);
  daemons.push(d);
  const line = await d.waitFor('http listening', (l) => typeof l.http === 'string');
  const port = String(line.http).split(':').at(-1);
  const base = `http://127.0.0.1:${port}`;
  await d.waitFor('found', (l) => l.event === 'process-found');
  return { d, p, base, dir, cib, name };
}

async function get(base: string, path: string, init: RequestInit = {}) {
  const r = await fetch(base + path, init);
  const text = await r.text();
  let body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: r.status, body, type: r.headers.get('content-type') ?? '' };
}

test('resources, events, one event, failures, healthz and metrics describe a real failure', async () => {
  const { d, p, base } = await start();
  let r = await get(base, '/api/v1/resources');
  assert.equal(r.status, 200);
  const proc = r.body.resources[0].processes[0];
  assert.deepEqual([r.body.resources[0].resource, proc.state, proc.pid, r.body.resources[0].failcount], ['watch', 'running', p.pid, null]);
  assert.equal((await get(base, '/api/v1/resources/watch')).body.processes[0].pid, p.pid);

  p.kill('SIGKILL');
  const lost = await d.waitFor('lost', (l) => l.event === 'process-lost');
  await d.waitFor('reported', (l) => l.event === 'failure-reported');
  await waitFor('fail-count shown', async () => (await get(base, '/api/v1/resources/watch')).body.failcount?.value === 1);
  r = await get(base, '/api/v1/resources/watch');
  assert.equal(r.body.processes[0].state, 'lost');
  assert.equal(r.body.failcount.attribute, 'fail-count-watch#asyncmon_0');
  assert.equal(r.body.failcount.failureId, lost.failureId);

  // Filters: by kind, by resource, by failure id.
  r = await get(base, '/api/v1/events?kind=process-lost');
  assert.equal(r.body.events.length, 1);
  const ev = r.body.events[0];
  // Event mode may see the killed child for an instant as a zombie, before this test process reaps it.
  assert.ok(['exited', 'zombie'].includes(String(lost.reason)), String(lost.reason));
  assert.deepEqual([ev.kind, ev.pid, ev.reason, ev.failureId, ev.node, ev.resource], ['process-lost', p.pid, lost.reason, lost.failureId, 'node1', 'watch']);
  assert.match(ev.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  r = await get(base, `/api/v1/events?failure=${lost.failureId}`);
  assert.deepEqual(r.body.events.map((e: { kind: string }) => e.kind), ['process-lost', 'wrapper-started', 'wrapper-finished', 'failcount-written', 'failure-reported']);
  r = await get(base, '/api/v1/events?kind=process-found,process-lost&resource=watch&since=10m');
  assert.deepEqual(r.body.events.map((e: { kind: string }) => e.kind), ['process-found', 'process-lost']);
  assert.equal((await get(base, '/api/v1/events?resource=nosuch')).body.events.length, 0);
  assert.equal((await get(base, '/api/v1/events?until=2000-01-01')).body.events.length, 0);
  assert.equal((await get(base, `/api/v1/events/${ev.id}`)).body.failureId, lost.failureId);

  // Cursor pagination: pages of 2 visit every event once, in order; desc pages go backwards.
  const all = (await get(base, '/api/v1/events?limit=1000')).body.events.map((e: { id: number }) => e.id);
  const paged: number[] = [];
  let cursor: string | null = null;
  do {
    const page: { status: number; body: { events: { id: number }[]; next: string | null } } = await get(base, `/api/v1/events?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(page.status, 200);
    paged.push(...page.body.events.map((e) => e.id));
    cursor = page.body.next;
  } while (cursor);
  assert.deepEqual(paged, all);
  const back = await get(base, '/api/v1/events?limit=3&order=desc');
  assert.deepEqual(back.body.events.map((e: { id: number }) => e.id), all.slice(-3).reverse());
  const back2 = await get(base, `/api/v1/events?limit=3&cursor=${back.body.next}`);
  assert.deepEqual(back2.body.events.map((e: { id: number }) => e.id), all.slice(-6, -3).reverse());

  // Failures: one row with its timings (once the last event is on disk).
  await waitFor('failure row', async () => (await get(base, '/api/v1/failures')).body.failures[0]?.outcome === 'reported');
  r = await get(base, '/api/v1/failures');
  assert.equal(r.body.failures.length, 1);
  const f = r.body.failures[0];
  assert.equal(f.failureId, lost.failureId);
  assert.equal(f.outcome, 'reported');
  assert.equal(f.attempts, 1);
  assert.equal(f.pid, p.pid);
  assert.equal(f.failcount, 1);
  assert.ok(f.detected <= f.wrapperStarted && f.wrapperStarted <= f.wrapperFinished, JSON.stringify(f));
  assert.ok(f.totalMs >= f.detectedToWrapperMs, JSON.stringify(f));

  r = await get(base, '/healthz');
  assert.deepEqual([r.status, r.body.status, r.body.node, r.body.journal.state], [200, 'ok', 'node1', 'open']);

  r = await get(base, '/metrics');
  assert.equal(r.status, 200);
  assert.match(r.type, /^text\/plain/);
  assert.match(r.body, /^procd_watched_processes 0$/m);
  assert.match(r.body, new RegExp(`^procd_failures_total\\{resource="watch",reason="${lost.reason}"\\} 1$`, 'm'));
  assert.match(r.body, /^procd_detection_latency_seconds_count 1$/m);
  assert.match(r.body, /^procd_scan_duration_seconds \d/m);
  assert.match(r.body, /^procd_journal_dropped_total 0$/m);
});

test('bad input answers 400 (or 404) with one clear message, never 500', async () => {
  const { base } = await start();
  const cases: [string, number, RegExp][] = [
    ['/api/v1/events?bogus=1', 400, /unknown query parameter "bogus" \(known: resource, kind, node, process, failure, since, until, limit, cursor, order\)/],
    ['/api/v1/events?since=yesterday', 400, /since: "yesterday" is neither a duration back from now .* nor an ISO 8601 date/],
    ['/api/v1/events?since=10x', 400, /since: "10x"/],
    ['/api/v1/events?until=2026-13-45', 400, /until: "2026-13-45"/],
    ['/api/v1/events?since=1h&until=2h', 400, /until \(2h\) must be later than since \(1h\)/],
    ['/api/v1/events?limit=1000000', 400, /limit: must be an integer from 1 to 1000, got "1000000"/],
    ['/api/v1/events?limit=-1', 400, /limit/],
    ['/api/v1/events?limit=abc', 400, /limit/],
    ['/api/v1/events?kind=process-exploded', 400, /kind: unknown event kind "process-exploded" \(known: daemon-started/],
    ['/api/v1/events?cursor=nonsense!', 400, /cursor: "nonsense!" is not a cursor this API handed out/],
    [`/api/v1/events?cursor=${Buffer.from('asc:99999999').toString('base64url')}`, 400, /cursor: ".*" does not exist/],
    ['/api/v1/events?order=sideways', 400, /order: must be asc/],
    ['/api/v1/events?resource=a&resource=b', 400, /"resource" is given 2 times/],
    ['/api/v1/events/abc', 400, /event id: must be an event id/],
    ['/api/v1/events/99999999', 404, /no event 99999999 in the journal/],
    ['/api/v1/failures?limit=5000', 400, /limit/],
    ['/api/v1/failures?kind=x', 400, /unknown query parameter "kind"/],
    ['/api/v1/resources?x=1', 400, /unknown query parameter "x"/],
    ['/api/v1/resources/nosuch', 404, /no resource "nosuch" is watched \(watched: watch\)/],
    ['/api/v1/stream?since=nope', 400, /since: "nope"/],
    ['/api/v1/stream?lastEventId=x', 400, /Last-Event-ID: must be an event id/],
    ['/api/v1/nosuch', 404, /no such endpoint: GET \/api\/v1\/nosuch/],
  ];
  for (const [path, status, msg] of cases) {
    const r = await get(base, path);
    assert.equal(r.status, status, `${path}: ${JSON.stringify(r.body)}`);
    assert.match(r.body.message, msg, path);
    assert.ok(!r.body.message.includes('\n'), 'one line');
    assert.match(r.body.error, /^PROCD_/);
  }
  const post = await get(base, '/api/v1/events', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(post.status, 404, 'the API is read-only');
  const badHeader = await get(base, '/api/v1/stream', { headers: { 'last-event-id': 'zzz' } });
  assert.equal(badHeader.status, 400);
});

test('the SSE stream delivers new events live and resumes after Last-Event-ID from the journal', async () => {
  const { d, p, base } = await start();
  // Resuming after the newest event: nothing is missed even if the kill is seen before the stream is up.
  const newest = (await get(base, '/api/v1/events?order=desc&limit=1')).body.events[0].id;
  const it = openStream<{ kind: string; id: number; pid?: number }>({ url: base }, { kind: 'process-lost,failure-reported' }, String(newest));
  const first = it.next();
  p.kill('SIGKILL');
  const a = (await first).value!;
  assert.deepEqual([a.kind, a.pid], ['process-lost', p.pid]);
  const b = (await it.next()).value!;
  assert.equal(b.kind, 'failure-reported');
  await it.return(undefined);
  await d.waitFor('reported', (l) => l.event === 'failure-reported');

  // Resume: everything after the process-lost event, without filters, comes from the journal.
  const resumed = openStream<{ kind: string; id: number }>({ url: base }, {}, String(a.id));
  const kinds: string[] = [];
  for await (const e of resumed) {
    assert.ok(e.id > a.id);
    kinds.push(e.kind);
    if (e.kind === 'failure-reported') break;
  }
  assert.deepEqual(kinds, ['wrapper-started', 'wrapper-finished', 'failcount-written', 'failure-reported']);
});

test('a non-loopback address needs --http-token; with it, requests without the bearer token get 401', async () => {
  const refused = procd(['run', '--node', 'node1', '--journal', '', '--socket', join(tempDir('http-sock'), 'procd.sock'), '--http', '0.0.0.0:0']);
  assert.equal(refused.code, 2);
  assert.equal(refused.stderr.trim(), 'procd: --http: 0.0.0.0:0 is not a loopback address: set --http-token (clients send Authorization: Bearer TOKEN) or listen on 127.0.0.1');
  const bad = procd(['run', '--node', 'node1', '--journal', '', '--socket', join(tempDir('http-sock'), 'procd.sock'), '--http', 'localhost']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--http: "localhost" is not HOST:PORT/);

  const { base } = await start(['--http-token', 's3cret'], '0.0.0.0');
  const no = await get(base, '/api/v1/resources');
  assert.equal(no.status, 401);
  assert.match(no.body.message, /bearer token/);
  assert.equal((await get(base, '/api/v1/resources', { headers: { authorization: 'Bearer wrong!' } })).status, 401);
  assert.equal((await get(base, '/api/v1/resources', { headers: { authorization: 'Bearer s3cret' } })).status, 200);
  assert.equal((await get(base, '/api/v1/events?access_token=s3cret')).status, 200);
  assert.equal((await get(base, '/metrics')).status, 401);
  assert.equal((await get(base, '/healthz')).status, 200, 'health stays open for probes');
  const page = await get(base, '/');
  assert.deepEqual([page.status, page.type], [200, 'text/html; charset=utf-8'], 'the page itself holds no data; it sends #token=... with its requests');
  assert.match(page.body, /<script type="module" src="app.js">/);
});

test('--journal "" keeps events in memory and still serves them; a busy --http port is one clear line and exit 2', async () => {
  const d = new DaemonProc(['--node', 'node1', '--journal', '', '--http', '127.0.0.1:0']);
  daemons.push(d);
  const addr = String((await d.waitFor('http', (l) => typeof l.http === 'string')).http);
  await d.waitFor('started', (l) => l.event === 'daemon-started');
  const r = await get(`http://${addr}`, '/api/v1/events');
  assert.deepEqual(r.body.events.map((e: { kind: string }) => e.kind), ['daemon-started']);
  assert.equal((await get(`http://${addr}`, '/healthz')).body.journal.path, ':memory:');

  const busy = procd(['run', '--node', 'node1', '--journal', '', '--socket', join(tempDir('http-sock'), 'procd.sock'), '--http', addr]);
  assert.equal(busy.code, 2);
  assert.match(busy.stderr.trim(), new RegExp(`^procd: --http ${addr.replace(/[.[\]]/g, '\\$&')}: listen EADDRINUSE`));
  assert.equal(busy.stderr.trim().split('\n').length, 1);
});
