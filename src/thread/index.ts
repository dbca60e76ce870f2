import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { TaskMessage } from './worker.js';

export type { Task, TaskContext } from './worker.js';

/**
 * The daemon's one helper thread. The journal's writer and the report's watchdog each used to
 * be a worker thread of their own; a Node worker is a whole V8 isolate with its own event loop
 * (about 8 MB resident each, issue 4's memory bar). Here they are tasks of one thread that sleeps
 * in Atomics.wait until a task's message arrives (each task has a MessageChannel of its own) or a
 * task's timer is due: a wake-up costs no event-loop turn (issue 4's steady-CPU bar).
 *
 * `attach(module, data)` starts a task: the module exports `createTask(ctx)` (see worker.ts).
 * The handle it returns looks like a Worker to its owner: postMessage (which also wakes the
 * thread), on('message' | 'error' | 'exit'), ref/unref, terminate (detaches the task only).
 * The thread itself never keeps the process alive. When it dies, every task's handle gets
 * 'error' then 'exit'; the next attach starts a new thread.
 */
export class HelperThread {
  readonly name: string;
  private worker: Worker | null = null;
  /** Int32 [0]: wake-up word, [1]: 1 = stop. */
  private control: Int32Array | null = null;
  private tasks = new Map<number, TaskHandle>();
  private nextId = 1;

  constructor(name = 'procd-helper') {
    this.name = name;
  }

  get threadId(): number | null {
    return this.worker?.threadId ?? null;
  }

  /** The tasks running now, by name (for the report). */
  taskNames(): string[] {
    return [...this.tasks.values()].map((t) => t.name);
  }

  /** Starts a task in the thread (starting the thread first if needed); `name` is what the report lists. */
  attach(module: URL, data: unknown, name: string): TaskHandle {
    const w = this.start();
    const id = this.nextId++;
    const { port1, port2 } = new MessageChannel();
    const handle = new TaskHandle(id, name, port1, this);
    this.tasks.set(id, handle);
    const m: TaskMessage = { t: 'attach', id, module: module.href, data, port: port2 };
    w.postMessage(m, [port2]);
    this.wake();
    return handle;
  }

  /** Wakes the thread: a task's message is waiting, or a task wants to look at once. */
  wake() {
    const c = this.control;
    if (!c) return;
    Atomics.store(c, 0, 1);
    Atomics.notify(c, 0);
  }

  /** @internal: a handle's terminate(). */
  detach(handle: TaskHandle) {
    if (!this.tasks.delete(handle.id)) return;
    const m: TaskMessage = { t: 'detach', id: handle.id };
    this.worker?.postMessage(m);
    this.wake();
  }

  /** Stops the thread and every task in it. */
  async stop() {
    const w = this.worker;
    this.worker = null;
    if (this.control) Atomics.store(this.control, 1, 1);
    this.wake();
    this.control = null;
    for (const t of [...this.tasks.values()]) t.gone(null);
    this.tasks.clear();
    if (w) await w.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const sab = new SharedArrayBuffer(8);
    const control = new Int32Array(sab);
    const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: { control: sab }, name: this.name, stdout: false, stderr: false });
    this.worker = w;
    this.control = control;
    const died = (err: Error) => {
      if (this.worker !== w) return;
      this.worker = null;
      this.control = null;
      const tasks = [...this.tasks.values()];
      this.tasks.clear();
      for (const t of tasks) t.gone(err);
    };
    w.on('message', (m: TaskMessage) => {
      if (m.t === 'task-error') this.tasks.get(m.id)?.fail(new Error(m.message));
    });
    w.on('error', died);
    w.on('exit', (code) => died(new Error(`the helper thread exited (code ${code})`)));
    w.unref();
    return w;
  }
}

type Listener = (arg: never) => void;

/** A task's end of its channel, shaped like the Worker its owner used to hold. */
export class TaskHandle {
  private listeners = { message: [] as Listener[], error: [] as Listener[], exit: [] as Listener[] };
  private done = false;

  constructor(
    readonly id: number,
    readonly name: string,
    private readonly port: MessagePort,
    private readonly thread: HelperThread,
  ) {
    port.on('message', (m: unknown) => {
      for (const l of this.listeners.message) (l as (m: unknown) => void)(m);
    });
    // A task's port keeps the process alive only while its owner says so (ref()).
    port.unref();
  }

  get threadId(): number | null {
    return this.thread.threadId;
  }

  postMessage(m: unknown) {
    if (this.done) return;
    this.port.postMessage(m);
    this.thread.wake();
  }

  /** Makes the thread look at its tasks now (for a task that reads shared memory). */
  wake() {
    this.thread.wake();
  }

  on(event: 'message', fn: (m: never) => void): this;
  on(event: 'error', fn: (e: Error) => void): this;
  on(event: 'exit', fn: () => void): this;
  on(event: keyof TaskHandle['listeners'], fn: Listener): this {
    this.listeners[event].push(fn);
    return this;
  }

  ref() {
    if (!this.done) this.port.ref();
  }

  unref() {
    this.port.unref();
  }

  /** Detaches the task (the thread goes on for the others). */
  async terminate(): Promise<number> {
    this.thread.detach(this);
    this.gone(null);
    return 0;
  }

  /** @internal: the task threw; its owner decides (the journal restarts its writer). */
  fail(err: Error) {
    for (const l of this.listeners.error) (l as (e: Error) => void)(err);
  }

  /** @internal: the task is over (detached, or the thread died: `err`). */
  gone(err: Error | null) {
    if (this.done) return;
    this.done = true;
    this.port.close();
    if (err) this.fail(err);
    for (const l of this.listeners.exit) (l as () => void)();
  }
}
