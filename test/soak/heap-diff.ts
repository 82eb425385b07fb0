/**
 * Compares two V8 heap snapshots of the agent (taken by the soak's `--heap-snapshots`, or by
 * `--heapsnapshot-signal`): objects and their own bytes per (type, constructor or name), the
 * groups that grew most first. A snapshot holds only what is reachable after the full GC V8
 * runs before taking it, so growth here is retained memory, not garbage.
 *
 * `node dist/test/soak/heap-diff.js A.heapsnapshot B.heapsnapshot [--top N]`
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface Snapshot {
  readonly snapshot: { readonly meta: { readonly node_fields: readonly string[]; readonly node_types: readonly [readonly string[], ...unknown[]] } };
  readonly nodes: readonly number[];
  readonly strings: readonly string[];
}

/** Count and own bytes of each (type, name) group of one snapshot. */
export interface HeapGroups {
  readonly total: { count: number; bytes: number };
  readonly groups: Map<string, { count: number; bytes: number }>;
}

export function heapGroups(s: Snapshot): HeapGroups {
  const fields = s.snapshot.meta.node_fields;
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const types = s.snapshot.meta.node_types[0];
  const groups = new Map<string, { count: number; bytes: number }>();
  const total = { count: 0, bytes: 0 };
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + typeAt] as number] ?? '?';
    // Strings, code and numbers are grouped by type alone: their names are their contents.
    const name = type === 'object' || type === 'closure' || type === 'native' || type === 'hidden' || type === 'array' || type === 'object shape' ? (s.strings[s.nodes[i + nameAt] as number] ?? '?').slice(0, 80) : '';
    const key = `${type}\t${name}`;
    const bytes = s.nodes[i + sizeAt] as number;
    const g = groups.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += bytes;
    groups.set(key, g);
    total.count++;
    total.bytes += bytes;
  }
  return { total, groups };
}

/** The groups that changed, most grown bytes first, as lines. */
export function heapDiff(a: HeapGroups, b: HeapGroups, top: number): string[] {
  const keys = new Set([...a.groups.keys(), ...b.groups.keys()]);
  const rows = [...keys].map((k) => {
    const x = a.groups.get(k) ?? { count: 0, bytes: 0 };
    const y = b.groups.get(k) ?? { count: 0, bytes: 0 };
    return { k, dc: y.count - x.count, db: y.bytes - x.bytes, y };
  });
  rows.sort((p, q) => q.db - p.db || q.dc - p.dc);
  const kb = (n: number): string => `${n >= 0 ? '+' : ''}${(n / 1024).toFixed(1)} KB`;
  return [
    `reachable: ${a.total.count} objects, ${(a.total.bytes / 2 ** 20).toFixed(2)} MB -> ${b.total.count} objects, ${(b.total.bytes / 2 ** 20).toFixed(2)} MB (${kb(b.total.bytes - a.total.bytes)}, ${b.total.count - a.total.count >= 0 ? '+' : ''}${b.total.count - a.total.count} objects)`,
    `${'bytes'.padStart(11)} ${'objects'.padStart(8)} ${'now'.padStart(8)}  type / name`,
    ...rows
      .filter((r) => r.db !== 0 || r.dc !== 0)
      .slice(0, top)
      .map((r) => `${kb(r.db).padStart(11)} ${`${r.dc >= 0 ? '+' : ''}${r.dc}`.padStart(8)} ${String(r.y.count).padStart(8)}  ${r.k.replace('\t', ' / ')}`),
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 25;
  if (args.length !== 2) {
    process.stderr.write('usage: heap-diff.js A.heapsnapshot B.heapsnapshot [--top N]\n');
    process.exit(2);
  }
  const [a, b] = args.map((f) => heapGroups(JSON.parse(readFileSync(f, 'utf8')) as Snapshot)) as [HeapGroups, HeapGroups];
  process.stdout.write(`${heapDiff(a, b, top).join('\n')}\n`);
}
