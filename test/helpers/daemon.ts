import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach } from 'node:test';
import { fileURLToPath } from 'node:url';
import { killAll } from './procs.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const PROCD = `${ROOT}bin/procd`;

export interface LogLine {
  level: string;
  msg: string;
  event?: string;
  [k: string]: unknown;
}

/** A `procd run` child process with its JSON log lines collected. */
export class DaemonProc {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  stderr = '';
  private waiters: (() => void)[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /** The control socket (a fresh temp path unless the args name one). */
  readonly socket: string;

  /** `launcher` runs procd through another command (e.g. ['unshare', '--pid', '--fork', '--mount-proc']). */
  constructor(args: string[], env: NodeJS.ProcessEnv = {}, launcher: string[] = []) {
    const i = args.indexOf('--socket');
    this.socket = i >= 0 ? args[i + 1]! : join(mkdtempSync(join(tmpdir(), 'procd-sock-')), 'procd.sock');
    if (i < 0) args = [...args, '--socket', this.socket];
    // Never the system journal: a fresh temp file unless the args name one.
    if (!args.includes('--journal')) args = [...args, '--journal', join(mkdtempSync(join(tmpdir(), 'procd-journal-')), 'journal.db')];
    const argv = [...launcher, PROCD, 'run', ...args];
    this.child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout! }).on('line', (l) => {
      try {
        this.lines.push(JSON.parse(l));
      } catch {
        this.lines.push({ level: 'raw', msg: l });
      }
      for (const w of this.waiters.splice(0)) w();
    });
    this.child.stderr!.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  events(kind: string): LogLine[] {
    return this.lines.filter((l) => l.event === kind);
  }

  /** Waits until a log line satisfies `pred`; fails with the log when `ms` pass or the daemon exits. */
  async waitFor(what: string, pred: (l: LogLine) => boolean, ms = 10_000): Promise<LogLine> {
    const end = Date.now() + ms;
    let exited = false;
    void this.exited.then(() => (exited = true));
    for (;;) {
      const hit = this.lines.find(pred);
      if (hit) return hit;
      if (exited || Date.now() > end)
        throw new Error(`procd: no log line for ${what} within ${ms} ms${exited ? ' (daemon exited)' : ''}\nstderr: ${this.stderr}\nlog:\n${this.lines.map((l) => JSON.stringify(l)).join('\n')}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM') {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** Runs `procd ARGS` to completion. */
export function procd(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(PROCD, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a command (a Pacemaker tool) and returns its status and output. */
export function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/**
 * For a test file whose tests start daemons: after each test, the processes it spawned
 * (test/helpers/procs.ts) and the daemons it started are killed. `run(args, env)` starts a
 * daemon that is tracked; `daemons` takes others.
 */
export function daemonsPerTest() {
  const daemons: DaemonProc[] = [];
  afterEach(async () => {
    killAll();
    await Promise.all(daemons.splice(0).map((d) => d.stop('SIGKILL')));
  });
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const d = new DaemonProc(args, env);
    daemons.push(d);
    return d;
  };
  return { daemons, run };
}
