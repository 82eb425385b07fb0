/**
 * chart/dashboards/multinet.json as Grafana loads it from the chart's ConfigMap: schema version,
 * the datasource as a variable everywhere, the node and network variables, a layout without
 * overlaps, and every series a query names exists — in the metric catalogue (docs/metrics.md) or as a
 * recording rule of chart/rules. (That each query parses and returns data is proven against a
 * real Prometheus in test/integration/prometheus-lab.test.ts.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { catalogueMetricNames } from '../support/metric-catalogue.js';

const ROOT = new URL('../../', import.meta.url).pathname;

interface Target {
  refId: string;
  expr: string;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
interface Variable {
  type: string;
  name: string;
  query?: string | { query: string };
  datasource?: { type: string; uid: string };
  includeAll?: boolean;
  multi?: boolean;
}
const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'chart/dashboards/multinet.json'), 'utf8')) as { schemaVersion: number; uid: string; title: string; panels: Panel[]; templating: { list: Variable[] } };
const panels = dashboard.panels.filter((p) => p.type !== 'row');
const targets = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));

const records = new Set(
  readdirSync(path.join(ROOT, 'chart/rules'))
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => (parse(readFileSync(path.join(ROOT, 'chart/rules', f), 'utf8')) as { groups: { rules: { record?: string }[] }[] }).groups.flatMap((g) => g.rules.map((r) => r.record)))
    .filter((r): r is string => r !== undefined),
);

describe('chart/dashboards/multinet.json', () => {
  it('is a schema 39 dashboard with a fixed uid', () => {
    expect(dashboard.schemaVersion).toBe(39);
    expect(dashboard.uid).toBe('multinet-agent');
  });

  it('has the datasource, cluster, node, namespace, network_namespace and network variables', () => {
    const vars = Object.fromEntries(dashboard.templating.list.map((v) => [v.name, v]));
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'cluster', 'node', 'namespace', 'network_namespace', 'network']);
    expect(vars.datasource).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const name of ['cluster', 'node', 'namespace', 'network_namespace', 'network']) {
      expect(vars[name]).toMatchObject({ type: 'query', multi: true, includeAll: true, datasource: { type: 'prometheus', uid: '${datasource}' } });
    }
    // cluster is optional: All matches series without the label (a single-cluster Prometheus).
    expect(vars.cluster).toMatchObject({ allValue: '.*' });
    // A network is told apart by its NAD namespace: the network variable lists the names in the
    // chosen network namespaces, and every query that filters by network filters by both.
    expect(JSON.stringify(vars.network?.query)).toContain('network_namespace=~\\"$network_namespace\\"');
  });

  it('every panel and query uses the datasource variable', () => {
    expect(panels.filter((p) => p.datasource?.uid !== '${datasource}').map((p) => p.title)).toEqual([]);
    expect(targets.filter((t) => t.datasource?.uid !== '${datasource}').map((t) => `${t.panel} ${t.refId}`)).toEqual([]);
  });

  it('every panel has a description and queries; ids are unique', () => {
    expect(panels.filter((p) => !p.description || (p.targets ?? []).length === 0).map((p) => p.title)).toEqual([]);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('queries use only the dashboard variables and $__rate_interval, and filter by cluster and node', () => {
    const vars = targets.flatMap((t) => [...t.expr.matchAll(/\$\{?(\w+)/g)].map((m) => m[1]));
    expect([...new Set(vars)].sort()).toEqual(['__rate_interval', 'cluster', 'namespace', 'network', 'network_namespace', 'node']);
    expect(targets.filter((t) => !t.expr.includes('node=~"$node"') || !t.expr.includes('cluster=~"$cluster"')).map((t) => `${t.panel} ${t.refId}`)).toEqual([]);
    expect(targets.filter((t) => t.expr.includes('network=~"$network"') && !t.expr.includes('network_namespace=~"$network_namespace", network=~"$network"')).map((t) => `${t.panel} ${t.refId}`)).toEqual([]);
    // No query depends on the release or job name.
    expect(targets.filter((t) => /job=~?"/.test(t.expr)).map((t) => `${t.panel} ${t.refId}`)).toEqual([]);
  });

  it('the layout fits 24 columns without overlaps', () => {
    const cells = new Set<string>();
    const clashes: string[] = [];
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          const k = `${x},${y}`;
          if (cells.has(k)) clashes.push(`${p.title} at ${k}`);
          cells.add(k);
        }
      }
    }
    expect(clashes).toEqual([]);
  });

  it('every series a query names is in the metric catalogue or a recording rule', async () => {
    const known = await catalogueMetricNames();
    expect(known.has('multinet_pod_interface_receive_bytes_total')).toBe(true);
    expect(known.has('multinet_pod_interface_up')).toBe(true);
    const unknown = new Set<string>();
    for (const t of targets) {
      for (const m of t.expr.matchAll(/\b([a-z_]+:multinet_[a-z_]+:[a-z0-9_]+|multinet_[a-z_]+)\b/g)) {
        const name = m[1] as string;
        if (!(name.includes(':') ? records.has(name) : known.has(name))) unknown.add(name);
      }
    }
    expect([...unknown]).toEqual([]);
  });
});
