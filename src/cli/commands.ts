import type { CommandModule } from 'yargs';
import { runCommand } from './run.js';
import { cibCommand } from './cib.js';
import { psCommand } from './ps.js';
import { ctlCommand } from './ctl.js';
import { statusCommand } from './status.js';
import { installOcfCommand } from './install-ocf.js';
import { eventsCommand } from './events.js';
import { failuresCommand } from './failures.js';
import { showCommand } from './show.js';
import { reportCommand } from './report.js';

// One file per command; each exports a yargs CommandModule. Order is the order in --help.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [runCommand, statusCommand, ctlCommand, eventsCommand, failuresCommand, showCommand, reportCommand, cibCommand, psCommand, installOcfCommand];
