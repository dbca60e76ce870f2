import { pino, type Logger } from 'pino';
import type { ProcdEvent } from '../events/index.js';

import type { LogLevel } from './options.js';
export { LOG_LEVELS, type LogLevel } from './options.js';

/**
 * JSON lines on stdout, written synchronously so nothing is lost when the daemon exits. No
 * `pid`/`hostname` base fields: events carry the watched process's `pid`, and daemon-started
 * names the daemon's own.
 */
export function createLogger(level: LogLevel): Logger {
  return pino(
    { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
    pino.destination({ dest: 1, sync: true }),
  );
}

/** One log line per event, at a level that matches what an operator should notice. */
export function logEvent(log: Logger, e: ProcdEvent) {
  const { time: _t, kind, ...fields } = e;
  const f = { event: kind, ...fields };
  switch (e.kind) {
    case 'process-lost':
      log.warn(f, e.reason === 'missing'
        ? `${e.resource}/${e.process}: no process matches ${JSON.stringify(e.prefix)}`
        : `${e.resource}/${e.process}: pid ${e.pid} ${e.reason}`);
      break;
    case 'process-found':
      log.info(f, `${e.resource}/${e.process}: watching pid ${e.pid}`);
      break;
    case 'wrapper-finished':
      if (e.exitCode === 0) log.info(f, `wrapper finished for ${e.failResource} in ${e.durationMs.toFixed(0)} ms`);
      else log.warn(f, `wrapper attempt ${e.attempt} for ${e.failResource} failed: ${e.message}`);
      break;
    case 'report-failed':
      log.error(f, `could not report the failure of ${e.failResource} after ${e.attempts} tries: ${e.error}`);
      break;
    case 'failure-reported':
      log.info(f, `failure of ${e.resource} reported as ${e.failResource} on ${e.node}`);
      break;
    case 'failcount-written':
      log.info(f, `${e.attribute}=${e.value}`);
      break;
    case 'resource-added':
      log.info(f, `resource ${e.resource}: watching ${e.processes.map((p) => p.name).join(', ') || 'nothing'} (from ${e.source}; failures go to ${e.failResource})`);
      break;
    case 'resource-removed':
      log.info(f, `resource ${e.resource}: no longer watched`);
      break;
    case 'daemon-started':
      log.info(f, `procd ${e.pid} started on node ${e.node} (${e.mode} mode${e.spawn ? `, wrappers by ${e.spawn}` : ''}${e.cib ? `, CIB ${e.cib}` : ''})`);
      break;
    case 'daemon-stopped':
      log.info(f, `procd stopped${e.signal ? ` on ${e.signal}` : ''}`);
      break;
    case 'daemon-reloaded':
      log.info(f, `reloaded: added ${e.added.length}, removed ${e.removed.length}, changed ${e.changed.length}, unchanged ${e.unchanged.length}`);
      break;
    case 'wrapper-started':
    case 'wrapper-retry':
      log.debug(f, kind);
      break;
    default:
      log.info(f, kind);
  }
}
