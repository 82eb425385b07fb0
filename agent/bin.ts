#!/usr/bin/env node
/** The `multinet-agent` executable. */
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
