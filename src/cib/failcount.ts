import { readCibText, parseCibXml, type CibFormat } from './config.js';
import { ERR_CIB_NODE } from './errors.js';
import { withCibLock, writeFileAtomic } from './write.js';
import { appendChildEdit, applyEdit, attr, child, encodeAttr, removeEdit, scanXml, setAttrEdit, type XmlElement } from './xml.js';

/** Pacemaker's INFINITY score, as a fail-count value. */
const INFINITY = 1_000_000;

export interface FailTarget {
  resource: string;
  node: string;
}

function parseCount(v: string | undefined): number {
  if (v === undefined) return 0;
  if (/^\+?INFINITY$/i.test(v.trim())) return INFINITY;
  const n = Number.parseInt(v, 10);
  return Number.isFinite(n) ? n : 0;
}

/** Pacemaker writes an nvpair id as `status-<node id>-<name>` with `#` turned into `.`. */
export function statusNvpairId(nodeId: string, name: string): string {
  return `status-${nodeId}-${name}`.replace(/#/g, '.');
}

interface Located {
  text: string;
  format: CibFormat;
  nodeId: string;
  root: XmlElement;
}

/** Parses (and validates) the CIB text and resolves the node's id from configuration/nodes. */
function locate(text: string, path: string, node: string): Located {
  const cfg = parseCibXml(text, path);
  const validateWith = typeof cfg['@validate-with'] === 'string' ? (cfg['@validate-with'] as string) : '';
  const format: CibFormat = validateWith.startsWith('pacemaker-') ? 'pacemaker' : 'heartbeat';
  const root = child(scanXml(text), 'cib')!;
  const nodesEl = child(child(root, 'configuration') ?? root, 'nodes');
  const nodes = (nodesEl?.children ?? []).filter((n) => n.name === 'node');
  const hit = nodes.find((n) => (attr(n, 'uname') ?? attr(n, 'id')) === node);
  if (!hit) throw ERR_CIB_NODE(path, node, nodes.map((n) => attr(n, 'uname') ?? attr(n, 'id') ?? '?'));
  return { text, format, nodeId: attr(hit, 'id')!, root };
}

/** Finds the element chain status/node_state/transient_attributes/instance_attributes[/attributes] for a node, as far as it exists. */
function attrSet(root: XmlElement, nodeId: string, node: string, format: CibFormat) {
  const status = child(root, 'status');
  const nodeState = status && child(status, 'node_state', (e) => attr(e, 'id') === nodeId || attr(e, 'uname') === node);
  const transient = nodeState && child(nodeState, 'transient_attributes');
  const ia = transient && (child(transient, 'instance_attributes', (e) => attr(e, 'id') === `status-${nodeId}`) ?? child(transient, 'instance_attributes'));
  const holder = ia && (format === 'heartbeat' ? child(ia, 'attributes') : ia);
  return { status, nodeState, transient, ia, holder };
}

/** nvpairs of the node's transient attributes. */
function nvpairs(root: XmlElement, nodeId: string, node: string, format: CibFormat): XmlElement[] {
  const { holder } = attrSet(root, nodeId, node, format);
  return (holder?.children ?? []).filter((e) => e.name === 'nvpair');
}

/** Sets (creating every missing element on the way) one transient attribute of a node; returns the new text. */
function setStatusAttr(text: string, path: string, node: string, name: string, value: (old: string | undefined) => string): string {
  const { format, nodeId, root } = locate(text, path, node);
  const id = statusNvpairId(nodeId, name);
  const nvpairXml = `<nvpair id="${encodeAttr(id)}" name="${encodeAttr(name)}" value="${encodeAttr(value(undefined))}"/>`;
  const { status, nodeState, transient, ia, holder } = attrSet(root, nodeId, node, format);
  const existing = holder?.children.find((e) => e.name === 'nvpair' && attr(e, 'name') === name);
  if (existing) {
    const edit = setAttrEdit(existing, 'value', value(attr(existing, 'value')));
    if (!edit) return applyEdit(text, appendAttr(existing, 'value', value(undefined)));
    return applyEdit(text, edit);
  }
  // Build what is missing, innermost first.
  let xml = nvpairXml;
  if (format === 'heartbeat' && !holder) xml = `<attributes>\n  ${xml}\n</attributes>`;
  if (!ia) xml = `<instance_attributes id="status-${encodeAttr(nodeId)}">\n${indent(xml)}\n</instance_attributes>`;
  if (!transient) xml = `<transient_attributes id="${encodeAttr(nodeId)}">\n${indent(xml)}\n</transient_attributes>`;
  if (!nodeState) xml = `<node_state id="${encodeAttr(nodeId)}" uname="${encodeAttr(node)}">\n${indent(xml)}\n</node_state>`;
  const parent = holder ?? ia ?? transient ?? nodeState ?? status;
  if (!parent) {
    // No <status> at all: add one as the last child of <cib>.
    return applyEdit(text, appendChildEdit(text, root, `<status>\n${indent(xml)}\n</status>`));
  }
  return applyEdit(text, appendChildEdit(text, parent, xml));
}

function indent(xml: string): string {
  return xml.split('\n').map((l) => `  ${l}`).join('\n');
}

function appendAttr(el: XmlElement, name: string, value: string) {
  const at = el.selfClosing ? el.openEnd - 2 : el.openEnd - 1;
  return { from: at, to: at, insert: ` ${name}="${encodeAttr(value)}"` };
}

/** `num_updates` + 1 on the <cib> root; `epoch` stays (a status change is not a config change). */
function bumpNumUpdates(text: string): string {
  const root = child(scanXml(text), 'cib')!;
  const next = String(parseCount(attr(root, 'num_updates')) + 1);
  return applyEdit(text, setAttrEdit(root, 'num_updates', next) ?? appendAttr(root, 'num_updates', next));
}

export function failCountName(resource: string, format: CibFormat): string {
  return format === 'pacemaker' ? `fail-count-${resource}#asyncmon_0` : `fail-count-${resource}`;
}

/** The bump as pure text → text (exported for tests), with the attribute written and its new value. */
export function bumpText(text: string, path: string, t: FailTarget, now: Date = new Date()) {
  const { format } = locate(text, path, t.node);
  const name = failCountName(t.resource, format);
  let value = 0;
  let out = text;
  let lastFailure: number | undefined;
  if (format === 'pacemaker') {
    // crm_resource --fail: fail-count-<rsc>#asyncmon_0 + 1 and last-failure-<rsc>#asyncmon_0 = now.
    lastFailure = Math.floor(now.getTime() / 1000);
    out = setStatusAttr(out, path, t.node, `last-failure-${t.resource}#asyncmon_0`, () => String(lastFailure));
  }
  out = setStatusAttr(out, path, t.node, name, (old) => String((value = Math.min(INFINITY, parseCount(old) + 1))));
  out = bumpNumUpdates(out);
  return { text: out, attribute: name, value, lastFailure };
}

/** Bumps a resource's fail-count on a node in a CIB file, under the lock, written atomically. */
export async function bumpFailCount(path: string, t: FailTarget & { now?: Date }) {
  return withCibLock(path, async () => {
    const r = bumpText(await readCibText(path), path, t, t.now);
    writeFileAtomic(path, r.text);
    return { attribute: r.attribute, value: r.value, ...(r.lastFailure !== undefined ? { lastFailure: r.lastFailure } : {}) };
  });
}

const isFailAttr = (resource: string, prefix: 'fail-count' | 'last-failure') => (name: string) =>
  name === `${prefix}-${resource}` || name.startsWith(`${prefix}-${resource}#`);

/** The resource's fail-count on the node, summed over operations as crm_failcount -G does (0 when none). */
export async function readFailCount(path: string, t: FailTarget): Promise<number> {
  const text = await readCibText(path);
  const { format, nodeId, root } = locate(text, path, t.node);
  const match = isFailAttr(t.resource, 'fail-count');
  let sum = 0;
  for (const nv of nvpairs(root, nodeId, t.node, format)) if (match(attr(nv, 'name') ?? '')) sum += parseCount(attr(nv, 'value'));
  return Math.min(sum, INFINITY);
}

/** Removes the resource's fail-count and last-failure attributes (every operation) on the node, like crm_failcount -D. */
export async function resetFailCount(path: string, t: FailTarget): Promise<{ removed: number }> {
  return withCibLock(path, async () => {
    let text = await readCibText(path);
    const fc = isFailAttr(t.resource, 'fail-count');
    const lf = isFailAttr(t.resource, 'last-failure');
    let removed = 0;
    for (;;) {
      const { format, nodeId, root } = locate(text, path, t.node);
      const victim = nvpairs(root, nodeId, t.node, format).find((nv) => {
        const n = attr(nv, 'name') ?? '';
        return fc(n) || lf(n);
      });
      if (!victim) break;
      text = applyEdit(text, removeEdit(text, victim));
      removed++;
    }
    if (removed > 0) writeFileAtomic(path, bumpNumUpdates(text));
    return { removed };
  });
}

