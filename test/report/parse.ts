/** Splits a Guru Meditation Report (oslo.reports layout) into its sections. */
export function parseReport(text: string): { title: string; body: string }[] {
  const bar = '='.repeat(72);
  const lines = text.split('\n');
  const out: { title: string; body: string[] }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(={4,})  (.+?)  (={4,})$/.exec(lines[i]!);
    if (lines[i - 1] === bar && m && lines[i]!.length === 72 && lines[i + 1] === bar) {
      out.at(-1)?.body.pop(); // the bar before this title
      out.push({ title: m[2]!, body: [] });
      i++;
      continue;
    }
    out.at(-1)?.body.push(lines[i]!);
  }
  return out.map((s) => ({ title: s.title, body: s.body.join('\n').replace(/\n+$/, '') }));
}

export const SECTIONS = ['Package', 'Threads', 'Green Threads', 'Processes', 'Configuration', 'Resources', 'Fail-counts', 'Detection'];
