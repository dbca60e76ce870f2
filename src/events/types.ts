import type { ProcessSpec } from '../monitor/types.js';

/** Why a watched process counts as failed. */
export type LostReason =
  /** /proc/<pid> is gone. */
  | 'exited'
  /** State Z in /proc/<pid>/stat: dead, its parent has not reaped it. */
  | 'zombie'
  /** State X (dead) in /proc/<pid>/stat. */
  | 'dead'
  /** The pid now belongs to another process (its starttime changed). */
  | 'pid-reused'
  /** No process matched the prefix within the grace period. */
  | 'missing';

/** How a death was seen: a pidfd became readable (event mode), a check of the watched pid's stat, or a discovery scan. */
export type DetectedBy = 'pidfd' | 'check' | 'scan';

interface Base {
  /** Wall-clock time in microseconds since the epoch. */
  time: number;
}

export interface DaemonStarted extends Base {
  kind: 'daemon-started';
  node: string;
  pid: number;
  mode: string;
  /** How wrappers are started: posix_spawn, or child_process when koffi/libc cannot be used. */
  spawn?: string;
  cib?: string;
}
export interface DaemonStopped extends Base { kind: 'daemon-stopped'; node: string; signal?: string }
export interface DaemonReloaded extends Base { kind: 'daemon-reloaded'; added: string[]; removed: string[]; changed: string[]; unchanged: string[] }
export interface ResourceAdded extends Base { kind: 'resource-added'; resource: string; failResource: string; processes: ProcessSpec[]; source: 'cib' | 'socket' }
export interface ResourceRemoved extends Base { kind: 'resource-removed'; resource: string }
export interface ProcessFound extends Base {
  kind: 'process-found';
  resource: string;
  process: string;
  prefix: string;
  pid: number;
  starttime: number;
  cmdline: string;
}
export interface ProcessLost extends Base {
  kind: 'process-lost';
  resource: string;
  failResource: string;
  process: string;
  prefix: string;
  /** 0 when reason is `missing`. */
  pid: number;
  reason: LostReason;
  /** How it was seen (absent from events written before event mode existed). */
  detectedBy?: DetectedBy;
  /** Shared by every event of this one failure: detection, wrapper attempts, fail-count. */
  failureId: string;
}
export interface WrapperStarted extends Base {
  kind: 'wrapper-started';
  failureId: string;
  resource: string;
  failResource: string;
  attempt: number;
  argv: string[];
  /** The wrapper's pid; absent when it could not be started. */
  wrapperPid?: number;
  /** Microseconds from detection to this start. */
  sinceDetectedUs: number;
}
export interface WrapperFinished extends Base {
  kind: 'wrapper-finished';
  failureId: string;
  resource: string;
  failResource: string;
  attempt: number;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  /** Last line the wrapper wrote to stderr (or the spawn error), for the log. */
  message: string;
}
export interface WrapperRetry extends Base { kind: 'wrapper-retry'; failureId: string; resource: string; failResource: string; attempt: number; delayMs: number }
export interface FailcountWritten extends Base { kind: 'failcount-written'; failureId: string; resource: string; failResource: string; node: string; attribute: string; value: number }
export interface FailureReported extends Base { kind: 'failure-reported'; failureId: string; resource: string; failResource: string; node: string; attempts: number; totalMs: number }
export interface ReportFailed extends Base { kind: 'report-failed'; failureId: string; resource: string; failResource: string; node: string; attempts: number; error: string }

export type ProcdEvent =
  | DaemonStarted
  | DaemonStopped
  | DaemonReloaded
  | ResourceAdded
  | ResourceRemoved
  | ProcessFound
  | ProcessLost
  | WrapperStarted
  | WrapperFinished
  | WrapperRetry
  | FailcountWritten
  | FailureReported
  | ReportFailed;

export type EventKind = ProcdEvent['kind'];
export type EventOf<K extends EventKind> = Extract<ProcdEvent, { kind: K }>;
/** An event as a producer hands it over: the bus stamps the time. */
export type NewEvent = ProcdEvent extends infer E ? (E extends ProcdEvent ? Omit<E, 'time'> & { time?: number } : never) : never;
