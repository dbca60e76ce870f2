/** What procd needs from /proc/<pid>/stat. */
export interface ProcStat {
  pid: number;
  /** Process name from inside the parentheses (may hold `)` and spaces). */
  comm: string;
  /** One letter: R S D Z T t W X x K P I. */
  state: string;
  ppid: number;
  /** Clock ticks after boot the process started: with the pid, its identity (PID-reuse safe). */
  starttime: number;
  /** User and system CPU time in clock ticks. */
  utime: number;
  stime: number;
  /** Resident set size in pages. */
  rss: number;
}

/**
 * Parses the text of /proc/<pid>/stat. `comm` is in parentheses and may itself contain `)`
 * and spaces, so the fields are taken after the LAST `)`. Returns null on malformed text.
 */
export function parseStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state); field n is f[n - 3].
  if (f.length < 22 || !Number.isInteger(pid)) return null;
  const num = (n: number) => Number(f[n - 3]);
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: f[0]!,
    ppid: num(4),
    utime: num(14),
    stime: num(15),
    starttime: num(22),
    rss: num(24),
  };
}

/** A process in one of these states is dead, as the 2008 procd judged (zombie or dead). */
export function isDeadState(state: string): boolean {
  return state === 'Z' || state === 'X' || state === 'x';
}
