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
