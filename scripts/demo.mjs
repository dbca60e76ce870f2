#!/usr/bin/env node
// `npm start`: procd's main job on a bundled demo, with no cluster (the embedded CIB-file mode).
// Starts two demo services, copies fixtures/demo/cib.xml to a scratch folder, runs procd on it,
// and restarts a killed service after 2 s the way a cluster would. Ctrl-C stops everything.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const procd = join(root, 'bin/procd');
if (!existsSync(join(root, 'dist/src/cli/main.js'))) {
  console.error('demo: procd is not built; run "npm install" (it builds) or "npm run build"');
  process.exit(1);
}
const NODE = 'demo-node';
const RESOURCE = 'demo-watch';
const scratch = mkdtempSync(join(tmpdir(), 'procd-demo-'));
const cib = join(scratch, 'cib.xml');
copyFileSync(join(root, 'fixtures/demo/cib.xml'), cib);

const services = new Map();
let stopping = false;
function startService(name) {
  // argv0 "node" and a relative script path give the cmdline the demo CIB names:
  // "node demo/service.mjs procd-demo-web".
  const c = spawn(process.execPath, ['demo/service.mjs', name], { argv0: 'node', cwd: root, stdio: 'ignore' });
  services.set(name, c);
  c.on('exit', (code, signal) => {
    if (stopping) return;
    say(`service ${name} (pid ${c.pid}) died (${signal ?? `exit ${code}`}); the demo "cluster" restarts it in 2 s`);
    setTimeout(() => !stopping && startService(name) && say(`service ${name} restarted as pid ${services.get(name).pid}`), 2000);
  });
  return c;
}

const say = (s) => console.log(`\x1b[1mdemo:\x1b[0m ${s}`);
const web = startService('procd-demo-web');
const db = startService('procd-demo-db');

const daemon = spawn(procd, ['run', '--cib', cib, '--node', NODE, '--interval', '0.5', '--grace', '3', '--socket', join(scratch, 'procd.sock'), '--journal', join(scratch, 'journal.db'), '--http', process.env.DEMO_HTTP ?? '127.0.0.1:8181'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
// procd logs JSON lines; show them compactly (the raw JSON is what a log shipper gets).
createInterface({ input: daemon.stdout }).on('line', (line) => {
  try {
    const j = JSON.parse(line);
    console.log(`  procd ${j.time?.slice(11, 23) ?? ''} ${String(j.level).padEnd(5)} ${j.msg}`);
  } catch {
    console.log(`  procd ${line}`);
  }
});
daemon.on('exit', (code) => {
  if (!stopping) {
    console.error(`demo: procd exited with code ${code}`);
    shutdown(1);
  }
});

setTimeout(() => {
  say(`procd watches two services for resource ${RESOURCE} on node ${NODE}, CIB file ${cib}
  kill a service:      kill -9 ${web.pid}        (web; db is pid ${db.pid}; or: pkill -9 -f procd-demo-web)
  read the fail-count: ${procd} cib failcount --cib ${cib} --resource ${RESOURCE} --node ${NODE}
  with Pacemaker:      CIB_file=${cib} crm_failcount -G -r ${RESOURCE} -N ${NODE}
  web page and API:    http://${process.env.DEMO_HTTP ?? '127.0.0.1:8181'}/   (procd events --follow, procd failures)
  Ctrl-C stops everything.`);
}, 800);

function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of services.values()) c.kill('SIGTERM');
  daemon.kill('SIGTERM');
  const t = setTimeout(() => process.exit(code), 3000);
  daemon.on('exit', () => {
    clearTimeout(t);
    say(`stopped. The CIB with its fail-counts stays in ${cib}`);
    process.exit(code);
  });
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
