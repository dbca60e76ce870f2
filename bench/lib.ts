import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';

export function median(xs: number[]): number {
  return quantile(xs, 0.5);
}

/** Nearest-rank quantile (q in 0..1). */
export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** Prints a Markdown table (pastes straight into the README). */
export function table(title: string, head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const w = head.map((_, i) => Math.max(3, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  const out = [`### ${title}`, '', line(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...rows.map((r) => line(r.map(String)))].join('\n');
  console.log(out + '\n');
  return out;
}

export const fmt = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function countProcs(): number {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
}

/**
 * Starts `n` idle processes named `${tag}-i` and resolves when they run: one python3
 * posix_spawns them (a bash fork loop took minutes for 5,000 on a busy machine) in its own
 * process group. `stop()` kills them all (the group) and waits until they are gone. When they
 * do not all start within 5 minutes, they are killed and it throws.
 */
export async function startLoad(n: number, tag = 'procd-bench-load'): Promise<{ stop: () => Promise<void>; leader: ChildProcess }> {
  const before = countProcs();
  const py = `import os, sys, signal
for i in range(int(sys.argv[1])):
    os.posix_spawn('/bin/sleep', [f'{sys.argv[2]}-{i + 1}', '100000'], os.environ)
print('ready', flush=True)
signal.pause()`;
  const leader = spawn('/usr/bin/python3', ['-c', py, String(n), tag], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  let ready = false;
  leader.stdout!.on('data', (b) => (ready ||= String(b).includes('ready')));
  const stop = async () => {
    try {
      process.kill(-leader.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
    const deadline = Date.now() + 60_000;
    while (countProcs() > before + 5 && Date.now() < deadline) await sleep(100);
  };
  const end = Date.now() + 300_000;
  while (!ready) {
    if (Date.now() > end || leader.exitCode !== null) {
      await stop();
      throw new Error(`only ${countProcs() - before} of ${n} load processes started`);
    }
    await sleep(100);
  }
  return { leader, stop };
}
