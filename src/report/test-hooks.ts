/**
 * TEST-ONLY. Enabled only by the hidden flag --test-hooks (or PROCD_TEST_HOOKS=true); never in
 * production. Blocks the event loop on purpose so tests can check that the Threads section of
 * a report names the function that held the main thread.
 */
export function testOnlyBlockEventLoop(ms: number): number {
  const end = performance.now() + ms;
  let spins = 0;
  while (performance.now() < end) spins++;
  return spins;
}
