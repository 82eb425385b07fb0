/** The metric catalogue as the README states it (its Metrics section), for tests of queries. */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;

/** Metric names of the README's Metrics section, `{a,b}` alternatives expanded. */
export function readmeMetricNames(): Set<string> {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Metrics'), readme.indexOf('\n## ', readme.indexOf('## Metrics') + 1));
  const expand = (s: string): string[] => {
    const m = /\{([^{}]*)\}/.exec(s);
    if (!m) return [s];
    return (m[1] as string).split(',').flatMap((alt) => expand(s.slice(0, m.index) + alt + s.slice(m.index + m[0].length)));
  };
  const names = new Set<string>();
  for (const m of section.matchAll(/`(multinet_[a-z_{},]+)`/g)) for (const n of expand(m[1] as string)) names.add(n);
  // "`multinet_pod_interface_up`, `_carrier`" style: a suffix continues the previous full name's stem.
  for (const m of section.matchAll(/`(multinet_[a-z_]+)`((?:, `_[a-z_{},]+`)+)/g)) {
    const stem = (m[1] as string).replace(/_[a-z]+$/, '');
    for (const s of (m[2] as string).matchAll(/`(_[a-z_{},]+)`/g)) for (const n of expand(stem + (s[1] as string))) names.add(n);
  }
  return names;
}
