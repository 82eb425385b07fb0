/**
 * The agent's process_* and nodejs_* families against prom-client 15's defaults (a dev dependency,
 * kept for this comparison): the same families in the same order, with the same help, type and
 * label names, and the same readings where both read the same thing.
 */
import client, { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { parseExposition, type ParsedSample } from '../../test/support/exposition.js';
import { writeFamilies } from './exposition.js';
import { GC_DURATION_BUCKETS, ProcessMetrics, parseMaxFds, parseProcStatus } from './process-metrics.js';

/** prom-client's gauges named `_total`, which promtool rejects; the agent leaves them out. */
const LEFT_OUT = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

const ours = new ProcessMetrics();
const theirs = new Registry();
client.collectDefaultMetrics({ register: theirs });
for (const name of LEFT_OUT) theirs.removeSingleMetric(name);
afterAll(() => ours.stop());

/** Garbage enough for several young-generation collections. */
function churn(): void {
  let keep: object[] = [];
  for (let i = 0; i < 400_000; i++) {
    keep.push({ i, s: `x${i}` });
    if (keep.length > 2000) keep = [];
  }
}

const value = (samples: readonly ParsedSample[], name: string): number => {
  const s = samples.find((x) => x.name === name);
  if (s === undefined) throw new Error(`${name} missing`);
  return s.value;
};

describe('process and runtime families', () => {
  it("are prom-client's defaults: names, order, help, type and label names", async () => {
    churn();
    await new Promise((r) => setTimeout(r, 50));
    const expected = await theirs.getMetricsAsJSON();
    const families = ours.families();
    expect(families.map((f) => f.name)).toEqual(expected.map((m) => m.name));
    for (const [i, f] of families.entries()) {
      const m = expected[i] as (typeof expected)[number];
      expect({ name: f.name, help: f.help, type: f.type }).toEqual({ name: m.name, help: m.help, type: String(m.type) });
      // Label names of every sample on each side; families without samples on one side (no
      // active request, say) have nothing to compare.
      const keys = (labels: object): string => Object.keys(labels).sort().join(',');
      const theirKeys = new Set(m.values.map((v) => keys(v.labels)));
      const ourKeys = new Set(f.samples.map((s) => keys(s.labels)));
      if (theirKeys.size > 0 && ourKeys.size > 0) expect([...ourKeys], f.name).toEqual([...theirKeys]);
    }
  });

  it("read what prom-client reads: the fd limit, start time, memory, heap spaces and version", async () => {
    const mine = parseExposition(writeFamilies(ours.families()), 'process families');
    const other = parseExposition(await theirs.metrics(), 'prom-client');
    expect(value(mine, 'process_max_fds')).toBe(value(other, 'process_max_fds'));
    expect(Math.abs(value(mine, 'process_start_time_seconds') - value(other, 'process_start_time_seconds'))).toBeLessThanOrEqual(1);
    const rss = process.memoryUsage.rss();
    expect(value(mine, 'process_resident_memory_bytes')).toBeGreaterThan(rss * 0.75);
    expect(value(mine, 'process_resident_memory_bytes')).toBeLessThan(rss * 1.25);
    expect(value(mine, 'process_virtual_memory_bytes')).toBeGreaterThan(value(mine, 'process_resident_memory_bytes'));
    expect(Math.abs(value(mine, 'process_open_fds') - value(other, 'process_open_fds'))).toBeLessThanOrEqual(4);
    const spaces = (s: readonly ParsedSample[]): string[] => s.filter((x) => x.name === 'nodejs_heap_space_size_used_bytes').map((x) => x.labels.space as string);
    expect(spaces(mine)).toEqual(spaces(other));
    const version = (s: readonly ParsedSample[]): unknown => s.find((x) => x.name === 'nodejs_version_info')?.labels;
    expect(version(mine)).toEqual(version(other));
    // CPU counts from the process's start, so it is at least what prom-client counted since it registered.
    expect(value(mine, 'process_cpu_seconds_total')).toBeGreaterThanOrEqual(value(other, 'process_cpu_seconds_total'));
    expect(value(mine, 'process_cpu_seconds_total')).toBeCloseTo(value(mine, 'process_cpu_user_seconds_total') + value(mine, 'process_cpu_system_seconds_total'), 5);
  });

  it('count every garbage collection, as a histogram whose buckets add up', async () => {
    const count = (s: readonly ParsedSample[]): number => s.filter((x) => x.name === 'nodejs_gc_duration_seconds_count').reduce((a, x) => a + x.value, 0);
    const before = count(parseExposition(writeFamilies(ours.families())));
    churn();
    // GC entries reach observers after the collection, on a later turn of the loop.
    await new Promise((r) => setTimeout(r, 50));
    const samples = parseExposition(writeFamilies(ours.families()), 'after churn');
    expect(count(samples)).toBeGreaterThan(before);
    // prom-client's observer kept only the first entry of each batch it was handed.
    expect(count(samples)).toBeGreaterThanOrEqual(count(parseExposition(await theirs.metrics())));
    for (const kind of new Set(samples.filter((x) => x.name === 'nodejs_gc_duration_seconds_count').map((x) => x.labels.kind))) {
      const buckets = samples.filter((x) => x.name === 'nodejs_gc_duration_seconds_bucket' && x.labels.kind === kind);
      expect(buckets.map((b) => b.labels.le)).toEqual([...GC_DURATION_BUCKETS.map(String), '+Inf']);
      for (let i = 1; i < buckets.length; i++) expect((buckets[i] as ParsedSample).value).toBeGreaterThanOrEqual((buckets[i - 1] as ParsedSample).value);
      const total = samples.find((x) => x.name === 'nodejs_gc_duration_seconds_count' && x.labels.kind === kind);
      expect(buckets.at(-1)?.value).toBe(total?.value);
      expect(samples.find((x) => x.name === 'nodejs_gc_duration_seconds_sum' && x.labels.kind === kind)?.value).toBeGreaterThan(0);
    }
  });

  it('read /proc/<pid>/status and limits as the kernel writes them, and leave out what is missing', () => {
    const status = 'Name:\tnode\nVmPeak:\t 1100000 kB\nVmSize:\t 1056492 kB\nVmData:\t   94116 kB\nVmRSS:\t   58644 kB\n';
    expect(parseProcStatus(status)).toEqual({ rss: 58644 * 1024, virtual: 1056492 * 1024, data: 94116 * 1024 });
    // A kernel thread's status has no Vm lines.
    expect(parseProcStatus('Name:\tkthreadd\nState:\tS (sleeping)\n')).toEqual({});
    const limits = 'Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1048576              1048576              files     \n';
    expect(parseMaxFds(limits)).toBe(1048576);
    expect(parseMaxFds(limits.replace('1048576              1048576', 'unlimited            unlimited'))).toBe(Infinity);
    expect(parseMaxFds('Limit  Soft Limit\n')).toBeUndefined();
    // Without /proc (another OS, a masked mount): the families that need it are left out, the rest stay.
    const blind = new ProcessMetrics({ procSelf: '/nonexistent' });
    try {
      const names = blind.families().map((f) => f.name);
      for (const gone of ['process_resident_memory_bytes', 'process_open_fds', 'process_max_fds']) expect(names).not.toContain(gone);
      expect(names).toContain('nodejs_heap_size_used_bytes');
      parseExposition(writeFamilies(blind.families()), 'without /proc');
    } finally {
      blind.stop();
    }
  });
});
