/**
 * The helper thread's body (see index.ts). It sleeps in Atomics.wait until the main thread
 * notifies it (a message for a task, a task kicked) or the nearest task timer is due; then it
 * handles control messages (attach, detach), every task's waiting messages, and the tasks whose
 * time has come. A task that needs this thread's event loop for a while (the watchdog's
 * inspector session) returns a promise from pending(), and the loop waits for it.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';

export interface TaskContext {
  /** The task's end of its channel to its owner. */
  port: MessagePort;
  data: unknown;
}

export interface Task {
  /** A message from the owner. */
  onMessage(m: unknown): void;
  /** Milliseconds until the task wants tick() (<= 0: now); Infinity or absent: never. */
  due?(): number;
  tick?(): void;
  /** Work that needs the event loop; the thread waits for it before sleeping again. */
  pending?(): Promise<void> | null;
  /** Detached or the thread stops. */
  close?(): void;
}

export type TaskMessage =
  | { t: 'attach'; id: number; module: string; data: unknown; port: MessagePort }
  | { t: 'detach'; id: number }
  | { t: 'task-error'; id: number; message: string };

interface Running {
  task: Task | null;
  port: MessagePort;
  /** The module import and createTask() in flight. */
  starting: Promise<void> | null;
}

const control = new Int32Array((workerData as { control: SharedArrayBuffer }).control);
const tasks = new Map<number, Running>();

function failed(id: number, err: unknown) {
  const m: TaskMessage = { t: 'task-error', id, message: err instanceof Error ? err.message : String(err) };
  parentPort!.postMessage(m);
}

function attach(m: Extract<TaskMessage, { t: 'attach' }>) {
  const r: Running = { task: null, port: m.port, starting: null };
  tasks.set(m.id, r);
  r.starting = import(m.module)
    .then(async (mod: { createTask: (ctx: TaskContext) => Task | Promise<Task> }) => {
      const task = await mod.createTask({ port: m.port, data: m.data });
      if (tasks.get(m.id) === r) r.task = task;
      else task.close?.();
    })
    .catch((e) => failed(m.id, e))
    .finally(() => (r.starting = null));
}

function detach(id: number) {
  const r = tasks.get(id);
  if (!r) return;
  tasks.delete(id);
  try {
    r.task?.close?.();
  } catch (e) {
    failed(id, e);
  }
  r.port.close();
}

function guard(id: number, fn: () => void) {
  try {
    fn();
  } catch (e) {
    failed(id, e);
  }
}

async function run() {
  while (Atomics.load(control, 1) === 0) {
    let wait = Infinity;
    for (const r of tasks.values()) if (r.task?.due) wait = Math.min(wait, r.task.due());
    if (wait > 0) Atomics.wait(control, 0, 0, wait === Infinity ? undefined : Math.ceil(wait));
    Atomics.store(control, 0, 0);
    if (Atomics.load(control, 1) !== 0) break;
    let c;
    while ((c = receiveMessageOnPort(parentPort!))) {
      const m = c.message as TaskMessage;
      if (m.t === 'attach') attach(m);
      else if (m.t === 'detach') detach(m.id);
    }
    // A module being imported needs the event loop.
    for (const r of tasks.values()) if (r.starting) await r.starting;
    for (const [id, r] of tasks) {
      const task = r.task;
      if (!task) continue;
      let x: { message: unknown } | undefined;
      while (tasks.get(id) === r && (x = receiveMessageOnPort(r.port))) {
        const msg = x.message;
        guard(id, () => task.onMessage(msg));
      }
      if (tasks.get(id) === r && task.due && task.tick && task.due() <= 0) guard(id, () => task.tick!());
    }
    for (const r of tasks.values()) {
      const p = r.task?.pending?.();
      if (p) await p;
    }
  }
  for (const id of [...tasks.keys()]) detach(id);
}

void run();
