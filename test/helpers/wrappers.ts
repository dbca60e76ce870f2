import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `procd-${tag}-`));
}

/** Writes an executable sh script into dir and returns its path. */
export function writeScript(dir: string, name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

/**
 * A wrapper that appends one JSON line per call to `log`: its argv and chosen environment.
 * It fails (exit 1) for the first `failFirst` calls, counted in `<log>.n`.
 */
export function recordingWrapper(dir: string, log: string, failFirst = 0): string {
  return writeScript(
    dir,
    'record-wrapper',
    `n=$(cat "${log}.n" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "${log}.n"
node -e 'const fs=require("fs");fs.appendFileSync(process.argv[1], JSON.stringify({argv:process.argv.slice(2), failureId:process.env.PROCD_FAILURE_ID, cib:process.env.PROCD_CIB, t:Date.now()})+"\\n")' "${log}" "$@"
if [ "$n" -le ${failFirst} ]; then echo "attempt $n fails on purpose" >&2; exit 1; fi
echo "fail-count-x#asyncmon_0=$n"`,
  );
}
