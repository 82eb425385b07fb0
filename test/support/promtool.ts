/** The real `promtool check metrics` (Debian package `prometheus`), for exposition tests. */
import { spawnSync } from 'node:child_process';

/**
 * Lints an exposition; returns promtool's complaints ('' when clean). Where promtool is missing
 * this throws in CI (CI=true: .ci/run must install it) and returns undefined elsewhere, after
 * saying so once.
 */
export function promtoolCheck(text: string): string | undefined {
  if (spawnSync('promtool', ['--version']).status !== 0) {
    if (process.env.CI) throw new Error('promtool is missing: .ci/run must install Debian package prometheus');
    console.warn('promtool not installed (apt-get install prometheus): lint not run');
    return undefined;
  }
  const out = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return `${out.stdout}${out.stderr}${out.status === 0 ? '' : `(exit ${out.status})`}`;
}
