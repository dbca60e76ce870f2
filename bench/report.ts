import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { Daemon, DEFAULT_WRAPPER } from '../src/daemon/daemon.js';
import { ReportService } from '../src/report/service.js';
import { reportText } from '../src/report/registry.js';
import { fmt, median, quantile, sleep, table } from './lib.js';

/**
 * Starts `n` idle `sleep`s named TAG-<i> in a new session (setsid -f), so they are not our
 * descendants (a daemon's watched processes are not its children either).
 */
async function startForeignLoad(n: number, tag: string): Promise<{ stop: () => Promise<void> }> {
  const pidFile = join(tmpdir(), `${tag}.pid`);
  const readyFile = `${pidFile}.ready`;
  const r = spawnSync('setsid', ['-f', '/bin/bash', '-c', 'echo $$ > "$3"; for i in $(seq "$1"); do (exec -a "$2-$i" sleep 100000) & done; echo ok > "$3.ready"; wait', 'load', String(n), tag, pidFile], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error('setsid -f failed');
  let leader = 0;
  const stop = async () => {
    rmSync(pidFile, { force: true });
    rmSync(readyFile, { force: true });
    if (!leader) return;
    try {
      process.kill(-leader, 'SIGKILL');
    } catch {
      /* gone */
    }
    await sleep(500);
  };
  const end = Date.now() + 120_000;
  for (;;) {
    if (!leader) leader = Number(readFileSyncSafe(pidFile)) || 0;
    if (leader && readFileSyncSafe(readyFile)) return { stop };
    if (Date.now() > end) {
      await stop();
      throw new Error(`the ${n} load processes did not start within 120 s`);
    }
    await sleep(100);
  }
}

function readFileSyncSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * What a Guru Meditation Report costs the daemon: with S watched specs (each matched by a live
 * process, checked every second), build the report R times and record the build time and the longest
 * stall of the event loop during the build (what detection could be delayed by), next to
 * Node's built-in process.report.getReport(), which is one synchronous call.
 */
export async function reportBench(sizes: number[], runs = 15) {
  const rows: (string | number)[][] = [];
  for (const specs of sizes) {
    const live = specs;
    const tag = `procd-bench-gmr-${process.pid}`;
    const load = await startForeignLoad(live, tag);
    const daemon = new Daemon({ node: 'bench', interval: 1, grace: 60, wrapper: DEFAULT_WRAPPER, wrapperTimeout: 30, logLevel: 'silent', socket: '' }, pino({ level: 'silent' }));
    const svc = new ReportService(daemon, { intervalS: 1, testHooks: false }, []).start();
    try {
      for (let i = 1; i <= specs; i++) daemon.monitor.upsert({ resource: `r${i}`, failResource: `r${i}`, source: 'socket', processes: [{ name: 'p', prefix: `${tag}-${i} ` }] });
      daemon.monitor.start();
      const until = Date.now() + 60_000;
      while (daemon.monitor.watchedPids().length < live && Date.now() < until) await sleep(100);
      const build: number[] = [];
      const stall: number[] = [];
      let bytes = 0;
      for (let i = 0; i < runs; i++) {
        const h = monitorEventLoopDelay({ resolution: 1 });
        h.enable();
        const t0 = performance.now();
        const r = await svc.build();
        build.push(performance.now() - t0);
        h.disable();
        stall.push(Math.max(0, h.max / 1e6 - 1));
        bytes = reportText(r).length;
      }
      // Baseline: the longest stall over the same time without building (the monitor's own ticks).
      const base: number[] = [];
      for (let i = 0; i < runs; i++) {
        const h = monitorEventLoopDelay({ resolution: 1 });
        h.enable();
        await sleep(Math.max(5, median(build)));
        h.disable();
        base.push(Math.max(0, h.max / 1e6 - 1));
      }
      const builtin: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        process.report.getReport();
        builtin.push(performance.now() - t0);
      }
      rows.push([specs, live, fmt(median(build)), fmt(quantile(stall, 0.5)), fmt(Math.max(...stall)), fmt(Math.max(...base)), Math.round(bytes / 1024), fmt(median(builtin))]);
    } finally {
      daemon.monitor.stop();
      await svc.stop();
      await load.stop();
    }
  }
  return table(
    `Guru Meditation Report build (${runs} builds each; stall = longest event-loop block during a build, ms)`,
    ['watched specs', 'live', 'build median ms', 'stall median ms', 'stall max ms', 'same time, no report: stall max ms', 'report KiB', 'process.report.getReport() ms (blocks)'],
    rows,
  );
}
