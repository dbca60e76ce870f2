/**
 * Every error a user can cause is a named, coded constant (after fastify's errors):
 * the code is part of the interface, greppable and testable. The message is one line
 * that says what and where. `exitCode` is what the CLI exits with.
 */
export class ProcdError extends Error {
  readonly code: string;
  readonly exitCode: number;
  readonly statusCode: number;
  constructor(code: string, message: string, opts: { exitCode?: number; statusCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ProcdError';
    this.code = code;
    this.exitCode = opts.exitCode ?? 1;
    this.statusCode = opts.statusCode ?? 500;
  }
}

type Factory<A extends unknown[]> = ((...args: A) => ProcdError) & { code: string };

/** Declares a coded error: `const E = defineError('PROCD_X', (a) => `...${a}`)`; `throw E(a)`. */
export function defineError<A extends unknown[]>(
  code: string,
  message: (...args: A) => string,
  opts: { exitCode?: number; statusCode?: number } = {},
): Factory<A> {
  const f = ((...args: A) => new ProcdError(code, message(...args), opts)) as Factory<A>;
  f.code = code;
  return f;
}

export function isProcdError(e: unknown, code?: string): e is ProcdError {
  return e instanceof ProcdError && (code === undefined || e.code === code);
}

/** One line for a person: the message of a ProcdError, or the message of anything else. */
export function errorLine(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0] ?? String(e);
  return String(e);
}

export const ERR_BAD_FLAG = defineError('PROCD_BAD_FLAG', (flag: string, why: string) => `${flag}: ${why}`, { exitCode: 2, statusCode: 400 });
export const ERR_EMPTY_PREFIX = defineError(
  'PROCD_EMPTY_PREFIX',
  (where: string) => `${where}: the process prefix is empty or whitespace only`,
  { exitCode: 2, statusCode: 400 },
);
