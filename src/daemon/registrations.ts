import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { Logger } from 'pino';
import { errorLine } from '../errors.js';
import type { Monitor, ResourceConfig } from '../monitor/index.js';
import { parseRegistration } from './resources.js';

/** The registrations file of a control socket unless --registrations names one: beside it, `procd.sock` → `procd.registrations.json`. */
export function defaultRegistrationsPath(socket: string): string {
  return join(dirname(socket), `${basename(socket, extname(socket))}.registrations.json`);
}

/**
 * What was registered over the control socket, kept in a file (0600, replaced atomically) so
 * that a procd respawned after a crash watches the same processes at once, instead of waiting
 * for the cluster's next procdctl monitor to find it empty (a failed monitor, a recovery). The
 * default lives beside the socket, under /run: gone at reboot, like the cluster state it mirrors.
 * CIB resources are not in it: the CIB is read again anyway.
 */
export class Registrations {
  constructor(
    readonly path: string,
    private readonly log: Logger,
  ) {}

  /**
   * The saved registrations, each checked as a POST body is. No file: none. A file that cannot
   * be read as registrations is moved aside (one error line naming both files) and procd starts
   * with none: the cluster registers again on its next procdctl start.
   */
  load(): ResourceConfig[] {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      this.log.error(`registrations file ${this.path}: cannot be read (${errorLine(e)}); starting with no socket registrations`);
      return [];
    }
    try {
      const doc = JSON.parse(text) as unknown;
      if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { resources?: unknown }).resources)) throw new Error('expected {"resources": [...]}');
      return (doc as { resources: unknown[] }).resources.map((r, i) => {
        try {
          return parseRegistration(r);
        } catch (e) {
          throw new Error(`resources[${i}]: ${errorLine(e)}`);
        }
      });
    } catch (e) {
      const aside = `${this.path}.bad-${Date.now()}`;
      let moved = true;
      try {
        renameSync(this.path, aside);
      } catch {
        moved = false;
      }
      this.log.error(`registrations file ${this.path}: ${errorLine(e)}; ${moved ? `moved aside to ${aside}` : 'left in place'}, starting with no socket registrations`);
      return [];
    }
  }

  /**
   * Writes every socket-sourced resource of `monitor` (temp file, fsync, rename: never half a
   * file). A failure is one error line: the registrations stay active, only a restart would lose them.
   */
  save(monitor: Monitor): boolean {
    const resources = monitor
      .status()
      .filter((r) => r.source === 'socket')
      .map((r) => ({ resource: r.resource, failResource: r.failResource, processes: r.processes.map((p) => ({ name: p.name, prefix: p.prefix })) }));
    const tmp = `${this.path}.tmp-${process.pid}`;
    try {
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, JSON.stringify({ resources }, null, 2) + '\n');
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.path);
      return true;
    } catch (e) {
      try {
        unlinkSync(tmp);
      } catch {
        /* not created */
      }
      this.log.error(`registrations file ${this.path}: cannot be written (${errorLine(e)}); the registrations are active but a restarted procd would not have them`);
      return false;
    }
  }
}
