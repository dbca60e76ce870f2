import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listPids, readStat, readState } from '../../src/proc/index.js';
import { tempDir } from '../helpers/wrappers.js';

test('readState agrees with readStat on every process of the real /proc', () => {
  let compared = 0;
  for (const pid of listPids()) {
    const full = readStat(pid);
    const lean = readState(pid);
    if (!full || !lean) continue; // gone in between
    if (full.starttime !== lean.starttime) continue; // pid reused in between (never in practice)
    assert.equal(lean.state, full.state, `pid ${pid}`);
    compared++;
  }
  assert.ok(compared > 10);
  assert.equal(readState(process.pid)?.state, 'R');
  assert.equal(readState(0x3fffffff), null);
});

test('readState parses after the last ")" (a comm with ") " and spaces) and rejects malformed text', () => {
  const root = tempDir('state');
  const write = (pid: number, text: string) => {
    mkdirSync(join(root, String(pid)));
    writeFileSync(join(root, String(pid), 'stat'), text);
  };
  const tail = (state: string, starttime: number) => `${state} 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 ${starttime} 1000 20 0`;
  write(7, `7 (evil) S 1 (x) y) ${tail('T', 4242)}\n`);
  assert.deepEqual(readState(7, root), { state: 'T', starttime: 4242 });
  write(8, `8 (ok) ${tail('Z', 99)}`);
  assert.deepEqual(readState(8, root), { state: 'Z', starttime: 99 });
  write(9, '9 (short) S 1 2');
  assert.equal(readState(9, root), null);
  write(10, 'garbage');
  assert.equal(readState(10, root), null);
});
