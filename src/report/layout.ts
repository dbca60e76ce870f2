/** The oslo.reports text layout: a 72-character `=` bar, the centred title, a bar, the body. */
export const WIDTH = 72;
export const BAR = '='.repeat(WIDTH);

/** `====  Title  ====` centred in 72 characters (as oslo.reports' SectionView does). */
export function centredTitle(title: string): string {
  const inner = `  ${title}  `;
  const left = Math.max(4, Math.floor((WIDTH - inner.length) / 2));
  const right = Math.max(4, WIDTH - inner.length - left);
  return '='.repeat(left) + inner + '='.repeat(right);
}

/** One section: bar, centred title, bar, then the body lines. */
export function sectionText(title: string, body: string): string {
  return `${BAR}\n${centredTitle(title)}\n${BAR}\n${body.replace(/\n+$/, '')}\n`;
}

/** Lines of `key = value`, keys padded to the longest (oslo's KeyValueView, flattened). */
export function keyValues(rows: [string, unknown][], indent = ''): string {
  const w = Math.max(0, ...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${indent}${k.padEnd(w)} = ${v === undefined || v === null ? '' : String(v)}`).join('\n');
}

/** A plain text table with a header row; columns padded to their widest cell. */
export function table(header: string[], rows: (string | number)[][], indent = ''): string {
  const cells = [header, ...rows.map((r) => r.map((c) => String(c)))];
  const w = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(w[i]!))).join('  ').trimEnd()).join('\n');
}

/** An ISO time (UTC, milliseconds) from microseconds or milliseconds since the epoch. */
export function isoFromUs(us: number | null | undefined): string {
  if (us === null || us === undefined) return '-';
  return new Date(us / 1000).toISOString();
}

/** "1.2 s" / "340 ms" for a duration in milliseconds. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (Math.abs(ms) >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (Math.abs(ms) >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
}
