#!/usr/bin/env node
// Builds the live web page into dist/web (served by `procd run --http`): esbuild bundles
// web/app.ts (and the event-kind list it shares with the daemon) into one small file; the HTML
// and CSS are copied. No CDN: everything the page needs is in dist/web.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'dist/web');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'web/app.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  minify: true,
  sourcemap: false,
  logLevel: 'warning',
});
for (const f of ['index.html', 'app.css']) copyFileSync(join(root, 'web', f), join(out, f));
