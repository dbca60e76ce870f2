import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';

/** Identity of the file's last change (inode + mtime in ns), or null when it does not exist. */
function signature(s: { ino: bigint; mtimeNs: bigint } | null): string | null {
  return s ? `${s.ino}:${s.mtimeNs}` : null;
}

function statNow(path: string): string | null {
  try {
    return signature(statSync(path, { bigint: true }));
  } catch {
    return null;
  }
}

/**
 * Polls a file every `intervalMs` and calls `onTouch` once per change of its modification
 * time after start-up (the state at start-up is the baseline: no report for it). Unlike
 * oslo.reports' watcher, a deleted file is not fatal: recreating it counts as a touch and
 * polling goes on. Stat calls are asynchronous; the timer is unref'd.
 */
export class FileTrigger {
  private last: string | null;
  private timer: NodeJS.Timeout | null = null;
  private polling = false;

  constructor(
    readonly path: string,
    readonly intervalMs: number,
    private readonly onTouch: () => void,
  ) {
    this.last = statNow(path);
  }

  start() {
    if (this.timer) return;
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async poll() {
    if (this.polling) return;
    this.polling = true;
    try {
      let sig: string | null;
      try {
        sig = signature(await stat(this.path, { bigint: true }));
      } catch {
        sig = null;
      }
      const changed = sig !== null && sig !== this.last;
      this.last = sig;
      if (changed && this.timer) this.onTouch();
    } finally {
      this.polling = false;
    }
  }
}
