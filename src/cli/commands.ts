import type { CommandModule } from 'yargs';
import { runCommand } from './run.js';
import { cibCommand } from './cib.js';
import { psCommand } from './ps.js';
import { reportCommand } from './report.js';

// One file per command; each exports a yargs CommandModule. Order is the order in --help.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [runCommand, cibCommand, psCommand, reportCommand];
