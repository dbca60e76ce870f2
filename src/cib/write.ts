import { closeSync, constants, fchownSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { errorLine } from '../errors.js';
import { ERR_CIB_LOCK, ERR_CIB_WRITE } from './errors.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `fn` holding an exclusive lock on `path`: a lock file `<path>.lock` created with O_EXCL
 * holding the owner's pid. A lock whose owner is dead (a crashed writer) is broken; a live one
 * is waited for, up to `timeoutMs`. All of procd's writers (daemon, wrapper, CLI) use it.
 */
export async function withCibLock<T>(path: string, fn: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  const lock = `${path}.lock`;
  const deadline = Date.now() + timeoutMs;
  let fd: number | null = null;
  for (let wait = 2; fd === null; wait = Math.min(50, wait * 2)) {
    try {
      fd = openSync(lock, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
      writeSync(fd, `${process.pid}\n`);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw ERR_CIB_LOCK(path, `cannot create lock file ${lock}: ${errorLine(e)}`);
      let owner = NaN;
      try {
        owner = Number(readFileSync(lock, 'utf8').trim());
      } catch {
        continue; // released meanwhile
      }
      if (Number.isInteger(owner) && owner > 0 && !alive(owner)) {
        // Break a stale lock only if it still names the dead owner.
        try {
          if (Number(readFileSync(lock, 'utf8').trim()) === owner) unlinkSync(lock);
        } catch {
          /* someone else broke it */
        }
        continue;
      }
      if (Date.now() > deadline) throw ERR_CIB_LOCK(path, `locked by pid ${owner} (${lock}) for more than ${timeoutMs} ms`);
      await sleep(wait + Math.random() * wait);
    }
  }
  try {
    return await fn();
  } finally {
    closeSync(fd);
    try {
      unlinkSync(lock);
    } catch {
      /* gone */
    }
  }
}

function why(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EROFS') return 'read-only file system';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOSPC') return 'no space left on device';
  return errorLine(e);
}

/**
 * Replaces the file atomically: a temp file in the same folder, fsynced, with the original's
 * mode (and owner, as root), renamed over the original, then the folder fsynced. A crash at any
 * point leaves either the old or the new CIB, never a half-written one; on error the temp file
 * is removed and the original is untouched.
 */
export function writeFileAtomic(path: string, text: string) {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw ERR_CIB_WRITE(path, why(e));
  }
  if ((st.mode & 0o222) === 0) throw ERR_CIB_WRITE(path, `the file is read-only (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')})`);
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.procd-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | null = null;
  try {
    fd = openSync(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, st.mode & 0o7777);
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    if (process.getuid?.() === 0) fchownSync(fd, st.uid, st.gid);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== null) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* never created */
    }
    throw ERR_CIB_WRITE(path, why(e));
  }
  try {
    const dfd = openSync(dir, 'r');
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    /* some file systems cannot fsync a folder; the rename is done */
  }
}
