// bench:failover — on a real single-node Pacemaker cluster, the time from `kill -9` of app's
// process to Pacemaker's replacement running, for: the agent's own monitor alone, procd, and the
// floor (kill followed at once by crm_resource --fail by hand). Needs root and the cluster packages.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Scanner } from '../src/proc/index.js';
import { appGroupXml, Cluster } from '../test/helpers/cluster.js';
import { DaemonProc } from '../test/helpers/daemon.js';
import { fmt, median, sleep, table } from './lib.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE = '/usr/bin/node';
const AGENT_DIR = '/usr/lib/ocf/resource.d/heartbeat';
const scanner = new Scanner('/proc', process.pid);

function pidsOf(prefix: string): number[] {
  return (scanner.scan([prefix]).get(prefix) ?? []).map((c) => c.pid);
}

interface Row {
  name: string;
  times: number[];
}

/** One configuration: sets the group up, then `trials` × (kill -9, wait for the new process), settling in between. */
async function measure(cluster: Cluster, name: string, trials: number, setup: (prefix: string) => string, afterKill?: () => void): Promise<Row> {
  const prefix = `${NODE} ${ROOT}demo/service.mjs procd-failover-bench-${randomBytes(4).toString('hex')}`;
  cluster.setResources(setup(prefix));
  const times: number[] = [];
  for (let i = 0; i < trials; i++) {
    await cluster.waitFor(`${name}: group started`, () => cluster.isStarted('app') && (!/id="watch"/.test(cluster.statusXml()) || cluster.isStarted('watch')) && pidsOf(prefix).length === 1, 120_000);
    // A uniformly random pause over one monitor interval, so kills fall at every phase of it.
    await sleep(1000 + Math.random() * 10_000);
    const [pid] = pidsOf(prefix);
    const t0 = performance.now();
    process.kill(pid!, 'SIGKILL');
    afterKill?.();
    for (;;) {
      if (pidsOf(prefix).some((p) => p !== pid)) break;
      if (performance.now() - t0 > 120_000) throw new Error(`${name}: no replacement within 120 s`);
      await sleep(5);
    }
    times.push((performance.now() - t0) / 1000);
    process.stdout.write(`  ${name}: trial ${i + 1}: ${fmt(times.at(-1)!)} s\n`);
  }
  await cluster.clearResources();
  return { name, times };
}

export async function failoverBench(trials = Number(process.env.PROCD_BENCH_TRIALS ?? 5)) {
  if (process.getuid?.() !== 0) throw new Error('bench:failover needs root (it starts corosync and pacemakerd)');
  const had = ['procdctl', 'procd-fail'].filter((a) => existsSync(`${AGENT_DIR}/${a}`));
  const inst = spawnSync(`${ROOT}bin/procd`, ['install-ocf'], { encoding: 'utf8' });
  if (inst.status !== 0) throw new Error(`procd install-ocf failed: ${inst.stderr}`);
  const help = spawnSync(`${ROOT}bin/procd`, ['run', '--help'], { encoding: 'utf8' }).stdout;
  const hasModes = help.includes('--mode');
  const cluster = await Cluster.start();
  let daemon: DaemonProc | null = null;
  const rows: Row[] = [];
  try {
    const app = (prefix: string) => ({ binfile: NODE, options: prefix.slice(NODE.length + 1) });
    rows.push(await measure(cluster, 'resource agent monitor only (interval 10 s)', trials, (p) => appGroupXml({ ...app(p), appMonitor: '10s' })));
    const modes: [string, string[]][] = hasModes ? [['procd, polling at 1 s', ['--mode', 'poll']], ['procd, event mode (pidfd)', ['--mode', 'event']]] : [['procd, polling at 1 s', []]];
    for (const [label, flags] of modes) {
      daemon = new DaemonProc(['--interval', '1', ...flags]);
      await daemon.waitFor('daemon started', (l) => l.event === 'daemon-started');
      const sock = daemon.socket;
      rows.push(await measure(cluster, label, trials, (p) => appGroupXml({ ...app(p), appMonitor: '10s', watch: { prefix: p, socket: sock, failResource: 'app' } })));
      await daemon.stop();
      daemon = null;
    }
    rows.push(
      await measure(cluster, 'floor: kill, then crm_resource --fail at once', trials, (p) => appGroupXml(app(p)), () => {
        spawnSync('crm_resource', ['--fail', '-r', 'app', '-N', Cluster.NODE]);
      }),
    );
  } finally {
    await daemon?.stop();
    await cluster.stop();
    for (const a of ['procdctl', 'procd-fail']) if (!had.includes(a)) rmSync(`${AGENT_DIR}/${a}`, { force: true });
  }
  const floor = median(rows.at(-1)!.times);
  table(
    `Failover: kill -9 of app's process → its replacement running (real Pacemaker ${pacemakerVersion()}, single node, ${trials} trials each)`,
    ['detection', 'median s', 'max s', 'median − floor s', 'ratio to floor'],
    rows.map((r) => [r.name, fmt(median(r.times)), fmt(Math.max(...r.times)), fmt(median(r.times) - floor), `${fmt(median(r.times) / floor, 1)}x`]),
  );
}

function pacemakerVersion(): string {
  return /Pacemaker (\S+)/.exec(spawnSync('pacemakerd', ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? '?';
}
