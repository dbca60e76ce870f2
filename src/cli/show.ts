import type { Argv, CommandModule } from 'yargs';
import { ERR_BAD_FLAG } from '../errors.js';
import { apiGet } from './api.js';
import { api, cell, clientOptions, EVENT_COLUMNS, eventCells, Printer, type ApiEvent, type Format } from './events.js';

interface ShowArgs {
  url: string;
  'http-token'?: string;
  format: Format;
  id: string;
}

export const showCommand: CommandModule<object, ShowArgs> = {
  command: 'show <id>',
  describe: 'one event by id: every field on its own line, then the other events of its failure',
  builder: (y) =>
    clientOptions(y).positional('id', { type: 'string', describe: 'event id (first column of procd events)' }).check((a) => {
      if (!/^\d{1,15}$/.test(String(a.id))) throw ERR_BAD_FLAG('EVENT_ID', `must be an event id (a number from the first column of procd events), got ${JSON.stringify(a.id)}`);
      return true;
    }) as unknown as Argv<ShowArgs>,
  handler: async (a) => {
    const o = api(a);
    const e = await apiGet<ApiEvent>(o, `/api/v1/events/${a.id}`);
    const related = e.failureId ? (await apiGet<{ events: ApiEvent[] }>(o, '/api/v1/events', { failure: e.failureId, limit: '1000' })).events : [];
    if (a.format === 'json') {
      process.stdout.write(JSON.stringify({ event: e, related }) + '\n');
      return;
    }
    const fields = Object.entries(e).map(([k, v]) => [k, cell(v)]);
    const w = Math.max(...fields.map(([k]) => k!.length));
    process.stdout.write(fields.map(([k, v]) => (a.format === 'table' ? `${k!.padEnd(w)}  ${v}` : `${k}\t${v}`)).join('\n') + '\n');
    if (related.length > 0) {
      process.stdout.write(`\n${a.format === 'table' ? `events of failure ${e.failureId}:\n` : ''}`);
      new Printer(a.format, EVENT_COLUMNS).print(related.map(eventCells), related);
    }
  },
};
