import { write } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Writes text to a file descriptor (stderr) without ever blocking the event loop: writes go
 * through libuv's thread pool one at a time (a full pipe holds one pool thread, not the loop),
 * EAGAIN is retried later, and EPIPE/EBADF (reader gone, fd closed) make the writer give up
 * quietly instead of crashing the daemon. At most `maxQueued` texts wait; more are dropped.
 */
export class FdWriter {
  private queue: Buffer[] = [];
  private busy = false;
  /** Set once the fd is unusable (EPIPE, EBADF, ...): later texts are dropped. */
  broken: string | null = null;

  constructor(
    readonly fd: number,
    private readonly maxQueued = 4,
    private readonly onDrop: (why: string) => void = () => {},
  ) {}

  /** Queues text; false when it was dropped (fd broken or queue full). */
  write(text: string): boolean {
    if (this.broken) {
      this.onDrop(`fd ${this.fd} is unusable (${this.broken})`);
      return false;
    }
    if (this.queue.length >= this.maxQueued) {
      this.onDrop(`fd ${this.fd} is not draining (${this.queue.length} reports waiting)`);
      return false;
    }
    this.queue.push(Buffer.from(text));
    if (!this.busy) this.pump();
    return true;
  }

  /** Texts waiting (including a partly written one). */
  get pending(): number {
    return this.queue.length;
  }

  private pump() {
    const buf = this.queue[0];
    if (!buf || this.broken) {
      this.busy = false;
      return;
    }
    this.busy = true;
    write(this.fd, buf, 0, buf.length, null, (err, n) => {
      if (err) {
        if (err.code === 'EAGAIN' || err.code === 'EINTR') {
          setTimeout(() => this.pump(), 50).unref();
          return;
        }
        this.broken = err.code ?? err.message;
        this.queue = [];
        this.busy = false;
        this.onDrop(`fd ${this.fd} is unusable (${this.broken})`);
        return;
      }
      if (n < buf.length) this.queue[0] = buf.subarray(n);
      else this.queue.shift();
      this.pump();
    });
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
