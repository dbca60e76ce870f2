import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** A name no other process on the machine has: for cmdlines tests match on. */
export function uniqueName(tag: string): string {
  return `procd-test-${tag}-${randomBytes(4).toString('hex')}`;
}

const children = new Set<ChildProcess>();

/** Spawns `sleep SECONDS` whose cmdline reads `NAME SECONDS` (argv[0] replaced). */
export function spawnNamed(name: string, seconds = 100000): ChildProcess {
  const c = spawn('/bin/sleep', [String(seconds)], { argv0: name, stdio: 'ignore' });
  children.add(c);
  c.on('exit', () => children.delete(c));
  return c;
}

/** Spawns any command; killed by killAll(). */
export function spawnTracked(cmd: string, args: string[], opts: Parameters<typeof spawn>[2] = {}): ChildProcess {
  const c = spawn(cmd, args, { stdio: 'ignore', ...opts });
  children.add(c);
  c.on('exit', () => children.delete(c));
  return c;
}

/**
 * Leaves a zombie: bash starts a child named NAME that exits after `afterS` seconds, then execs
 * `sleep` which never reaps it. Returns the parent; the zombie's pid is found via /proc.
 */
export function spawnZombieMaker(name: string, afterS = 0.5): ChildProcess {
  return spawnTracked('/bin/bash', ['-c', '(exec -a "$1" sleep "$2") & exec sleep 100000', 'zombie-maker', name, String(afterS)]);
}

export function killAll() {
  for (const c of children) {
    try {
      process.kill(c.pid!, 'SIGCONT');
      c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  children.clear();
}

export function procState(pid: number): string | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[0]!;
  } catch {
    return null;
  }
}

/**
 * Waits without yielding to the event loop until pid is dead (zombie or gone): results of other
 * threads (the pidfd poll thread's) cannot be handled meanwhile. Throws after `ms`.
 */
export function untilDeadSync(pid: number, ms = 5000) {
  const end = Date.now() + ms;
  while (procState(pid) !== 'Z' && procState(pid) !== null) if (Date.now() > end) throw new Error(`pid ${pid} still alive after ${ms} ms`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every 20 ms until it returns a truthy value or `ms` pass; throws with `what` on time-out. */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, ms = 5000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}
