import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { BAR, centredTitle } from '../../src/report/layout.js';
import { ReportBuilder, reportJson, reportText } from '../../src/report/registry.js';
import { effectiveOptions, maskCommandLine } from '../../src/report/config.js';
import { writeReportFile } from '../../src/report/sink.js';
import { tempDir } from '../helpers/wrappers.js';
import { pino } from 'pino';
import { Daemon, DEFAULT_WRAPPER } from '../../src/daemon/daemon.js';
import { reportBuilderFor, ReportService } from '../../src/report/service.js';
import { FailcountLedger } from '../../src/report/sections.js';
import { parseReport, SECTIONS } from './parse.js';

test('layout: 72-character bars around a centred ====  Title  ==== line', () => {
  assert.equal(BAR, '='.repeat(72));
  for (const t of ['Package', 'Green Threads', 'Fail-counts']) {
    const line = centredTitle(t);
    assert.equal(line.length, 72);
    assert.match(line, new RegExp(`^={4,}  ${t}  ={4,}$`));
    const [l, r] = [line.indexOf(' '), 72 - line.lastIndexOf(' ') - 1];
    assert.ok(Math.abs(l - r) <= 1, `centred: ${line}`);
  }
});

test('sections come out in registration order; one that throws shows its error in place and the rest still come out', async () => {
  const b = new ReportBuilder();
  b.registerSection('First', () => 'one');
  b.registerSection('Broken', () => {
    throw new Error('the generator blew up');
  });
  b.registerSection('Async', async () => ({ text: ['a', 'b'], data: { n: 2 } }));
  b.registerSection('Rejects', () => Promise.reject(new TypeError('nope')));
  b.registerSection('Last', () => ['x']);
  b.registerSection('First', () => 'one again'); // replaces, keeps its place
  const r = await b.build();
  const text = reportText(r);
  const parsed = parseReport(text);
  assert.deepEqual(parsed.map((s) => s.title), ['First', 'Broken', 'Async', 'Rejects', 'Last']);
  assert.equal(parsed[0]!.body, 'one again');
  assert.match(parsed[1]!.body, /section "Broken" failed: the generator blew up/);
  assert.equal(parsed[2]!.body, 'a\nb');
  assert.match(parsed[3]!.body, /failed: nope/);
  assert.equal(parsed[4]!.body, 'x');
  const j = reportJson(r);
  assert.deepEqual(j.sections[2]!.data, { n: 2 });
  assert.equal(j.sections[1]!.error, 'the generator blew up');
});

test('a section that never finishes times out in place', async () => {
  const b = new ReportBuilder();
  b.registerSection('Hangs', () => new Promise<string>(() => {}));
  b.registerSection('After', () => 'still here');
  const r = await b.build(200);
  assert.match(r.sections[0]!.text, /did not finish within 200 ms/);
  assert.equal(r.sections[1]!.text, 'still here');
});

test('configuration: each option says where it came from; secrets are ***', () => {
  const args = {
    _: ['run'],
    $0: 'procd',
    interval: 0.5,
    grace: 7,
    node: 'n1',
    'http-token': 's3cret-token',
    httpToken: 's3cret-token',
    'hmac-key': 'k3y',
    'db-password': 'pw',
    'log-level': 'info',
    logLevel: 'info',
  };
  const opts = effectiveOptions(args, ['run', '--interval', '0.5', '--http-token=s3cret-token', '--hmac-key', 'k3y'], { PROCD_GRACE: '7', PROCD_DB_PASSWORD: 'pw', OTHER: 'x' });
  const by = Object.fromEntries(opts.map((o) => [o.name, o]));
  assert.deepEqual(Object.keys(by).sort(), ['db-password', 'grace', 'hmac-key', 'http-token', 'interval', 'log-level', 'node']);
  assert.deepEqual(by.interval, { name: 'interval', value: 0.5, source: 'flag' });
  assert.deepEqual(by.grace, { name: 'grace', value: 7, source: 'env PROCD_GRACE' });
  assert.deepEqual(by.node, { name: 'node', value: 'n1', source: 'default' });
  assert.equal(by['http-token']!.value, '***');
  assert.equal(by['hmac-key']!.value, '***');
  assert.deepEqual(by['db-password'], { name: 'db-password', value: '***', source: 'env PROCD_DB_PASSWORD' });
  assert.ok(!JSON.stringify(opts).includes('s3cret'));
});

test('command lines shown in reports have secret flag values masked', () => {
  assert.deepEqual(maskCommandLine(['procd', 'run', '--token', 'abc', '--hmac-key=def', '--node', 'n1', '--api-secret', 'x y']), ['procd', 'run', '--token', '***', '--hmac-key=***', '--node', 'n1', '--api-secret', '***']);
});

test('report files are named procd_gurumeditation_<YYYYmmddHHMMSS> and never clobbered', async () => {
  const dir = tempDir('gmr');
  const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
  const a = await writeReportFile(dir, 'first', at);
  const b = await writeReportFile(dir, 'second', at);
  assert.deepEqual(readdirSync(dir).sort(), ['procd_gurumeditation_20260102030405', 'procd_gurumeditation_20260102030405.1']);
  assert.equal(readFileSync(a, 'utf8'), 'first');
  assert.equal(readFileSync(b, 'utf8'), 'second');
});

test("a feature's section registered before the report comes after the report's own sections", async () => {
  const b = new ReportBuilder();
  b.registerSection('Journal', () => 'events: 0');
  b.registerSection('Package', () => 'p', { core: true });
  b.registerSection('Threads', () => 't', { core: true });
  b.registerSection('Tracing', () => 'spans: 0');
  b.registerSection('Package', () => 'p2'); // replacing keeps core and place
  assert.deepEqual(b.titles(), ['Package', 'Threads', 'Journal', 'Tracing']);
  assert.equal((await b.build()).sections[0]!.text, 'p2');
});

test('reportBuilderFor(daemon): sections added by other features appear after the core ones of that daemon', async () => {
  const daemon = new Daemon({ node: 'n1', interval: 1, grace: 5, wrapper: DEFAULT_WRAPPER, wrapperTimeout: 30, logLevel: 'silent', socket: '' }, pino({ level: 'silent' }));
  reportBuilderFor(daemon).registerSection('Journal', () => 'events: 3');
  const svc = new ReportService(daemon, { intervalS: 1, testHooks: false }, []);
  reportBuilderFor(daemon).registerSection('Broken', () => {
    throw new Error('journal store closed');
  });
  const r = await svc.build();
  assert.deepEqual(r.sections.map((s) => s.title), [...SECTIONS, 'Journal', 'Broken']);
  assert.equal(r.sections.find((s) => s.title === 'Journal')!.text, 'events: 3');
  assert.match(r.sections.at(-1)!.text, /failed: journal store closed/);
  assert.match(r.sections.find((s) => s.title === 'Threads')!.text, /watchdog: not running/);
  await svc.stop();
});

test('Fail-counts: the last written value and the outcome of the last report, per resource and node', () => {
  const l = new FailcountLedger();
  const ids = { failureId: 'f1', resource: 'w', failResource: 'app', node: 'n1' };
  l.consume({ kind: 'failcount-written', time: 1_700_000_000_000_000, ...ids, attribute: 'fail-count-app#asyncmon_0', value: 1 });
  l.consume({ kind: 'failure-reported', time: 1_700_000_000_100_000, ...ids, attempts: 1, totalMs: 12 });
  l.consume({ kind: 'report-failed', time: 1_700_000_100_000_000, ...ids, failureId: 'f2', failResource: 'db', attempts: 3, error: 'crm_resource: no cluster' });
  const out = l.section() as { text: string };
  const lines = out.text.split('\n');
  assert.match(lines[0]!, /^RESOURCE\s+NODE\s+LAST WRITTEN\s+WRITTEN AT\s+LAST OUTCOME\s+REPORTED\s+FAILED\s+ERROR$/);
  assert.match(lines[1]!, /^app\s+n1\s+fail-count-app#asyncmon_0=1\s+2023-11-14T22:13:20\.000Z\s+reported\s+1\s+0$/);
  assert.match(lines[2]!, /^db\s+n1\s+-\s+-\s+report-failed\s+0\s+1\s+crm_resource: no cluster$/);
});
