import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cmdlineToString, listPids, parseStat, readCmdline, readStat } from '../../src/proc/index.js';

const tail = 'S 1 100 100 0 -1 4194560 500 0 0 0 7 3 0 0 20 0 1 0 123456 10000000 250 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0';

test('parseStat takes the fields after the LAST ")" (comm may hold ")" and spaces)', () => {
  const s = parseStat(`4242 (evil) S 9 (x) y) ${tail}\n`);
  assert.ok(s);
  assert.equal(s.pid, 4242);
  assert.equal(s.comm, 'evil) S 9 (x) y');
  assert.equal(s.state, 'S');
  assert.equal(s.ppid, 1);
  assert.equal(s.starttime, 123456);
  assert.equal(s.utime, 7);
  assert.equal(s.stime, 3);
});

test('parseStat rejects malformed text', () => {
  assert.equal(parseStat('garbage'), null);
  assert.equal(parseStat('12 (x) S 1 2'), null);
});

test('cmdline: NULs become spaces and the trailing NUL is dropped', () => {
  assert.equal(cmdlineToString(Buffer.from('postgres\0-D\0/data\0')), 'postgres -D /data');
  assert.equal(cmdlineToString(Buffer.from('postgres: writer process   ')), 'postgres: writer process   ');
  assert.equal(cmdlineToString(Buffer.from('a\0\0b\0')), 'a  b');
  assert.equal(cmdlineToString(Buffer.alloc(0)), '');
});

test('a fake /proc tree: listPids skips non-numeric entries; unreadable entries give null, never throw', () => {
  const root = mkdtempSync(join(tmpdir(), 'procd-fakeproc-'));
  for (const d of ['1', '77', 'self', 'sys', '300x']) mkdirSync(join(root, d));
  writeFileSync(join(root, '77', 'cmdline'), 'my\0daemon\0--flag\0');
  writeFileSync(join(root, '77', 'stat'), `77 (my daemon) ${tail}`);
  assert.deepEqual(listPids(root).sort((a, b) => a - b), [1, 77]);
  assert.equal(readCmdline(77, root), 'my daemon --flag');
  assert.equal(readStat(77, root)?.comm, 'my daemon');
  assert.equal(readCmdline(1, root), null);
  assert.equal(readStat(1, root), null);
  assert.equal(readStat(99999, root), null);
  assert.deepEqual(listPids(join(root, 'nope')), []);
});

test('the real /proc: our own process reads back', () => {
  const st = readStat(process.pid);
  assert.ok(st);
  assert.equal(st.pid, process.pid);
  assert.equal(st.state === 'R' || st.state === 'S', true);
  assert.ok(readCmdline(process.pid)!.includes(process.execPath.split('/').pop()!));
});
