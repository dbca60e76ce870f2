import { spawn, spawnSync } from 'node:child_process';
import psList from 'ps-list';
import { Scanner } from '../src/proc/index.js';
import { countProcs, fmt, median, sleep, startLoad, table } from './lib.js';

/**
 * One full discovery scan (find the process whose cmdline starts with a prefix) with N extra
 * processes running: procd's Scanner (in-process, what the daemon pays per scan) vs the whole
 * run of `pgrep -f` vs ps-list (what `procd ps` uses). Median of several runs, side by side.
 */
export async function scanBench(sizes: number[], runs = { procd: 21, pgrep: 11, psList: 7 }) {
  const target = `procd-bench-target-${process.pid}`;
  const t = spawn('/bin/bash', ['-c', `exec -a "${target}" sleep 100000`], { stdio: 'ignore' });
  await sleep(100);
  const rows: (string | number)[][] = [];
  try {
    for (const n of sizes) {
      const load = await startLoad(n);
      try {
        const total = countProcs();
        // procd, as another process would see it (the target is our child).
        const scanner = new Scanner('/proc', 0x3fffffff);
        const ours: number[] = [];
        for (let i = 0; i < runs.procd; i++) {
          const t0 = performance.now();
          const r = scanner.scan([target]);
          ours.push(performance.now() - t0);
          if (r.get(target)![0]?.pid !== t.pid) throw new Error('procd scan did not find the target');
        }
        const pg: number[] = [];
        for (let i = 0; i < runs.pgrep; i++) {
          const t0 = performance.now();
          const r = spawnSync('pgrep', ['-f', `^${target}`], { encoding: 'utf8' });
          pg.push(performance.now() - t0);
          if (Number(r.stdout.trim()) !== t.pid) throw new Error(`pgrep did not find the target: ${r.stdout}`);
        }
        const pl: number[] = [];
        for (let i = 0; i < runs.psList; i++) {
          const t0 = performance.now();
          const list = await psList({ all: true });
          const hit = list.find((p) => p.cmd?.startsWith(target));
          pl.push(performance.now() - t0);
          if (hit?.pid !== t.pid) throw new Error('ps-list did not find the target');
        }
        const [a, b, c] = [median(ours), median(pg), median(pl)];
        rows.push([n, total, fmt(a), fmt(b), fmt(c), fmt(b / a, 1) + 'x', fmt(c / a, 1) + 'x']);
      } finally {
        await load.stop();
      }
    }
  } finally {
    t.kill('SIGKILL');
  }
  return table(
    'Discovery scan (median ms; ratio = how many times faster procd is)',
    ['extra processes', 'in /proc', 'procd scan', 'pgrep -f (whole run)', 'ps-list', 'vs pgrep', 'vs ps-list'],
    rows,
  );
}
