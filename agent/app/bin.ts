#!/usr/bin/env -S node --max-semi-space-size=4
/**
 * The `multinet-agent` executable. V8's young generation is capped at 4 MB per semi-space (the
 * default grows to 16 MB). Measured with `npm run bench`: RSS 123 -> 93 MB on 750 links and
 * about 120 -> 94 MB with 250 pod namespaces, for a few ms more per scrape (2 MB cost twice the
 * CPU on 750 links). The shebang carries the flag; `npm start` and the image pass it too.
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
