import type { Argv, CommandModule } from 'yargs';
import { ERR_BAD_FLAG, errorLine } from '../errors.js';
import { apiGet, DEFAULT_URL, openStream, type ApiOptions } from './api.js';

export const FORMATS = ['tsv', 'json', 'table'] as const;
export type Format = (typeof FORMATS)[number];

import type { ApiEvent } from '../http/event-view.js';
export type { ApiEvent };

interface ClientArgs {
  url: string;
  'http-token'?: string;
  format: Format;
}

/** --url / PROCD_URL, --http-token / PROCD_HTTP_TOKEN, --format: shared by events, failures and show. */
export function clientOptions<T>(y: Argv<T>) {
  return y
    .option('url', { type: 'string', default: DEFAULT_URL, describe: 'the daemon\'s HTTP API (procd run --http ...)', requiresArg: true })
    .option('http-token', { type: 'string', describe: 'bearer token, when the daemon runs with --http-token' })
    .option('format', { choices: FORMATS, default: 'tsv' as Format, describe: 'tsv: one line per item, tab-separated, stable columns; json: one JSON object per line; table: aligned, for people' });
}

export function api(a: ClientArgs): ApiOptions {
  return { url: a.url, ...(a['http-token'] ? { token: a['http-token'] } : {}) };
}

/** The event columns, in their stable order; `detail` holds the kind's other fields as key=value. */
export const EVENT_COLUMNS = ['id', 'time', 'node', 'kind', 'resource', 'process', 'pid', 'reason', 'failure', 'detail'] as const;
const MAIN = new Set(['id', 'time', 'at', 'node', 'kind', 'resource', 'process', 'pid', 'reason', 'failureId']);

/** A cell: no tabs or newlines inside, `-` for nothing. */
export function cell(v: unknown): string {
  if (v === undefined || v === null || v === '') return '-';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

export function eventCells(e: ApiEvent): string[] {
  const detail = Object.entries(e)
    .filter(([k]) => !MAIN.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return [e.id, e.at, e.node, e.kind, e.resource, e.process, e.pid, e.reason, e.failureId, detail].map(cell);
}

/** Prints rows in a format; `table` pads to the widths of what it has (or of `widths` when following). */
export class Printer {
  private headed = false;
  constructor(
    private readonly format: Format,
    private readonly head: readonly string[],
    private readonly widths: number[] = [],
  ) {}

  print(rows: string[][], objects: unknown[]) {
    const out: string[] = [];
    if (this.format === 'json') for (const o of objects) out.push(JSON.stringify(o));
    else if (this.format === 'tsv') for (const r of rows) out.push(r.join('\t'));
    else {
      const all = this.headed ? rows : [this.head.map((h) => h.toUpperCase()), ...rows];
      const w = this.head.map((_, i) => Math.max(this.widths[i] ?? 0, ...all.map((r) => (r[i] ?? '').length)));
      if (this.widths.length) this.widths.splice(0, w.length, ...w);
      for (const r of all) out.push(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ').trimEnd());
      this.headed = true;
    }
    if (out.length) process.stdout.write(out.join('\n') + '\n');
  }
}

interface EventsArgs extends ClientArgs {
  follow: boolean;
  resource?: string;
  kind?: string;
  since?: string;
  until?: string;
  failure?: string;
  limit: number;
}

interface Page {
  events: ApiEvent[];
  next: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const eventsCommand: CommandModule<object, EventsArgs> = {
  command: 'events',
  describe: 'print the daemon\'s events from its journal (REST API), one per line; --follow for new ones',
  builder: (y) =>
    clientOptions(y)
      .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'keep printing new events as they happen (SSE; reconnects and resumes)' })
      .option('resource', { alias: 'r', type: 'string', describe: 'only this resource', requiresArg: true })
      .option('kind', { alias: 'k', type: 'string', describe: 'only these kinds, comma-separated (process-lost, wrapper-finished, ...)', requiresArg: true })
      .option('since', { type: 'string', describe: 'from this time: a duration back (30s, 10m, 2h, 7d) or an ISO date; prints every match', requiresArg: true })
      .option('until', { type: 'string', describe: 'before this time (same forms as --since)', requiresArg: true })
      .option('failure', { type: 'string', describe: 'only the events of this failure id', requiresArg: true })
      .option('limit', { alias: 'n', type: 'number', default: 100, describe: 'without --since: how many of the latest events to print' })
      .check((a) => {
        if (!Number.isInteger(a.limit) || a.limit < 1 || a.limit > 1000) throw ERR_BAD_FLAG('--limit', `must be an integer from 1 to 1000, got ${a.limit}`);
        return true;
      })
      .example('$0 events --follow | grep process-lost', 'deaths as they happen')
      .example('$0 events --since 1h --resource web --format table', 'the last hour of one resource, for people') as unknown as Argv<EventsArgs>,
  handler: async (a) => {
    const o = api(a);
    const filter = { resource: a.resource, kind: a.kind, until: a.until, failure: a.failure };
    const printer = new Printer(a.format, EVENT_COLUMNS, a.follow ? [] : []);
    const print = (events: ApiEvent[]) => printer.print(events.map(eventCells), events);
    let lastId = 0;
    if (a.since !== undefined) {
      let cursor: string | undefined;
      do {
        const page = await apiGet<Page>(o, '/api/v1/events', { ...filter, since: a.since, limit: '1000', ...(cursor ? { cursor } : {}) });
        print(page.events);
        if (page.events.length) lastId = page.events.at(-1)!.id;
        cursor = page.next ?? undefined;
      } while (cursor);
    } else {
      // Following: the journal's newest event, taken BEFORE the filtered page, is where the stream
      // resumes unless the page printed something newer. Taken after an empty page (as before),
      // a matching event written between the two requests was skipped.
      const newest = a.follow ? ((await apiGet<Page>(o, '/api/v1/events', { limit: '1', order: 'desc' })).events[0]?.id ?? 0) : 0;
      const page = await apiGet<Page>(o, '/api/v1/events', { ...filter, limit: String(a.limit), order: 'desc' });
      const events = page.events.reverse();
      print(events);
      lastId = Math.max(newest, events.at(-1)?.id ?? 0);
    }
    if (!a.follow) return;
    // Follow: resume after the last printed event; reconnect (resuming) when the stream drops.
    const streamFilter = { resource: a.resource, kind: a.kind, failure: a.failure };
    let warned = false;
    for (;;) {
      try {
        for await (const e of openStream<ApiEvent>(o, streamFilter, String(lastId))) {
          if (warned) (process.stderr.write('procd: reconnected\n'), (warned = false));
          print([e]);
          lastId = e.id;
        }
      } catch (err) {
        if (lastId === 0 && !warned && /HTTP 4\d\d/.test(errorLine(err))) throw err;
        if (!warned) process.stderr.write(`procd: ${errorLine(err)}; retrying every second\n`);
        warned = true;
      }
      await sleep(1000);
    }
  },
};
