/** Option names (and argv flags) whose values are secrets: shown as `***`. */
const SECRET = /token|key|secret|passw(or)?d|hmac|credential|auth/i;
export const MASK = '***';

export function isSecretName(name: string): boolean {
  return SECRET.test(name);
}

export type OptionSource = 'flag' | 'default' | `env ${string}`;
export interface EffectiveOption {
  name: string;
  value: unknown;
  source: OptionSource;
}

const kebab = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
const envName = (opt: string) => `PROCD_${opt.replace(/-/g, '_').toUpperCase()}`;

/**
 * Every effective option of a parsed yargs object and where it came from: a flag on the
 * command line, an environment variable PROCD_<FLAG> (yargs `.env('PROCD')`), or the default.
 * Secrets come out as `***`. Only the option variables are looked at, never the rest of the
 * environment.
 */
export function effectiveOptions(args: Record<string, unknown>, argv: string[], env: NodeJS.ProcessEnv): EffectiveOption[] {
  const flags = new Set<string>();
  for (const a of argv) {
    if (a === '--') break;
    const m = /^--(?:no-)?([^=]+)/.exec(a);
    if (m) flags.add(kebab(m[1]!));
  }
  const out: EffectiveOption[] = [];
  for (const [k, v] of Object.entries(args)) {
    if (k === '_' || k === '$0' || /[A-Z]/.test(k) && kebab(k) in args) continue;
    const name = kebab(k);
    const source: OptionSource = flags.has(name) ? 'flag' : env[envName(name)] !== undefined ? `env ${envName(name)}` : 'default';
    out.push({ name, value: isSecretName(name) && v !== undefined && v !== '' ? MASK : v, source });
  }
  // Option names are ASCII: a plain comparison (localeCompare loads ICU's collation data, ~3 MB RSS for the daemon's life).
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A command line with the values of secret flags masked: `--token x` and `--token=x` become `--token ***`. */
export function maskCommandLine(words: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const m = /^(--?[^=\s]+)=(.*)$/.exec(w);
    if (m && isSecretName(m[1]!)) {
      out.push(`${m[1]}=${MASK}`);
    } else if (/^--?[A-Za-z]/.test(w) && isSecretName(w) && i + 1 < words.length && !words[i + 1]!.startsWith('-')) {
      out.push(w, MASK);
      i++;
    } else {
      out.push(w);
    }
  }
  return out;
}
