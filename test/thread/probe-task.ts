// A helper-thread task for test/thread: echoes messages with the thread it runs in, ticks every
// `tickMs` when asked, throws or ends its thread on request, and records close() in shared memory.
import { threadId } from 'node:worker_threads';
import type { Task, TaskContext } from '../../src/thread/index.js';

export function createTask({ port, data }: TaskContext): Task {
  const d = data as { tickMs?: number; closed?: SharedArrayBuffer };
  let next = d.tickMs ? performance.now() + d.tickMs : Infinity;
  let ticks = 0;
  return {
    onMessage(raw) {
      const m = raw as { t: string; v?: unknown };
      if (m.t === 'echo') port.postMessage({ t: 'echo', v: m.v, threadId });
      else if (m.t === 'throw') throw new Error('probe task failed on purpose');
      else if (m.t === 'end-thread') process.exit(7);
    },
    due: () => next - performance.now(),
    tick() {
      next = performance.now() + d.tickMs!;
      port.postMessage({ t: 'tick', n: ++ticks });
    },
    close() {
      if (d.closed) Atomics.store(new Int32Array(d.closed), 0, 1);
    },
  };
}
