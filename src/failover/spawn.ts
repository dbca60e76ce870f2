import { spawn as nodeSpawn } from 'node:child_process';
import { closeSync, existsSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import koffi from 'koffi';

/** How a program run ended. */
export interface RunResult {
  /** Exit status when it exited; undefined when a signal ended it or it never started. */
  exitCode: number | undefined;
  signal: NodeJS.Signals | undefined;
  /** Killed because it outlived `timeoutMs`. */
  timedOut: boolean;
  /** Set when the program could not be started at all (ENOENT, EACCES, ENOEXEC...). */
  startError: string | undefined;
  /** Its pid, once started. */
  pid: number | undefined;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** The whole environment of the program (nothing is inherited beyond it). */
  env: Record<string, string>;
  /** SIGTERM after this long, SIGKILL `killAfterMs` later. */
  timeoutMs: number;
  killAfterMs: number;
  /** Bytes kept of stdout (the head) and of stderr (the tail); more is read and dropped. */
  maxBuffer: number;
  /** Called right after the program was started, before its output is read. */
  onStart?: (pid: number) => void;
}

/** A started program, whichever way it was started. */
interface Started {
  pid: number;
  stdout: Readable;
  stderr: Readable;
  /** Resolves once the program is reaped. */
  exit: Promise<{ code: number | undefined; signal: NodeJS.Signals | undefined }>;
}

/**
 * Runs `file` with `args` (an argv array; no shell ever sees them), stdin from /dev/null and
 * stdout/stderr captured.
 *
 * Started with posix_spawnp(3) through koffi when libc loads: glibc spawns with
 * clone(CLONE_VM|CLONE_VFORK), so the cost does not grow with the daemon's memory. Node's
 * child_process (and execa on top of it) fork(2) the whole daemon first, which costs 7-14 ms on
 * a 50-150 MB process on a small VM against ~2 ms here (bench: `npm run bench -- latency`): time
 * the cluster waits for. Without koffi it falls back to child_process.spawn.
 */
export async function runProgram(file: string, args: string[], o: RunOptions): Promise<RunResult> {
  let started: Started;
  try {
    const spawner = posixSpawner();
    started = spawner ? spawner(file, args, o.env) : await startWithNode(file, args, o.env);
  } catch (err) {
    return { exitCode: undefined, signal: undefined, timedOut: false, startError: (err as Error).message, pid: undefined, stdout: '', stderr: '' };
  }
  o.onStart?.(started.pid);
  return collect(started, o);
}

/**
 * Runs /bin/true once the way a wrapper is run, so that the first real failure does not pay the
 * first-call costs of this path (koffi's call set-up, V8 compiling the functions lazily): they
 * added 5-8 ms to the first wrapper start of a fresh daemon. Never fails.
 */
export async function warmUp(): Promise<void> {
  if (!existsSync(WARM_UP_PROGRAM)) return;
  await runProgram(WARM_UP_PROGRAM, [], { env: {}, timeoutMs: 5000, killAfterMs: 1000, maxBuffer: 1024 }).catch(() => {});
}

const WARM_UP_PROGRAM = '/bin/true';

/** How wrappers are started here: posix_spawn (through koffi), or Node's child_process when koffi or libc cannot be used. */
export function spawnMethod(): 'posix_spawn' | 'child_process' {
  return posixSpawner() ? 'posix_spawn' : 'child_process';
}

async function collect(s: Started, o: RunOptions): Promise<RunResult> {
  const stdout = new Capture(o.maxBuffer, 'head');
  const stderr = new Capture(o.maxBuffer, 'tail');
  const streamsDone = Promise.all([stdout.drain(s.stdout), stderr.drain(s.stderr)]);
  let timedOut = false;
  let reaped = false;
  let killTimer: NodeJS.Timeout | undefined;
  const signal = (sig: NodeJS.Signals) => {
    // Only while not reaped: after that the pid may belong to somebody else.
    if (!reaped) {
      try {
        process.kill(s.pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    signal('SIGTERM');
    killTimer = setTimeout(() => signal('SIGKILL'), o.killAfterMs);
  }, o.timeoutMs);
  const exit = await s.exit;
  reaped = true;
  clearTimeout(timer);
  clearTimeout(killTimer);
  // A child the program left behind may hold its pipes open: wait a moment, then stop reading.
  const late = setTimeout(() => {
    s.stdout.destroy();
    s.stderr.destroy();
  }, 500);
  await streamsDone;
  clearTimeout(late);
  return { exitCode: exit.code, signal: exit.signal, timedOut, startError: undefined, pid: s.pid, stdout: stdout.text(), stderr: stderr.text() };
}

/** Keeps the first (or last) `max` bytes of a stream and reads the rest to its end. */
class Capture {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(
    private readonly max: number,
    private readonly keep: 'head' | 'tail',
  ) {}

  drain(r: Readable): Promise<void> {
    return new Promise((resolve) => {
      r.on('data', (b: Buffer) => this.add(b));
      r.on('error', () => resolve());
      r.on('close', () => resolve());
    });
  }

  private add(b: Buffer) {
    if (this.keep === 'head') {
      if (this.size >= this.max) return;
      b = b.subarray(0, this.max - this.size);
    }
    this.chunks.push(b);
    this.size += b.length;
    if (this.keep === 'tail' && this.size > this.max) {
      const all = Buffer.concat(this.chunks).subarray(this.size - this.max);
      this.chunks = [all];
      this.size = all.length;
    }
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

async function startWithNode(file: string, args: string[], env: Record<string, string>): Promise<Started> {
  const child = nodeSpawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = new Promise<{ code: number | undefined; signal: NodeJS.Signals | undefined }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code: code ?? undefined, signal: signal ?? undefined }));
  });
  // child_process reports a failed start (ENOENT...) only through 'error': throw it as posix_spawn's is thrown.
  if (child.pid === undefined) await exit;
  return { pid: child.pid!, stdout: child.stdout!, stderr: child.stderr!, exit };
}

// ---- posix_spawn through koffi -------------------------------------------------------------

const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
const WNOHANG = 1;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
/** Larger than glibc's posix_spawn_file_actions_t (80 bytes), posix_spawnattr_t (336) and sigset_t (128). */
const OPAQUE_BYTES = 512;
const ERRNO_NAMES: Record<number, string> = Object.fromEntries(Object.entries(constants.errno).map(([k, v]) => [v, k]));
const SIGNAL_NAMES: Record<number, NodeJS.Signals> = Object.fromEntries(Object.entries(constants.signals).map(([k, v]) => [v, k as NodeJS.Signals]));

type Spawner = (file: string, args: string[], env: Record<string, string>) => Started;
let loaded: Spawner | null | undefined;

/** The test and bench switch that starts wrappers with Node's child_process; also `procd run --spawn-node`. */
export const SPAWN_NODE_ENV = 'PROCD_SPAWN_NODE';

/** The posix_spawn spawner, or null when koffi or libc is not usable (or PROCD_SPAWN_NODE asks for Node's). */
function posixSpawner(): Spawner | null {
  const node = process.env[SPAWN_NODE_ENV];
  if (node && node !== '0' && node !== 'false') return null;
  if (loaded === undefined) {
    try {
      loaded = loadPosixSpawner();
    } catch {
      loaded = null;
    }
  }
  return loaded;
}

function loadPosixSpawner(): Spawner {
  const lib = koffi.load('libc.so.6');
  const posixSpawnp = lib.func('int posix_spawnp(_Out_ int *pid, const char *file, void *actions, void *attr, const char **argv, const char **envp)');
  const actionsInit = lib.func('int posix_spawn_file_actions_init(void *actions)');
  const actionsOpen = lib.func('int posix_spawn_file_actions_addopen(void *actions, int fd, const char *path, int oflag, unsigned int mode)');
  const actionsDup2 = lib.func('int posix_spawn_file_actions_adddup2(void *actions, int fd, int newfd)');
  const actionsDestroy = lib.func('int posix_spawn_file_actions_destroy(void *actions)');
  // glibc >= 2.34: the wrapper gets 0, 1 and 2 only, also when something left a descriptor
  // without close-on-exec in the daemon (an inherited one, a library's).
  const actionsCloseFrom = optionalFunc(lib, 'int posix_spawn_file_actions_addclosefrom_np(void *actions, int from)');
  const attrInit = lib.func('int posix_spawnattr_init(void *attr)');
  const attrSetFlags = lib.func('int posix_spawnattr_setflags(void *attr, short flags)');
  const attrSetSigmask = lib.func('int posix_spawnattr_setsigmask(void *attr, void *set)');
  const attrSetSigdefault = lib.func('int posix_spawnattr_setsigdefault(void *attr, void *set)');
  const sigemptyset = lib.func('int sigemptyset(void *set)');
  const sigfillset = lib.func('int sigfillset(void *set)');
  const pipe2 = lib.func('int pipe2(_Out_ int *fds, int flags)');
  const waitpid = lib.func('int waitpid(int pid, _Out_ int *status, int options)');

  // One attribute set for every spawn, kept for the daemon's lifetime (never destroyed): every
  // signal back to its default disposition (the daemon ignores SIGPIPE, an exec'd program would
  // inherit that) and nothing blocked, as libuv does.
  const attr = Buffer.alloc(OPAQUE_BYTES);
  const empty = Buffer.alloc(OPAQUE_BYTES);
  const full = Buffer.alloc(OPAQUE_BYTES);
  if (attrInit(attr) !== 0 || sigemptyset(empty) !== 0 || sigfillset(full) !== 0) throw new Error('posix_spawnattr_init failed');
  attrSetSigmask(attr, empty);
  attrSetSigdefault(attr, full);
  attrSetFlags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  const reaper = new Reaper((pid) => {
    const status = [0];
    const r = waitpid(pid, status, WNOHANG) as number;
    return r === pid ? status[0]! : r < 0 ? -1 : null;
  });

  return (file, args, env) => {
    const out = [-1, -1];
    const err = [-1, -1];
    const close = (...fds: number[]) => fds.forEach((fd) => fd >= 0 && closeSync(fd));
    if (pipe2(out, O_CLOEXEC) !== 0) throw new Error(`pipe2 failed: ${errnoName(koffi.errno())}`);
    if (pipe2(err, O_CLOEXEC) !== 0) {
      close(out[0]!, out[1]!);
      throw new Error(`pipe2 failed: ${errnoName(koffi.errno())}`);
    }
    const actions = Buffer.alloc(OPAQUE_BYTES);
    actionsInit(actions);
    let rc: number;
    const pid = [0];
    try {
      actionsOpen(actions, 0, '/dev/null', O_RDONLY, 0);
      actionsDup2(actions, out[1]!, 1);
      actionsDup2(actions, err[1]!, 2);
      actionsCloseFrom?.(actions, 3);
      const envp: (string | null)[] = Object.entries(env).map(([k, v]) => `${k}=${v}`);
      envp.push(null);
      rc = posixSpawnp(pid, file, actions, attr, [file, ...args, null], envp) as number;
    } finally {
      actionsDestroy(actions);
      close(out[1]!, err[1]!);
    }
    if (rc !== 0) {
      close(out[0]!, err[0]!);
      throw new Error(`spawn ${file} ${errnoName(rc)}`);
    }
    const exit = reaper.add(pid[0]!);
    return { pid: pid[0]!, stdout: pipeReader(out[0]!), stderr: pipeReader(err[0]!), exit };
  };
}

function optionalFunc(lib: koffi.IKoffiLib, signature: string): ReturnType<koffi.IKoffiLib['func']> | null {
  try {
    return lib.func(signature);
  } catch {
    return null;
  }
}

function pipeReader(fd: number): Readable {
  return new Socket({ fd, readable: true, writable: false });
}

function errnoName(e: number): string {
  return ERRNO_NAMES[e] ?? `errno ${e}`;
}

/**
 * Reaps the children this module spawned, and only those: on SIGCHLD it asks waitpid(pid,
 * WNOHANG) for each of them (libuv does the same for its own, so neither takes the other's).
 * A slow timer backs SIGCHLD up while children run.
 */
class Reaper {
  private readonly waiting = new Map<number, (r: { code: number | undefined; signal: NodeJS.Signals | undefined }) => void>();
  private timer: NodeJS.Timeout | null = null;
  private readonly onSignal = () => this.check();

  /** `wait(pid)`: the raw wait status once reaped, null while it runs, -1 when it is not our child. */
  constructor(private readonly wait: (pid: number) => number | null) {}

  add(pid: number): Promise<{ code: number | undefined; signal: NodeJS.Signals | undefined }> {
    return new Promise((resolve) => {
      this.waiting.set(pid, resolve);
      if (this.waiting.size === 1) {
        process.on('SIGCHLD', this.onSignal);
        this.timer = setInterval(() => this.check(), 200);
      }
      this.check(); // it may have exited before the listener was there
    });
  }

  private check() {
    for (const [pid, resolve] of this.waiting) {
      const status = this.wait(pid);
      if (status === null) continue;
      this.waiting.delete(pid);
      resolve(decodeStatus(status));
    }
    if (this.waiting.size === 0 && this.timer) {
      process.off('SIGCHLD', this.onSignal);
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

function decodeStatus(status: number): { code: number | undefined; signal: NodeJS.Signals | undefined } {
  if (status < 0) return { code: undefined, signal: undefined };
  const sig = status & 0x7f;
  if (sig === 0) return { code: (status >> 8) & 0xff, signal: undefined };
  return { code: undefined, signal: SIGNAL_NAMES[sig] ?? (`SIG${sig}` as NodeJS.Signals) };
}
