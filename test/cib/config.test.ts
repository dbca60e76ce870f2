import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseCibConfig, readCibConfig } from '../../src/cib/index.js';
import { isProcdError } from '../../src/errors.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../../fixtures/${name}`, import.meta.url));

test('heartbeat 2.1 layout (the 2008 appendix): instance_attributes/attributes/nvpair', async () => {
  const cfg = await readCibConfig(fixture('cib/heartbeat-2.1.3.xml'));
  assert.equal(cfg.format, 'heartbeat');
  assert.deepEqual(cfg.nodes.map((n) => n.uname), ['act', 'sby']);
  assert.deepEqual(cfg.resources, [
    {
      resource: 'prmPc1PostgreSQLDB',
      failResource: 'prmPc1PostgreSQLDB',
      source: 'cib',
      processes: [
        { name: 'proc_prmPc1PostgreSQLDB_1', prefix: '/home/postgres/pgsql/bin/postgres -D /home/postgres/pgdata -p 5' },
        { name: 'proc_prmPc1PostgreSQLDB_2', prefix: 'postgres: writer process' },
        { name: 'proc_prmPc1PostgreSQLDB_3', prefix: 'postgres: stats collector process' },
      ],
    },
  ]);
  assert.deepEqual(cfg.warnings, []);
});

test('modern layout inside clone and master/group; "procd" as the name; fail_resource; other types ignored', async () => {
  const cfg = await readCibConfig(fixture('cib/nested-modern.xml'));
  assert.equal(cfg.format, 'pacemaker');
  assert.deepEqual(cfg.resources.map((r) => [r.resource, r.failResource, r.processes.map((p) => `${p.name}=${p.prefix}`)]), [
    ['web-watch', 'web-watch', ['procd=/usr/sbin/nginx -g daemon off;']],
    ['db-watch', 'db', ['proc_postmaster=/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main', 'proc_writer=postgres: 15/main: background writer ']],
  ]);
});

test('a CIB without procdctl primitives is valid, with a warning', async () => {
  const cfg = await readCibConfig(fixture('cib/pacemaker-2.1.5-live.xml'));
  assert.deepEqual(cfg.resources, []);
  assert.match(cfg.warnings[0]!, /no procdctl primitive; nothing is watched/);
  assert.deepEqual(cfg.nodes, [{ id: '1', uname: 'node1' }]);
});

test('entities in values are decoded once, never expanded beyond the predefined ones', () => {
  const xml = readFileSync(fixture('cib/nested-modern.xml'), 'utf8').replace('value="/usr/sbin/nginx -g daemon off;"', 'value="a &amp; b &lt;c&gt; &quot;d&quot; &#36;(x)"');
  assert.equal(parseCibConfig(xml, 'x.xml').resources[0]!.processes[0]!.prefix, 'a & b <c> "d" $(x)');
});

test('bad input: one clear error naming the file (and where)', async () => {
  const base = readFileSync(fixture('cib/nested-modern.xml'), 'utf8');
  const cases: [string, RegExp, string][] = [
    ['<cib>\n  <configuration>\n  </configurashun>\n</cib>', /^bad\.xml:3:\d+: malformed XML: /, 'PROCD_CIB_XML'],
    ['<notcib/>', /bad\.xml:1:1: malformed XML: the root element is <notcib>, not <cib>/, 'PROCD_CIB_XML'],
    [base.replace('value="/usr/sbin/nginx -g daemon off;"', 'value="   "'), /procdctl web-watch: nvpair web-watch-procd has an empty or whitespace-only process prefix/, 'PROCD_CIB_EMPTY_PREFIX'],
    [base.replace('value="/usr/sbin/nginx -g daemon off;"', 'value=""'), /web-watch-procd/, 'PROCD_CIB_EMPTY_PREFIX'],
    [
      '<?xml version="1.0"?>\n<!DOCTYPE cib [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>\n<cib><configuration/></cib>',
      /DOCTYPE declares entities; procd never expands XML entities/,
      'PROCD_CIB_ENTITY',
    ],
    ['<cib validate-with="pacemaker-3.9"/>', /no <configuration> section/, 'PROCD_CIB_INVALID'],
  ];
  for (const [xml, re, code] of cases) {
    assert.throws(() => parseCibConfig(xml, 'bad.xml'), (e: unknown) => {
      assert.ok(isProcdError(e, code), `${code} for ${xml.slice(0, 40)}: got ${String(e)}`);
      assert.match(e.message, re);
      assert.equal(e.message.split('\n').length, 1);
      return true;
    });
  }
  await assert.rejects(readCibConfig('/nonexistent/cib.xml'), /\/nonexistent\/cib\.xml: cannot read the CIB: no such file/);
});
