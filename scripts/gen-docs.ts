/**
 * `npm run docs`: writes docs/metrics.md and docs/flags.md from the code (see docs/render.ts).
 * `--check` writes nothing and exits 1 when a checked-in file differs from what would be written.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderDocs, repoRoot } from './docs/render.js';

const check = process.argv.includes('--check');
const root = repoRoot();
let stale = 0;
for (const [file, text] of await renderDocs()) {
  const target = path.join(root, file);
  let current: string | undefined;
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) continue;
  if (check) {
    stale++;
    process.stderr.write(`${file} is stale: run \`npm run docs\`\n`);
  } else {
    writeFileSync(target, text);
    process.stdout.write(`wrote ${file}\n`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
