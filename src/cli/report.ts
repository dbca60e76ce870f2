import type { CommandModule } from 'yargs';
import { DEFAULT_SOCKET } from '../daemon/control.js';
import { fetchReport } from '../report/client.js';

interface ReportArgs {
  socket: string;
  json: boolean;
}

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: 'report',
  describe: 'print a Guru Meditation Report of the running daemon (asked over its control socket)',
  builder: (y) =>
    y
      .option('socket', { type: 'string', default: DEFAULT_SOCKET, describe: 'the daemon\'s control socket (as given to procd run --socket)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON (sections with text and data)' })
      .example('$0 report | less', 'what is the daemon doing right now?'),
  handler: async (a) => {
    const body = await fetchReport(a.socket, a.json ? 'json' : 'text');
    process.stdout.write(a.json ? JSON.stringify(JSON.parse(body), null, 2) + '\n' : body);
  },
};
