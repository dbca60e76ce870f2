import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HelperThread, type TaskHandle } from '../../src/thread/index.js';
import { waitFor } from '../helpers/procs.js';

const PROBE = new URL('./probe-task.js', import.meta.url);

/** Collects a handle's messages, errors and exit. */
function watch(h: TaskHandle) {
  const seen = { messages: [] as { t: string; v?: unknown; n?: number; threadId?: number }[], errors: [] as string[], exited: false };
  h.on('message', (m: never) => seen.messages.push(m));
  h.on('error', (e) => seen.errors.push(e.message));
  h.on('exit', () => (seen.exited = true));
  return seen;
}

async function echo(h: TaskHandle, seen: ReturnType<typeof watch>, v: string) {
  h.postMessage({ t: 'echo', v });
  await waitFor(`echo ${v}`, () => seen.messages.some((m) => m.t === 'echo' && m.v === v), 5000);
  return seen.messages.find((m) => m.t === 'echo' && m.v === v)!.threadId!;
}

test('tasks share one thread; each gets its own messages; a task timer ticks while the thread sleeps', async () => {
  const thread = new HelperThread('procd-test');
  try {
    const a = thread.attach(PROBE, {}, 'a');
    const b = thread.attach(PROBE, { tickMs: 30 }, 'b');
    const sa = watch(a);
    const sb = watch(b);
    const ta = await echo(a, sa, 'to-a');
    const tb = await echo(b, sb, 'to-b');
    assert.equal(ta, tb, 'one thread');
    assert.equal(ta, thread.threadId);
    assert.ok(!sa.messages.some((m) => m.v === 'to-b') && !sb.messages.some((m) => m.v === 'to-a'), 'no crossed messages');
    assert.deepEqual(thread.taskNames(), ['a', 'b']);
    await waitFor('three ticks', () => sb.messages.filter((m) => m.t === 'tick').length >= 3, 5000);
    assert.equal(sa.messages.filter((m) => m.t === 'tick').length, 0, 'only the task with a timer ticks');
  } finally {
    await thread.stop();
  }
});

test('a task that throws: its owner gets the error, the other tasks go on; terminate() detaches and closes one task', async () => {
  const thread = new HelperThread('procd-test');
  try {
    const closed = new SharedArrayBuffer(4);
    const a = thread.attach(PROBE, { closed }, 'a');
    const b = thread.attach(PROBE, {}, 'b');
    const sa = watch(a);
    const sb = watch(b);
    await echo(a, sa, '1');
    a.postMessage({ t: 'throw' });
    await waitFor('the error', () => sa.errors.length === 1, 5000);
    assert.match(sa.errors[0]!, /probe task failed on purpose/);
    await echo(b, sb, 'still here');
    assert.equal(sb.errors.length, 0);
    await a.terminate();
    assert.equal(sa.exited, true);
    await waitFor('close() ran in the thread', () => Atomics.load(new Int32Array(closed), 0) === 1, 5000);
    assert.deepEqual(thread.taskNames(), ['b']);
    await echo(b, sb, 'after detach');
  } finally {
    await thread.stop();
  }
});

test('the thread dies: every task gets error and exit; the next attach starts a new thread', async () => {
  const thread = new HelperThread('procd-test');
  try {
    const a = thread.attach(PROBE, {}, 'a');
    const b = thread.attach(PROBE, {}, 'b');
    const sa = watch(a);
    const sb = watch(b);
    const first = await echo(a, sa, 'x');
    a.postMessage({ t: 'end-thread' });
    await waitFor('both tasks told', () => sa.exited && sb.exited, 5000);
    assert.match(sb.errors.join('\n'), /helper thread exited \(code 7\)/);
    assert.equal(thread.threadId, null);
    const c = thread.attach(PROBE, {}, 'c');
    const sc = watch(c);
    const second = await echo(c, sc, 'y');
    assert.notEqual(second, first, 'a new thread');
  } finally {
    await thread.stop();
  }
});
