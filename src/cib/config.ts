import { readFile } from 'node:fs/promises';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { errorLine } from '../errors.js';
import type { ResourceConfig } from '../monitor/types.js';
import { ERR_CIB_EMPTY_PREFIX, ERR_CIB_ENTITY, ERR_CIB_INVALID, ERR_CIB_READ, ERR_CIB_XML } from './errors.js';
import { decodeXml } from './xml.js';

export interface CibNode {
  id: string;
  uname: string;
}

/** `pacemaker`: validate-with="pacemaker-*" (Pacemaker 1.1+); `heartbeat`: heartbeat 2.1 (no validate-with, nvpairs in <attributes>). */
export type CibFormat = 'pacemaker' | 'heartbeat';

export interface CibConfig {
  path: string;
  format: CibFormat;
  nodes: CibNode[];
  /** One per procdctl primitive. */
  resources: ResourceConfig[];
  warnings: string[];
}

type Obj = Record<string, unknown>;
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  processEntities: false,
  htmlEntities: false,
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: false,
  isArray: (_name, _jpath, _leaf, isAttribute) => !isAttribute,
});

const list = (o: unknown, name: string): Obj[] => ((o as Obj | undefined)?.[name] as Obj[] | undefined) ?? [];
const at = (o: Obj, name: string): string | undefined => {
  const v = o[`@${name}`];
  return typeof v === 'string' ? decodeXml(v) : undefined;
};

/** Line and column of an offset, 1-based. */
function lineCol(text: string, offset: number): [number, number] {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return [line, offset - before.lastIndexOf('\n')];
}

/**
 * Checks the text is well-formed XML with a <cib> root and no entity declarations; returns the
 * parsed object tree (fast-xml-parser, every element an array, attributes as `@name`, entities
 * never expanded). Throws one clear line naming the file (and line:col for bad XML).
 */
export function parseCibXml(xml: string, path: string): Obj {
  const bang = xml.search(/<!ENTITY/i);
  if (bang >= 0) throw ERR_CIB_ENTITY(path);
  const v = XMLValidator.validate(xml, { allowBooleanAttributes: false });
  if (v !== true) throw ERR_CIB_XML(path, v.err.line, v.err.col, v.err.msg);
  let doc: Obj;
  try {
    doc = parser.parse(xml) as Obj;
  } catch (e) {
    throw ERR_CIB_XML(path, 1, 1, errorLine(e));
  }
  const cib = list(doc, 'cib')[0];
  if (!cib) {
    const root = Object.keys(doc).find((k) => !k.startsWith('?'));
    const [line, col] = lineCol(xml, Math.max(0, xml.indexOf(`<${root}`)));
    throw ERR_CIB_XML(path, line, col, `the root element is <${root ?? 'none'}>, not <cib>`);
  }
  return cib;
}

/** Every primitive, also inside group, clone, master, bundle, and groups inside clones. */
function primitives(o: Obj): Obj[] {
  const out: Obj[] = [...list(o, 'primitive')];
  for (const k of ['group', 'clone', 'master', 'bundle']) for (const c of list(o, k)) out.push(...primitives(c));
  return out;
}

/** nvpairs of a primitive's instance_attributes, modern (`instance_attributes/nvpair`) and heartbeat 2.1 (`instance_attributes/attributes/nvpair`). */
function instanceNvpairs(p: Obj): Obj[] {
  const out: Obj[] = [];
  for (const ia of list(p, 'instance_attributes')) {
    out.push(...list(ia, 'nvpair'));
    for (const a of list(ia, 'attributes')) out.push(...list(a, 'nvpair'));
  }
  return out;
}

export function isProcessNvpair(name: string): boolean {
  return name === 'procd' || (name.startsWith('proc_') && name.length > 'proc_'.length);
}

export function parseCibConfig(xml: string, path: string): CibConfig {
  const cib = parseCibXml(xml, path);
  const validateWith = at(cib, 'validate-with');
  const format: CibFormat = validateWith?.startsWith('pacemaker-') ? 'pacemaker' : 'heartbeat';
  const configuration = list(cib, 'configuration')[0];
  if (!configuration) throw ERR_CIB_INVALID(path, 'no <configuration> section');
  const nodes: CibNode[] = list(list(configuration, 'nodes')[0], 'node')
    .map((n) => ({ id: at(n, 'id') ?? '', uname: at(n, 'uname') ?? at(n, 'id') ?? '' }))
    .filter((n) => n.id !== '');
  const resources: ResourceConfig[] = [];
  const warnings: string[] = [];
  for (const p of primitives(list(configuration, 'resources')[0] ?? {})) {
    if (at(p, 'type') !== 'procdctl') continue;
    const id = at(p, 'id');
    if (!id) throw ERR_CIB_INVALID(path, 'a procdctl primitive has no id');
    let failResource = id;
    const processes: { name: string; prefix: string }[] = [];
    for (const nv of instanceNvpairs(p)) {
      const name = at(nv, 'name') ?? '';
      const value = at(nv, 'value') ?? '';
      if (name === 'fail_resource') {
        if (value.trim() === '') throw ERR_CIB_INVALID(path, `procdctl ${id}: nvpair ${at(nv, 'id') ?? name} (fail_resource) is empty`);
        failResource = value;
      } else if (isProcessNvpair(name)) {
        if (value.trim() === '') throw ERR_CIB_EMPTY_PREFIX(path, id, at(nv, 'id') ?? name);
        processes.push({ name, prefix: value });
      }
    }
    if (processes.length === 0) warnings.push(`${path}: procdctl ${id} has no proc_* or procd nvpair; it watches nothing`);
    else resources.push({ resource: id, failResource, processes, source: 'cib' });
  }
  if (resources.length === 0 && !warnings.length) warnings.push(`${path}: no procdctl primitive; nothing is watched`);
  return { path, format, nodes, resources, warnings };
}

export async function readCibText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw ERR_CIB_READ(path, code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a folder' : errorLine(e));
  }
}

export async function readCibConfig(path: string): Promise<CibConfig> {
  return parseCibConfig(await readCibText(path), path);
}
