import yargs from 'yargs';
import type { Argv } from 'yargs';
import { errorLine, ProcdError } from '../errors.js';
import { commands } from './commands.js';
import { VERSION } from '../version.js';

/** Builds the yargs parser; exported so tests can check help text without spawning. */
export function parser(argv: string[]): Argv {
  let y = yargs(argv)
    .scriptName('procd')
    .usage('$0 <command> [options]\n\nWatches cluster resources\' processes by /proc cmdline prefix and reports deaths to Pacemaker or a CIB file.')
    .env('PROCD')
    .strict()
    .demandCommand(1, 'procd: a command is required; see procd --help')
    .recommendCommands()
    .version(VERSION)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      // yargs validation errors (unknown flag, missing value): one line, exit 2.
      if (err) throw err;
      throw new ProcdError('PROCD_USAGE', `procd: ${msg}`, { exitCode: 2 });
    })
    .epilog('Every flag can also be set as an environment variable PROCD_<FLAG> (e.g. PROCD_CIB, PROCD_NODE).');
  for (const c of commands) y = y.command(c);
  return y;
}

/**
 * PROCD_* variables that are not flags: what the daemon hands to the wrapper (and the debug
 * switch). yargs maps every PROCD_* variable to a flag and strict mode would reject these, so a
 * `procd` started by the wrapper must not read them as flags.
 */
export const NOT_FLAGS = ['PROCD_BIN', 'PROCD_FAILURE_ID', 'PROCD_PROCESS', 'PROCD_DEBUG'];

/**
 * PROCD_* variables that only some commands take as flags (PROCD_URL for the API clients):
 * the other commands ignore them, so an exported PROCD_URL does not break `procd run`.
 */
export const COMMAND_ENV: Record<string, string[]> = {
  PROCD_URL: ['events', 'failures', 'show'],
  PROCD_FORMAT: ['events', 'failures', 'show'],
  PROCD_HTTP_TOKEN: ['run', 'events', 'failures', 'show'],
};

export async function main(argv: string[]): Promise<void> {
  const debug = process.env.PROCD_DEBUG;
  for (const k of NOT_FLAGS) delete process.env[k];
  const command = argv.find((x) => !x.startsWith('-'));
  for (const [k, cmds] of Object.entries(COMMAND_ENV)) if (!command || !cmds.includes(command)) delete process.env[k];
  try {
    await parser(argv).parseAsync();
  } catch (e) {
    const line = errorLine(e);
    process.stderr.write((line.startsWith('procd') ? line : `procd: ${line}`) + '\n');
    if (!(e instanceof ProcdError) && debug) console.error(e);
    process.exitCode = e instanceof ProcdError ? e.exitCode : 1;
  }
}
