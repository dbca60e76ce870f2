import { arch, hostname, release } from 'node:os';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { threadId } from 'node:worker_threads';
import type { Daemon } from '../daemon/daemon.js';
import type { ProcdEvent } from '../events/index.js';
import { listTasks, processTree, readStat } from '../proc/index.js';
import { VERSION } from '../version.js';
import { maskCommandLine, type EffectiveOption } from './config.js';
import { duration, isoFromUs, keyValues, table } from './layout.js';
import type { SectionOutput } from './registry.js';
import type { TimerTracker } from './timers.js';
import { formatFrames, type Watchdog } from './watchdog.js';

const CLK_TCK = 100;

export function packageSection(startedAt: number): SectionOutput {
  const data = {
    product: 'procd',
    vendor: 'procd contributors (GPL-2.0-or-later)',
    version: VERSION,
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform} ${release()} ${arch()}`,
    host: hostname(),
    pid: process.pid,
    started: new Date(startedAt).toISOString(),
    uptime: duration(Date.now() - startedAt),
  };
  return { text: keyValues(Object.entries(data)), data };
}

export async function threadsSection(watchdog: Watchdog | null): Promise<SectionOutput> {
  const lines: string[] = [];
  const st = watchdog ? await watchdog.status() : null;
  lines.push(`------ Thread main (pid ${process.pid}, Node thread ${threadId}) ------`);
  if (!watchdog || !st) {
    lines.push(`  watchdog: not running${watchdog?.failure ? ` (${watchdog.failure})` : ''}; no record of blocked periods`);
  } else {
    lines.push(`  event loop: responsive (last answered a watchdog ping ${duration(st.heartbeatAgeMs)} ago; blocked = a ping unanswered for ${watchdog.thresholdMs} ms)`);
  }
  lines.push('  now: building this report');
  for (const l of (new Error().stack ?? '').split('\n').slice(1, 6)) lines.push(`    ${l.trim()}`);
  if (st) {
    lines.push(`  blocked periods since start: ${st.total}${st.total > st.episodes.length ? ` (last ${st.episodes.length} shown)` : ''}`);
    for (const e of [...st.episodes].reverse()) {
      lines.push(`  main thread blocked for ${duration(e.durationMs)}${e.ongoing ? ' (still blocked)' : ''} from ${new Date(e.since).toISOString()}, ${duration(Date.now() - e.since)} ago, at:`);
      if (e.frames && e.frames.length) lines.push(...formatFrames(e.frames, '    '));
      else lines.push(`    ${e.note ?? 'no stack captured'}`);
    }
    lines.push('');
    lines.push(`------ Thread ${watchdog!.thread.name} (Node thread ${st.threadId}) ------`);
    lines.push(`  tasks: ${watchdog!.thread.taskNames().join(', ')}`);
    lines.push(`  the report watchdog looks every ${watchdog!.pollMs} ms, and at once when work arrives (an event, a socket request), which system call the main thread is in; pings it when it is not idle in epoll; captures its stack through the inspector when a ping goes unanswered`);
    for (const l of st.stack.split('\n').slice(1, 5)) lines.push(`    ${l.trim()}`);
  }
  const tasks = listTasks(process.pid);
  if (tasks.length) {
    lines.push('');
    lines.push(`------ OS threads (/proc/${process.pid}/task) ------`);
    lines.push(table(['TID', 'S', 'CPU', 'NAME'], tasks.map((t) => [t.tid, t.state, duration(((t.utime + t.stime) / CLK_TCK) * 1000), t.comm]), '  '));
  }
  return { text: lines, data: { watchdog: st, tasks } };
}

export function greenThreadsSection(daemon: Daemon, timers: TimerTracker | null): SectionOutput {
  const lines: string[] = [];
  const kinds = new Map<string, number>();
  for (const k of process.getActiveResourcesInfo()) kinds.set(k, (kinds.get(k) ?? 0) + 1);
  lines.push('libuv handles and requests in flight (process.getActiveResourcesInfo):');
  lines.push(kinds.size ? table(['KIND', 'COUNT'], [...kinds].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, n]), '  ') : '  none');
  const list = timers?.list() ?? [];
  lines.push('');
  lines.push(`timers (${timers ? list.length : 'not tracked'}):`);
  if (list.length) lines.push(table(['FIRES IN', 'REPEAT', 'REF', 'CALLBACK'], list.map((t) => [duration(t.firesInMs), t.repeatMs === null ? '-' : duration(t.repeatMs), t.ref ? 'yes' : 'no', t.callback]), '  '));
  const running = daemon.failover.inFlight();
  const queued = daemon.failover.pending();
  lines.push('');
  lines.push('failure wrapper runs:');
  if (running) lines.push(`  running: ${running.failResource} (resource ${running.resource}, failure ${running.failureId}), attempt ${running.attempt}, for ${duration(performance.now() - running.startedAt)}`);
  else lines.push('  running: none');
  lines.push(`  queued: ${queued.length}`);
  for (const q of queued) lines.push(`    ${q.failResource} (resource ${q.resource}, failure ${q.failureId}), detected ${duration(Date.now() - q.time / 1000)} ago`);
  return { text: lines, data: { resources: Object.fromEntries(kinds), timers: list, wrapper: { running, queued: queued.map((q) => ({ failureId: q.failureId, resource: q.resource, failResource: q.failResource, time: q.time })) } } };
}

/** Bytes per page, worked out from our own RSS (stat counts pages); 4096 when that fails. */
function pageSize(): number {
  const st = readStat(process.pid);
  if (!st || st.rss <= 0) return 4096;
  const ratio = process.memoryUsage().rss / st.rss;
  return [4096, 16384, 65536].reduce((best, p) => (Math.abs(p - ratio) < Math.abs(best - ratio) ? p : best), 4096);
}

export async function processesSection(): Promise<SectionOutput> {
  const tree = await processTree(process.pid, { batch: 64 });
  const page = pageSize();
  const rows = tree.map((p) => [
    `${'  '.repeat(p.depth)}${p.pid}`,
    p.ppid,
    p.state,
    `${Math.round((p.rss * page) / 1024)} KiB`,
    duration(((p.utime + p.stime) / CLK_TCK) * 1000),
    p.cmdline ? maskCommandLine(p.cmdline.split(' ')).join(' ') : `[${p.comm}]`,
  ]);
  const data = tree.map((p) => ({ ...p, cmdline: maskCommandLine(p.cmdline.split(' ')).join(' ') }));
  return { text: [`procd and its child processes (${tree.length}), from /proc:`, table(['PID', 'PPID', 'S', 'RSS', 'CPU', 'CMDLINE'], rows, '  ')], data };
}

export function configurationSection(options: EffectiveOption[]): SectionOutput {
  const w = Math.max(0, ...options.map((o) => o.name.length));
  const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? 'unset');
  const lines = ['effective options (secrets shown as ***; the environment is never printed):', ...options.map((o) => `  ${o.name.padEnd(w)} = ${show(o.value)}  (${o.source})`)];
  return { text: lines, data: options };
}

export async function resourcesSection(daemon: Daemon): Promise<SectionOutput> {
  const status = daemon.monitor.status();
  if (status.length === 0) return 'nothing is watched (no procdctl resource configured)';
  const lines: string[] = [];
  let n = 0;
  for (const r of status) {
    if (++n % 25 === 0) await yieldToLoop();
    lines.push(`${r.resource} (fail resource ${r.failResource}, from ${r.source}):`);
    lines.push(
      table(
        ['PROCESS', 'STATE', 'PID', 'SINCE', 'LAST CHECK', 'FAILURES', 'PREFIX'],
        r.processes.map((p) => [p.name, p.state, p.pid ?? '-', isoFromUs(p.since), isoFromUs(p.lastCheck), p.failures, JSON.stringify(p.prefix)]),
        '  ',
      ),
    );
  }
  return { text: lines, data: status };
}

interface FailcountRecord {
  failResource: string;
  node: string;
  /** The fail-count attribute and value the wrapper last wrote (file mode prints them). */
  attribute?: string;
  value?: number;
  /** µs since the epoch of the last write. */
  writtenAt?: number;
  /** Outcome of the last failure report and when (µs since the epoch). */
  outcome?: 'reported' | 'report-failed';
  outcomeAt?: number;
  error?: string;
  reported: number;
  failed: number;
}

/** Remembers fail-counts as last written or reported, from the bus. */
export class FailcountLedger {
  private byResource = new Map<string, FailcountRecord>();

  private get(failResource: string, node: string): FailcountRecord {
    const key = `${failResource}@${node}`;
    let r = this.byResource.get(key);
    if (!r) this.byResource.set(key, (r = { failResource, node, reported: 0, failed: 0 }));
    return r;
  }

  consume = (e: ProcdEvent) => {
    if (e.kind === 'failcount-written') {
      Object.assign(this.get(e.failResource, e.node), { attribute: e.attribute, value: e.value, writtenAt: e.time });
    } else if (e.kind === 'failure-reported') {
      const r = this.get(e.failResource, e.node);
      Object.assign(r, { outcome: 'reported', outcomeAt: e.time, reported: r.reported + 1 });
      delete r.error;
    } else if (e.kind === 'report-failed') {
      const r = this.get(e.failResource, e.node);
      Object.assign(r, { outcome: 'report-failed', outcomeAt: e.time, error: e.error, failed: r.failed + 1 });
    }
  };

  section = (): SectionOutput => {
    if (this.byResource.size === 0) return 'no failure reported since start';
    const rows = [...this.byResource.values()].map((r) => [
      r.failResource,
      r.node,
      r.attribute ? `${r.attribute}=${r.value}` : '-',
      isoFromUs(r.writtenAt),
      r.outcome ?? '-',
      r.reported,
      r.failed,
      r.error ?? '',
    ]);
    return { text: table(['RESOURCE', 'NODE', 'LAST WRITTEN', 'WRITTEN AT', 'LAST OUTCOME', 'REPORTED', 'FAILED', 'ERROR'], rows), data: [...this.byResource.values()] };
  };
}

/** Detection: mode (from daemon-started, or a `mode` field on the monitor), interval, scans, watched pids. */
export function detectionSection(daemon: Daemon, startedMode: string | null): SectionOutput {
  const m = daemon.monitor as unknown as Record<string, unknown>;
  const num = (k: string) => (typeof m[k] === 'number' ? (m[k] as number) : null);
  const mode = typeof m.mode === 'string' ? m.mode : (startedMode ?? 'poll');
  const pids = daemon.monitor.watchedPids().sort((a, b) => a - b);
  const data = {
    mode,
    intervalMs: num('intervalMs'),
    graceMs: num('graceMs'),
    lastScanMs: num('lastScanMs'),
    scans: num('scans'),
    needsDiscovery: typeof m.needsDiscovery === 'function' ? Boolean((m.needsDiscovery as () => boolean).call(daemon.monitor)) : null,
    watchedPidCount: pids.length,
    watchedPids: pids,
  };
  return {
    text: keyValues([
      ['mode', data.mode],
      ['interval', data.intervalMs === null ? '-' : duration(data.intervalMs)],
      ['grace', data.graceMs === null ? '-' : duration(data.graceMs)],
      ['last scan', data.lastScanMs === null ? '-' : duration(data.lastScanMs)],
      ['scans', data.scans ?? '-'],
      ['discovery needed', data.needsDiscovery ?? '-'],
      ['watched pid count', pids.length],
      ['watched pids', pids.join(' ') || '-'],
    ]),
    data,
  };
}
