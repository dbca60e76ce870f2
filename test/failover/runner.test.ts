import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventBus, type ProcdEvent, type ProcessLost } from '../../src/events/index.js';
import { Failover } from '../../src/failover/index.js';
import { recordingWrapper, tempDir, writeScript } from '../helpers/wrappers.js';

function lostEvent(bus: EventBus, over: Partial<ProcessLost> = {}): ProcessLost {
  return bus.emit({ kind: 'process-lost', resource: 'watch', failResource: 'app', process: 'proc_a', prefix: 'x', pid: 1234, reason: 'exited', failureId: 'f-1', ...over }) as ProcessLost;
}

function collect(bus: EventBus) {
  const events: ProcdEvent[] = [];
  bus.subscribe((e) => events.push(e));
  return events;
}

test('runs the wrapper with the argv contract and the given environment; parses the fail-count line', async () => {
  const dir = tempDir('fo');
  const log = join(dir, 'calls');
  const bus = new EventBus();
  const events = collect(bus);
  const f = new Failover({ bus, wrapper: recordingWrapper(dir, log), node: 'node1', env: { PROCD_CIB: '/x/cib.xml' } }).attach();
  lostEvent(bus);
  await f.idle();
  const calls = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0].argv, ['--resource', 'app', '--node', 'node1', '--reason', 'exited', '--pid', '1234']);
  assert.equal(calls[0].failureId, 'f-1');
  assert.equal(calls[0].cib, '/x/cib.xml');
  const kinds = events.map((e) => e.kind);
  assert.deepEqual(kinds, ['process-lost', 'wrapper-started', 'wrapper-finished', 'failcount-written', 'failure-reported']);
  const fc = events.find((e) => e.kind === 'failcount-written');
  assert.ok(fc && fc.kind === 'failcount-written' && fc.value === 1 && fc.attribute === 'fail-count-x#asyncmon_0');
});

test('retries with backoff: two failures then success is reported once with 3 attempts', async () => {
  const dir = tempDir('fo');
  const log = join(dir, 'calls');
  const bus = new EventBus();
  const events = collect(bus);
  const f = new Failover({ bus, wrapper: recordingWrapper(dir, log, 2), node: 'n', backoffMs: 50 }).attach();
  lostEvent(bus);
  await f.idle();
  const calls = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(calls.length, 3);
  assert.ok(calls[2].t - calls[1].t >= 100 - 5, 'second backoff doubles');
  const retries = events.filter((e) => e.kind === 'wrapper-retry');
  assert.deepEqual(retries.map((e) => e.kind === 'wrapper-retry' && e.delayMs), [50, 100]);
  const done = events.filter((e) => e.kind === 'failure-reported');
  assert.equal(done.length, 1);
  assert.equal(done[0]!.kind === 'failure-reported' && done[0]!.attempts, 3);
  const firstFail = events.find((e) => e.kind === 'wrapper-finished');
  assert.equal(firstFail?.kind === 'wrapper-finished' && firstFail.message, 'attempt 1 fails on purpose');
});

test('a wrapper that always fails ends in report-failed after 3 tries, never silently', async () => {
  const dir = tempDir('fo');
  const bus = new EventBus();
  const events = collect(bus);
  const f = new Failover({ bus, wrapper: writeScript(dir, 'w', 'echo "no cluster here" >&2; exit 1'), node: 'n', backoffMs: 10 }).attach();
  lostEvent(bus);
  await f.idle();
  const failed = events.filter((e) => e.kind === 'report-failed');
  assert.equal(failed.length, 1);
  assert.ok(failed[0]!.kind === 'report-failed' && failed[0]!.error === 'no cluster here' && failed[0]!.attempts === 3);
  assert.equal(events.filter((e) => e.kind === 'wrapper-started').length, 3);
});

test('a hanging wrapper is killed at the timeout; other failures queue behind it and still run', async () => {
  const dir = tempDir('fo');
  const log = join(dir, 'calls');
  const hang = writeScript(dir, 'hang', `case "$2" in hang) exec sleep 100 ;; esac\nexec "${recordingWrapper(dir, log)}" "$@"`);
  const bus = new EventBus();
  const events = collect(bus);
  const f = new Failover({ bus, wrapper: hang, node: 'n', timeoutMs: 200, tries: 1 }).attach();
  lostEvent(bus, { failResource: 'hang', failureId: 'f-hang' });
  lostEvent(bus, { failResource: 'ok', failureId: 'f-ok' });
  await f.idle(); // would take the hanging script's 100 s if it were not killed
  const fin = events.filter((e) => e.kind === 'wrapper-finished');
  assert.equal(fin.length, 2);
  assert.ok(fin[0]!.kind === 'wrapper-finished' && fin[0]!.timedOut && /timed out after 200 ms/.test(fin[0]!.message));
  assert.ok(events.some((e) => e.kind === 'report-failed' && e.failureId === 'f-hang'));
  assert.ok(events.some((e) => e.kind === 'failure-reported' && e.failureId === 'f-ok'));
});

test('shell metacharacters in names and prefixes reach the wrapper as data only', async () => {
  const dir = tempDir('fo');
  const log = join(dir, 'calls');
  const bus = new EventBus();
  const f = new Failover({ bus, wrapper: recordingWrapper(dir, log), node: 'n;touch /tmp/pwned-node' }).attach();
  const evil = `app$(touch ${dir}/pwned);'"\n\`id\``;
  lostEvent(bus, { failResource: evil });
  await f.idle();
  const call = JSON.parse(readFileSync(log, 'utf8').trim());
  assert.equal(call.argv[1], evil);
  assert.equal(call.argv[3], 'n;touch /tmp/pwned-node');
  assert.throws(() => readFileSync(join(dir, 'pwned')));
});

test('a missing wrapper: each attempt fails with a clear message naming it', async () => {
  const bus = new EventBus();
  const events = collect(bus);
  const f = new Failover({ bus, wrapper: '/nonexistent/procd-fail', node: 'n', backoffMs: 1 }).attach();
  lostEvent(bus);
  await f.idle();
  const fin = events.find((e) => e.kind === 'wrapper-finished');
  assert.ok(fin?.kind === 'wrapper-finished');
  assert.match(fin.message, /\/nonexistent\/procd-fail/);
  assert.ok(events.some((e) => e.kind === 'report-failed'));
});
