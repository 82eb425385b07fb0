/**
 * The per-scrape series limit (`--metrics.series-limit`): when the snapshot families hold more
 * series than the limit, what fits is exported in a fixed priority — the agent's own state and
 * host readiness first, then host interfaces and NADs, SR-IOV PFs, VFs, pod attachment health,
 * and pod interfaces last — and the rest is dropped whole: an interface keeps all its series or
 * none. Within the pod tiers what is left is shared fairly: each pod its first interface (or
 * series), then its second, ... so one pod with thousands cannot take the others' share. Counting is one pass over the
 * families; cutting happens only when the limit is hit.
 */
import { type Family, type Sample } from './family.js';

/** Series of one family. */
export function seriesOf(f: Family): number {
  let n = f.samples.length;
  if (f.rows) for (const v of f.rows.values) if (v !== undefined) n++;
  return n;
}

/** Series of all families. */
export function countSeries(families: readonly Family[]): number {
  let n = 0;
  for (const f of families) n += seriesOf(f);
  return n;
}

/** Priority of a family under the limit: lower is kept first. */
export function tierOf(name: string): number {
  if (name.startsWith('multinet_scrape_')) return 0;
  if (name === 'multinet_host_interface_required' || name === 'multinet_host_interface_ready' || name === 'multinet_host_interface_attachments' || name === 'multinet_pod_series_capped') return 1;
  if (name.startsWith('multinet_host_interface_') || name.startsWith('multinet_network_')) return 2;
  if (name.startsWith('multinet_sriov_pf_')) return 3;
  if (name.startsWith('multinet_sriov_vf_')) return 4;
  if (name.startsWith('multinet_pod_network_')) return 5;
  return 6;
}

/** The pod a pod-family row belongs to: its label text up to the interface label (`{namespace="..",pod="..",netns=".."`). */
function rowOwner(labelText: string): string {
  const at = labelText.indexOf(',interface="');
  return at < 0 ? labelText : labelText.slice(0, at);
}

/** The pod a pod-family sample belongs to. */
const sampleOwner = (s: Sample): string => `${s.labels.namespace ?? ''}\0${s.labels.pod ?? ''}\0${s.labels.netns ?? ''}`;

/**
 * Fair shares: which of `n` items (in output order, each owned by a pod, costing `cost(i)` series)
 * to keep within `budget`, taking one item from each owner in turn (its first, then its second,
 * ...) until one does not fit. One pod with thousands of interfaces cannot take the budget of the
 * others. Returns the kept indices' mask and the series spent.
 */
function fairShare(n: number, owner: (i: number) => string, cost: (i: number) => number, budget: number): { keep: boolean[]; spent: number } {
  const byOwner = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const o = owner(i);
    let list = byOwner.get(o);
    if (!list) byOwner.set(o, (list = []));
    list.push(i);
  }
  const lists = [...byOwner.values()];
  const keep = new Array<boolean>(n).fill(false);
  let spent = 0;
  for (let round = 0; ; round++) {
    let any = false;
    for (const list of lists) {
      const i = list[round];
      if (i === undefined) continue;
      any = true;
      const c = cost(i);
      if (spent + c > budget) return { keep, spent };
      keep[i] = true;
      spent += c;
    }
    if (!any) return { keep, spent };
  }
}

/** A family keeping only the rows (or samples) the mask keeps. */
function keepRows(f: Family, keep: readonly boolean[]): Family {
  if (!f.rows) return f;
  const labelTexts: string[] = [];
  const values: (number | undefined)[] = [];
  f.rows.values.forEach((v, i) => {
    if (keep[i]) {
      labelTexts.push(f.rows?.labelTexts[i] as string);
      values.push(v);
    }
  });
  return { ...f, samples: [], rows: { labelTexts, values } };
}

/** Tiers whose series belong to pods: cut by fair shares, not in order. */
const POD_TIER = 5;

/** A family cut to its first `rows` rows (and first `samples` samples). */
function cut(f: Family, samples: number, rows: number): Family {
  return {
    ...f,
    samples: samples >= f.samples.length ? f.samples : f.samples.slice(0, samples),
    ...(f.rows && rows < f.rows.values.length ? { rows: { labelTexts: f.rows.labelTexts.slice(0, rows), values: f.rows.values.slice(0, rows) } } : {}),
  };
}

/**
 * Keeps at most `limit` series, in the order of {@link tierOf}, families staying where they were
 * in the output. Returns the families and how many series were dropped.
 */
export function limitSeries(families: readonly Family[], limit: number): { families: Family[]; dropped: number } {
  const total = countSeries(families);
  if (limit <= 0 || total <= limit) return { families: [...families], dropped: 0 };
  // Units, in priority order: a whole family or a group of row-aligned families.
  const units: { tier: number; members: number[] }[] = [];
  const groups = new Map<string, { tier: number; members: number[] }>();
  families.forEach((f, i) => {
    if (f.group) {
      let g = groups.get(f.group);
      if (!g) {
        groups.set(f.group, (g = { tier: tierOf(f.name), members: [] }));
        units.push(g);
      }
      g.members.push(i);
    } else units.push({ tier: tierOf(f.name), members: [i] });
  });
  units.sort((a, b) => a.tier - b.tier || (a.members[0] as number) - (b.members[0] as number));

  const out: Family[] = [...families];
  let left = limit;
  for (const unit of units) {
    const members = unit.members.map((i) => families[i] as Family);
    if (members.length === 1 && !members[0]?.group) {
      const f = members[0] as Family;
      const n = seriesOf(f);
      if (n <= left) {
        left -= n;
        continue;
      }
      if (unit.tier >= POD_TIER && !f.rows && f.samples.length > 0) {
        // Pod series: a fair share of what is left for each pod.
        const { keep } = fairShare(f.samples.length, (i) => sampleOwner(f.samples[i] as Sample), () => 1, left);
        out[unit.members[0] as number] = { ...f, samples: f.samples.filter((_, i) => keep[i]) };
        left = 0;
        continue;
      }
      // Samples first, then rows, in order.
      const samples = Math.min(left, f.samples.length);
      left -= samples;
      let rows = 0;
      let kept = 0;
      const values = f.rows?.values ?? [];
      while (rows < values.length && (values[rows] === undefined || kept < left)) {
        if (values[rows] !== undefined) kept++;
        rows++;
      }
      out[unit.members[0] as number] = cut(f, samples, rows);
      left = 0; // strict priority: nothing after a cut unit
      continue;
    }
    // A group: row r costs one series per member with a value there.
    const length = Math.max(0, ...members.map((f) => f.rows?.values.length ?? 0));
    const rowCost = (r: number): number => {
      let cost = 0;
      for (const f of members) if (f.rows?.values[r] !== undefined) cost++;
      return cost;
    };
    if (unit.tier >= POD_TIER && members[0]?.rows) {
      const texts = members[0].rows.labelTexts;
      let total = 0;
      for (let r = 0; r < length; r++) total += rowCost(r);
      if (total <= left) {
        left -= total;
        continue;
      }
      // Pod interfaces: each pod gets its first interface, then its second, ... while they fit.
      const { keep } = fairShare(length, (r) => rowOwner(texts[r] ?? ''), rowCost, left);
      for (const i of unit.members) out[i] = keepRows(families[i] as Family, keep);
      left = 0;
      continue;
    }
    let rows = 0;
    for (; rows < length; rows++) {
      let cost = 0;
      for (const f of members) if (f.rows?.values[rows] !== undefined) cost++;
      if (cost > left) break;
      left -= cost;
    }
    if (rows < length) {
      for (const i of unit.members) out[i] = cut(families[i] as Family, 0, rows);
      left = 0; // strict priority: later, cheaper units must not overtake a cut group
    }
  }
  return { families: out, dropped: total - countSeries(out) };
}
