import { chmodSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { PROCD_BIN } from '../daemon/options.js';
import { defineError, ERR_BAD_FLAG, errorLine } from '../errors.js';
import { PACKAGE_ROOT } from '../version.js';

export const ERR_INSTALL = defineError('PROCD_INSTALL', (path: string, why: string) => `${path}: ${why}`, { exitCode: 1 });

/** The agents `install-ocf` copies into resource.d/<provider>/. */
export const AGENTS = ['procdctl', 'procd-fail'];
const BIN_LINE = /^PROCD_DEFAULT_BIN=procd$/m;

interface InstallArgs {
  provider: string;
  'ocf-root': string;
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Copies the agents with this installation's procd path written in; each file is replaced atomically. Returns the installed paths. */
export function installOcf(ocfRoot: string, provider: string, procdBin = PROCD_BIN): string[] {
  const dir = join(resolve(ocfRoot), 'resource.d', provider);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw ERR_INSTALL(dir, `cannot create the folder: ${errorLine(e)}`);
  }
  return AGENTS.map((name) => {
    const src = join(PACKAGE_ROOT, 'ocf', name);
    const text = readFileSync(src, 'utf8');
    if (!BIN_LINE.test(text)) throw ERR_INSTALL(src, 'has no PROCD_DEFAULT_BIN=procd line to point at this procd');
    const dest = join(dir, name);
    const tmp = `${dest}.procd-install-${process.pid}`;
    try {
      writeFileSync(tmp, text.replace(BIN_LINE, `PROCD_DEFAULT_BIN=${shQuote(procdBin)}`), { mode: 0o755 });
      chmodSync(tmp, 0o755);
      renameSync(tmp, dest);
    } catch (e) {
      try {
        unlinkSync(tmp);
      } catch {
        /* never created */
      }
      throw ERR_INSTALL(dest, `cannot install: ${errorLine(e)}`);
    }
    return dest;
  });
}

export const installOcfCommand: CommandModule<object, InstallArgs> = {
  command: 'install-ocf',
  describe: 'install the procdctl resource agent and the procd-fail wrapper into OCF_ROOT/resource.d/PROVIDER/, pointing at this procd',
  builder: (y) =>
    y
      .option('provider', { type: 'string', default: 'heartbeat', requiresArg: true, describe: 'OCF provider folder (agents become ocf:PROVIDER:procdctl)' })
      .option('ocf-root', { type: 'string', default: '/usr/lib/ocf', requiresArg: true, describe: 'OCF root' })
      .check((a) => {
        const p = a.provider as string;
        if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(p)) throw ERR_BAD_FLAG('--provider', `${JSON.stringify(p)} must be one folder name of letters, digits, '_', '.', '-'`);
        return true;
      }) as unknown as Argv<InstallArgs>,
  handler: (a) => {
    for (const path of installOcf(a['ocf-root'], a.provider)) process.stdout.write(`installed ${path}\n`);
  },
};
