import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { errorLine } from '../errors.js';
import { BAR, sectionText } from './layout.js';

/** What a section generator returns: text (or lines), optionally with data for `--json`. */
export type SectionOutput = string | string[] | { text: string | string[]; data?: unknown };
/** Builds one section's body; may be async (and should yield on long work: detection shares the thread). */
export type SectionGenerator = () => SectionOutput | Promise<SectionOutput>;

export interface BuiltSection {
  title: string;
  text: string;
  data?: unknown;
  /** Set when the generator threw or timed out: the text then says so. */
  error?: string;
  /** Milliseconds the section took (wall time, including awaits). */
  ms?: number;
}

export interface Report {
  /** Milliseconds since the epoch when building started. */
  createdAt: number;
  pid: number;
  sections: BuiltSection[];
  /** Wall time spent building, in milliseconds. */
  buildMs: number;
}

/** Marks the report's own timers, which the Green Threads section leaves out. */
export const REPORT_INTERNAL = Symbol.for('procd.report.internal');

/** Milliseconds a section may take before its place says it timed out (the rest still comes out). */
export const SECTION_TIMEOUT_MS = 5000;

function asText(t: string | string[]): string {
  return Array.isArray(t) ? t.join('\n') : t;
}

/**
 * The Guru Meditation Report: sections in the order they were registered. Each later feature
 * (journal, tracing, virtual filesystem) adds its own with `registerSection(title, generator)`.
 * Building yields to the event loop between sections, so detection keeps its turn; a section
 * that throws shows its error in its place and the others still come out.
 */
export class ReportBuilder {
  private sections: { title: string; generate: SectionGenerator; core: boolean }[] = [];

  /**
   * Adds a section at the end (or replaces the generator of a section with the same title,
   * keeping its place). `core` sections (the report's own: Package ... Detection) always come
   * before the others, whoever registered first.
   */
  registerSection(title: string, generate: SectionGenerator, opts: { core?: boolean } = {}): this {
    const i = this.sections.findIndex((s) => s.title === title);
    const entry = { title, generate, core: opts.core ?? (i >= 0 ? this.sections[i]!.core : false) };
    if (i >= 0) this.sections[i] = entry;
    else if (entry.core) {
      const firstOther = this.sections.findIndex((s) => !s.core);
      this.sections.splice(firstOther < 0 ? this.sections.length : firstOther, 0, entry);
    } else this.sections.push(entry);
    return this;
  }

  titles(): string[] {
    return this.sections.map((s) => s.title);
  }

  async build(timeoutMs = SECTION_TIMEOUT_MS): Promise<Report> {
    const createdAt = Date.now();
    const t0 = performance.now();
    const out: BuiltSection[] = [];
    for (const s of this.sections) {
      await yieldToLoop();
      const t = performance.now();
      const built = await runSection(s.title, s.generate, timeoutMs);
      built.ms = performance.now() - t;
      out.push(built);
    }
    return { createdAt, pid: process.pid, sections: out, buildMs: performance.now() - t0 };
  }
}

async function runSection(title: string, generate: SectionGenerator, timeoutMs: number): Promise<BuiltSection> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`section did not finish within ${timeoutMs} ms`)), timeoutMs);
      (timer as unknown as Record<symbol, boolean>)[REPORT_INTERNAL] = true;
    });
    const r = await Promise.race([Promise.resolve().then(generate), timeout]);
    if (typeof r === 'string' || Array.isArray(r)) return { title, text: asText(r) };
    return { title, text: asText(r.text), ...(r.data !== undefined ? { data: r.data } : {}) };
  } catch (e) {
    const where = e instanceof Error && e.stack ? e.stack.split('\n').slice(1, 4).map((l) => `  ${l.trim()}`) : [];
    return { title, text: [`!! section ${JSON.stringify(title)} failed: ${errorLine(e)}`, ...where].join('\n'), error: errorLine(e) };
  } finally {
    clearTimeout(timer);
  }
}

/** The report as text in the oslo.reports layout. */
export function reportText(r: Report): string {
  return r.sections.map((s) => sectionText(s.title, s.text)).join('') + (r.sections.length ? '' : `${BAR}\n`);
}

/** The report as JSON-ready data (`procd report --json`). */
export function reportJson(r: Report) {
  return {
    createdAt: new Date(r.createdAt).toISOString(),
    pid: r.pid,
    buildMs: Math.round(r.buildMs * 10) / 10,
    sections: r.sections.map((s) => ({ title: s.title, ms: Math.round((s.ms ?? 0) * 10) / 10, text: s.text, ...(s.data !== undefined ? { data: s.data } : {}), ...(s.error ? { error: s.error } : {}) })),
  };
}
