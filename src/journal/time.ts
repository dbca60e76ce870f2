/** Parses a duration like `500ms`, `30s`, `10m`, `2h`, `7d` into milliseconds; null when malformed. */
export function parseDurationMs(s: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(s.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return n * unit;
}

/**
 * A point in time for `since`/`until`: a duration back from now (`10m`, `2h`, `1d`) or an ISO
 * 8601 date (`2026-01-31`, `2026-01-31T12:00:00Z`). Returns microseconds since the epoch, or
 * null when the text is neither.
 */
export function parseTimeUs(s: string, nowMs = Date.now()): number | null {
  const d = parseDurationMs(s);
  if (d !== null) return Math.round((nowMs - d) * 1000);
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(s.trim())) return null;
  const t = Date.parse(s.trim());
  return Number.isFinite(t) ? t * 1000 : null;
}

/** µs since the epoch → ISO 8601 with microseconds (`2026-01-31T12:00:00.123456Z`). */
export function isoUs(us: number): string {
  const ms = Math.floor(us / 1000);
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 23)}${String(Math.floor(us) % 1000).padStart(3, '0')}Z`;
}
