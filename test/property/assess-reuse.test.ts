/**
 * AssessmentReuse hands out the last assessment for a snapshot that differs only in counters,
 * timings and the processes in a namespace (agent/rules/assess-reuse.ts). Two things must hold
 * for that to be right:
 *
 * - no rule reads what the comparison ignores: assess() runs over random nodes (node-world.ts)
 *   whose counter sets and pid lists throw when a field is read and whose collector durations
 *   throw when read;
 * - over any sequence of snapshots (the same nodes again with new counters and processes, other
 *   nodes, time passing over the lease grace period) the reused verdicts equal a fresh assess()
 *   of each.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type IpamAllocation, type IpamSnapshot } from '../../agent/model/ipam.js';
import type { IpamRange } from '../../agent/model/pods.js';
import { EMPTY_SNAPSHOT, type Snapshot } from '../../agent/model/snapshot.js';
import { assess } from '../../agent/rules/assess.js';
import { AssessmentReuse, NOT_JUDGED, sameForRules } from '../../agent/rules/assess-reuse.js';
import { hostLocalNetworks } from '../../agent/rules/ipam.js';
import { netLink } from '../support/links.js';
import { networkDefinition, pod } from '../support/pods.js';
import { snapshotOf, world } from './node-world.js';
import { holds, TIMEOUT } from './fuzz-config.js';

/** Whether `key` holds a set of counters or a pid list (as the comparison decides: a value of the right shape under an ignored key). */
const ignoredValue = (key: string, value: unknown): boolean => key !== 'durationSeconds' && key !== 'takenAtMs' && value !== undefined && (NOT_JUDGED.get(key)?.(value) ?? false);
const counterSet = (key: string, value: unknown): boolean => key !== 'pids' && ignoredValue(key, value);

/**
 * A deep copy of `value` (Maps, Sets, arrays, objects; an object shared in `value` is shared in
 * the copy): each field of an object is what `field` makes of it (`walk` copies on), and each
 * copied object is handed out through `wrap`.
 */
function copyDeep(value: unknown, field: (key: string, v: unknown, walk: (x: unknown) => unknown) => unknown, wrap: (copy: object) => object = (c) => c): unknown {
  const seen = new Map<unknown, unknown>();
  const walk = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) return v;
    const known = seen.get(v);
    if (known !== undefined) return known;
    if (v instanceof Map) {
      const m = new Map();
      seen.set(v, m);
      for (const [k, x] of v) m.set(walk(k), walk(x));
      return m;
    }
    if (v instanceof Set) {
      const s = new Set();
      seen.set(v, s);
      for (const x of v) s.add(walk(x));
      return s;
    }
    const copy: Record<string, unknown> = Array.isArray(v) ? ([] as unknown as Record<string, unknown>) : (Object.create(Object.getPrototypeOf(v) as object) as Record<string, unknown>);
    const out = wrap(copy);
    seen.set(v, out);
    for (const [k, x] of Object.entries(v)) copy[k] = field(k, x, walk);
    return out;
  };
  return walk(value);
}

/**
 * A deep copy of `value` in which reading a field of a counter set or of a namespace's pid list,
 * or a collector's duration, throws. A counter set itself may be copied along (a spread of its
 * link) without being read.
 * (takenAtMs is read, for the lease grace period only; the sequence property below holds the
 * reuse to it.)
 */
const guarded = (value: unknown): unknown =>
  copyDeep(
    value,
    (k, v, walk) => (ignoredValue(k, v) ? poisoned(k) : walk(v)),
    (copy) =>
      new Proxy(copy, {
        get(target, key, receiver) {
          const v = Reflect.get(target, key, receiver) as unknown;
          if (key === 'durationSeconds' && typeof v === 'number') throw new Error(`a rule read ${key}`);
          return v;
        },
      }),
  );

/** A counter set that throws when any of its fields is read. */
const poisoned = (key: string): object =>
  new Proxy(
    {},
    {
      get(_t, field) {
        throw new Error(`a rule read ${key}.${String(field)}`);
      },
      ownKeys() {
        throw new Error(`a rule listed ${key}`);
      },
    },
  );

const COUNTERS = ['rxBytes', 'rxPackets', 'rxErrors', 'rxDropped', 'rxMulticast', 'txBytes', 'txPackets', 'txErrors', 'txDropped'];

/**
 * `snapshot` with every counter set, duration and namespace pid list replaced by values from
 * `seed` (shared objects stay shared); with `fill`, a link without counters gets a set too.
 */
function withCounters(snapshot: Snapshot, seed: number, fill = false): Snapshot {
  let n = BigInt(seed);
  const counters = (fields: readonly string[]): object => Object.fromEntries(fields.map((f) => [f, (n += 7n)]));
  return copyDeep(snapshot, (k, v, walk) => {
    if (k === 'pids' && ignoredValue(k, v)) return [...(v as number[]), 100_000 + (seed % 1000)];
    if (counterSet(k, v)) return counters(Object.keys(v as object));
    if (fill && k === 'counters' && v === undefined) return counters(COUNTERS);
    if (k === 'durationSeconds' && typeof v === 'number') return Number(n++ % 1000n) / 1000;
    return walk(v);
  }) as Snapshot;
}

describe('what the assessment reuse ignores, no rule reads', { timeout: TIMEOUT }, () => {
  it('assess() of random nodes whose counters, pid lists and durations throw when read gives the verdicts of the plain node', async () => {
    let counterSets = 0;
    let pidLists = 0;
    await holds('rules read no counter', [world], async (w) => {
      const snapshot = withCounters(await snapshotOf(w), 1, true);
      pidLists += snapshot.podNetns.filter((v) => v.netns.pids.length > 0).length;
      counterSets += snapshot.hostLinks.filter((l) => l.counters !== undefined).length + snapshot.podNetns.flatMap((v) => v.interfaces).filter((i) => i.link.counters !== undefined).length;
      expect(assess(guarded(snapshot) as Snapshot)).toEqual(assess(snapshot));
    }, 100);
    // The nodes did carry counters and processes for the rules to (not) read.
    expect(counterSets).toBeGreaterThan(0);
    expect(pidLists).toBeGreaterThan(0);
  });

  it('the guard itself throws when a counter, a pid or a duration is read', () => {
    const s = { ...EMPTY_SNAPSHOT, hostLinks: [{ ...netLink({ ifindex: 2, name: 'eth1' }), counters: { rxBytes: 1n } }], collectors: [{ name: 'netns', success: true, durationSeconds: 0.1 }] } as unknown as Snapshot;
    const g = guarded(s) as Snapshot;
    expect(() => g.hostLinks[0]?.counters?.rxBytes).toThrow(/a rule read counters.rxBytes/);
    expect(() => g.collectors[0]?.durationSeconds).toThrow(/a rule read durationSeconds/);
    const n = guarded({ ...EMPTY_SNAPSHOT, podNetns: [{ netns: { inode: 7, pids: [3] } }] }) as { podNetns: { netns: { pids: number[] } }[] };
    expect(() => n.podNetns[0]?.netns.pids.length).toThrow(/a rule read pids.length/);
    // Copying a link along is not reading its counters.
    expect(() => ({ ...g.hostLinks[0] })).not.toThrow();
  });
});

describe('AssessmentReuse', { timeout: TIMEOUT }, () => {
  it('over any sequence of snapshots (nodes again with new counters, other nodes, time passing) gives what a fresh assess() gives', async () => {
    let reused = 0;
    const step = fc.record({ node: fc.nat(2), seed: fc.nat(1_000_000), dt: fc.nat(40_000) });
    await holds('reuse equals fresh', [fc.array(world, { minLength: 1, maxLength: 3 }), fc.array(step, { minLength: 2, maxLength: 8 })], async (nodes, steps) => {
      const bases = await Promise.all(nodes.map((w) => snapshotOf(w)));
      const reuse = new AssessmentReuse();
      let at = 0;
      for (const s of steps) {
        at += s.dt;
        const base = bases[s.node % bases.length] as Snapshot;
        // A grace period the steps cross (allocations are written at 0), so leak verdicts change with time alone.
        const ipam: IpamSnapshot | undefined = base.ipam ? { ...base.ipam, leakGraceMs: 50_000 } : undefined;
        const snapshot = { ...withCounters(base, s.seed), takenAtMs: at, ipam };
        expect(reuse.assess(snapshot)).toEqual(assess(snapshot));
      }
      reused += reuse.stats.reused;
    }, 60);
    // The sequences did go through the reuse, not only through fresh judgments.
    expect(reused).toBeGreaterThan(0);
  });

  const range = (subnet: string): IpamRange => ({ subnet, rangeStart: undefined, rangeEnd: undefined, gateway: undefined });
  const nets = hostLocalNetworks([networkDefinition('default', 'tiny', { type: 'macvlan', cniName: 'tiny', ipam: { type: 'host-local', ranges: [range('10.40.0.0/29')], routes: [], dataDir: undefined } })], '/d');
  const alloc = (ip: string, mtimeMs: number): IpamAllocation => ({ ip, containerId: 'gone', ifname: 'net1', mtimeMs });
  const ipamAt = (allocations: IpamAllocation[]): IpamSnapshot => ({ nets, dirs: [{ network: 'tiny', dir: '/d/tiny', exists: true, allocations }], leaksJudgeable: true, leakGraceMs: 60_000 });

  it('judges again when a lease becomes old enough to be a leak, with nothing else changed', () => {
    const reuse = new AssessmentReuse();
    const snap = (takenAtMs: number): Snapshot => ({ ...EMPTY_SNAPSHOT, takenAtMs, ipam: ipamAt([alloc('10.40.0.2', 1_000_000)]) });
    expect(reuse.assess(snap(1_030_000)).ipam[0]?.leaked).toBe(0);
    // Still within the grace period: the same judgment.
    expect(reuse.assess(snap(1_059_999)).ipam[0]?.leaked).toBe(0);
    expect(reuse.stats).toEqual({ judged: 1, reused: 1 });
    // Past it: judged again, a leak. (Measured from the time of the judgment, not of the last snapshot compared.)
    expect(reuse.assess(snap(1_060_000)).ipam[0]?.leaked).toBe(1);
    expect(reuse.stats).toEqual({ judged: 2, reused: 1 });
  });

  it('reuses across new counters and durations, not across anything a rule reads', () => {
    const reuse = new AssessmentReuse();
    const p = pod({ name: 'web', labels: { stats: 'a', counters: 'b' } });
    const base: Snapshot = { ...EMPTY_SNAPSHOT, pods: [p], hostLinks: [{ ...netLink({ ifindex: 2, name: 'eth1' }), parentName: '', masterName: '', device: { speedBytesPerSecond: undefined, duplex: undefined, driver: undefined, pciAddress: undefined } }], collectors: [{ name: 'netns', success: true, durationSeconds: 0.1 }] };
    const first = reuse.assess(base);
    expect(reuse.assess(withCounters(base, 5))).toBe(first);
    expect(reuse.assess({ ...base, collectors: [{ name: 'netns', success: true, durationSeconds: 0.3 }] })).toBe(first);
    // New processes in a pod's namespace (an exec probe): the same verdicts.
    const withNetns = { ...base, podNetns: [{ netns: { inode: 9, path: '/run/netns/a', bindPath: '/run/netns/a', pids: [10], podUid: undefined, containerId: undefined }, pod: undefined, interfaces: [] }] } as unknown as Snapshot;
    const judged = reuse.assess(withNetns);
    expect(reuse.assess({ ...withNetns, podNetns: withNetns.podNetns.map((v) => ({ ...v, netns: { ...v.netns, pids: [10, 4242] } })) })).toBe(judged);
    expect(sameForRules({ pids: [1] }, { pids: '1' })).toBe(false);
    // A label that happens to be called "stats" or "counters" is compared like any other.
    expect(sameForRules(base, { ...base, pods: [{ ...p, labels: { stats: 'x', counters: 'b' } }] })).toBe(false);
    expect(sameForRules(base, { ...base, pods: [{ ...p, labels: { stats: 'a', counters: 'x' } }] })).toBe(false);
    // A collector that failed, a link that went down: judged again.
    expect(reuse.assess({ ...base, collectors: [{ name: 'netns', success: false, durationSeconds: 0.1, error: 'x' }] })).not.toBe(first);
    const down = { ...base, hostLinks: base.hostLinks.map((l) => ({ ...l, operstate: 'down' as const })) };
    expect(reuse.assess(down)).toEqual(assess(down));
  });

  it('compares in a way that can only err on "not the same"', () => {
    expect(sameForRules(new Map([['a', 1], ['b', 2]]), new Map([['b', 2], ['a', 1]]))).toBe(false);
    expect(sameForRules(new Map([['a', { x: 1 }]]), new Map([['a', { x: 1 }]]))).toBe(true);
    expect(sameForRules(Buffer.from('ab'), Buffer.from('ab'))).toBe(true);
    expect(sameForRules(Buffer.from('ab'), Buffer.from('ac'))).toBe(false);
    expect(sameForRules({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(sameForRules({ a: undefined }, { b: undefined })).toBe(false);
    expect(sameForRules([NaN], [NaN])).toBe(false);
    expect(sameForRules({ counters: 'text' }, { counters: 'other' })).toBe(false);
    expect(sameForRules({ counters: { rxBytes: 1n } }, { counters: { rxBytes: 2n } })).toBe(true);
    expect(sameForRules({ counters: { rxBytes: 1n } }, { counters: { rxBytes: 'x' } })).toBe(false);
    expect(sameForRules({ durationSeconds: 1 }, { durationSeconds: 2 })).toBe(true);
    expect(sameForRules({ durationSeconds: 1 }, { durationSeconds: '2' })).toBe(false);
  });
});
