import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real single-node Pacemaker cluster on loopback, for tests and benchmarks (needs root and the
 * corosync/pacemaker packages). corosync 3 runs with `-c` pointing at a config written here and
 * `pacemakerd -f` next to it; the CIB starts with stonith-enabled=false and a 2 s dc-deadtime so
 * the node is online in seconds. stop() ends both by PID and leaves no CIB behind (a CIB that was
 * there before is put back).
 */
export class Cluster {
  static readonly NODE = 'node1';
  readonly dir: string;
  private corosync: ChildProcess | null = null;
  private pacemakerd: ChildProcess | null = null;
  private saved: string | null = null;
  static readonly CIB_DIR = '/var/lib/pacemaker/cib';
  static readonly PE_DIR = '/var/lib/pacemaker/pengine';

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Starts corosync and pacemakerd and waits until node1 is online with a DC; throws (with the logs) when it cannot. */
  static async start(timeoutMs = 90_000): Promise<Cluster> {
    if (process.getuid?.() !== 0) throw new Error('a real cluster needs root (corosync and pacemakerd run as root)');
    for (const bin of ['corosync', 'pacemakerd', 'crm_mon', 'cibadmin', 'crm_resource']) {
      if (spawnSync('sh', ['-c', 'command -v "$1"', 'sh', bin]).status !== 0) throw new Error(`${bin} is not installed: run sh scripts/deps.sh (apt-get install pacemaker corosync pacemaker-cli-utils)`);
    }
    const running = spawnSync('pgrep', ['-x', 'corosync|pacemakerd'], { encoding: 'utf8' }).stdout.trim();
    if (running) throw new Error(`a cluster is already running here (pids ${running.split('\n').join(', ')}); stop it first`);
    const c = new Cluster(mkdtempSync(join(tmpdir(), 'procd-cluster-')));
    try {
      c.saveCib();
      c.writeCib();
      const conf = join(c.dir, 'corosync.conf');
      writeFileSync(conf, COROSYNC_CONF);
      const log = (name: string) => openSync(join(c.dir, name), 'a');
      // The daemons run as hacluster and write their detailed log here too.
      chmodSync(c.dir, 0o755);
      closeSync(openSync(join(c.dir, 'pacemaker.detail.log'), 'a', 0o660));
      chownSync(join(c.dir, 'pacemaker.detail.log'), ...hacluster());
      c.corosync = spawn('corosync', ['-f', '-c', conf], { stdio: ['ignore', log('corosync.log'), log('corosync.log')] });
      await c.waitFor('corosync to answer', () => spawnSync('corosync-cfgtool', ['-s']).status === 0, 20_000);
      c.pacemakerd = spawn('pacemakerd', ['-f'], {
        stdio: ['ignore', log('pacemaker.log'), log('pacemaker.log')],
        env: { ...process.env, PCMK_logfile: join(c.dir, 'pacemaker.detail.log'), PCMK_logpriority: 'info' },
      });
      await c.waitFor(`${Cluster.NODE} online with a DC`, () => {
        const r = spawnSync('crm_mon', ['-1', '--output-as=xml'], { encoding: 'utf8' });
        return r.status === 0 && /<current_dc present="true"/.test(r.stdout) && new RegExp(`<node name="${Cluster.NODE}"[^>]*online="true"`).test(r.stdout);
      }, timeoutMs);
      return c;
    } catch (e) {
      const logs = c.logs();
      await c.stop();
      throw new Error(`${(e as Error).message}\n${logs}`);
    }
  }

  /** Polls `ok` every 250 ms until it holds; throws naming `what` after `ms`. */
  async waitFor(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
    const end = Date.now() + ms;
    for (;;) {
      if (this.corosync?.exitCode != null) throw new Error(`corosync exited (${this.corosync.exitCode}) while waiting for ${what}`);
      if (this.pacemakerd?.exitCode != null) throw new Error(`pacemakerd exited (${this.pacemakerd.exitCode}) while waiting for ${what}`);
      if (ok()) return;
      if (Date.now() > end) throw new Error(`cluster: no ${what} within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Runs a Pacemaker tool against the live cluster. */
  run(cmd: string, args: string[]) {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
  }

  /** Like run() but throws with the output when the tool fails. */
  must(cmd: string, args: string[]): string {
    const r = this.run(cmd, args);
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.out.trim()}`);
    return r.stdout;
  }

  /** `crm_mon -1 --output-as=xml` */
  statusXml(): string {
    return this.run('crm_mon', ['-1', '--output-as=xml']).stdout;
  }

  /** Whether the resource is reported started (active, not failed) on node1. */
  isStarted(rsc: string): boolean {
    const m = new RegExp(`<resource id="${rsc}"[^>]*>`).exec(this.statusXml());
    return !!m && /role="Started"/.test(m[0]) && /active="true"/.test(m[0]) && /failed="false"/.test(m[0]);
  }

  /** The resource's fail-count on node1 from the live cluster (crm_failcount -G -Q). */
  failcount(rsc: string): number {
    const out = this.run('crm_failcount', ['-G', '-Q', '-r', rsc, '-N', Cluster.NODE]).stdout.trim();
    return out === 'INFINITY' ? Infinity : Number(out || 0);
  }

  /** Replaces the resources section (and constraints) with the given XML, then waits for the cluster to settle. */
  setResources(resourcesXml: string) {
    this.must('cibadmin', ['--replace', '-o', 'resources', '--xml-text', `<resources>${resourcesXml}</resources>`]);
  }

  /** Stops and deletes every resource (waits until none is active) and clears their history. */
  async clearResources(ms = 60_000) {
    this.must('crm_attribute', ['-t', 'rsc_defaults', '-n', 'target-role', '-v', 'Stopped']);
    await this.waitFor('every resource stopped', () => !/active="true"/.test(this.statusXml()), ms);
    this.must('cibadmin', ['--replace', '-o', 'resources', '--xml-text', '<resources/>']);
    this.run('crm_attribute', ['-t', 'rsc_defaults', '-n', 'target-role', '-D']);
    this.run('crm_resource', ['--cleanup']);
  }

  logs(): string {
    const out: string[] = [];
    for (const f of ['corosync.log', 'pacemaker.log']) {
      const p = join(this.dir, f);
      if (existsSync(p)) out.push(`--- ${f} (last lines)\n${spawnSync('tail', ['-n', '30', p], { encoding: 'utf8' }).stdout}`);
    }
    return out.join('\n');
  }

  /** Stops pacemakerd (which stops the resources and its daemons), then corosync, by PID; removes the CIB it made. */
  async stop() {
    await stopChild(this.pacemakerd, 60_000);
    this.pacemakerd = null;
    await stopChild(this.corosync, 20_000);
    this.corosync = null;
    // Daemons pacemakerd could not stop (it was killed) must not outlive the test.
    spawnSync('pkill', ['-KILL', '-x', 'pacemaker-based|pacemaker-fenced|pacemaker-execd|pacemaker-attrd|pacemaker-schedulerd|pacemaker-controld']);
    for (const d of [Cluster.CIB_DIR, Cluster.PE_DIR]) for (const f of safeList(d)) rmSync(join(d, f), { force: true, recursive: true });
    if (this.saved) {
      cpSync(this.saved, Cluster.CIB_DIR, { recursive: true });
      rmSync(this.saved, { recursive: true, force: true });
      this.saved = null;
    }
  }

  private saveCib() {
    if (safeList(Cluster.CIB_DIR).length === 0) return;
    this.saved = join(this.dir, 'saved-cib');
    cpSync(Cluster.CIB_DIR, this.saved, { recursive: true });
    for (const f of safeList(Cluster.CIB_DIR)) rmSync(join(Cluster.CIB_DIR, f), { force: true, recursive: true });
  }

  private writeCib() {
    mkdirSync(Cluster.CIB_DIR, { recursive: true });
    const path = join(Cluster.CIB_DIR, 'cib.xml');
    writeFileSync(path, INITIAL_CIB);
    chownSync(path, ...hacluster());
  }
}

/** uid and gid of the hacluster user the Pacemaker daemons run as. */
function hacluster(): [number, number] {
  const id = (flag: string) => Number(spawnSync('id', [flag, 'hacluster'], { encoding: 'utf8' }).stdout);
  const ids: [number, number] = [id('-u'), id('-g')];
  if (!ids.every(Number.isInteger)) throw new Error('there is no hacluster user: is pacemaker installed?');
  return ids;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

async function stopChild(child: ChildProcess | null, ms: number) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), ms);
  await exited;
  clearTimeout(t);
}

const COROSYNC_CONF = `totem {
    version: 2
    cluster_name: procd-test
    transport: knet
    crypto_cipher: none
    crypto_hash: none
}
nodelist {
    node {
        ring0_addr: 127.0.0.1
        name: ${Cluster.NODE}
        nodeid: 1
    }
}
quorum {
    provider: corosync_votequorum
}
logging {
    to_stderr: yes
    to_syslog: no
    to_logfile: no
}
`;

const INITIAL_CIB = `<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="opt-stonith-enabled" name="stonith-enabled" value="false"/>
        <nvpair id="opt-dc-deadtime" name="dc-deadtime" value="2s"/>
        <nvpair id="opt-no-quorum-policy" name="no-quorum-policy" value="ignore"/>
        <nvpair id="opt-recheck" name="cluster-recheck-interval" value="1min"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources/>
    <constraints/>
  </configuration>
  <status/>
</cib>
`;

function attr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export interface AppGroupOptions {
  /** The app's command line: binfile and its options, as anything runs them. */
  binfile: string;
  options: string;
  /** The procdctl instance's settings; no watch primitive when omitted. */
  watch?: { prefix: string; socket: string; failResource?: string; container?: boolean };
  /** Interval of the app's own recurring monitor (none when omitted). */
  appMonitor?: string;
}

/** `<group id="grp">` = [app (ocf:heartbeat:anything), watch (ocf:heartbeat:procdctl)] as the cluster tests and bench:failover use it. */
export function appGroupXml(o: AppGroupOptions): string {
  const appOps = o.appMonitor ? `<operations><op id="app-monitor" name="monitor" interval="${o.appMonitor}" timeout="20s"/></operations>` : '';
  const w = o.watch;
  const watch = w
    ? `<primitive id="watch" class="ocf" provider="heartbeat" type="procdctl">` +
      (w.container ? `<meta_attributes id="watch-meta"><nvpair id="watch-container" name="container" value="app"/></meta_attributes>` : '') +
      `<instance_attributes id="watch-ia">` +
      `<nvpair id="watch-proc-app" name="proc_app" value="${attr(w.prefix)}"/>` +
      `<nvpair id="watch-socket" name="socket" value="${attr(w.socket)}"/>` +
      (w.failResource ? `<nvpair id="watch-fail" name="fail_resource" value="${attr(w.failResource)}"/>` : '') +
      `</instance_attributes><operations><op id="watch-monitor" name="monitor" interval="10s" timeout="20s"/></operations></primitive>`
    : '';
  return (
    `<group id="grp"><primitive id="app" class="ocf" provider="heartbeat" type="anything">` +
    `<instance_attributes id="app-ia"><nvpair id="app-binfile" name="binfile" value="${attr(o.binfile)}"/>` +
    `<nvpair id="app-options" name="cmdline_options" value="${attr(o.options)}"/></instance_attributes>${appOps}</primitive>${watch}</group>`
  );
}
