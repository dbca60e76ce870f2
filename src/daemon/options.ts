import { resolve } from 'node:path';
import { PACKAGE_ROOT } from '../version.js';

// The daemon's option values that the CLI needs to define its flags. Kept apart from daemon.ts
// and log.ts so that every `procd` command (procdctl runs `procd ctl`/`procd status` on each
// start, stop and monitor) starts without loading the daemon's modules.

export const DEFAULT_WRAPPER = resolve(PACKAGE_ROOT, 'ocf/procd-fail');
export const PROCD_BIN = resolve(PACKAGE_ROOT, 'bin/procd');

/** auto: event mode when pidfds work, else poll (one logged reason). event: pidfds or refuse to start. poll: the seed's polling. */
export const MODES = ['auto', 'event', 'poll'] as const;
export type Mode = (typeof MODES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where the event journal lives unless --journal says otherwise. */
export const DEFAULT_JOURNAL = '/var/lib/procd/journal.db';
