import { closeSync, openSync, readSync } from 'node:fs';
import { listPids, PROC_ROOT, readCmdline, readStat } from './reader.js';
import { isDeadState, type ProcStat } from './stat.js';

/** A live process whose cmdline starts with a watched prefix. */
export interface Candidate {
  pid: number;
  starttime: number;
  ppid: number;
  state: string;
  cmdline: string;
}

/** Literal prefix match, exactly as the 2008 procd: no regex, no glob. */
export function matchesPrefix(cmdline: string, prefix: string): boolean {
  return cmdline.startsWith(prefix);
}

/**
 * Full discovery: one pass over /proc that finds, for each prefix, the live processes whose
 * cmdline starts with it, oldest first. Built for speed: the first bytes of each cmdline are
 * read into one reused buffer and compared as bytes (NUL read as space); only matches are
 * decoded and have their stat read. Kernel threads (empty cmdline), zombies, procd itself and
 * every descendant of procd (its wrapper runs) are never matched. Processes that vanish or
 * cannot be read mid-scan are skipped.
 */
export class Scanner {
  readonly root: string;
  readonly selfPid: number;
  private buf = Buffer.allocUnsafe(4096);

  constructor(root: string = PROC_ROOT, selfPid: number = process.pid) {
    this.root = root;
    this.selfPid = selfPid;
  }

  /**
   * `checkpoint` runs first and then about every `everyMs` of scanning (event mode: it reports
   * the exits the pidfds saw meanwhile, so a death is not kept waiting by a long scan of a busy
   * machine).
   */
  scan(prefixes: readonly string[], o: { checkpoint?: () => void; everyMs?: number } = {}): Map<string, Candidate[]> {
    const result = new Map<string, Candidate[]>();
    const wanted = [...new Set(prefixes)].filter((p) => p.length > 0);
    for (const p of wanted) result.set(p, []);
    if (wanted.length === 0) return result;

    const encoded = wanted.map((p) => Buffer.from(p, 'utf8'));
    const maxLen = Math.max(...encoded.map((b) => b.length));
    if (this.buf.length < maxLen + 1) this.buf = Buffer.allocUnsafe(maxLen + 1);
    const buf = this.buf;
    const size = maxLen + 1;
    const statCache = new Map<number, ProcStat | null>();
    const root = this.root;

    const { checkpoint, everyMs = 1 } = o;
    checkpoint?.();
    let lastCheckpoint = performance.now();
    let sinceCheck = 0;
    for (const pid of listPids(root)) {
      if (checkpoint && ++sinceCheck >= 16) {
        sinceCheck = 0;
        const now = performance.now();
        if (now - lastCheckpoint >= everyMs) {
          checkpoint();
          lastCheckpoint = performance.now();
        }
      }
      if (pid === this.selfPid) continue;
      let n: number;
      let fd: number;
      try {
        fd = openSync(`${root}/${pid}/cmdline`, 'r');
      } catch {
        continue;
      }
      try {
        n = readSync(fd, buf, 0, size, 0);
      } catch {
        n = 0;
      } finally {
        closeSync(fd);
      }
      if (n === 0) continue; // kernel thread, zombie, or gone
      // The trailing NUL of a complete cmdline is not part of the string procd matches.
      const len = n < size && buf[n - 1] === 0 ? n - 1 : n;
      let matched: string[] | undefined;
      for (let i = 0; i < encoded.length; i++) {
        const p = encoded[i]!;
        if (p.length > len) continue;
        let j = 0;
        for (; j < p.length; j++) {
          const b = buf[j] === 0 ? 32 : buf[j];
          if (b !== p[j]) break;
        }
        if (j === p.length) (matched ??= []).push(wanted[i]!);
      }
      if (!matched) continue;
      const st = this.stat(pid, statCache);
      if (!st || isDeadState(st.state) || this.isOwnDescendant(st, statCache)) continue;
      const cmdline = readCmdline(pid, root);
      if (!cmdline) continue;
      for (const prefix of matched) {
        // Re-check on the full string: the process may have rewritten its cmdline in between.
        if (!matchesPrefix(cmdline, prefix)) continue;
        result.get(prefix)!.push({ pid, starttime: st.starttime, ppid: st.ppid, state: st.state, cmdline });
      }
    }
    for (const list of result.values()) list.sort((a, b) => a.starttime - b.starttime || a.pid - b.pid);
    return result;
  }

  private stat(pid: number, cache: Map<number, ProcStat | null>): ProcStat | null {
    let s = cache.get(pid);
    if (s === undefined) {
      s = readStat(pid, this.root);
      cache.set(pid, s);
    }
    return s;
  }

  /** True when procd is an ancestor of the process (its wrapper runs and their children). */
  private isOwnDescendant(st: ProcStat, cache: Map<number, ProcStat | null>): boolean {
    let ppid = st.ppid;
    for (let depth = 0; depth < 128 && ppid > 1; depth++) {
      if (ppid === this.selfPid) return true;
      const parent = this.stat(ppid, cache);
      if (!parent) return false;
      ppid = parent.ppid;
    }
    return false;
  }
}
