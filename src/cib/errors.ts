import { defineError } from '../errors.js';

export const ERR_CIB_READ = defineError('PROCD_CIB_READ', (path: string, why: string) => `${path}: cannot read the CIB: ${why}`, { exitCode: 2 });
export const ERR_CIB_XML = defineError('PROCD_CIB_XML', (path: string, line: number, col: number, why: string) => `${path}:${line}:${col}: malformed XML: ${why}`, { exitCode: 2 });
export const ERR_CIB_INVALID = defineError('PROCD_CIB_INVALID', (path: string, why: string) => `${path}: ${why}`, { exitCode: 2 });
export const ERR_CIB_ENTITY = defineError('PROCD_CIB_ENTITY', (path: string) => `${path}: the DOCTYPE declares entities; procd never expands XML entities`, { exitCode: 2 });
export const ERR_CIB_EMPTY_PREFIX = defineError(
  'PROCD_CIB_EMPTY_PREFIX',
  (path: string, primitive: string, nvpair: string) => `${path}: procdctl ${primitive}: nvpair ${nvpair} has an empty or whitespace-only process prefix`,
  { exitCode: 2 },
);
export const ERR_CIB_NODE = defineError(
  'PROCD_CIB_NODE',
  (path: string, node: string, known: string[]) => `${path}: node ${JSON.stringify(node)} is not in the CIB's nodes (known: ${known.join(', ') || 'none'})`,
  { exitCode: 2 },
);
export const ERR_CIB_WRITE = defineError('PROCD_CIB_WRITE', (path: string, why: string) => `${path}: cannot write the CIB: ${why}`, { exitCode: 1 });
export const ERR_CIB_LOCK = defineError('PROCD_CIB_LOCK', (path: string, why: string) => `${path}: ${why}`, { exitCode: 1 });
