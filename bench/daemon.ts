import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sleep } from './lib.js';

/** Helpers for benchmarks that run the real daemon (`bin/procd run`) against real processes. */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PROCD = join(ROOT, 'bin/procd');

export function benchDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `procd-bench-${tag}-`));
}

/** A CIB with one node `bench` and procdctl primitives (100 prefixes each) watching `prefixes`. */
export function writeCib(dir: string, prefixes: string[]): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
  const prims: string[] = [];
  for (let i = 0; i < prefixes.length; i += 100) {
    const nv = prefixes
      .slice(i, i + 100)
      .map((p, j) => `<nvpair id="w${i}-${j}" name="proc_${i + j}" value="${esc(p)}"/>`)
      .join('\n            ');
    prims.push(`<primitive id="watch${i}" class="ocf" provider="heartbeat" type="procdctl">
          <instance_attributes id="watch${i}-ia">
            ${nv}
          </instance_attributes>
        </primitive>`);
  }
  const cib = join(dir, 'cib.xml');
  writeFileSync(
    cib,
    `<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config/>
    <nodes><node id="1" uname="bench"/></nodes>
    <resources>
      ${prims.join('\n      ')}
    </resources>
    <constraints/>
  </configuration>
  <status/>
</cib>
`,
  );
  return cib;
}

/** A bash wrapper that appends "$EPOCHREALTIME <pid>" per call: the time it started, in µs, without forking. */
export function timeWrapper(dir: string): { path: string; log: string; read: () => Map<number, number> } {
  const log = join(dir, 'wrapper.log');
  const path = join(dir, 'time-wrapper');
  writeFileSync(path, `#!/bin/bash\nt=$EPOCHREALTIME\nwhile [ $# -gt 0 ]; do [ "$1" = --pid ] && p=$2; shift; done\necho "$t $p" >> '${log}'\n`);
  chmodSync(path, 0o755);
  writeFileSync(log, '');
  return {
    path,
    log,
    read: () => {
      const m = new Map<number, number>();
      for (const line of readFileSync(log, 'utf8').split('\n')) {
        const [t, p] = line.split(' ');
        if (t && p && !m.has(Number(p))) m.set(Number(p), Number(t.replace(',', '.')) * 1e6);
      }
      return m;
    },
  };
}

export interface LogLine {
  level: string;
  msg: string;
  event?: string;
  [k: string]: unknown;
}

/** `procd run` as a child, its JSON log lines parsed (the pipe is always drained). */
export class BenchDaemon {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  readonly exited: Promise<void>;
  /** Called for each log line as it arrives. */
  onLine: (l: LogLine) => void = () => {};

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    // PROCD_BENCH_* settings are the bench's, not flags for procd (yargs reads every PROCD_* variable).
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PROCD_BENCH_')));
    // Never the system journal (/var/lib/procd/journal.db, shared by every procd on the machine
    // and grown by every earlier run: its retention work showed up in the CPU bench): a fresh
    // file unless the args name one.
    if (!args.includes('--journal')) args = [...args, '--journal', join(benchDir('journal'), 'journal.db')];
    this.child = spawn(PROCD, ['run', '--socket', '', ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...base, ...env } });
    createInterface({ input: this.child.stdout! }).on('line', (s) => {
      let l: LogLine;
      try {
        l = JSON.parse(s);
      } catch {
        l = { level: 'raw', msg: s };
      }
      this.lines.push(l);
      this.onLine(l);
    });
    this.exited = new Promise((r) => this.child.on('exit', () => r()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  events(kind: string): LogLine[] {
    return this.lines.filter((l) => l.event === kind);
  }

  async waitFor(what: string, pred: () => boolean, ms = 120_000) {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`bench: timed out waiting for ${what}`);
      if (this.child.exitCode !== null) throw new Error(`bench: procd exited while waiting for ${what}`);
      await sleep(10);
    }
  }

  async stop() {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}

/** CPU time of a process, all threads, in seconds (schedstat: nanoseconds on CPU). */
/** The two daemons the steady-state benchmarks compare side by side: event mode and polling at 1 s, same CIB and wrapper. */
export function eventAndPollDaemons(cib: string, wrapper: string): { label: string; d: BenchDaemon }[] {
  const common = ['--cib', cib, '--node', 'bench', '--wrapper', wrapper, '--interval', '1'];
  return [
    { label: 'event (pidfd)', d: new BenchDaemon([...common, '--mode', 'event']) },
    { label: 'poll, --interval 1', d: new BenchDaemon([...common, '--mode', 'poll']) },
  ];
}

export function cpuSeconds(pid: number): number {
  let ns = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      /* thread gone */
    }
  }
  return ns / 1e9;
}

/** Resident set size of a process in MB (VmRSS). */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * Idle processes (`sleep`) whose cmdline starts with each name: children of this bench, not of
 * procd. `restart(i)` kills one with SIGKILL and starts another of the same name; `stop()` ends all.
 */
export async function spawnWatched(names: string[]): Promise<{ pids: number[]; procs: ChildProcess[]; stop: () => void; restart: (i: number) => void }> {
  const start = (n: string) => spawn('/bin/sleep', ['100000'], { argv0: n, stdio: 'ignore' });
  const procs = names.map(start);
  const end = Date.now() + 60_000;
  for (const p of procs) {
    while (!readState(p.pid!).startsWith('S')) {
      if (Date.now() > end) throw new Error('bench: watched processes did not start');
      await sleep(5);
    }
  }
  return {
    procs,
    pids: procs.map((p) => p.pid!),
    restart: (i) => {
      procs[i]!.kill('SIGKILL');
      procs[i] = start(names[i]!);
    },
    stop: () => {
      for (const p of procs) p.kill('SIGKILL');
    },
  };
}

function readState(pid: number): string {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('100000')) return '';
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
  } catch {
    return '';
  }
}

/**
 * `n` idle processes for "processes on the machine": one python3 posix_spawns them (fast even
 * on a busy machine) in its own process group; `stop()` kills the group. Fails (and cleans up)
 * when they do not all start within `timeoutMs`.
 */
export async function startIdle(n: number, tag = 'procd-bench-idle', timeoutMs = 300_000): Promise<{ stop: () => Promise<void> }> {
  const py = `import os, sys, signal
n, tag = int(sys.argv[1]), sys.argv[2]
for i in range(n):
    os.posix_spawn('/bin/sleep', [f'{tag}-{i}', '100000'], os.environ)
print('ready', flush=True)
signal.pause()`;
  const leader = spawn('/usr/bin/python3', ['-c', py, String(n), tag], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  const stop = async () => {
    try {
      process.kill(-leader.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
    // The sleeps are orphans now: init reaps them; wait until they are gone.
    const end = Date.now() + 60_000;
    while (Date.now() < end && readdirSync('/proc').some((p) => /^\d+$/.test(p) && groupOf(Number(p)) === leader.pid)) await sleep(200);
  };
  let ready = false;
  leader.stdout!.on('data', (b) => (ready ||= String(b).includes('ready')));
  const end = Date.now() + timeoutMs;
  while (!ready) {
    if (Date.now() > end || leader.exitCode !== null) {
      await stop();
      throw new Error(`bench: ${n} idle processes did not start within ${timeoutMs} ms`);
    }
    await sleep(100);
  }
  return { stop };
}

function groupOf(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return -1;
  }
}
