import type { ChildProcess } from 'node:child_process';
import { spawnTracked } from './procs.js';

/**
 * A process in state D: python's clone(CLONE_VFORK) without CLONE_VM forks a child and the
 * parent waits uninterruptibly (state D) until the child exits after `childSeconds`. The
 * parent's cmdline starts with NAME (so does the child's, until it dies with its parent). Needs /usr/bin/python3 (Debian's python3 package).
 */
export function spawnDState(name: string, childSeconds = 100000): ChildProcess {
  const code = [
    'import ctypes, os, sys, time',
    'libc = ctypes.CDLL(None, use_errno=True)',
    "nr = {'x86_64': 56, 'aarch64': 220, 'riscv64': 220, 'loongarch64': 220}[os.uname().machine]",
    'pid = libc.syscall(nr, 0x4000 | 17, 0, 0, 0, 0)',
    'if pid == 0:',
    '    libc.prctl(1, 9)  # PR_SET_PDEATHSIG SIGKILL: the child goes with its parent',
    '    time.sleep(float(sys.argv[1])); os._exit(0)',
    'time.sleep(100000)',
  ].join('\n');
  return spawnTracked('/usr/bin/python3', ['-c', code, String(childSeconds)], { argv0: name });
}

/**
 * A process that rewrites its own cmdline after `afterMs`, as PostgreSQL's backends do
 * ("postgres: writer process"): node overwrites its argv memory when process.title is set.
 * Its cmdline starts with NAME until then.
 */
export function spawnCmdlineRewriter(name: string, afterMs: number, title = 'postgres: writer process'): ChildProcess {
  const code = `setTimeout(() => { process.title = ${JSON.stringify(title)}; }, ${afterMs}); setInterval(() => {}, 1e9);`;
  return spawnTracked(process.execPath, ['-e', code], { argv0: name });
}
