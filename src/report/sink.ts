import { constants, fstatSync, openSync, write } from 'node:fs';
import { Socket } from 'node:net';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Writes reports to standard error without ever blocking the event loop or process exit, and
 * without dying with it:
 * - a pipe (the usual case under a supervisor) is reopened through /proc/self/fd/2 as a new,
 *   non-blocking open file (the shared stderr keeps its own flags) and written as a libuv
 *   stream: a full pipe just queues (bounded by `maxQueuedBytes`, then reports are dropped), a
 *   closed reader is an EPIPE error that only marks the writer broken;
 * - anything else (file, tty, socket) is written through the thread pool, one report at a time.
 * `write` resolves true once the text reached the kernel, false when it was dropped.
 */
export class StderrWriter {
  private stream: Socket | null = null;
  private mode: 'stream' | 'pool' | null = null;
  private poolBusy: Promise<unknown> = Promise.resolve();
  private poolWaiting = 0;
  /** Set once the fd is unusable (EPIPE, EBADF, ...): later texts are dropped. */
  broken: string | null = null;

  constructor(
    readonly fd = 2,
    private readonly maxQueuedBytes = 256 * 1024,
    private readonly onDrop: (why: string) => void = () => {},
  ) {}

  private setup() {
    if (this.mode) return;
    this.mode = 'pool';
    let fifo = false;
    try {
      fifo = fstatSync(this.fd).isFIFO();
    } catch (e) {
      this.broken = (e as NodeJS.ErrnoException).code ?? 'unusable';
      return;
    }
    if (!fifo) return;
    let fd: number;
    try {
      fd = openSync(`/proc/self/fd/${this.fd}`, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (e) {
      // ENXIO: the pipe has no reader any more.
      if ((e as NodeJS.ErrnoException).code === 'ENXIO') this.broken = 'EPIPE';
      return;
    }
    const s = new Socket({ fd, readable: false, writable: true });
    s.unref();
    s.on('error', (e: NodeJS.ErrnoException) => {
      this.broken = e.code ?? e.message;
      s.destroy();
    });
    this.stream = s;
    this.mode = 'stream';
  }

  write(text: string): Promise<boolean> {
    this.setup();
    const drop = (why: string) => {
      this.onDrop(why);
      return Promise.resolve(false);
    };
    if (this.broken) return drop(`stderr is unusable (${this.broken})`);
    if (this.mode === 'stream') {
      const s = this.stream!;
      if (s.writableLength > this.maxQueuedBytes) return drop(`stderr is not draining (${s.writableLength} bytes waiting)`);
      return new Promise((resolve) => s.write(text, (err) => resolve(!err)));
    }
    if (this.poolWaiting >= 4) return drop(`stderr is not draining (${this.poolWaiting} reports waiting)`);
    this.poolWaiting++;
    const buf = Buffer.from(text);
    const done = this.poolBusy.then(() => this.poolWrite(buf)).finally(() => this.poolWaiting--);
    this.poolBusy = done;
    return done;
  }

  private async poolWrite(buf: Buffer): Promise<boolean> {
    let off = 0;
    while (off < buf.length) {
      if (this.broken) return false;
      try {
        off += await new Promise<number>((resolve, reject) => write(this.fd, buf, off, buf.length - off, null, (err, n) => (err ? reject(err) : resolve(n))));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EINTR') {
          await new Promise((r) => setTimeout(r, 50).unref());
          continue;
        }
        this.broken = code ?? (e as Error).message;
        this.onDrop(`stderr is unusable (${this.broken})`);
        return false;
      }
    }
    return true;
  }
}

/** `YYYYmmddHHMMSS` in UTC. */
export function stamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/**
 * Writes a report to DIR/procd_gurumeditation_<YYYYmmddHHMMSS> (UTC), never replacing a file:
 * a second report in the same second gets `.1`, `.2`, ... Returns the path written.
 */
export async function writeReportFile(dir: string, text: string, at: Date): Promise<string> {
  const base = join(dir, `procd_gurumeditation_${stamp(at)}`);
  for (let i = 0; i < 1000; i++) {
    const path = i === 0 ? base : `${base}.${i}`;
    let fh;
    try {
      fh = await open(path, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw e;
    }
    try {
      await fh.writeFile(text);
    } finally {
      await fh.close();
    }
    return path;
  }
  throw new Error(`${base}: 1000 reports in one second; not writing more`);
}
