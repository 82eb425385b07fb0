/**
 * How the property suites run fast-check: a fixed seed and a bounded count in `npm test`; under
 * `npm run fuzz`, FUZZ_RUNS cases per property (default 20,000) from FUZZ_SEED (default: random,
 * printed so a failure can be replayed with it).
 *
 * Time is never asserted (house rule): each property counts its work where it can (output size
 * against input size), and the slowest case's wall time is printed, as a figure.
 */
import fc from 'fast-check';

const FUZZING = process.env.npm_lifecycle_event === 'fuzz' || process.env.FUZZ_RUNS !== undefined;

/** The seed every property of this run uses. */
export const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : FUZZING ? (Date.now() ^ (process.pid << 8)) >>> 0 : 20_261_204;

/** Cases per property: `testRuns` in `npm test`, FUZZ_RUNS (default 20,000) under `npm run fuzz`. */
export function runs(testRuns: number): number {
  if (!FUZZING) return testRuns;
  return Number(process.env.FUZZ_RUNS ?? 20_000);
}

/** A per-property test timeout: generous under fuzzing, the suite default otherwise. */
export const TIMEOUT = FUZZING ? 3_600_000 : 30_000;

/**
 * Checks `property` with the run's seed and count; fails with fast-check's report (seed, path,
 * shrunk counterexample). Under fuzzing, or on failure, prints the seed, the count and the slowest case.
 */
export async function holds<Ts extends [unknown, ...unknown[]]>(name: string, arbs: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> }, predicate: (...args: Ts) => void | Promise<void>, testRuns = 150): Promise<void> {
  let slowestMs = 0;
  const timed = async (...args: Ts): Promise<void> => {
    const t0 = performance.now();
    try {
      await predicate(...args);
    } finally {
      slowestMs = Math.max(slowestMs, performance.now() - t0);
    }
  };
  const property = fc.asyncProperty(...([...arbs, timed] as unknown as Parameters<typeof fc.asyncProperty<Ts>>));
  const details = await fc.check(property, { seed: SEED, numRuns: runs(testRuns), endOnFailure: false });
  if (FUZZING || details.failed) console.log(`property ${name}: ${details.numRuns} cases, seed ${SEED}, slowest case ${slowestMs.toFixed(1)} ms${details.failed ? ' — FAILED' : ''}`);
  if (details.failed) {
    const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(`${fc.defaultReportMessage(details) ?? `property ${name} failed`}\nFailure of the shrunk case: ${cause}`);
  }
}
