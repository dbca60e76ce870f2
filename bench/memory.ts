import { eventAndPollDaemons, benchDir, rssMb, spawnWatched, writeCib } from './daemon.js';
import { fmt, sleep, table } from './lib.js';
import { nullWrapper } from './steady.js';

/** Least-squares slope of ys over xs. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

/** "No growth" tolerance: the last half's least-squares trend may add at most this much (RSS moves in 4 KB pages and by a few hundred KB between samples). */
const GROWTH_TOLERANCE_MB = 0.5;

/**
 * Memory: two daemons side by side (event mode, poll at 1 s), each with its own journal file,
 * watching the same `watched` processes for `minutes`; every 10 s one watched process is killed
 * and restarted (so pidfds, events, journal writes and wrapper runs come and go). RSS (VmRSS)
 * is sampled every 10 s: the table gives RSS at the end, its growth over the second half (end
 * minus the sample at half time), the least-squares trend over the second half's samples, and
 * a second table RSS at each minute, so a rise that levels off is told from one that does not.
 */
export async function memoryBench(minutes = 10, watched = 1000) {
  const dir = benchDir('memory');
  const names = Array.from({ length: watched }, (_, i) => `procd-bench-memory-${process.pid}-${i} `);
  const cib = writeCib(dir, names);
  const wrapper = nullWrapper(dir);
  const w = await spawnWatched(names.map((n) => n.trim()));
  // Each daemon gets its own fresh journal from BenchDaemon (never the machine's shared one).
  const daemons = eventAndPollDaemons(cib, wrapper);
  const samples: { t: number; mb: number }[][] = daemons.map(() => []);
  const rows: (string | number)[][] = [];
  const totalMs = minutes * 60_000;
  let restarts = 0;
  try {
    for (const { d } of daemons) await d.waitFor('all found', () => d.events('process-found').length >= watched, 300_000);
    const t0 = Date.now();
    let next = 0;
    for (;;) {
      const el = Date.now() - t0;
      if (el >= next) {
        daemons.forEach(({ d }, i) => samples[i]!.push({ t: el / 60_000, mb: rssMb(d.pid) }));
        if (el >= totalMs) break;
        w.restart(Math.floor(Math.random() * watched));
        restarts++;
        next += 10_000;
      }
      await sleep(Math.min(1000, Math.max(10, next - (Date.now() - t0))));
    }
    daemons.forEach(({ label, d }, i) => {
      const s = samples[i]!;
      const end = s[s.length - 1]!.mb;
      const half = s.find((x) => x.t >= minutes / 2) ?? s[Math.floor(s.length / 2)]!;
      const second = s.filter((x) => x.t >= minutes / 2);
      const perMin = slope(second.map((x) => x.t), second.map((x) => x.mb));
      const trend = perMin * (minutes / 2);
      rows.push([
        label,
        watched,
        fmt(end, 1),
        fmt(end - half.mb, 1),
        `${fmt(trend, 2)} (${fmt(perMin, 3)}/min)`,
        fmt(Math.min(...second.map((x) => x.mb)), 1) + ' – ' + fmt(Math.max(...second.map((x) => x.mb)), 1),
        `<= 80 MB: ${end <= 80 ? 'met' : 'NOT met'}; no growth: ${trend <= GROWTH_TOLERANCE_MB ? 'met' : 'NOT met'}`,
        d.events('process-lost').length,
      ]);
    });
  } finally {
    await Promise.all(daemons.map(({ d }) => d.stop()));
    w.stop();
  }
  const out = [
    table(
      `Memory: RSS after ${minutes} min watching ${watched} processes (${restarts} of them killed and restarted on the way), side by side`,
      ['mode', 'watched', 'RSS MB at the end', 'growth over the last half, MB', `trend over the last half, MB (least squares; no growth: <= ${GROWTH_TOLERANCE_MB})`, 'RSS range over the last half, MB', 'bar', 'deaths reported'],
      rows,
    ),
  ];
  const mins = Array.from({ length: Math.floor(minutes) + 1 }, (_, m) => m);
  out.push(
    table(
      'Memory: RSS (MB) at each minute',
      ['mode', ...mins.map((m) => `${m}`)],
      daemons.map(({ label }, i) => [label, ...mins.map((m) => fmt(samples[i]!.find((x) => x.t >= m - 1e-9)?.mb ?? NaN, 1))]),
    ),
  );
  return out.join('\n\n');
}
