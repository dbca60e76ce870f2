/**
 * The watchdog, a task of the daemon's helper thread (src/thread). It costs the main thread
 * nothing while the daemon idles: every `pollMs`
 * (and at once when the main thread kicks it: work has arrived) it reads, with one pread(2),
 * which system call the main thread is in
 * (/proc/self/task/<pid>/syscall). Waiting in epoll is an idle event loop. Anything else (running
 * JavaScript, another system call) makes it ping the main thread and sample every 50 ms; the
 * main thread answers by stamping a shared clock when its loop handles the ping. No answer within
 * `thresholdMs` of the ping is a blocked loop: this thread attaches to the main thread's
 * inspector, pauses it for an instant, records its JavaScript stack and lets it go. Reports then
 * say "main thread blocked for X ms at: <stack>" even though the main thread could not answer
 * while it happened. Between samples the thread sleeps in Atomics.wait (no event-loop turn).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { Session } from 'node:inspector';
import { threadId } from 'node:worker_threads';
import type { Task, TaskContext } from '../thread/index.js';

export interface Frame {
  fn: string;
  url: string;
  line: number;
  column: number;
}
export interface BlockEpisode {
  /** Wall time (ms since the epoch) of the last heartbeat before the block. */
  since: number;
  /** How long the loop did not beat (so far, while `ongoing`). */
  durationMs: number;
  ongoing: boolean;
  /** The main thread's stack while blocked; null when it could not be taken. */
  frames: Frame[] | null;
  /** Why there is no stack, or other remarks. */
  note?: string;
}
export interface WatchdogReply {
  id: number;
  threadId: number;
  heartbeatAgeMs: number;
  episodes: BlockEpisode[];
  total: number;
  stack: string;
}
export interface WatchdogData {
  /** [0]: the main thread's answer to the last ping (ms since the epoch); Float64. */
  heartbeat: SharedArrayBuffer;
  /** Int32 [0]: 1 = asleep until the next idle look (the main thread's kick clears it and wakes the thread). */
  control: SharedArrayBuffer;
  thresholdMs: number;
  pollMs: number;
}

const MAX_FRAMES = 24;
const KEEP = 5;
/** Captures pause the main thread for an instant: at most one a second, except a block that lasts over a second always gets one. */
const CAPTURE_GAP_MS = 1000;
const SUSPECT_POLL_MS = 50;
const now = () => performance.timeOrigin + performance.now();

/** epoll_wait, epoll_pwait, epoll_pwait2: the event loop waiting for work. */
const EPOLL: Record<string, number[]> = { x64: [232, 281, 441], ia32: [256, 319, 441], arm64: [22, 441], arm: [250, 346, 441] };
const epoll = new Set(EPOLL[process.arch] ?? []);

/** Takes the main thread's stack into `ep`; resolves when done (or given up). */
function capture(ep: BlockEpisode): Promise<void> {
  return new Promise((resolve) => captureInto(ep, resolve));
}

function captureInto(ep: BlockEpisode, resolve: () => void) {
  let session: Session;
  try {
    session = new Session();
    session.connectToMainThread();
  } catch (e) {
    ep.note = `no stack: the inspector is not available (${(e as Error).message})`;
    return resolve();
  }
  let done = false;
  const close = (note?: string) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    if (note && !ep.frames) ep.note = note;
    try {
      session.disconnect();
    } catch {
      /* already gone */
    }
    resolve();
  };
  const timer = setTimeout(() => close('no stack: the main thread did not reach JavaScript within 2 s (native code or a system call?)'), 2000);
  const urls = new Map<string, string>();
  session.on('Debugger.scriptParsed', (m) => urls.set(m.params.scriptId, m.params.url));
  session.on('Debugger.paused', (m) => {
    // Only the first pause, and only while that block lasts: a late pause would show unrelated code.
    if (!done && !ep.ongoing) ep.note = 'no stack: the block was over before the main thread could be paused';
    if (!done && ep.ongoing) {
      ep.frames = (m.params.callFrames ?? []).slice(0, MAX_FRAMES).map((f) => ({
        fn: f.functionName || '(anonymous)',
        url: f.url || urls.get(f.location.scriptId) || '',
        line: f.location.lineNumber + 1,
        column: (f.location.columnNumber ?? 0) + 1,
      }));
    }
    session.post('Debugger.resume', () => session.post('Debugger.disable', () => close()));
  });
  session.post('Debugger.enable', (err) => {
    if (err) return close(`no stack: ${err.message}`);
    session.post('Debugger.pause', (err2) => err2 && close(`no stack: ${err2.message}`));
  });
}

export function createTask({ port, data: raw }: TaskContext): Task {
  const data = raw as WatchdogData;
  const beat = new Float64Array(data.heartbeat);
  const control = new Int32Array(data.control);
  let current: BlockEpisode | null = null;
  let tried = false;
  let lastCapture = 0;
  const episodes: BlockEpisode[] = [];
  let total = 0;
  /** A capture in progress: the thread waits for it (the inspector session needs its event loop). */
  let capturing: Promise<void> | null = null;
  /** When the outstanding ping was sent (0: none). */
  let pingedAt = 0;
  /** When the main thread was last seen idle or answering (or kicked): a block began after this. */
  let lastSeenFree = now();
  /** When the next look is due; 0: at once (kicks sent while the thread started found it not asleep). */
  let nextAt = 0;
  /** Asleep until the next idle look: a kick (control[0] cleared by the main thread) means look now. */
  let idleWait = false;

  let syscallFd = -1;
  try {
    syscallFd = openSync(`/proc/self/task/${process.pid}/syscall`, 'r');
  } catch {
    /* not readable here: every look pings */
  }
  const sample = Buffer.alloc(32);

  /** True when the main thread waits in epoll (its event loop is idle); false when unknown. */
  function mainThreadIdle(): boolean {
    if (syscallFd < 0 || epoll.size === 0) return false;
    let n: number;
    try {
      n = readSync(syscallFd, sample, 0, sample.length, 0);
    } catch {
      return false;
    }
    let nr = 0;
    let i = 0;
    for (; i < n && sample[i]! >= 48 && sample[i]! <= 57; i++) nr = nr * 10 + sample[i]! - 48;
    return i > 0 && epoll.has(nr);
  }

  function finish(endedAt: number) {
    if (!current) return;
    current.durationMs = Math.max(0, endedAt - current.since);
    current.ongoing = false;
    current = null;
  }

  function tryCapture(ep: BlockEpisode, t: number) {
    tried = true;
    lastCapture = t;
    delete ep.note;
    capturing = capture(ep).finally(() => (capturing = null));
  }

  /** One look at the main thread; returns how long to wait before the next. */
  function poll(): number {
    const t = now();
    const answered = beat[0]!;
    if (pingedAt && answered >= pingedAt) {
      // The loop handled the ping: any block is over.
      if (current) finish(answered);
      pingedAt = 0;
      lastSeenFree = answered;
    }
    if (current) {
      current.durationMs = t - current.since;
      if (!tried && current.durationMs > CAPTURE_GAP_MS) tryCapture(current, t);
      return SUSPECT_POLL_MS;
    }
    if (pingedAt) {
      if (t - pingedAt <= data.thresholdMs) return SUSPECT_POLL_MS;
      current = { since: lastSeenFree, durationMs: t - lastSeenFree, ongoing: true, frames: null };
      episodes.push(current);
      if (episodes.length > KEEP) episodes.shift();
      total++;
      tried = false;
      if (t - lastCapture > CAPTURE_GAP_MS) tryCapture(current, t);
      else current.note = 'no stack: another block was captured less than a second before';
      return SUSPECT_POLL_MS;
    }
    if (mainThreadIdle()) {
      lastSeenFree = t;
      return data.pollMs;
    }
    pingedAt = t;
    port.postMessage({ type: 'ping' });
    return SUSPECT_POLL_MS;
  }

  return {
    onMessage(m) {
      const req = m as { type: string; id: number };
      if (req.type !== 'status') return;
      // The main thread is answering, so any block is over.
      if (current) finish(now());
      pingedAt = 0;
      lastSeenFree = now();
      const reply: WatchdogReply = {
        id: req.id,
        threadId,
        heartbeatAgeMs: Math.max(0, now() - beat[0]!),
        episodes: episodes.map((e) => ({ ...e, frames: e.frames ? [...e.frames] : null })),
        total,
        stack: new Error('watchdog').stack ?? '',
      };
      port.postMessage(reply);
    },
    due() {
      if (idleWait && Atomics.load(control, 0) === 0) return 0;
      return nextAt - now();
    },
    tick() {
      if (idleWait) {
        idleWait = false;
        // Cleared by the main thread's kick: it was free until just now.
        if (Atomics.exchange(control, 0, 0) === 0 && !pingedAt && !current) lastSeenFree = now();
      }
      const wait = poll();
      nextAt = now() + wait;
      if (wait === data.pollMs) {
        idleWait = true;
        Atomics.store(control, 0, 1);
      }
    },
    pending: () => capturing,
    close() {
      if (syscallFd >= 0) closeSync(syscallFd);
      syscallFd = -1;
    },
  };
}
