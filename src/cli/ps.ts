import type { CommandModule } from 'yargs';
import { readCmdline, readStat } from '../proc/reader.js';

interface PsArgs {
  prefix?: string;
  json: boolean;
}

interface Row {
  pid: number;
  ppid: number;
  state: string;
  starttime: number;
  /** The exact string to paste into a proc_* nvpair (NULs as spaces). */
  cmdline: string;
  /** The process procd would watch for this prefix (the oldest match). */
  watched: boolean;
}

/** Escapes a value for an XML attribute in double quotes. */
function xmlAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

export const psCommand: CommandModule<object, PsArgs> = {
  command: 'ps [prefix]',
  describe: 'list running processes with the exact cmdline string to paste into a proc_* nvpair',
  builder: (y) =>
    y
      .positional('prefix', { type: 'string', describe: 'only processes whose cmdline starts with this (literal, as procd matches)' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
      .example('$0 ps /usr/lib/postgresql', 'which process would proc_pg="/usr/lib/postgresql" watch?'),
  handler: async (a) => {
    // ps-list enumerates; the cmdline comes from /proc exactly as procd reads it (ps may mangle it).
    const { default: psList } = await import('ps-list'); // loaded here: other commands start without it
    const procs = await psList({ all: true });
    const rows: Row[] = [];
    for (const p of procs) {
      if (p.pid === process.pid) continue;
      const cmdline = readCmdline(p.pid);
      const st = readStat(p.pid);
      if (!cmdline || !st) continue; // kernel thread, zombie or gone
      if (a.prefix !== undefined && !cmdline.startsWith(a.prefix)) continue;
      rows.push({ pid: p.pid, ppid: st.ppid, state: st.state, starttime: st.starttime, cmdline, watched: false });
    }
    rows.sort((x, y) => x.starttime - y.starttime || x.pid - y.pid);
    if (a.prefix !== undefined && rows.length > 0) rows[0]!.watched = true;
    if (a.json) {
      process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      return;
    }
    if (rows.length === 0) {
      if (a.prefix !== undefined) {
        process.stderr.write(`procd: no process cmdline starts with ${JSON.stringify(a.prefix)}\n`);
        process.exitCode = 1;
      }
      return;
    }
    const w = Math.max(3, ...rows.map((r) => String(r.pid).length));
    const lines = [`${'PID'.padStart(w)} S  CMDLINE`];
    for (const r of rows) lines.push(`${String(r.pid).padStart(w)} ${r.state}${r.watched ? '*' : ' '} ${r.cmdline}`);
    if (a.prefix !== undefined) {
      lines.push('', `* procd watches the oldest match. As an nvpair:`);
      lines.push(`  <nvpair id="..." name="proc_NAME" value="${xmlAttr(rows[0]!.cmdline)}"/>`);
    }
    process.stdout.write(lines.join('\n') + '\n');
  },
};
