import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string; name: string };
/** Package version from package.json (dist/src/version.js sits two levels below it). */
export const VERSION: string = pkg.version;
export const PACKAGE_ROOT: string = new URL('../../', import.meta.url).pathname;
