/** The real `promtool check metrics` (Debian package `prometheus`), for exposition tests. */
import { spawnSync } from 'node:child_process';


/**
 * Whether the promtool and prometheus binaries can run here. Missing, this throws in CI (CI=true)
 * and elsewhere says once, for `suite`, that it is skipped.
 */
export function requirePrometheusTools(suite: string, binaries: readonly string[] = ['promtool']): boolean {
  const missing = binaries.filter((b) => spawnSync(b, ['--version']).status !== 0);
  if (missing.length === 0) return true;
  if (process.env.CI) throw new Error(`${missing.join(', ')} missing: .ci/run must install Debian package prometheus`);
  console.warn(`${suite}: ${missing.join(', ')} not installed (apt-get install prometheus): skipped`);
  return false;
}
