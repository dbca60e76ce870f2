/**
 * The watchdog thread. The main thread stamps a shared heartbeat every few milliseconds; when
 * the stamp goes stale (the event loop is blocked or very busy), this thread attaches to the
 * main thread's inspector, pauses it for an instant, records its JavaScript stack and lets it
 * go. Reports then say "main thread blocked for X ms at: <stack>" even though the main thread
 * could not answer while it happened.
 */
import { Session } from 'node:inspector';
import { parentPort, threadId, workerData } from 'node:worker_threads';

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
  heartbeat: SharedArrayBuffer;
  thresholdMs: number;
  pollMs: number;
  beatMs: number;
}

const MAX_FRAMES = 24;
const KEEP = 5;
const data = workerData as WatchdogData;
const beat = new Float64Array(data.heartbeat);
const now = () => performance.timeOrigin + performance.now();

let current: BlockEpisode | null = null;
let tried = false;
let lastCapture = 0;
/** Captures pause the main thread for an instant: at most one a second, except a block that lasts over a second always gets one. */
const CAPTURE_GAP_MS = 1000;
const episodes: BlockEpisode[] = [];
let total = 0;

function finish(endedAt: number) {
  if (!current) return;
  current.durationMs = Math.max(0, endedAt - current.since);
  current.ongoing = false;
  current = null;
}

function capture(ep: BlockEpisode) {
  let session: Session;
  try {
    session = new Session();
    session.connectToMainThread();
  } catch (e) {
    ep.note = `no stack: the inspector is not available (${(e as Error).message})`;
    return;
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

function poll() {
  const last = beat[0]!;
  const t = now();
  if (current) {
    if (last > current.since) finish(last - data.beatMs);
    else {
      current.durationMs = t - current.since;
      if (!tried && current.durationMs > CAPTURE_GAP_MS) tryCapture(current, t);
    }
    return;
  }
  if (last > 0 && t - last > data.thresholdMs) {
    current = { since: last, durationMs: t - last, ongoing: true, frames: null };
    episodes.push(current);
    if (episodes.length > KEEP) episodes.shift();
    total++;
    tried = false;
    if (t - lastCapture > CAPTURE_GAP_MS) tryCapture(current, t);
    else current.note = 'no stack: another block was captured less than a second before';
  }
}

function tryCapture(ep: BlockEpisode, t: number) {
  tried = true;
  lastCapture = t;
  delete ep.note;
  capture(ep);
}

setInterval(poll, data.pollMs);

parentPort!.on('message', (m: { type: string; id: number }) => {
  if (m.type !== 'status') return;
  // The main thread is answering, so any block is over.
  if (current) finish(now());
  const reply: WatchdogReply = {
    id: m.id,
    threadId,
    heartbeatAgeMs: now() - beat[0]!,
    episodes: episodes.map((e) => ({ ...e, frames: e.frames ? [...e.frames] : null })),
    total,
    stack: new Error('watchdog').stack ?? '',
  };
  parentPort!.postMessage(reply);
});
