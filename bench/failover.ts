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

interface Config {
  name: string;
  /** The resources section for an app with this command-line prefix. */
  xml: (prefix: string) => string;
  /** Run right after the kill (the floor's crm_resource --fail). */
  afterKill?: () => void;
  times: number[];
}

/** One trial of one configuration: set the group up, kill -9 app's process at a random moment, time until Pacemaker's replacement runs. */
async function trial(cluster: Cluster, c: Config): Promise<number> {
  const prefix = `${NODE} ${ROOT}demo/service.mjs procd-failover-bench-${randomBytes(4).toString('hex')}`;
  const xml = c.xml(prefix);
  cluster.setResources(xml);
  const hasWatch = xml.includes('id="watch"');
  await cluster.waitFor(`${c.name}: group started`, () => cluster.isStarted('app') && (!hasWatch || cluster.isStarted('watch')) && pidsOf(prefix).length === 1, 120_000);
  // A uniformly random pause over one monitor interval, so kills fall at every phase of it.
  await sleep(1000 + Math.random() * 10_000);
  const [pid] = pidsOf(prefix);
  const t0 = performance.now();
  process.kill(pid!, 'SIGKILL');
  c.afterKill?.();
  for (;;) {
    if (pidsOf(prefix).some((p) => p !== pid)) break;
    if (performance.now() - t0 > 120_000) throw new Error(`${c.name}: no replacement within 120 s`);
    await sleep(5);
  }
  const s = (performance.now() - t0) / 1000;
  await cluster.clearResources();
  return s;
}

export async function failoverBench(trials = Number(process.env.PROCD_BENCH_TRIALS ?? 5)) {
  if (process.getuid?.() !== 0) throw new Error('bench:failover needs root (it starts corosync and pacemakerd)');
  const had = ['procdctl', 'procd-fail'].filter((a) => existsSync(`${AGENT_DIR}/${a}`));
  const inst = spawnSync(`${ROOT}bin/procd`, ['install-ocf'], { encoding: 'utf8' });
  if (inst.status !== 0) throw new Error(`procd install-ocf failed: ${inst.stderr}`);
  const help = spawnSync(`${ROOT}bin/procd`, ['run', '--help'], { encoding: 'utf8' }).stdout;
  const modes: [string, string[]][] = help.includes('--mode')
    ? [['procd, polling at 1 s', ['--mode', 'poll']], ['procd, event mode (pidfd)', ['--mode', 'event']]]
    : [['procd, polling at 1 s', []]];
  const cluster = await Cluster.start();
  const daemons: DaemonProc[] = [];
  try {
    const app = (prefix: string) => ({ binfile: NODE, options: prefix.slice(NODE.length + 1), appMonitor: '10s' });
    const configs: Config[] = [{ name: 'resource agent monitor only (interval 10 s)', xml: (p) => appGroupXml(app(p)), times: [] }];
    for (const [name, flags] of modes) {
      const d = new DaemonProc(['--interval', '1', ...flags]);
      daemons.push(d);
      await d.waitFor('daemon started', (l) => l.event === 'daemon-started');
      configs.push({ name, xml: (p) => appGroupXml({ ...app(p), watch: { prefix: p, socket: d.socket, failResource: 'app' } }), times: [] });
    }
    configs.push({
      name: 'floor: kill, then crm_resource --fail at once',
      xml: (p) => appGroupXml(app(p)),
      afterKill: () => void spawnSync('crm_resource', ['--fail', '-r', 'app', '-N', Cluster.NODE]),
      times: [],
    });
    // Interleaved: every round runs each configuration once, so a busy spell of the machine hits all rows alike.
    for (let i = 0; i < trials; i++) {
      for (const c of configs) {
        c.times.push(await trial(cluster, c));
        process.stdout.write(`  round ${i + 1}: ${c.name}: ${fmt(c.times.at(-1)!)} s\n`);
      }
    }
    const floor = median(configs.at(-1)!.times);
    table(
      `Failover: kill -9 of app's process → its replacement running (real Pacemaker ${pacemakerVersion()}, single node, ${trials} interleaved trials each)`,
      ['detection', 'median s', 'max s', 'median − floor s', 'ratio to floor'],
      configs.map((c) => [c.name, fmt(median(c.times)), fmt(Math.max(...c.times)), fmt(median(c.times) - floor), `${fmt(median(c.times) / floor, 1)}x`]),
    );
  } finally {
    await Promise.all(daemons.map((d) => d.stop()));
    await cluster.stop();
    for (const a of ['procdctl', 'procd-fail']) if (!had.includes(a)) rmSync(`${AGENT_DIR}/${a}`, { force: true });
  }
}

function pacemakerVersion(): string {
  return /Pacemaker (\S+)/.exec(spawnSync('pacemakerd', ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? '?';
}
