import koffi from 'koffi';

/**
 * glibc's allocator, tuned for a long-running daemon through koffi (already loaded for pidfds and
 * posix_spawn). Node runs a dozen threads (V8's platform workers, libuv's pool, the journal
 * writer, the report watchdog); glibc gives each thread that allocates an arena of its own (up
 * to 8 per core), and memory freed in an arena stays in the process until the arena's top is
 * free. Both kept procd's RSS several MB above what it uses (issue 4's memory bar). Elsewhere
 * (musl, no koffi) these do nothing.
 */
const M_ARENA_MAX = -8;

interface Libc {
  mallopt: (param: number, value: number) => number;
  malloc_trim: (pad: number) => number;
}
let libc: Libc | null | undefined;

function load(): Libc | null {
  if (libc === undefined) {
    try {
      const l = koffi.load('libc.so.6');
      libc = { mallopt: l.func('int mallopt(int param, int value)'), malloc_trim: l.func('int malloc_trim(size_t pad)') };
    } catch {
      libc = null;
    }
  }
  return libc;
}

/** At most `n` malloc arenas for the threads that allocate from now on, unless MALLOC_ARENA_MAX says otherwise. */
export function limitArenas(n = 2): boolean {
  if (process.env.MALLOC_ARENA_MAX) return false;
  return load()?.mallopt(M_ARENA_MAX, n) === 1;
}

/** Gives the pages malloc holds free back to the kernel (all arenas). True when some were released. */
export function trimHeap(): boolean {
  return load()?.malloc_trim(0) === 1;
}
