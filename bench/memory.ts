import { eventAndPollDaemons, benchDir, rssMb, spawnWatched, writeCib } from './daemon.js';
import { fmt, sleep, table } from './lib.js';
import { nullWrapper } from './steady.js';

/**
 * Memory: two daemons side by side (event mode, poll at 1 s) watching the same `watched`
 * processes for `minutes`; every 10 s one watched process is killed and restarted (so pidfds,
 * events and wrapper runs come and go). RSS after the run and its growth over the second half.
 */
export async function memoryBench(minutes = 10, watched = 1000) {
  const dir = benchDir('memory');
  const names = Array.from({ length: watched }, (_, i) => `procd-bench-memory-${process.pid}-${i} `);
  const cib = writeCib(dir, names);
  const wrapper = nullWrapper(dir);
  const w = await spawnWatched(names.map((n) => n.trim()));
  const daemons = eventAndPollDaemons(cib, wrapper);
  const samples: number[][] = daemons.map(() => []);
  const rows: (string | number)[][] = [];
  const totalMs = minutes * 60_000;
  let restarts = 0;
  try {
    for (const { d } of daemons) await d.waitFor('all found', () => d.events('process-found').length >= watched, 300_000);
    const t0 = Date.now();
    let half: number[] = [];
    let next = 0;
    while (Date.now() - t0 < totalMs) {
      const el = Date.now() - t0;
      if (el >= next) {
        daemons.forEach(({ d }, i) => samples[i]!.push(rssMb(d.pid)));
        if (half.length === 0 && el >= totalMs / 2) half = daemons.map(({ d }) => rssMb(d.pid));
        const i = Math.floor(Math.random() * watched);
        w.restart(i);
        restarts++;
        next += 10_000;
      }
      await sleep(Math.min(1000, Math.max(10, next - (Date.now() - t0))));
    }
    if (half.length === 0) half = samples.map((s) => s[Math.floor(s.length / 2)]!);
    const end = daemons.map(({ d }) => rssMb(d.pid));
    daemons.forEach(({ label, d }, i) => {
      const secondHalf = samples[i]!.slice(Math.floor(samples[i]!.length / 2));
      rows.push([
        label,
        watched,
        fmt(end[i]!, 1),
        fmt(end[i]! - half[i]!, 1),
        fmt(Math.min(...secondHalf), 1) + ' – ' + fmt(Math.max(...secondHalf), 1),
        `<= 80 MB (${end[i]! <= 80 ? 'met' : 'NOT met'}); growth: see the column before`,
        d.events('process-lost').length,
      ]);
    });
  } finally {
    await Promise.all(daemons.map(({ d }) => d.stop()));
    w.stop();
  }
  return table(
    `Memory: RSS after ${minutes} min watching ${watched} processes (${restarts} of them killed and restarted on the way), side by side`,
    ['mode', 'watched', 'RSS MB at the end', 'growth over the last half, MB', 'RSS range over the last half, MB', 'bar', 'deaths reported'],
    rows,
  );
}
