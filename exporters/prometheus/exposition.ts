/**
 * The Prometheus text format (0.0.4) for the snapshot families, written directly. prom-client's
 * registry formats every sample through generic label objects; at 21,000 series (250 pods × 3
 * networks) that cost about 60 ms per scrape here, more than the whole scrape budget. Here each
 * interface's label set is rendered once and shared by its families.
 */
import { type Family, type Labels } from './family.js';

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

/** `{a="x",b="y"}`, or '' for no labels. */
export function formatLabels(labels: Labels): string {
  let out = '';
  for (const k in labels) out += `${out ? ',' : '{'}${k}="${escapeLabelValue(labels[k] as string)}"`;
  return out ? `${out}}` : '';
}

/** A sample value as Prometheus writes it. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Renders families, each with HELP and TYPE, separated by blank lines as prom-client does. */
export function writeFamilies(families: readonly Family[]): string {
  const parts: string[] = [];
  for (const f of families) {
    let text = `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`;
    for (const s of f.samples) text += `${f.name}${s.labelText ?? formatLabels(s.labels)} ${formatValue(s.value)}\n`;
    if (f.rows) {
      const { labelTexts, values } = f.rows;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (v !== undefined) text += `${f.name}${labelTexts[i]} ${formatValue(v)}\n`;
      }
    }
    parts.push(text);
  }
  return parts.join('\n');
}
