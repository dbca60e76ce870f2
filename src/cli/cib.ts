import { hostname } from 'node:os';
import type { Argv, CommandModule } from 'yargs';
import { formatTable } from './table.js';

interface CibArgs {
  cib: string;
  resource?: string;
  node: string;
  json: boolean;
}

const out = (s: string): void => void process.stdout.write(s + '\n');
/** The CIB module, loaded by the handlers: other commands start without fast-xml-parser. */
const cib = () => import('../cib/index.js');

function common<T>(y: Argv<T>, needsResource: boolean) {
  return y
    .option('cib', { type: 'string', demandOption: true, requiresArg: true, describe: 'the CIB XML file' })
    .option('resource', { alias: 'r', type: 'string', demandOption: needsResource, requiresArg: true, describe: 'resource whose fail-count to use' })
    .option('node', { alias: 'N', type: 'string', default: hostname(), defaultDescription: 'uname -n', describe: 'node name, as in <node uname=...>' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' });
}

const list: CommandModule<object, CibArgs> = {
  command: 'list',
  describe: 'list the procdctl resources and the processes they name',
  builder: (y) => common(y, false) as unknown as Argv<CibArgs>,
  handler: async (a) => {
    const cfg = await (await cib()).readCibConfig(a.cib);
    if (a.json) return out(JSON.stringify({ format: cfg.format, nodes: cfg.nodes, resources: cfg.resources, warnings: cfg.warnings }, null, 2));
    for (const w of cfg.warnings) process.stderr.write(`procd: warning: ${w}\n`);
    const rows = [['RESOURCE', 'FAIL-RESOURCE', 'PROCESS', 'PREFIX']];
    for (const r of cfg.resources) for (const p of r.processes) rows.push([r.resource, r.failResource, p.name, p.prefix]);
    out(formatTable(rows));
  },
};

const fail: CommandModule<object, CibArgs> = {
  command: 'fail',
  describe: "bump a resource's fail-count on a node, as crm_resource --fail does (prints attribute=value)",
  builder: (y) => common(y, true) as unknown as Argv<CibArgs>,
  handler: async (a) => {
    const r = await (await cib()).bumpFailCount(a.cib, { resource: a.resource!, node: a.node });
    if (a.json) return out(JSON.stringify({ resource: a.resource, node: a.node, ...r }));
    out(`${r.attribute}=${r.value}`);
  },
};

const failcount: CommandModule<object, CibArgs> = {
  command: 'failcount',
  describe: "print a resource's fail-count on a node (summed over operations, like crm_failcount -G)",
  builder: (y) => common(y, true) as unknown as Argv<CibArgs>,
  handler: async (a) => {
    const n = await (await cib()).readFailCount(a.cib, { resource: a.resource!, node: a.node });
    out(a.json ? JSON.stringify({ resource: a.resource, node: a.node, failcount: n }) : String(n));
  },
};

const reset: CommandModule<object, CibArgs> = {
  command: 'reset',
  describe: "remove a resource's fail-count and last-failure on a node (like crm_failcount -D)",
  builder: (y) => common(y, true) as unknown as Argv<CibArgs>,
  handler: async (a) => {
    const r = await (await cib()).resetFailCount(a.cib, { resource: a.resource!, node: a.node });
    out(a.json ? JSON.stringify({ resource: a.resource, node: a.node, ...r }) : `removed ${r.removed} attribute(s)`);
  },
};

export const cibCommand: CommandModule<object, object> = {
  command: 'cib <action>',
  describe: 'read procdctl specs and read, bump or reset fail-counts in a CIB XML file',
  builder: (y) => y.command(list).command(fail).command(failcount).command(reset).demandCommand(1, 'procd cib: an action is required: list, fail, failcount or reset'),
  handler: () => {},
};
