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

/**
 * Whether the promtool and prometheus binaries can run here. Missing, this throws in CI (CI=true)
 * and elsewhere says once, for `suite`, that it is skipped.
 */
export function requirePrometheusTools(suite: string, binaries: readonly string[] = ['promtool']): boolean {
  const missing = binaries.filter((b) => spawnSync(b, ['--version']).status !== 0);
  if (missing.length === 0) return true;
  const pkgs = [...new Set(missing.map((b) => (b === 'alertmanager' || b === 'amtool' ? 'prometheus-alertmanager' : 'prometheus')))].join(' ');
  if (process.env.CI) throw new Error(`${missing.join(', ')} missing: .ci/run must install Debian package ${pkgs}`);
  console.warn(`${suite}: ${missing.join(', ')} not installed (apt-get install ${pkgs}): skipped`);
  return false;
}
