import { closeSync, writeSync } from 'node:fs';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { loadLibc, type Libc } from './libc.js';
import { PROC_ROOT, readStat } from './reader.js';
import type { ProcStat } from './stat.js';
import type { WorkerCommand, WorkerReport } from './pidfd-worker.js';

const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
const ESRCH = 3;
const ERRNO: Record<number, string> = { 1: 'EPERM', 3: 'ESRCH', 12: 'ENOMEM', 22: 'EINVAL', 23: 'ENFILE', 24: 'EMFILE', 38: 'ENOSYS' };
const errnoName = (e: number) => ERRNO[e] ?? `errno ${e}`;

/** The test-only switch that makes pidfds unavailable (as on an old kernel); also `procd run --pidfd-disable`. */
export const PIDFD_DISABLE_ENV = 'PROCD_PIDFD_DISABLE';

/** What watch() found once the pidfd was open: the process's stat read after opening it (null: gone). */
export interface WatchResult {
  /** True when a pidfd now holds the process and its exit will be reported. */
  held: boolean;
  /** /proc/<pid>/stat read after the pidfd was opened: compare its starttime to be sure it is the same process. */
  stat: ProcStat | null;
  /** Why no pidfd holds it (process already gone, fd limit...), when held is false. */
  why?: string;
}

interface Entry {
  id: number;
  pid: number;
  starttime: number;
}

/**
 * Event-mode exit detection: each watched process is held by a pidfd (pidfd_open, Linux >= 5.3),
 * and ONE worker thread blocks in poll(2) over all of them plus a wake-up eventfd. An exit is
 * reported to the main thread the moment the kernel makes the pidfd readable.
 *
 * Adoption is race-free: the pidfd is opened first, then /proc/<pid>/stat is re-read; the caller
 * compares its starttime with the one it found, so a pid that was reused in between is never
 * mistaken for the process it watched.
 */
export class ExitWatcher {
  /** Called on the main thread for each watched process whose pidfd became readable. */
  onExit: (pid: number, starttime: number) => void = () => {};
  /** Called when the worker thread fails (pidfd events stop; the caller should fall back to polling). */
  onError: (message: string) => void = () => {};
  /** Exits reported by the kernel through a pidfd since open(). */
  exits = 0;

  private readonly byKey = new Map<string, Entry>();
  private readonly byId = new Map<number, Entry>();
  private nextId = 1;
  private closed = false;
  private readonly one = Buffer.alloc(8);

  private constructor(
    private readonly libc: Libc,
    private readonly worker: Worker,
    private readonly port: MessagePort,
    private readonly wakeFd: number,
    private readonly procRoot: string,
  ) {
    this.one.writeBigUInt64LE(1n);
    worker.on('message', (m: WorkerReport) => {
      if ('error' in m) return this.onError(m.error);
      for (const id of m.exited) {
        const e = this.byId.get(id);
        if (!e) continue; // unwatched meanwhile
        this.forget(e);
        this.exits++;
        this.onExit(e.pid, e.starttime);
      }
    });
    worker.on('error', (err) => this.onError(`pidfd worker failed: ${err.message}`));
    worker.unref();
  }

  /**
   * Starts the watcher, or returns why pidfds cannot be used here (the library failed to load,
   * pidfd_open is missing (ENOSYS) or refused (EPERM, seccomp), or the test switch is set).
   */
  static open(o: { procRoot?: string; env?: NodeJS.ProcessEnv } = {}): ExitWatcher | string {
    const env = o.env ?? process.env;
    const procRoot = o.procRoot ?? PROC_ROOT;
    if (env[PIDFD_DISABLE_ENV] && env[PIDFD_DISABLE_ENV] !== '0' && env[PIDFD_DISABLE_ENV] !== 'false') return `pidfds disabled by ${PIDFD_DISABLE_ENV}=${env[PIDFD_DISABLE_ENV]} (test switch)`;
    if (procRoot !== PROC_ROOT) return `pidfds name pids of procd's own namespace, but processes are read from ${procRoot}`;
    let libc: Libc;
    try {
      libc = loadLibc();
    } catch (err) {
      return `the FFI library koffi failed to load libc: ${(err as Error).message.split('\n')[0]}`;
    }
    const probe = libc.pidfdOpen(process.pid);
    if (probe < 0) return `pidfd_open failed with ${errnoName(libc.errno())} (needs Linux >= 5.3, not blocked by seccomp)`;
    closeSync(probe);
    const wakeFd = libc.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wakeFd < 0) return `eventfd failed with ${errnoName(libc.errno())}`;
    const { port1, port2 } = new MessageChannel();
    let worker: Worker;
    try {
      worker = new Worker(new URL('./pidfd-worker.js', import.meta.url), { workerData: { wakeFd, port: port2 }, transferList: [port2], trackUnmanagedFds: false });
    } catch (err) {
      closeSync(wakeFd);
      return `the pidfd worker thread failed to start: ${(err as Error).message}`;
    }
    return new ExitWatcher(libc, worker, port1, wakeFd, procRoot);
  }

  /** How many processes are held by a pidfd. */
  get size(): number {
    return this.byKey.size;
  }

  isHeld(pid: number, starttime: number): boolean {
    return this.byKey.has(`${pid}:${starttime}`);
  }

  /**
   * Holds (pid, starttime) by a pidfd. Opens the pidfd, then re-reads the stat: the caller must
   * check `stat` (gone, zombie, other starttime) before trusting that the process still lives.
   * When the stat shows another starttime the pidfd is released at once.
   */
  watch(pid: number, starttime: number): WatchResult {
    if (this.closed) return { held: false, stat: readStat(pid, this.procRoot), why: 'watcher closed' };
    if (this.isHeld(pid, starttime)) return { held: true, stat: readStat(pid, this.procRoot) };
    const fd = this.libc.pidfdOpen(pid);
    if (fd < 0) {
      const errno = this.libc.errno();
      return { held: false, stat: errno === ESRCH ? null : readStat(pid, this.procRoot), why: `pidfd_open(${pid}) failed with ${errnoName(errno)}` };
    }
    const stat = readStat(pid, this.procRoot);
    if (stat === null || stat.starttime !== starttime) {
      closeSync(fd);
      return { held: false, stat, why: stat === null ? 'gone' : 'pid reused' };
    }
    const e: Entry = { id: this.nextId++, pid, starttime };
    this.byKey.set(`${pid}:${starttime}`, e);
    this.byId.set(e.id, e);
    this.send({ op: 'add', id: e.id, fd });
    return { held: true, stat };
  }

  /** Releases the pidfd of (pid, starttime), if held. */
  unwatch(pid: number, starttime: number) {
    const e = this.byKey.get(`${pid}:${starttime}`);
    if (!e) return;
    this.forget(e);
    this.send({ op: 'remove', id: e.id });
  }

  /** Stops the worker (it closes every pidfd) and the wake-up descriptor. */
  async close() {
    if (this.closed) return;
    this.closed = true;
    this.send({ op: 'quit' }, true);
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => void this.worker.terminate().then(() => resolve()), 2000);
      this.worker.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
    this.port.close();
    closeSync(this.wakeFd);
    this.byKey.clear();
    this.byId.clear();
  }

  private forget(e: Entry) {
    this.byKey.delete(`${e.pid}:${e.starttime}`);
    this.byId.delete(e.id);
  }

  private send(cmd: WorkerCommand, evenIfClosed = false) {
    if (this.closed && !evenIfClosed) return;
    this.port.postMessage(cmd);
    writeSync(this.wakeFd, this.one);
  }
}
