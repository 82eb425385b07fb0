#!/usr/bin/env -S node --max-semi-space-size=4 --max-old-space-size=128 --v8-pool-size=1 --no-memory-reducer
/**
 * The `multinet-agent` executable. V8's young generation is capped at 4 MB per semi-space (the
 * default grows to 16 MB). Measured with `npm run bench`: RSS 123 -> 93 MB on 750 links and
 * about 120 -> 94 MB with 250 pod namespaces, for a few ms more per scrape (2 MB cost twice the
 * CPU on 750 links). The old generation is capped at 128 MB (issue 17): V8 otherwise lets the heap
 * grow well past what it needs before collecting, and the realistic 250-pod case peaked at
 * 243-286 MB RSS, over the chart's 256Mi limit; with the cap V8 collects sooner (100 realistic pods:
 * peak 134-147 -> 109 MB with a 96 MB cap, no more CPU per scrape). V8 gets one background
 * thread instead of Node's four (--v8-pool-size=1): its GC helpers took about a third of a
 * scrape's CPU on this 2-core machine, competing with the main thread rather than relieving it;
 * with one, the 250-pod lab ran about 5 MB lower after a scrape and a few per cent less CPU per
 * scrape and at idle (docs/performance.md). V8's memory reducer is off (--no-memory-reducer): 8 s
 * after each scrape it ran up to three compacting collections to hand the heap back, and the next
 * scrape grew it again; at a 15 s interval that was most of the agent's idle CPU (lab: idle 9.3 ->
 * 2.7 ms/s) for memory lent out for a few seconds. RSS after a scrape and its peak are unchanged;
 * between scrapes it now stays there (about 90 MB at 250 realistic pods) instead of dipping to
 * about 79. The shebang carries the flags; `npm start` and the image pass them too
 * (test/docs/runtime-settings.test.ts).
 */
import { runCli } from './main.js';

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`multinet-agent: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
