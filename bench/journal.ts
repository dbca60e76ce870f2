import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { openStream } from '../src/cli/api.js';
import { EventBus, nowUs, type ProcdEvent } from '../src/events/index.js';
import { Journal } from '../src/journal/index.js';
import { Monitor } from '../src/monitor/index.js';
import { PACKAGE_ROOT } from '../src/version.js';
import { fmt, median, quantile, sleep, table } from './lib.js';

function named(name: string): ChildProcess {
  return spawn('/bin/sleep', ['100000'], { argv0: name, stdio: 'ignore' });
}

/**
 * Journal ingest: N events through the bus into a journal file (WAL, all indexes) while a real
 * Monitor keeps detecting on the same event loop (interval 50 ms, 4 watched processes). Events
 * come in bursts of 1000 per event-loop turn. Reports the sustained rate (accepted → on disk),
 * the event-loop delay the monitor saw, and how late a kill made during the ingest was detected.
 */
export async function journalBench(n = 100_000) {
  const dir = mkdtempSync(join(tmpdir(), 'procd-bench-journal-'));
  const tag = `procd-bench-j-${process.pid}`;
  const procs = [0, 1, 2, 3].map((i) => named(`${tag}-${i}`));
  const bus = new EventBus();
  const journal = new Journal({ path: join(dir, 'journal.db'), node: 'bench', log: pino({ level: 'error' }) }).open();
  bus.subscribe((e) => void journal.append(e));
  // The watched processes are this process's children, which procd ignores as its own: scan as an outsider.
  const monitor = new Monitor({ bus, interval: 0.05, grace: 5, selfPid: 0x3fffffff });
  let lostAt = 0;
  bus.on('process-lost', () => (lostAt = performance.now()));
  monitor.replaceSource('cib', procs.map((_, i) => ({ resource: `r${i}`, failResource: `r${i}`, source: 'cib' as const, processes: [{ name: 'p', prefix: `${tag}-${i}` }] })));
  monitor.start();
  await sleep(300);
  const base = journal.stats().written;
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const scansBefore = monitor.scans;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let killedAt = 0;
  for (let i = 0; i < n; i += 1000) {
    for (let k = i; k < Math.min(n, i + 1000); k++) {
      const failureId = randomUUID();
      bus.emit({ kind: 'wrapper-finished', failureId, resource: `r${k % 4}`, failResource: `r${k % 4}`, attempt: 1, exitCode: 0, signal: null, timedOut: false, durationMs: 12.5, message: 'fail-count-r#asyncmon_0=1' });
    }
    if (i === n / 2) {
      killedAt = performance.now();
      procs[0]!.kill('SIGKILL');
    }
    await new Promise((r) => setImmediate(r));
  }
  const accepted = performance.now() - t0;
  while (journal.stats().written - base < n + 1) await new Promise((r) => setImmediate(r));
  const total = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  delay.disable();
  const ticks = monitor.scans - scansBefore;
  monitor.stop();
  for (const p of procs) p.kill('SIGKILL');
  const s = journal.stats();
  journal.close();
  const size = statSync(join(dir, "journal.db")).size + (statSync(join(dir, "journal.db-wal"), { throwIfNoEntry: false })?.size ?? 0);
  rmSync(dir, { recursive: true, force: true });
  return table(`Journal ingest (${n.toLocaleString('en')} events, WAL, 8 indexes, monitor detecting every 50 ms on the same loop)`, [
    'events', 'accepted in s', 'on disk in s', 'events/s (sustained)', 'CPU s (all threads)', 'dropped', 'event-loop delay p99 / max ms', 'kill → detected ms', 'discovery scans meanwhile', 'file MB',
  ], [[
    n, fmt(accepted / 1000), fmt(total / 1000), Math.round(n / (total / 1000)).toLocaleString('en'), fmt(cpuS), s.dropped,
    `${fmt(delay.percentile(99) / 1e6, 1)} / ${fmt(delay.max / 1e6, 1)}`, lostAt > killedAt ? fmt(lostAt - killedAt, 1) : 'n/a', ticks, fmt(size / 1e6, 1),
  ]]);
}

/**
 * Detection → SSE client: a real `procd run --http` daemon (interval 50 ms, a wrapper that exits
 * at once); this process kills and restarts a watched process `rounds` times and reads the SSE
 * stream. Latency = arrival on the client minus the event's time (stamped when the daemon
 * detected it), for every process-lost and process-found.
 */
export async function sseBench(rounds = 100) {
  const dir = mkdtempSync(join(tmpdir(), 'procd-bench-sse-'));
  const tag = `procd-bench-sse-${process.pid}`;
  const cib = join(dir, 'cib.xml');
  writeFileSync(
    cib,
    readFileSync(join(PACKAGE_ROOT, 'fixtures/demo/cib.xml'), 'utf8')
      .replace('node demo/service.mjs procd-demo-web', `${tag}-web`)
      .replace('node demo/service.mjs procd-demo-db', `${tag}-db`),
  );
  const wrapper = join(dir, 'wrapper');
  writeFileSync(wrapper, '#!/bin/sh\nexit 0\n');
  chmodSync(wrapper, 0o755);
  const db = named(`${tag}-db`);
  let web = named(`${tag}-web`);
  const daemon = spawn(join(PACKAGE_ROOT, 'bin/procd'), ['run', '--cib', cib, '--node', 'demo-node', '--interval', '0.05', '--grace', '60', '--wrapper', wrapper, '--socket', '', '--journal', join(dir, 'j.db'), '--http', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: daemon.stdout! }).on('line', (l) => {
      const j = JSON.parse(l) as { http?: string };
      if (j.http) resolve(`http://${j.http}`);
    });
    daemon.on('exit', (c) => reject(new Error(`procd exited with ${c}`)));
  });
  const lat: Record<string, number[]> = { 'process-lost': [], 'process-found': [] };
  const waiters = new Map<string, () => void>();
  const stream = openStream<ProcdEvent & { id: number }>({ url }, { kind: 'process-lost,process-found', resource: 'demo-watch' });
  const reader = (async () => {
    for await (const e of stream) {
      const now = nowUs();
      const key = `${e.kind}:${(e as { process?: string }).process}`;
      if (waiters.has(key)) {
        lat[e.kind]!.push((now - e.time) / 1000);
        waiters.get(key)!();
        waiters.delete(key);
      }
    }
  })();
  const next = (kind: string) => new Promise<void>((r) => waiters.set(`${kind}:proc_web`, r));
  await sleep(500);
  for (let i = 0; i < rounds; i++) {
    const lost = next('process-lost');
    web.kill('SIGKILL');
    await lost;
    const found = next('process-found');
    web = named(`${tag}-web`);
    await found;
  }
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.on('exit', r));
  await reader.catch(() => {});
  web.kill('SIGKILL');
  db.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  const all = [...lat['process-lost']!, ...lat['process-found']!];
  const row = (name: string, xs: number[]) => [name, xs.length, fmt(median(xs)), fmt(quantile(xs, 0.95)), fmt(quantile(xs, 0.99)), fmt(Math.max(...xs))];
  return table('Detection → SSE client (ms, real daemon, loopback)', ['event', 'n', 'p50', 'p95', 'p99', 'max'], [
    row('process-lost', lat['process-lost']!),
    row('process-found', lat['process-found']!),
    row('all', all),
  ]);
}
