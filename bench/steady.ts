import { writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { eventAndPollDaemons, benchDir, cpuSeconds, spawnWatched, startIdle, writeCib } from './daemon.js';
import { countProcs, fmt, sleep, table } from './lib.js';

/** A wrapper that does nothing (the steady-state benches have no deaths to report, or do not time them). */
export function nullWrapper(dir: string): string {
  const p = join(dir, 'null-wrapper');
  writeFileSync(p, '#!/bin/sh\nexit 0\n');
  chmodSync(p, 0o755);
  return p;
}

/**
 * Steady CPU: two daemons side by side over the same `seconds`, both watching the same 100
 * live processes with 5,000 processes on the machine: event mode and poll at 1 s. CPU time of
 * each daemon (all threads, from /proc/<pid>/task/<tid>/schedstat), as % of one core.
 */
export async function steadyBench(seconds = 60, watched = 100, machine = 5000) {
  const dir = benchDir('steady');
  const names = Array.from({ length: watched }, (_, i) => `procd-bench-steady-${process.pid}-${i} `);
  const cib = writeCib(dir, names);
  const wrapper = nullWrapper(dir);
  const w = await spawnWatched(names.map((n) => n.trim()));
  const need = Math.max(0, machine - countProcs() - 4);
  let load: Awaited<ReturnType<typeof startIdle>> | null = null;
  try {
    load = need > 0 ? await startIdle(need) : null;
  } catch (err) {
    w.stop();
    throw err;
  }
  const daemons = eventAndPollDaemons(cib, wrapper);
  const rows: (string | number)[][] = [];
  try {
    for (const { d } of daemons) await d.waitFor('all found', () => d.events('process-found').length >= watched);
    // Past start-up work: JIT, and V8's memory reducer, which runs a few GCs at growing gaps once
    // allocation calms down (an idle daemon without the report watchdog: 0.38 % of a core 15-45 s
    // after start, 0.06 % 60-100 s after). PROCD_BENCH_SETTLE (seconds) overrides it.
    await sleep(Number(process.env.PROCD_BENCH_SETTLE ?? 60) * 1000);
    const onMachine = countProcs();
    const before = daemons.map(({ d }) => cpuSeconds(d.pid));
    await sleep(seconds * 1000);
    const after = daemons.map(({ d }) => cpuSeconds(d.pid));
    const lost = daemons.map(({ d }) => d.events('process-lost').length);
    daemons.forEach(({ label }, i) => {
      const cpu = after[i]! - before[i]!;
      const pct = (cpu / seconds) * 100;
      const bar = i === 0 ? 0.1 : 2;
      rows.push([label, watched, onMachine, fmt(cpu, 3), fmt(pct, 3) + ' %', `<= ${bar} % (${pct <= bar ? 'met' : 'NOT met'})`, lost[i]!]);
    });
    const ratio = (after[1]! - before[1]!) / Math.max(1e-9, after[0]! - before[0]!);
    rows.push(['poll / event', '', '', fmt(ratio, 1) + 'x', '', '', '']);
  } finally {
    await Promise.all(daemons.map(({ d }) => d.stop()));
    w.stop();
    await load?.stop();
  }
  return table(`Steady CPU over ${seconds} s, side by side (CPU seconds of the daemon, all threads)`, ['mode', 'watched', 'processes on the machine', 'CPU s', '% of one core', 'bar', 'deaths reported'], rows);
}
