import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BenchDaemon, benchDir, timeWrapper, writeCib } from './daemon.js';
import { fmt, quantile, sleep, table } from './lib.js';

const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;
const NATIVE = fileURLToPath(new URL('../../bench/native/', import.meta.url));

/** c: bench/native/recorder.c, whose first act is reading the clock. bash: the same in bash ($EPOCHREALTIME, no fork). */
type WrapperKind = 'c' | 'bash';

interface Config {
  label: string;
  /** procd with these `run` flags, or the C floor watcher. */
  watcher: { procd: string[] } | 'floor';
  wrapper: WrapperKind;
  /** Random pause between kills beyond 20 ms (kills further apart than a wrapper run, so none waits for another's). */
  maxGapMs: number;
}

/** What a run needs from the thing that watches: procd, or the floor watcher. */
interface Watcher {
  /** Is this pid held (its death will be seen)? */
  holds(pid: number): boolean;
  /** A new process to watch was started (procd finds it by its cmdline itself). */
  started(pid: number): void;
  /** ms from detecting the death of pid to its wrapper running (procd's own part), if it says. */
  ownMs(pid: number): number | undefined;
  detectedBy(pids: Set<number>): string;
  /** Resolves when every one of `n` is held. */
  waitAll(n: number, pids: () => number[]): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Detection latency: `kills` × kill -9 of a watched process (not the watcher's child), each at
 * a random moment; the time from the kill to the start of the failure wrapper, what the cluster
 * waits for. Side by side in one run: procd in event mode (wrappers started by posix_spawn, and
 * by Node's child_process for comparison), procd polling at 1 s and 0.1 s, and the floor of this
 * machine: a 70-line C watcher (bench/native/floor-watcher.c: pidfds, one poll, posix_spawn).
 * Two wrappers: a compiled one whose first act is reading the clock (the moment the wrapper
 * runs) and a bash one (adds bash's own start-up, which no watcher can save).
 */
export async function detectBench(kills = 200) {
  const only = process.env.PROCD_BENCH_MODES?.split(',');
  const event = ['--mode', 'event', '--interval', '1'];
  const configs: Config[] = [
    { label: 'procd event (pidfd)', watcher: { procd: event }, wrapper: 'c', maxGapMs: 180 },
    { label: 'procd event, --spawn-node', watcher: { procd: [...event, '--spawn-node'] }, wrapper: 'c', maxGapMs: 180 },
    { label: 'procd event (pidfd)', watcher: { procd: event }, wrapper: 'bash', maxGapMs: 180 },
    // Polling: pauses spread over a whole interval, so kills land at random phases of the poll.
    { label: 'procd poll, --interval 1', watcher: { procd: ['--mode', 'poll', '--interval', '1'] }, wrapper: 'c', maxGapMs: 1000 },
    { label: 'procd poll, --interval 0.1', watcher: { procd: ['--mode', 'poll', '--interval', '0.1'] }, wrapper: 'c', maxGapMs: 180 },
    { label: 'floor (C watcher)', watcher: 'floor', wrapper: 'c', maxGapMs: 180 },
    { label: 'floor (C watcher)', watcher: 'floor', wrapper: 'bash', maxGapMs: 180 },
  ].filter((c) => !only || only.some((o) => c.label.includes(o))) as Config[];
  const bin = benchDir('native');
  const compiled = compile(bin);
  const rows: (string | number)[][] = [];
  let eventP99 = NaN;
  const floorP50: Partial<Record<WrapperKind, number>> = {};
  const p50s: number[] = [];
  for (const c of configs) {
    if ((c.wrapper === 'c' || c.watcher === 'floor') && typeof compiled === 'string') {
      rows.push([c.label, c.wrapper, 0, 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 0, compiled]);
      p50s.push(NaN);
      continue;
    }
    const r = await runOne(c, kills, typeof compiled === 'string' ? null : compiled);
    if (c.label === 'procd event (pidfd)' && c.wrapper === 'c') eventP99 = r.p99;
    if (c.watcher === 'floor') floorP50[c.wrapper] = r.p50;
    p50s.push(r.p50);
    rows.push([c.label, c.wrapper, r.n, fmt(r.p50), fmt(r.p99), fmt(r.max), fmt(r.own50), fmt(r.own99), r.missed, r.label]);
  }
  rows.forEach((row, i) => row.push(fmt(p50s[i]! / floorP50[configs[i]!.wrapper]!, 1) + 'x'));
  return table(
    `Detection latency: kill -9 → failure wrapper start, ms; "procd's part" = from procd seeing the death to the wrapper running (${kills} kills each; bar: procd event p99 <= 5 ms to the wrapper's start → ${eventP99 <= 5 ? 'met' : 'NOT met'})`,
    ['watcher', 'wrapper', 'kills', 'p50', 'p99', 'max', "procd's part p50", "procd's part p99", 'missed', 'detected by', 'p50 vs floor, same wrapper'],
    rows,
  );
}

/** Compiles the recorder (static when the C library allows) and the floor watcher with cc; a reason string when it cannot. */
function compile(dir: string): { recorder: string; floor: string } | string {
  const recorder = join(dir, 'recorder');
  const floor = join(dir, 'floor-watcher');
  const cc = (out: string, src: string, extra: string[]) => spawnSync('cc', ['-O2', ...extra, '-o', out, join(NATIVE, src)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let r = cc(recorder, 'recorder.c', ['-static']);
  if (r.status !== 0) r = cc(recorder, 'recorder.c', []);
  if (r.status !== 0) return `no C compiler (cc): ${String(r.stderr ?? r.error).split('\n')[0]}`;
  r = cc(floor, 'floor-watcher.c', []);
  if (r.status !== 0) return `cc failed on floor-watcher.c: ${String(r.stderr).split('\n')[0]}`;
  return { recorder, floor };
}

/** procd itself, its JSON log lines read for process-found / process-lost. */
function procdWatcher(cib: string, wrapper: string, args: string[]): Watcher {
  // debug: wrapper-started lines, whose sinceDetectedUs runs from the process-lost event (stamped
  // when the death was seen) to the wrapper running (posix_spawn returns after its exec).
  const d = new BenchDaemon(['--cib', cib, '--node', 'bench', '--wrapper', wrapper, '--grace', '600', '--log-level', 'debug', ...args]);
  const watching = new Set<number>();
  const pidOf = new Map<string, number>();
  const own = new Map<number, number>();
  d.onLine = (l) => {
    if (l.event === 'process-found') watching.add(l.pid as number);
    if (l.event === 'process-lost') {
      watching.delete(l.pid as number);
      pidOf.set(String(l.failureId), l.pid as number);
    }
    if (l.event === 'wrapper-started' && l.attempt === 1) {
      const pid = pidOf.get(String(l.failureId));
      if (pid !== undefined) own.set(pid, (l.sinceDetectedUs as number) / 1000);
    }
  };
  return {
    holds: (pid) => watching.has(pid),
    started: () => {},
    ownMs: (pid) => own.get(pid),
    detectedBy: (pids) => {
      const by = new Map<string, number>();
      for (const l of d.events('process-lost')) if (pids.has(l.pid as number)) by.set(String(l.detectedBy), (by.get(String(l.detectedBy)) ?? 0) + 1);
      return [...by].map(([k, v]) => `${k} ${v}`).join(', ');
    },
    waitAll: (n) => d.waitFor('all found', () => watching.size === n),
    stop: () => d.stop(),
  };
}

/** bench/native/floor-watcher: told each pid on stdin, says "held PID" once its pidfd is open. */
function floorWatcher(bin: string, wrapper: string): Watcher {
  const child = spawn(bin, [wrapper], { stdio: ['pipe', 'pipe', 'inherit'] });
  const held = new Set<number>();
  createInterface({ input: child.stdout! }).on('line', (l) => {
    const m = /^held (\d+)$/.exec(l);
    if (m) held.add(Number(m[1]));
  });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return {
    holds: (pid) => held.has(pid),
    started: (pid) => void child.stdin!.write(`${pid}\n`),
    ownMs: () => undefined,
    detectedBy: () => 'pidfd (C)',
    waitAll: async (n, pids) => {
      const end = Date.now() + 60_000;
      while (pids().filter((p) => held.has(p)).length < n) {
        if (Date.now() > end) throw new Error('bench: the floor watcher did not hold every process');
        await sleep(5);
      }
    },
    stop: async () => {
      child.stdin!.end();
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function runOne(c: Config, kills: number, native: { recorder: string; floor: string } | null) {
  const K = 40;
  const dir = benchDir('detect');
  const names = Array.from({ length: K }, (_, i) => `procd-bench-detect-${process.pid}-${i} `);
  const w = timeWrapper(dir);
  let wrapper = w.path;
  if (c.wrapper === 'c') {
    // The recorder appends to wrapper.log beside itself: the same log the bash one writes.
    wrapper = join(dir, 'recorder');
    copyFileSync(native!.recorder, wrapper);
  }
  const start = (i: number) => spawn('/bin/sleep', ['100000'], { argv0: names[i]!.trim(), stdio: 'ignore' });
  const procs: (ChildProcess | null)[] = names.map((_, i) => start(i));
  const watcher = c.watcher === 'floor' ? floorWatcher(native!.floor, wrapper) : procdWatcher(writeCib(dir, names), wrapper, c.watcher.procd);
  for (const p of procs) watcher.started(p!.pid!);
  const killedAt = new Map<number, number>();
  try {
    await watcher.waitAll(K, () => procs.map((p) => p!.pid!));
    for (let k = 0; k < kills; k++) {
      let i: number;
      for (;;) {
        const ready = procs.map((p, j) => (p && watcher.holds(p.pid!) ? j : -1)).filter((j) => j >= 0);
        if (ready.length) {
          i = ready[Math.floor(Math.random() * ready.length)]!;
          break;
        }
        await sleep(5);
      }
      const p = procs[i]!;
      const t = nowUs();
      process.kill(p.pid!, 'SIGKILL');
      killedAt.set(p.pid!, t);
      // The bench stays idle until the wrapper has started (it must not compete for the CPU), then refills the spec.
      const end = Date.now() + 10_000;
      while (!w.read().has(p.pid!) && Date.now() < end) await sleep(2);
      procs[i] = start(i);
      watcher.started(procs[i]!.pid!);
      await sleep(20 + Math.random() * c.maxGapMs);
    }
    const end = Date.now() + 30_000;
    while (w.read().size < kills && Date.now() < end) await sleep(50);
    await sleep(200);
  } finally {
    await watcher.stop();
    for (const p of procs) p?.kill('SIGKILL');
  }
  const starts = w.read();
  const lat: number[] = [];
  const own: number[] = [];
  let missed = 0;
  for (const [pid, t] of killedAt) {
    const s = starts.get(pid);
    if (s === undefined) missed++;
    else lat.push((s - t) / 1000);
    const ms = watcher.ownMs(pid);
    if (ms !== undefined) own.push(ms);
  }
  return {
    n: killedAt.size,
    p50: quantile(lat, 0.5),
    p99: quantile(lat, 0.99),
    max: Math.max(...lat),
    own50: quantile(own, 0.5),
    own99: quantile(own, 0.99),
    missed,
    label: watcher.detectedBy(new Set(killedAt.keys())),
  };
}
