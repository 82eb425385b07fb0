/**
 * The generated docs are current and complete: docs/metrics.md and docs/flags.md equal what
 * `npm run docs` would write now, and every multinet_* family the agent is seen exporting — in
 * the golden /metrics bodies other suites check, and in every family name the exporters spell
 * out — is in the catalogue (kube-state-metrics keeps its docs honest the same way).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { metricCatalogue } from '../../scripts/docs/catalogue.js';
import { GENERATED, renderDocs, repoRoot } from '../../scripts/docs/render.js';

const ROOT = repoRoot();

/** Files under `dir` (relative to the root) whose names end with `ext`, recursively. */
function files(dir: string, ext: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(ext))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

describe('generated docs', () => {
  it.each(Object.values(GENERATED))('%s is current', async (file) => {
    const fresh = (await renderDocs()).get(file);
    const current = readFileSync(path.join(ROOT, file), 'utf8');
    expect(current === fresh, `${file} is stale: run \`npm run docs\``).toBe(true);
  });
});

describe('docs/metrics.md lists every family the agent exports', () => {
  const documented = readFileSync(path.join(ROOT, GENERATED.metrics), 'utf8');
  const inDoc = (name: string): boolean => documented.includes(`| \`${name}\` |`);

  // Real /metrics bodies: the built agent's end-to-end golden, the golden files of test/golden, the SR-IOV and filter suites.
  const bodies = [...files('test/e2e', '.prom'), ...files('test/golden', '.prom'), ...files('collectors', '.prom'), ...files('exporters', '.prom')];

  it('has golden bodies to read', () => {
    expect(bodies.length).toBeGreaterThanOrEqual(4);
  });

  it.each(bodies.map((b) => [path.relative(ROOT, b)] as const))('every # TYPE multinet_* of %s', (body) => {
    const types = [...readFileSync(path.join(ROOT, body), 'utf8').matchAll(/^# TYPE (multinet_[a-z0-9_]+) /gm)].map((m) => m[1] as string);
    expect(types.length).toBeGreaterThan(0);
    expect(types.filter((n) => !inDoc(n))).toEqual([]);
  });

  it('every family name spelled out in the exporters and the registry', () => {
    const sources = files('exporters', '.ts').filter((f) => !f.endsWith('.test.ts'));
    const names = new Set(sources.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/name: '(multinet_[a-z0-9_]+)'/g)].map((m) => m[1] as string)));
    expect(names.size).toBeGreaterThan(40);
    expect([...names].filter((n) => !inDoc(n))).toEqual([]);
  });

  it('the catalogue it is generated from covers both pod-series modes, web and kube families', async () => {
    const names = new Set((await metricCatalogue()).map((f) => f.name));
    for (const n of ['multinet_pod_interface_info', 'multinet_network_interfaces', 'multinet_web_auth_requests_total', 'multinet_web_tls_reloads_total', 'multinet_kube_cache_synced', 'multinet_events_total', 'multinet_build_info', 'multinet_sriov_vf_info', 'multinet_ipam_addresses_leaked']) {
      expect(names.has(n), n).toBe(true);
    }
  });
});
