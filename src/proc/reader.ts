import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { parseStat, type ProcStat } from './stat.js';

export const PROC_ROOT = '/proc';

const chunk = Buffer.allocUnsafe(64 * 1024);

/**
 * Reads a whole /proc file into a shared buffer; null when the process is gone or the file is
 * unreadable (ENOENT, ESRCH, EACCES...). Never throws for a vanished process.
 */
function readProcFile(path: string): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    let total = 0;
    const parts: Buffer[] = [];
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      parts.push(Buffer.from(chunk.subarray(0, n)));
      total += n;
      if (n < chunk.length && parts.length === 1) break;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Pids of /proc, in directory order. */
export function listPids(root: string = PROC_ROOT): number[] {
  const out: number[] = [];
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return out;
  }
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const pid = Number(name);
    if (Number.isInteger(pid)) out.push(pid);
  }
  return out;
}

/** Turns raw cmdline bytes into the string procd matches: NUL becomes space, the trailing NUL is dropped. */
export function cmdlineToString(buf: Buffer): string {
  let end = buf.length;
  if (end > 0 && buf[end - 1] === 0) end--;
  const copy = Buffer.from(buf.subarray(0, end));
  for (let i = 0; i < copy.length; i++) if (copy[i] === 0) copy[i] = 32;
  return copy.toString('utf8');
}

/** The cmdline of a process as procd matches it; '' for kernel threads and zombies; null when gone. */
export function readCmdline(pid: number, root: string = PROC_ROOT): string | null {
  const buf = readProcFile(`${root}/${pid}/cmdline`);
  return buf === null ? null : cmdlineToString(buf);
}

/** The parsed stat of a process; null when it is gone or unreadable. */
export function readStat(pid: number, root: string = PROC_ROOT): ProcStat | null {
  const buf = readProcFile(`${root}/${pid}/stat`);
  return buf === null ? null : parseStat(buf.toString('utf8'));
}

/** The two fields a liveness check needs from /proc/<pid>/stat. */
export interface ProcState {
  /** One letter, as in ProcStat.state. */
  state: string;
  /** Clock ticks after boot the process started: with the pid, its identity. */
  starttime: number;
}

const stateBuf = Buffer.allocUnsafe(4096);

/**
 * State and starttime of a process, parsed in place from the bytes of /proc/<pid>/stat (after the
 * LAST `)`, like parseStat) with no string or array built: what the monitor reads every
 * interval for every watched pid. Null when the process is gone or the file is malformed.
 */
export function readState(pid: number, root: string = PROC_ROOT): ProcState | null {
  let fd: number;
  try {
    fd = openSync(`${root}/${pid}/stat`, 'r');
  } catch {
    return null;
  }
  let n: number;
  try {
    n = readSync(fd, stateBuf, 0, stateBuf.length, 0);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
  let i = n - 1;
  while (i >= 0 && stateBuf[i] !== 0x29) i--; // last ')'
  if (i < 0 || i + 2 >= n) return null;
  let p = i + 2; // field 3, the state
  const state = String.fromCharCode(stateBuf[p]!);
  for (let field = 3; field < 22 && p < n; p++) if (stateBuf[p] === 0x20) field++;
  let starttime = 0;
  const start = p;
  for (; p < n && stateBuf[p]! >= 0x30 && stateBuf[p]! <= 0x39; p++) starttime = starttime * 10 + stateBuf[p]! - 0x30;
  if (p === start) return null;
  return { state, starttime };
}
