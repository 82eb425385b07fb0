/**
 * The real chart rendered as the lab tests need it: chart/ read from disk, values.yaml merged
 * with the given values as Helm merges -f/--set, every template through the Go-template renderer
 * of test/chart/go-template.ts (strict, like `helm template --strict`), the manifests parsed.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { renderTemplates } from '../chart/go-template.js';

const CHART = new URL('../../chart/', import.meta.url).pathname;

type Obj = Record<string, unknown>;
export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } } & Obj;

/** Every file under `dir`, recursively. */
export function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
}

/** `over` merged into `base` as Helm merges values: maps deeply, everything else replaced. */
export function mergeValues(base: unknown, over: unknown): unknown {
  if (typeof base !== 'object' || base === null || Array.isArray(base) || typeof over !== 'object' || over === null || Array.isArray(over)) return over;
  const out: Obj = { ...(base as Obj) };
  for (const [k, v] of Object.entries(over as Obj)) out[k] = mergeValues(out[k], v);
  return out;
}

/** Every manifest the chart renders with values.yaml plus `values`, as release `release` in `namespace`. */
export function renderChart(values: Obj = {}, release = { Name: 'multinet-agent', Namespace: 'monitoring' }): Manifest[] {
  const files = new Map(walk(CHART).map((p) => [relative(CHART, p), readFileSync(p, 'utf8')]));
  const chart = parseYaml(files.get('Chart.yaml') as string) as { name: string; version: string; appVersion: string };
  const out = renderTemplates({
    templates: new Map([...files].filter(([p]) => p.startsWith('templates/') && !p.endsWith('.txt'))),
    values: mergeValues(parseYaml(files.get('values.yaml') as string), values) as Obj,
    chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
    release,
    files: new Map([...files].filter(([p]) => !p.startsWith('templates/'))),
    strict: true,
  });
  return [...out.values()].flatMap((text) => parseAllDocuments(text).map((d) => d.toJS() as Manifest | null)).filter((d): d is Manifest => d !== null);
}

/** The one manifest of `kind` (an error when there is none or several). */
export function manifestOf(docs: readonly Manifest[], kind: string): Manifest {
  const hits = docs.filter((d) => d.kind === kind);
  if (hits.length !== 1) throw new Error(`${hits.length} ${kind} manifests`);
  return hits[0] as Manifest;
}
