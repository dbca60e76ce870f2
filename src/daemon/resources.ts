import type { Monitor, ResourceConfig } from '../monitor/index.js';
import { ERR_BAD_REQUEST, ERR_NOT_FOUND, type ControlServer } from './control.js';

/** Longest resource, process or fail-resource name accepted on the control socket. */
const MAX_NAME = 256;
/** Longest cmdline prefix accepted (Linux shows at most a page of cmdline in most tools). */
const MAX_PREFIX = 4096;
/** Most process specs one resource may register. */
const MAX_PROCESSES = 256;

/** A name is one word of printable characters: it ends up in log lines, argv and CIB ids. */
function checkName(what: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') throw ERR_BAD_REQUEST(`${what} must be a non-empty string`);
  if (v.length > MAX_NAME) throw ERR_BAD_REQUEST(`${what} is longer than ${MAX_NAME} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f/]/.test(v)) throw ERR_BAD_REQUEST(`${what} ${JSON.stringify(v)} must not contain spaces, control characters or '/'`);
  return v;
}

/**
 * Checks a registration body `{resource, processes: [{name, prefix}], failResource?}` and turns
 * it into a socket-sourced resource; every problem is one 400 line naming the field.
 */
export function parseRegistration(body: unknown): ResourceConfig {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw ERR_BAD_REQUEST('body must be a JSON object {resource, processes: [{name, prefix}], failResource?}');
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => !['resource', 'processes', 'failResource'].includes(k));
  if (unknown.length) throw ERR_BAD_REQUEST(`unknown field(s) ${unknown.join(', ')}; known: resource, processes, failResource`);
  const resource = checkName('resource', b.resource);
  const failResource = b.failResource === undefined || b.failResource === null ? resource : checkName('failResource', b.failResource);
  if (!Array.isArray(b.processes) || b.processes.length === 0) throw ERR_BAD_REQUEST('processes must be a non-empty array of {name, prefix}');
  if (b.processes.length > MAX_PROCESSES) throw ERR_BAD_REQUEST(`processes has ${b.processes.length} entries; at most ${MAX_PROCESSES}`);
  const seen = new Set<string>();
  const processes = b.processes.map((p: unknown, i: number) => {
    if (typeof p !== 'object' || p === null) throw ERR_BAD_REQUEST(`processes[${i}] must be an object {name, prefix}`);
    const { name, prefix, ...rest } = p as Record<string, unknown>;
    if (Object.keys(rest).length) throw ERR_BAD_REQUEST(`processes[${i}]: unknown field(s) ${Object.keys(rest).join(', ')}`);
    const n = checkName(`processes[${i}].name`, name);
    if (seen.has(n)) throw ERR_BAD_REQUEST(`processes[${i}].name ${JSON.stringify(n)} is given twice`);
    seen.add(n);
    if (typeof prefix !== 'string' || prefix.trim() === '') throw ERR_BAD_REQUEST(`processes[${i}].prefix must be a non-empty cmdline prefix`);
    if (prefix.length > MAX_PREFIX) throw ERR_BAD_REQUEST(`processes[${i}].prefix is longer than ${MAX_PREFIX} characters`);
    if (prefix.includes('\0')) throw ERR_BAD_REQUEST(`processes[${i}].prefix must not contain NUL (write argument separators as spaces)`);
    return { name: n, prefix };
  });
  return { resource, failResource, processes, source: 'socket' };
}

/**
 * The control socket's resource operations:
 *   GET    /v1/resources            status of every resource (CIB and socket)
 *   GET    /v1/resources/:resource  status of one (404 when unknown)
 *   POST   /v1/resources            register {resource, processes, failResource?}; same specs again is a no-op
 *   DELETE /v1/resources/:resource  unregister (404 when unknown)
 * `onChange` runs after each registration or removal (the daemon keeps them in a file).
 */
export function addResourceRoutes(control: ControlServer, monitor: Monitor, onChange: () => void = () => {}) {
  const one = (resource: string) => {
    const [r] = monitor.status(resource);
    if (!r) throw ERR_NOT_FOUND(`resource ${JSON.stringify(resource)} is not registered`);
    return r;
  };
  control
    .route('GET', '/v1/resources', () => ({ body: { resources: monitor.status() } }))
    .route('GET', '/v1/resources/:resource', (req) => ({ body: one(req.params.resource!) }))
    .route('POST', '/v1/resources', (req) => {
      const config = parseRegistration(req.body);
      const existed = monitor.has(config.resource);
      const changed = monitor.upsert(config);
      onChange();
      return { status: existed ? 200 : 201, body: { changed, ...one(config.resource) } };
    })
    .route('DELETE', '/v1/resources/:resource', (req) => {
      const r = one(req.params.resource!);
      monitor.remove(r.resource);
      onChange();
      return { body: { removed: r.resource } };
    });
}
