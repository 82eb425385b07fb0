#!/usr/bin/env node
/**
 * The lab's own entry point, for developers (`npm run lab -- up|traffic|down|status|pod add|pod del`,
 * as root). Not shipped: the production agent (dist/agent/app/bin.js) does not load lab/.
 */
import { runLab } from './cli.js';

runLab(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`lab: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
