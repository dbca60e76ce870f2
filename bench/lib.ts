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
 * Starts `n` idle processes (a bash that forks `sleep` n times) and resolves when they run.
 * `stop()` kills them all (their process group) and waits until they are gone.
 */
export async function startLoad(n: number, tag = 'procd-bench-load'): Promise<{ stop: () => Promise<void>; leader: ChildProcess }> {
  const before = countProcs();
  const leader = spawn('/bin/bash', ['-c', `for i in $(seq ${n}); do (exec -a "${tag}-$i" sleep 100000) & done; wait`], { stdio: 'ignore', detached: true });
  const end = Date.now() + 120_000;
  while (countProcs() < before + n) {
    if (Date.now() > end) throw new Error(`only ${countProcs() - before} of ${n} load processes started`);
    await sleep(100);
  }
  return {
    leader,
    stop: async () => {
      try {
        process.kill(-leader.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
      const deadline = Date.now() + 60_000;
      while (countProcs() > before + 5 && Date.now() < deadline) await sleep(100);
    },
  };
}
