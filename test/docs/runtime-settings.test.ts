/**
 * The agent's V8 flags and malloc setting are written in four places — the image's ENTRYPOINT and
 * ENV, `npm start`, the executable's shebang, and the bench (which also starts the soak and the
 * production-install test) — because each starts node its own way. They must say the same thing:
 * a figure measured by the bench is only the image's figure if the image runs the agent as the
 * bench did.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/docs/render.js';
import { DEFAULT_AGENT_ENV, DEFAULT_AGENT_NODE_FLAGS } from '../bench/exporters.js';

const ROOT = repoRoot();
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');
const ENTRY = 'dist/agent/app/bin.js';

/** The words between the node executable and the agent's entry point. */
function flagsBefore(words: readonly string[], entry: string): string[] {
  const node = words.findIndex((w) => w === 'node' || w.endsWith('/node'));
  const end = words.indexOf(entry);
  if (node < 0 || end < node) throw new Error(`no "node ... ${entry}" in ${words.join(' ')}`);
  return words.slice(node + 1, end);
}

describe('the agent runs with the same V8 flags and malloc setting everywhere', () => {
  const dockerfile = read('Dockerfile');

  it('the image ENTRYPOINT', () => {
    const line = dockerfile.split('\n').find((l) => l.startsWith('ENTRYPOINT '));
    const words = JSON.parse((line ?? '').slice('ENTRYPOINT '.length)) as string[];
    expect(flagsBefore(words, ENTRY)).toEqual(DEFAULT_AGENT_NODE_FLAGS);
  });

  it('npm start', () => {
    const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start ?? '';
    expect(flagsBefore(start.split(/\s+/), ENTRY)).toEqual(DEFAULT_AGENT_NODE_FLAGS);
    for (const [name, value] of Object.entries(DEFAULT_AGENT_ENV)) expect(start).toContain(`${name}=\${${name}:-${value}}`);
  });

  it('the executable\'s shebang', () => {
    const shebang = read('agent/app/bin.ts').split('\n')[0] ?? '';
    expect(shebang.startsWith('#!/usr/bin/env -S node ')).toBe(true);
    expect(shebang.split(/\s+/).slice(3)).toEqual(DEFAULT_AGENT_NODE_FLAGS);
  });

  it('the image ENV', () => {
    for (const [name, value] of Object.entries(DEFAULT_AGENT_ENV)) expect(dockerfile.split('\n')).toContain(`ENV ${name}=${value}`);
  });

  it('this node takes the flags (a flag it does not know stops it with "bad option")', () => {
    expect(() => execFileSync(process.execPath, [...DEFAULT_AGENT_NODE_FLAGS, '-e', '0'], { stdio: 'pipe' })).not.toThrow();
  });
});
