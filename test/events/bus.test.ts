import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus, type NewEvent, type ProcdEvent } from '../../src/events/index.js';

const lost: NewEvent = { kind: 'process-lost', resource: 'r', failResource: 'r', process: 'p', prefix: 'x', pid: 1, reason: 'exited', detectedBy: 'pidfd', failureId: 'f' };
const started: NewEvent = { kind: 'wrapper-started', failureId: 'f', resource: 'r', failResource: 'r', attempt: 1, argv: [], sinceDetectedUs: 0 };

test('an event emitted by a listener reaches every listener after the one being delivered', () => {
  const bus = new EventBus();
  const seen: string[] = [];
  bus.on('process-lost', () => {
    seen.push('reactor:process-lost');
    bus.emit(started); // as the failover does when its wrapper runs
    seen.push('reactor:returned');
  });
  bus.subscribe((e) => seen.push(`log:${e.kind}`));
  bus.subscribe((e) => seen.push(`journal:${e.kind}`));
  bus.emit(lost);
  assert.deepEqual(seen, ['reactor:process-lost', 'reactor:returned', 'log:process-lost', 'journal:process-lost', 'log:wrapper-started', 'journal:wrapper-started']);
});

test('emit returns the stamped event, also when its delivery waits', () => {
  const bus = new EventBus();
  let inner: ProcdEvent | undefined;
  const times: number[] = [];
  bus.on('process-lost', () => (inner = bus.emit(started)));
  bus.subscribe((e) => times.push(e.time));
  const outer = bus.emit(lost);
  assert.equal(inner?.kind, 'wrapper-started');
  assert.ok(inner!.time >= outer.time);
  assert.deepEqual(times, [outer.time, inner!.time]);
});

test('first: a listener subscribed later runs before those already there', () => {
  const bus = new EventBus();
  const seen: string[] = [];
  bus.subscribe(() => seen.push('log'));
  const off = bus.on('process-lost', () => seen.push('failover'), { first: true });
  bus.emit(lost);
  off();
  bus.emit(lost);
  assert.deepEqual(seen, ['failover', 'log', 'log']);
});

test('a listener that throws is reported and the others still get the event; delivery goes on afterwards', () => {
  const bus = new EventBus();
  const errors: string[] = [];
  const seen: string[] = [];
  bus.onListenerError = (err, e) => errors.push(`${e.kind}: ${(err as Error).message}`);
  bus.on('process-lost', () => {
    bus.emit(started);
    throw new Error('broken consumer');
  });
  bus.subscribe((e) => seen.push(e.kind));
  bus.emit(lost);
  bus.emit(lost);
  assert.deepEqual(errors, ['process-lost: broken consumer', 'process-lost: broken consumer']);
  assert.deepEqual(seen, ['process-lost', 'wrapper-started', 'process-lost', 'wrapper-started']);
});
