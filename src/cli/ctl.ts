import type { Argv, CommandModule } from 'yargs';
import { DEFAULT_SOCKET } from '../daemon/control.js';
import { ERR_BAD_FLAG } from '../errors.js';
import { controlRequest, replyError } from './client.js';

interface CtlArgs {
  socket: string;
  resource: string;
  proc?: string[];
  'fail-resource'?: string;
}

/** `procd ctl remove` of a resource the daemon does not have: exit 3, like `procd status`. */
export const EXIT_NOT_REGISTERED = 3;

export function socketOption<T>(y: Argv<T>) {
  return y.option('socket', { type: 'string', default: DEFAULT_SOCKET, requiresArg: true, describe: "the daemon's control socket" });
}

/** `NAME=PREFIX` → {name, prefix}; the prefix may itself hold `=`. */
export function parseProc(arg: string): { name: string; prefix: string } {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw ERR_BAD_FLAG('--proc', `${JSON.stringify(arg)} must be NAME=PREFIX (e.g. proc_app=/usr/bin/app --serve)`);
  const prefix = arg.slice(eq + 1);
  if (prefix.trim() === '') throw ERR_BAD_FLAG('--proc', `${JSON.stringify(arg)} has an empty prefix`);
  return { name: arg.slice(0, eq), prefix };
}

const add: CommandModule<object, CtlArgs> = {
  command: 'add',
  describe: 'register a resource and the processes it depends on with the running daemon (same specs again: no change)',
  builder: (y) =>
    socketOption(y)
      .option('resource', { alias: 'r', type: 'string', demandOption: true, requiresArg: true, describe: 'resource name (the procdctl instance)' })
      .option('proc', { type: 'string', array: true, demandOption: true, requiresArg: true, describe: 'NAME=PREFIX: a process found by cmdline prefix (repeat for more)' })
      .option('fail-resource', { type: 'string', requiresArg: true, describe: 'resource whose fail-count a death bumps (default: --resource)' }) as unknown as Argv<CtlArgs>,
  handler: async (a) => {
    const processes = (a.proc ?? []).map(parseProc);
    const r = await controlRequest(a.socket, 'POST', '/v1/resources', { resource: a.resource, processes, ...(a['fail-resource'] ? { failResource: a['fail-resource'] } : {}) });
    if (r.status >= 300) throw replyError(r, 2);
    const n = processes.length;
    process.stdout.write(`${a.resource}: ${r.body.changed ? 'registered' : 'already registered, unchanged'} (${n} process${n === 1 ? '' : 'es'}, failures reported against ${String(r.body.failResource)})\n`);
  },
};

const remove: CommandModule<object, CtlArgs> = {
  command: 'remove',
  describe: 'unregister a resource (exit 3 when the daemon does not have it)',
  builder: (y) => socketOption(y).option('resource', { alias: 'r', type: 'string', demandOption: true, requiresArg: true, describe: 'resource name' }) as unknown as Argv<CtlArgs>,
  handler: async (a) => {
    const r = await controlRequest(a.socket, 'DELETE', `/v1/resources/${encodeURIComponent(a.resource)}`);
    if (r.status === 404) throw replyError(r, EXIT_NOT_REGISTERED);
    if (r.status >= 300) throw replyError(r, 2);
    process.stdout.write(`${a.resource}: unregistered\n`);
  },
};

export const ctlCommand: CommandModule = {
  command: 'ctl <command>',
  describe: 'register and unregister resources with a running daemon over its control socket',
  builder: (y) => y.command(add).command(remove).demandCommand(1, 'procd ctl: a subcommand is required (add, remove)'),
  handler: () => {},
};
