import { closeSync, readSync, writeSync } from 'node:fs';
import { loadLibc, type Libc } from './libc.js';
import { PROC_ROOT, readStat } from './reader.js';
import type { ProcStat } from './stat.js';

const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
const POLLIN = 1;
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
  pid: number;
  starttime: number;
  fd: number;
}

/**
 * Event-mode exit detection: each watched process is held by a pidfd (pidfd_open, Linux >= 5.3)
 * and ONE thread blocks in poll(2) over all of them plus a wake-up eventfd: koffi runs the call
 * on a libuv pool thread (no second JavaScript isolate, no thread per process) and hands the
 * result back to the main thread, which reports the readable pidfds (exited processes) and
 * calls poll again. Adding or removing a process writes the eventfd so poll restarts with the
 * new set; a pidfd is only closed while no poll is waiting on it.
 *
 * Adoption is race-free: the pidfd is opened first, then /proc/<pid>/stat is re-read; the caller
 * compares its starttime with the one it found, so a pid that was reused in between is never
 * mistaken for the process it watched.
 */
export class ExitWatcher {
  /** Called on the main thread for each watched process whose pidfd became readable. */
  onExit: (pid: number, starttime: number) => void = () => {};
  /** Called when poll fails (pidfd events stop; the caller should fall back to polling). */
  onError: (message: string) => void = () => {};
  /** Exits reported by the kernel through a pidfd since open(). */
  exits = 0;
  /** poll(2) calls made (each wake-up or exit ends one). */
  polls = 0;

  private readonly byKey = new Map<string, Entry>();
  private inFlight = false;
  private woken = false;
  /** pidfds let go while a poll was waiting on them: closed when it returns. */
  private toClose: number[] = [];
  private closed = false;
  private closing: (() => void) | null = null;
  private readonly one = Buffer.alloc(8);
  private readonly drain = Buffer.alloc(8);
  /**
   * The pollfd array of the poll in flight and the entries it covers (slot i + 1 is armed[i]).
   * Both are reused by every poll (only one is ever in flight), so re-arming after each wake-up
   * or exit allocates nothing; the buffer only grows (doubling) when more processes are held.
   */
  private fds = Buffer.alloc(8 * 64);
  private readonly armed: Entry[] = [];

  private constructor(
    private readonly libc: Libc,
    private readonly wakeFd: number,
    private readonly procRoot: string,
  ) {
    this.one.writeBigUInt64LE(1n);
    this.arm();
  }

  /**
   * Starts the watcher, or returns why pidfds cannot be used here (the library failed to load,
   * pidfd_open is missing (ENOSYS) or refused (EPERM, seccomp), or the test switch is set).
   */
  static open(o: { procRoot?: string; env?: NodeJS.ProcessEnv } = {}): ExitWatcher | string {
    const env = o.env ?? process.env;
    const procRoot = o.procRoot ?? PROC_ROOT;
    const off = env[PIDFD_DISABLE_ENV];
    if (off && off !== '0' && off !== 'false') return `pidfds disabled by ${PIDFD_DISABLE_ENV}=${off} (test switch)`;
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
    return new ExitWatcher(libc, wakeFd, procRoot);
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
    this.byKey.set(`${pid}:${starttime}`, { pid, starttime, fd });
    this.wake();
    return { held: true, stat };
  }

  /**
   * Reports the exits the kernel has already signalled, now, on the calling thread: for long
   * work on the main thread (a discovery scan) to call every millisecond or so, so that a death
   * does not wait for it to end before the poll thread's result can be handled. One poll(2) with
   * timeout 0 over the held pidfds (the poll thread's own poll is not disturbed: readiness stays).
   * Returns how many exits it reported; each exit is reported once, by whichever sees it first.
   */
  pollNow(): number {
    if (this.closed || this.byKey.size === 0) return 0;
    const entries = [...this.byKey.values()];
    const fds = Buffer.alloc(8 * entries.length);
    entries.forEach((e, i) => {
      fds.writeInt32LE(e.fd, 8 * i);
      fds.writeInt16LE(POLLIN, 8 * i + 4);
    });
    if (this.libc.poll(fds, entries.length, 0) <= 0) return 0;
    const exited = entries.filter((e, i) => fds.readInt16LE(8 * i + 6) !== 0);
    for (const e of exited) {
      this.byKey.delete(`${e.pid}:${e.starttime}`);
      this.release(e.fd);
    }
    this.report(exited);
    return exited.length;
  }

  /** Releases the pidfd of (pid, starttime), if held. */
  unwatch(pid: number, starttime: number) {
    const key = `${pid}:${starttime}`;
    const e = this.byKey.get(key);
    if (!e) return;
    this.byKey.delete(key);
    this.release(e.fd);
  }

  /** Ends the poll and closes every pidfd and the wake-up descriptor. */
  async close() {
    if (this.closed) return;
    this.closed = true;
    for (const e of this.byKey.values()) this.release(e.fd);
    this.byKey.clear();
    if (this.inFlight) {
      this.wake();
      await new Promise<void>((resolve) => (this.closing = resolve));
    }
    else this.finish();
  }

  private release(fd: number) {
    if (this.inFlight) {
      this.toClose.push(fd);
      this.wake();
    } else closeSync(fd);
  }

  /** Makes the waiting poll return (it then restarts over the current set). */
  private wake() {
    if (!this.inFlight) return;
    if (this.woken) return;
    this.woken = true;
    writeSync(this.wakeFd, this.one);
  }

  /** Starts one poll over the wake-up eventfd and every held pidfd. */
  private arm() {
    if (this.closed || this.inFlight) return;
    // Overwrite in place: emptying the array (length = 0) would drop its backing store and
    // make every re-arm grow a new one.
    const armed = this.armed;
    let held = 0;
    for (const e of this.byKey.values()) {
      if (held < armed.length) armed[held] = e;
      else armed.push(e);
      held++;
    }
    if (armed.length > held) armed.length = held;
    const n = held + 1;
    if (this.fds.length < 8 * n) {
      let size = this.fds.length;
      while (size < 8 * n) size *= 2;
      this.fds = Buffer.alloc(size);
    }
    const fds = this.fds;
    fds.writeInt32LE(this.wakeFd, 0);
    fds.writeInt16LE(POLLIN, 4);
    fds.writeInt16LE(0, 6);
    for (let i = 0; i < armed.length; i++) {
      const off = 8 * (i + 1);
      fds.writeInt32LE(armed[i]!.fd, off);
      fds.writeInt16LE(POLLIN, off + 4);
      fds.writeInt16LE(0, off + 6);
    }
    this.inFlight = true;
    this.polls++;
    this.libc.pollAsync(fds, n, -1, this.onPolled);
  }

  /** The one completion callback every poll shares (no closure per poll). */
  private readonly onPolled = (err: unknown, r: number) => this.polled(err, r);

  private polled(err: unknown, r: number) {
    this.inFlight = false;
    const fds = this.fds;
    const armed = this.armed;
    if (fds.readInt16LE(6) !== 0 || this.woken) {
      try {
        readSync(this.wakeFd, this.drain, 0, 8, null);
      } catch {
        /* EAGAIN: nothing to drain */
      }
      this.woken = false;
    }
    for (const fd of this.toClose.splice(0)) closeSync(fd);
    if (this.closed) return this.finish();
    if (err || r < 0) {
      const why = err ? String((err as Error).message ?? err) : 'poll failed';
      for (const e of this.byKey.values()) closeSync(e.fd);
      this.byKey.clear();
      armed.length = 0;
      this.closed = true;
      this.finish();
      this.onError(`pidfd poll failed: ${why}`);
      return;
    }
    let exited: Entry[] | null = null;
    if (r > 0) {
      for (let i = 0; i < armed.length; i++) {
        if (fds.readInt16LE(8 * (i + 1) + 6) === 0) continue;
        const e = armed[i]!;
        const key = `${e.pid}:${e.starttime}`;
        if (this.byKey.get(key) !== e) continue; // let go meanwhile (or reported by pollNow)
        this.byKey.delete(key);
        closeSync(e.fd);
        (exited ??= []).push(e);
      }
    }
    // Exits first (their wrappers start at once), then the next poll: nothing is missed
    // meanwhile, a pidfd stays readable.
    try {
      if (exited) this.report(exited);
    } finally {
      this.arm();
    }
  }

  /** Hands exits to onExit, counted (from the poll thread's result or from pollNow). */
  private report(exited: Entry[]) {
    for (const e of exited) {
      this.exits++;
      this.onExit(e.pid, e.starttime);
    }
  }

  private finish() {
    closeSync(this.wakeFd);
    this.closing?.();
    this.closing = null;
  }
}
