import { failoverBench } from './failover.js';
import { detectBench } from './detect.js';
import { scanBench } from './scan.js';
import { journalBench, sseBench } from './journal.js';
import { reportBench } from './report.js';

/** `npm run bench [-- NAME...]`: runs the named benchmarks (default: all) and prints a table each. */
const benches: Record<string, () => Promise<unknown>> = {
  scan: () => scanBench((process.env.PROCD_BENCH_SIZES ?? '1000,5000,10000').split(',').map(Number)),
  failover: () => failoverBench(),
  latency: () => detectBench(Number(process.env.PROCD_BENCH_KILLS ?? 200)),
  journal: () => journalBench(Number(process.env.PROCD_BENCH_EVENTS ?? 100_000)),
  sse: () => sseBench(Number(process.env.PROCD_BENCH_ROUNDS ?? 100)),
  report: () => reportBench((process.env.PROCD_BENCH_REPORT_SIZES ?? '10,100,1000').split(',').map(Number)),
};
/** Run only when named (`npm run bench:failover`): they need root and a real cluster. */
const onlyWhenNamed = new Set(['failover']);

const wanted = process.argv.slice(2);
for (const name of wanted) if (!benches[name]) {
  console.error(`bench: unknown benchmark ${name}; known: ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}
console.log(`procd benchmarks on ${(await import('node:os')).cpus().length} cores, node ${process.version}, ${new Date().toISOString()}\n`);
for (const [name, run] of Object.entries(benches)) if (wanted.includes(name) || (wanted.length === 0 && !onlyWhenNamed.has(name))) await run();
