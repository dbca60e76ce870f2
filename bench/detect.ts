import { spawn, type ChildProcess } from 'node:child_process';
import { BenchDaemon, benchDir, timeWrapper, writeCib } from './daemon.js';
import { fmt, quantile, sleep, table } from './lib.js';

const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;

interface Config {
  label: string;
  args: string[];
  /** Random pause between kills beyond 60 ms (kills further apart than a wrapper run, so none waits for another's). */
  maxGapMs: number;
}

/**
 * Detection latency: `kills` × kill -9 of a watched process (not procd's child), each at a
 * random moment; the time from the kill to the start of the wrapper (a bash script that records
 * $EPOCHREALTIME, no fork) — what the cluster waits for. Specs are refilled by respawning the
 * killed name, so the daemon always has processes to lose.
 */
export async function detectBench(kills = 200) {
  const only = process.env.PROCD_BENCH_MODES?.split(',');
  const configs: Config[] = [
    { label: 'event (pidfd)', args: ['--mode', 'event', '--interval', '1'], maxGapMs: 180 },
    { label: 'poll, --interval 1', args: ['--mode', 'poll', '--interval', '1'], maxGapMs: 180 },
    { label: 'poll, --interval 0.1', args: ['--mode', 'poll', '--interval', '0.1'], maxGapMs: 180 },
  ].filter((c) => !only || only.some((o) => c.label.startsWith(o)));
  const rows: (string | number)[][] = [];
  let eventP99 = NaN;
  for (const c of configs) {
    const r = await runOne(c, kills);
    if (c.label.startsWith('event')) eventP99 = r.p99;
    rows.push([c.label, r.n, fmt(r.p50), fmt(r.p99), fmt(r.max), fmt(r.d50), fmt(r.d99), r.missed, r.label]);
  }
  const base = rows[0]!;
  for (const row of rows) row.push(row === base ? '1x' : fmt(Number(row[2]) / Number(base[2]), 0) + 'x');
  return table(
    `Detection latency: kill -9 → wrapper start, ms (${kills} kills each; bar: event p99 <= 5 ms → ${eventP99 <= 5 ? 'met' : 'NOT met'})`,
    ['mode', 'kills', 'p50', 'p99', 'max', 'lost line p50', 'lost line p99', 'missed', 'detected by', 'p50 vs event'],
    rows,
  );
}

async function runOne(c: Config, kills: number) {
  const K = 40;
  const dir = benchDir('detect');
  const names = Array.from({ length: K }, (_, i) => `procd-bench-detect-${process.pid}-${i} `);
  const w = timeWrapper(dir);
  const cib = writeCib(dir, names);
  const procs: (ChildProcess | null)[] = names.map((n) => spawn('/bin/sleep', ['100000'], { argv0: n.trim(), stdio: 'ignore' }));
  const d = new BenchDaemon(['--cib', cib, '--node', 'bench', '--wrapper', w.path, '--grace', '600', ...c.args]);
  const watching = new Set<number>();
  const lostSeen = new Map<number, number>();
  d.onLine = (l) => {
    if (l.event === 'process-found') watching.add(l.pid as number);
    if (l.event === 'process-lost') {
      watching.delete(l.pid as number);
      lostSeen.set(l.pid as number, nowUs());
    }
  };
  const killedAt = new Map<number, number>();
  const by = new Map<string, number>();
  try {
    await d.waitFor('all found', () => watching.size === K);
    for (let k = 0; k < kills; k++) {
      let i: number;
      for (;;) {
        const ready = procs.map((p, j) => (p && watching.has(p.pid!) ? j : -1)).filter((j) => j >= 0);
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
      procs[i] = spawn('/bin/sleep', ['100000'], { argv0: names[i]!.trim(), stdio: 'ignore' });
      await sleep(20 + Math.random() * c.maxGapMs);
    }
    await d.waitFor('every wrapper run', () => w.read().size >= kills, 30_000).catch(() => {});
    await sleep(200);
  } finally {
    await d.stop();
    for (const p of procs) p?.kill('SIGKILL');
  }
  for (const l of d.events('process-lost')) if (killedAt.has(l.pid as number)) by.set(String(l.detectedBy), (by.get(String(l.detectedBy)) ?? 0) + 1);
  const starts = w.read();
  const lat: number[] = [];
  const det: number[] = [];
  let missed = 0;
  for (const [pid, t] of killedAt) {
    const s = starts.get(pid);
    if (s === undefined) missed++;
    else lat.push((s - t) / 1000);
    const seen = lostSeen.get(pid);
    if (seen !== undefined) det.push((seen - t) / 1000);
  }
  return {
    n: killedAt.size,
    p50: quantile(lat, 0.5),
    p99: quantile(lat, 0.99),
    max: Math.max(...lat),
    d50: quantile(det, 0.5),
    d99: quantile(det, 0.99),
    missed, label: [...by].map(([k, v]) => `${k} ${v}`).join(', ') };
}
