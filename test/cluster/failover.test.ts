// A real single-node Pacemaker cluster: procd + the installed procdctl agent make Pacemaker
// restart a killed process. Needs root and the corosync/pacemaker packages (scripts/deps.sh
// installs them); it fails, it does not skip, when the cluster cannot start.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Scanner } from '../../src/proc/index.js';
import { appGroupXml, Cluster } from '../helpers/cluster.js';
import { DaemonProc, procd, ROOT } from '../helpers/daemon.js';
import { waitFor } from '../helpers/procs.js';

const AGENT_DIR = '/usr/lib/ocf/resource.d/heartbeat';
const NODE = '/usr/bin/node';
const SERVICE = `${ROOT}demo/service.mjs`;

let cluster: Cluster;
let daemon: DaemonProc;
const installed: string[] = [];
const scanner = new Scanner('/proc', process.pid);

/** Pids of live processes whose cmdline starts with `prefix`. */
function pidsOf(prefix: string): number[] {
  return (scanner.scan([prefix]).get(prefix) ?? []).map((c) => c.pid);
}

before(async () => {
  const had = ['procdctl', 'procd-fail'].filter((a) => existsSync(`${AGENT_DIR}/${a}`));
  const r = procd(['install-ocf']);
  assert.equal(r.code, 0, r.stderr);
  installed.push(...['procdctl', 'procd-fail'].filter((a) => !had.includes(a)).map((a) => `${AGENT_DIR}/${a}`));
  assert.match(readFileSync(`${AGENT_DIR}/procdctl`, 'utf8'), new RegExp(`^PROCD_DEFAULT_BIN='${ROOT}bin/procd'$`, 'm'));
  cluster = await Cluster.start();
  daemon = new DaemonProc(['--interval', '0.5', '--node', 'not-the-cluster-name']);
  await daemon.waitFor('daemon started', (l) => l.event === 'daemon-started');
});

after(async () => {
  try {
    await cluster?.stop();
  } finally {
    await daemon?.stop();
    for (const p of installed) rmSync(p, { force: true });
  }
});

/** Configures grp = [app, watch], waits until both run and procd watches app's process; returns that pid. */
async function startGroup(tag: string, watch: { failResource?: string; container?: boolean }) {
  const prefix = `${NODE} ${SERVICE} procd-cluster-${tag}-${randomBytes(4).toString('hex')}`;
  cluster.setResources(appGroupXml({ binfile: NODE, options: prefix.slice(NODE.length + 1), watch: { prefix, socket: daemon.socket, ...watch } }));
  await cluster.waitFor('app and watch started', () => cluster.isStarted('app') && cluster.isStarted('watch'), 60_000);
  const [pid] = await waitFor('app process', () => (pidsOf(prefix).length === 1 ? pidsOf(prefix) : null), 10_000);
  const st = JSON.parse(procd(['status', '--socket', daemon.socket, '--resource', 'watch', '--json']).stdout);
  assert.equal(st.resource, 'watch');
  assert.equal(st.failResource, watch.failResource ?? 'watch');
  assert.equal(st.processes[0].state, 'running');
  assert.equal(st.processes[0].pid, pid, 'procd watches the process Pacemaker started');
  return { prefix, pid: pid! };
}

/** kill -9 of app's process; waits for Pacemaker's replacement (same cmdline, new pid) and the group to run again. */
async function killAndAwaitRestart(prefix: string, pid: number) {
  process.kill(pid, 'SIGKILL');
  const [fresh] = await waitFor('a restarted app process', () => {
    const now = pidsOf(prefix).filter((p) => p !== pid);
    return now.length ? now : null;
  }, 60_000);
  await cluster.waitFor('app and watch started again', () => cluster.isStarted('app') && cluster.isStarted('watch'), 60_000);
  return fresh!;
}

test('fail_resource=app: a kill -9 of app makes Pacemaker restart app, and its fail-count shows it', async () => {
  const { prefix, pid } = await startGroup('app', { failResource: 'app' });
  assert.equal(cluster.failcount('app'), 0);
  const fresh = await killAndAwaitRestart(prefix, pid);
  assert.notEqual(fresh, pid);
  // Reported although procd's --node is not the cluster's name for this node: the wrapper asks crm_node -n.
  await daemon.waitFor('failure reported against app', (l) => l.event === 'failure-reported' && l.failResource === 'app');
  const failcount = cluster.failcount('app');
  assert.ok(failcount >= 1, `fail-count of app is ${failcount}`);
  assert.equal(cluster.failcount('watch'), 0, 'only the resource procd failed has a fail-count');
  // procd follows the restarted process.
  await waitFor('procd watching the new pid', () => JSON.parse(procd(['status', '--socket', daemon.socket, '--resource', 'watch', '--json']).stdout).processes[0].pid === fresh, 20_000);
  await cluster.clearResources();
});

test('fail_resource unset: the procdctl instance fails, and container=app makes Pacemaker restart app', async () => {
  const { prefix, pid } = await startGroup('watch', { container: true });
  assert.equal(cluster.failcount('watch'), 0);
  const fresh = await killAndAwaitRestart(prefix, pid);
  assert.notEqual(fresh, pid);
  await daemon.waitFor('failure reported against watch', (l) => l.event === 'failure-reported' && l.failResource === 'watch');
  const failcount = cluster.failcount('watch');
  assert.ok(failcount >= 1, `fail-count of watch is ${failcount}`);
  await waitFor('procd watching the new pid', () => JSON.parse(procd(['status', '--socket', daemon.socket, '--resource', 'watch', '--json']).stdout).processes[0].pid === fresh, 20_000);
  await cluster.clearResources();
  // Stopping the group unregistered the resource from procd.
  assert.equal(procd(['status', '--socket', daemon.socket, '--resource', 'watch']).code, 3);
});
