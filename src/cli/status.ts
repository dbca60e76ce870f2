import type { Argv, CommandModule } from 'yargs';
import type { ResourceStatus } from '../monitor/index.js';
import { controlRequest, replyError } from './client.js';
import { EXIT_NOT_REGISTERED, socketOption } from './ctl.js';
import { formatTable } from './table.js';

interface StatusArgs {
  socket: string;
  resource?: string;
  json: boolean;
}

/** Exit code of `procd status`: 0 every process alive (or still within its grace period), 1 one is missing or lost. */
export function statusExitCode(resources: ResourceStatus[]): number {
  return resources.some((r) => r.processes.some((p) => p.state === 'missing' || p.state === 'lost')) ? 1 : 0;
}

function iso(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString().replace(/\.\d+Z$/, 'Z');
}

export const statusCommand: CommandModule<object, StatusArgs> = {
  command: 'status',
  describe: 'show what the running daemon watches: each process with its state, pid and since (exit 0 all alive, 1 one dead or missing, 3 not registered, 4 daemon unreachable)',
  builder: (y) =>
    socketOption(y)
      .option('resource', { alias: 'r', type: 'string', requiresArg: true, describe: 'only this resource' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON (for scripts)' }) as unknown as Argv<StatusArgs>,
  handler: async (a) => {
    const r = a.resource === undefined ? await controlRequest(a.socket, 'GET', '/v1/resources') : await controlRequest(a.socket, 'GET', `/v1/resources/${encodeURIComponent(a.resource)}`);
    if (r.status === 404) throw replyError(r, EXIT_NOT_REGISTERED);
    if (r.status >= 300) throw replyError(r, 2);
    const resources = (a.resource === undefined ? r.body.resources : [r.body]) as ResourceStatus[];
    if (a.json) {
      process.stdout.write(JSON.stringify(a.resource === undefined ? { resources } : resources[0], null, 2) + '\n');
    } else if (resources.length === 0) {
      process.stdout.write('no resources are watched\n');
    } else {
      const rows = [['RESOURCE', 'FAIL-RESOURCE', 'SOURCE', 'PROCESS', 'STATE', 'PID', 'SINCE', 'PREFIX']];
      for (const res of resources)
        for (const p of res.processes) rows.push([res.resource, res.failResource, res.source, p.name, p.state, p.pid === null ? '-' : String(p.pid), iso(p.since), p.prefix]);
      process.stdout.write(formatTable(rows) + '\n');
    }
    process.exitCode = statusExitCode(resources);
  },
};
