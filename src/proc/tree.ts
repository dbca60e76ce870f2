import { readdirSync, readFileSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { listPids, PROC_ROOT, readCmdline, readStat } from './reader.js';
import type { ProcStat } from './stat.js';

export interface TreeProcess {
  pid: number;
  ppid: number;
  /** 0 for the root, 1 for its children, ... */
  depth: number;
  state: string;
  comm: string;
  /** NULs as spaces; '' for zombies and kernel threads. */
  cmdline: string;
  starttime: number;
  utime: number;
  stime: number;
  /** Resident set size in pages. */
  rss: number;
}

export interface TaskInfo {
  tid: number;
  comm: string;
  state: string;
  utime: number;
  stime: number;
}

/** Threads (tasks) of a process from /proc/<pid>/task: id, name, state. Empty when it is gone. */
export function listTasks(pid: number, root: string = PROC_ROOT): TaskInfo[] {
  let names: string[];
  try {
    names = readdirSync(`${root}/${pid}/task`);
  } catch {
    return [];
  }
  const out: TaskInfo[] = [];
  for (const n of names) {
    const tid = Number(n);
    if (!Number.isInteger(tid)) continue;
    const st = readStat(tid, `${root}/${pid}/task`);
    if (st) out.push({ tid, comm: st.comm, state: st.state, utime: st.utime, stime: st.stime });
  }
  return out.sort((a, b) => a.tid - b.tid);
}

/** Children pids from /proc/<pid>/task/<tid>/children (CONFIG_PROC_CHILDREN); null when the kernel lacks it. */
function childrenFiles(pid: number, root: string): number[] | null {
  let tids: string[];
  try {
    tids = readdirSync(`${root}/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const tid of tids) {
    let text: string;
    try {
      text = readFileSync(`${root}/${pid}/task/${tid}/children`, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && tid === String(pid)) return null;
      continue;
    }
    for (const w of text.split(' ')) if (w.trim()) out.push(Number(w));
  }
  return out;
}

function toTree(st: ProcStat, depth: number, root: string): TreeProcess {
  return { pid: st.pid, ppid: st.ppid, depth, state: st.state, comm: st.comm, cmdline: readCmdline(st.pid, root) ?? '', starttime: st.starttime, utime: st.utime, stime: st.stime, rss: st.rss };
}

/**
 * A process and all its descendants, depth first, from /proc. Uses the kernel's `children`
 * files when present; otherwise scans every pid's stat, yielding to the event loop every
 * `batch` pids so a big /proc never stalls the caller's thread for long.
 */
export async function processTree(rootPid: number, o: { root?: string; batch?: number } = {}): Promise<TreeProcess[]> {
  const root = o.root ?? PROC_ROOT;
  const batch = o.batch ?? 256;
  const top = readStat(rootPid, root);
  if (!top) return [];
  let kids: (pid: number) => number[];
  if (childrenFiles(rootPid, root) !== null) {
    kids = (pid) => childrenFiles(pid, root) ?? [];
  } else {
    const byParent = new Map<number, number[]>();
    const pids = listPids(root);
    for (let i = 0; i < pids.length; i++) {
      if (i > 0 && i % batch === 0) await yieldToLoop();
      const st = readStat(pids[i]!, root);
      if (!st) continue;
      const l = byParent.get(st.ppid) ?? [];
      l.push(st.pid);
      byParent.set(st.ppid, l);
    }
    kids = (pid) => byParent.get(pid) ?? [];
  }
  // Depth first, iteratively, yielding every `batch` processes (a big tree never stalls the loop).
  const out: TreeProcess[] = [];
  const seen = new Set<number>();
  const stack: [ProcStat, number][] = [[top, 0]];
  let n = 0;
  while (stack.length) {
    const [st, depth] = stack.pop()!;
    if (seen.has(st.pid)) continue;
    seen.add(st.pid);
    out.push(toTree(st, depth, root));
    if (++n % batch === 0) await yieldToLoop();
    const children = kids(st.pid).sort((a, b) => b - a);
    for (const c of children) {
      const cs = readStat(c, root);
      if (cs) stack.push([cs, depth + 1]);
    }
  }
  return out;
}
