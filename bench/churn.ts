import { spawn } from 'node:child_process';
import { eventAndPollDaemons, benchDir, spawnWatched, writeCib } from './daemon.js';
import { sleep, table } from './lib.js';
import { nullWrapper } from './steady.js';

/**
 * Churn: two daemons side by side (event mode, poll at 1 s) watch the same 50 processes while
 * a python loop starts and ends `rate` unrelated processes a second (named like the watched ones
 * but not matching) for `seconds`; 10 watched processes are killed at random times. Counts
 * false reports (a death of a process not killed), missed deaths and double reports.
 */
export async function churnBench(seconds = 60, rate = 200, watched = 50, kills = 10) {
  const dir = benchDir('churn');
  const stem = `procd-bench-churn-${process.pid}`;
  const names = Array.from({ length: watched }, (_, i) => `${stem}-w${i} `);
  const cib = writeCib(dir, names);
  const wrapper = nullWrapper(dir);
  const w = await spawnWatched(names.map((n) => n.trim()));
  const daemons = eventAndPollDaemons(cib, wrapper);
  const rows: (string | number)[][] = [];
  const killed = new Set<number>();
  let spawned = 0;
  try {
    for (const { d } of daemons) await d.waitFor('all found', () => d.events('process-found').length >= watched);
    // Batches of rate/10 every 100 ms (posix_spawn: vfork-fast), paced on the monotonic clock; prints how many it started.
    // Two generators, so one slow fork does not hold the rate back.
    const batch = Math.max(1, Math.round(rate / 20));
    const gens = [0, 1].map(() => spawn(
      '/usr/bin/python3',
      [
        '-c',
        `import os, sys, time
dur, batch, stem = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
n = k = 0
t0 = time.monotonic()
while time.monotonic() - t0 < dur:
    pids = [os.posix_spawn('/bin/true', [f'{stem}-c{i}'], os.environ) for i in range(batch)]
    for p in pids:
        os.waitpid(p, 0)
    n += batch
    k += 1
    d = t0 + k * 0.1 - time.monotonic()
    if d > 0:
        time.sleep(d)
print(n)`,
        String(seconds),
        String(batch),
        stem,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    ));
    let out = '';
    for (const g of gens) g.stdout!.on('data', (b) => (out += b));
    const genDone = Promise.all(gens.map((g) => new Promise((r) => g.on('exit', r))));
    const at = Array.from({ length: kills }, () => 2000 + Math.random() * (seconds * 1000 - 4000)).sort((a, b) => a - b);
    const victims = [...Array(watched).keys()].sort(() => Math.random() - 0.5).slice(0, kills);
    const t0 = Date.now();
    for (let k = 0; k < kills; k++) {
      await sleep(Math.max(0, at[k]! - (Date.now() - t0)));
      const p = w.procs[victims[k]!]!;
      killed.add(p.pid!);
      p.kill('SIGKILL');
    }
    await genDone;
    spawned = out.trim().split(/\s+/).reduce((a, b) => a + Number(b), 0);
    await sleep(3000); // poll mode: one more interval and then some
    daemons.forEach(({ label, d }) => {
      const lost = d.events('process-lost');
      const pids = lost.map((l) => l.pid as number);
      const falseReports = pids.filter((p) => !killed.has(p)).length;
      const missed = [...killed].filter((p) => !pids.includes(p)).length;
      const doubles = pids.length - new Set(pids).size;
      rows.push([label, watched, `${spawned} (${(spawned / seconds).toFixed(0)}/s)`, killed.size, pids.length, falseReports, missed, doubles, falseReports === 0 && missed === 0 && doubles === 0 ? 'met' : 'NOT met']);
    });
  } finally {
    await Promise.all(daemons.map(({ d }) => d.stop()));
    w.stop();
  }
  return table(
    `Churn: ${seconds} s of unrelated spawns+exits while watching ${watched} processes, ${kills} killed at random times (bar: 0 false, 0 missed)`,
    ['mode', 'watched', 'unrelated processes started', 'killed', 'deaths reported', 'false reports', 'missed', 'reported twice', 'bar'],
    rows,
  );
}
