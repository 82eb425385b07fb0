/** The real `promtool` (Debian package `prometheus`), for exposition and rule tests. */
import { spawnSync } from 'node:child_process';
import { expositionComplaints } from './exposition-invariant.js';

/**
 * The whole exposition invariant (exposition-invariant.ts), `promtool check metrics` included:
 * '' when `text` holds it, else every violation. Kept under this name for suites written when it
 * ran promtool alone; new code calls expositionComplaints or the scrape helpers of scrape.ts.
 */
export function promtoolCheck(text: string): string | undefined {
  return expositionComplaints(text);
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
