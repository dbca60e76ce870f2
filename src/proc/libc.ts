import koffi from 'koffi';

/** The few libc calls event mode needs, through koffi (an FFI whose npm package ships its binaries). */
export interface Libc {
  pidfdOpen(pid: number): number;
  eventfd(initval: number, flags: number): number;
  poll(fds: Buffer, nfds: number, timeoutMs: number): number;
  errno(): number;
}

/** Linux's pidfd_open syscall number: the same on every architecture but alpha (since 5.3). */
const SYS_PIDFD_OPEN = process.arch === ('alpha' as string) ? 544 : 434;

/** Loads libc through koffi; throws when koffi or libc cannot be loaded. */
export function loadLibc(): Libc {
  const lib = koffi.load('libc.so.6');
  let pidfdOpen: (pid: number) => number;
  try {
    // glibc >= 2.36 exports a wrapper.
    const f = lib.func('int pidfd_open(int pid, unsigned int flags)');
    pidfdOpen = (pid) => f(pid, 0) as number;
  } catch {
    const syscall = lib.func('long syscall(long number, ...)');
    pidfdOpen = (pid) => Number(syscall(SYS_PIDFD_OPEN, 'int', pid, 'unsigned int', 0));
  }
  const eventfd = lib.func('int eventfd(unsigned int initval, int flags)');
  const poll = lib.func('int poll(void *fds, unsigned long nfds, int timeout)');
  return {
    pidfdOpen,
    eventfd: (v, flags) => eventfd(v, flags) as number,
    poll: (fds, n, t) => poll(fds, n, t) as number,
    errno: () => koffi.errno(),
  };
}
