/** One process a resource depends on: found by literal prefix match on its /proc cmdline. */
export interface ProcessSpec {
  /** The nvpair name, e.g. `proc_app` (or `procd`), or the name given on the control socket. */
  name: string;
  /** Literal cmdline prefix (NUL bytes of /proc/<pid>/cmdline read as spaces). */
  prefix: string;
}

/** A cluster resource procd watches, e.g. one procdctl primitive of cib.xml. */
export interface ResourceConfig {
  /** The procdctl instance (primitive id), or the name registered over the control socket. */
  resource: string;
  /** Resource whose fail-count is bumped on a death: the nvpair `fail_resource`, else `resource`. */
  failResource: string;
  processes: ProcessSpec[];
  /** Where it came from: `cib` or `socket`. */
  source: 'cib' | 'socket';
}
