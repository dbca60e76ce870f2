import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, closeSync, openSync, writeFileSync } from 'node:fs';
import koffi from 'koffi';
import { join } from 'node:path';
import { runProgram, spawnMethod, SPAWN_NODE_ENV, type RunOptions } from '../../src/failover/spawn.js';
import { tempDir, writeScript } from '../helpers/wrappers.js';

const GLIBC_INTERNAL = (1n << 31n) | (1n << 32n);
const dup = koffi.load('libc.so.6').func('int dup(int fd)') as (fd: number) => number;

const opts = (over: Partial<RunOptions> = {}): RunOptions => ({ env: { PATH: '/usr/bin:/bin' }, timeoutMs: 10_000, killAfterMs: 500, maxBuffer: 1024 * 1024, ...over });

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// Both ways of starting a program must keep the same contract: posix_spawn (the default) and
// Node's child_process (the fallback when koffi cannot load libc).
for (const method of ['posix_spawn', 'child_process'] as const) {
  const using = (fn: () => Promise<void>) => async () => {
    if (method === 'child_process') process.env[SPAWN_NODE_ENV] = '1';
    else delete process.env[SPAWN_NODE_ENV];
    try {
      assert.equal(spawnMethod(), method);
      await fn();
    } finally {
      delete process.env[SPAWN_NODE_ENV];
    }
  };

  test(`${method}: argv as data, exactly the given environment, stdin /dev/null, default signals, no leaked fds`, using(async () => {
    const dir = tempDir('spawn');
    const w = writeScript(
      dir,
      'w',
      `printf '%s\\n' "$@"
env | sort
echo "stdin=$(readlink /proc/$$/fd/0)"
grep -E '^Sig(Ign|Blk):' /proc/$$/status
for f in /proc/$$/fd/*; do [ "\${f##*/}" -gt 2 ] && [ -e "$f" ] && ! [ "$f" -ef "$0" ] && echo "leaked fd \${f##*/}"; done
echo "to stderr" >&2
exit 7`,
    );
    let startedPid = 0;
    const evil = `a b;$(touch ${dir}/pwned)'"\n`;
    // A descriptor the daemon opened the Node way (close-on-exec) never reaches the wrapper; with
    // posix_spawn not even one opened without close-on-exec (dup(2) through koffi) does.
    writeFileSync(join(dir, 'held'), '');
    const nodeFd = openSync(join(dir, 'held'), 'r');
    const rawFd = method === 'posix_spawn' ? dup(nodeFd) : -1;
    let r;
    try {
      r = await runProgram(w, ['--x', evil], opts({ env: { PATH: '/usr/bin:/bin', ONLY: 'this' }, onStart: (pid) => (startedPid = pid) }));
    } finally {
      closeSync(nodeFd);
      if (rawFd >= 0) closeSync(rawFd);
    }
    assert.equal(r.startError, undefined);
    assert.equal(r.exitCode, 7);
    assert.equal(r.signal, undefined);
    assert.equal(r.timedOut, false);
    assert.equal(r.pid, startedPid);
    assert.ok(startedPid > 0);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], '--x');
    assert.equal(lines.slice(1, 3).join('\n'), evil.replace(/\n$/, '\n'), 'the argument arrives byte for byte');
    const env = lines.filter((l) => /^[A-Z_]+=/.test(l) && !l.startsWith('PWD=') && !l.startsWith('SHLVL=') && !l.startsWith('_='));
    assert.deepEqual(env, ['ONLY=this', 'PATH=/usr/bin:/bin']);
    assert.ok(lines.includes('stdin=/dev/null'), r.stdout);
    // The daemon ignores SIGPIPE; the wrapper must not. glibc's posix_spawn leaves its two
    // internal signals (32, 33) ignored for the exec, which every glibc program resets at start.
    const ignored = BigInt('0x' + lines.find((l) => l.startsWith('SigIgn:'))!.split('\t')[1]);
    assert.equal(ignored & ~GLIBC_INTERNAL, 0n, `no signal stays ignored: ${r.stdout}`);
    assert.ok(lines.includes('SigBlk:\t0000000000000000'), r.stdout);
    assert.ok(lines.includes(`leaked fd ${nodeFd}`) === false, r.stdout);
    if (method === 'posix_spawn') assert.deepEqual(lines.filter((l) => l.startsWith('leaked')), [], `the dup'd fd ${rawFd} and any other: ${r.stdout}`);
    assert.equal(r.stderr, 'to stderr\n');
    assert.throws(() => chmodSync(join(dir, 'pwned'), 0o600));
  }));

  test(`${method}: a program ended by a signal reports it`, using(async () => {
    const dir = tempDir('spawn');
    const r = await runProgram(writeScript(dir, 'w', 'kill -USR1 $$'), [], opts());
    assert.equal(r.exitCode, undefined);
    assert.equal(r.signal, 'SIGUSR1');
  }));

  test(`${method}: past the timeout SIGTERM, and SIGKILL for one that ignores it`, using(async () => {
    const dir = tempDir('spawn');
    const t0 = performance.now();
    const r = await runProgram(writeScript(dir, 'w', `trap '' TERM; echo $$; while :; do sleep 0.05; done`), [], opts({ timeoutMs: 300, killAfterMs: 300 }));
    assert.equal(r.timedOut, true);
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(performance.now() - t0 < 8000);
    assert.equal(alive(Number(r.stdout.trim())), false);
  }));

  test(`${method}: more output than maxBuffer is read to the end; the head of stdout and the tail of stderr are kept`, using(async () => {
    const dir = tempDir('spawn');
    const r = await runProgram(writeScript(dir, 'w', `seq 1 200000; seq 1 200000 >&2; echo last-line >&2`), [], opts({ maxBuffer: 1000 }));
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout.length, 1000);
    assert.ok(r.stdout.startsWith('1\n2\n3\n'));
    assert.equal(r.stderr.length, 1000);
    assert.ok(r.stderr.endsWith('200000\nlast-line\n'));
  }));

  test(`${method}: a child left holding the pipes does not hold the run`, using(async () => {
    const dir = tempDir('spawn');
    const t0 = performance.now();
    const r = await runProgram(writeScript(dir, 'w', 'sleep 30 & echo $!; exit 0'), [], opts());
    try {
      assert.equal(r.exitCode, 0);
      assert.ok(performance.now() - t0 < 10_000, 'returned long before the sleep ends');
    } finally {
      process.kill(Number(r.stdout.trim()), 'SIGKILL');
    }
  }));

  test(`${method}: a program that cannot be started says why, naming it`, using(async () => {
    const dir = tempDir('spawn');
    const missing = await runProgram(join(dir, 'nope'), [], opts());
    assert.equal(missing.pid, undefined);
    assert.match(missing.startError!, new RegExp(`${join(dir, 'nope')} ENOENT`));
    const plain = join(dir, 'not-executable');
    writeFileSync(plain, '#!/bin/sh\nexit 0\n');
    const noexec = await runProgram(plain, [], opts());
    assert.match(noexec.startError!, /EACCES/);
  }));

  test(`${method}: many programs at once are each reaped with their own status`, using(async () => {
    const dir = tempDir('spawn');
    const w = writeScript(dir, 'w', 'exit "$1"');
    const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => runProgram(w, [String(i)], opts())));
    assert.deepEqual(rs.map((r) => r.exitCode), Array.from({ length: 30 }, (_, i) => i));
  }));
}
