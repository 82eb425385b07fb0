/**
 * The exposition a random node renders holds the invariant (issue 14 items 2 and 3): Pod and NAD
 * objects, link messages and lease directories from the generators of arbitraries.ts go through
 * the real parsers, the collectors' join (test/support/collectors.ts snapshotFrom), assess() and
 * the /metrics renderer, in process; the body must hold test/support/exposition-invariant.ts.
 * The random node is test/property/node-world.ts.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import type { HostLink } from '../../agent/model/domain.js';
import type { PodInterface } from '../../agent/model/attachments.js';
import { assess } from '../../agent/rules/assess.js';
import type { Snapshot } from '../../agent/model/snapshot.js';
import { createMetricsRenderer } from '../../exporters/prometheus/registry.js';
import { assertExposition } from '../support/exposition-invariant.js';
import { netLink } from '../support/links.js';
import { snapshotOf, world, type World } from './node-world.js';
import { holds, TIMEOUT } from './fuzz-config.js';

type Renderer = ReturnType<typeof createMetricsRenderer>;
const freshRenderer = (snapshot: Snapshot): Renderer => createMetricsRenderer({ version: 'fuzz', nodeVersion: 'v0', assessed: async () => ({ snapshot, assessment: assess(snapshot) }), processMetrics: false });

/** Renders the node `w` describes, through the collectors' join, assess() and the renderer (a fresh one unless given). */
async function render(w: World, renderer?: (snapshot: Snapshot) => Renderer): Promise<string> {
  return (renderer ?? freshRenderer)(await snapshotOf(w)).render();
}

describe('a random node renders a valid exposition', { timeout: TIMEOUT }, () => {
  it('pods, NADs, host and pod links, leases from outside input: the body holds the exposition invariant', async () => {
    await holds('rendered exposition', [world], async (w) => {
      const body = await render(w);
      // The bytes a scraper receives. (A lone surrogate from a manifest's YAML "\ud800" escape goes
      // out as U+FFFD: valid UTF-8, but lossy; see docs/testing.md.)
      assertExposition(Buffer.from(body, 'utf8'), 'random node');
    }, 100);
  });

  // Issue 17: the renderer keeps label texts and their bytes from one render to the next; what it
  // writes for a node must not depend on the nodes it rendered before.
  it('one renderer over a sequence of nodes writes what a fresh renderer writes for each', async () => {
    await holds('renderer caches', [fc.array(world, { minLength: 2, maxLength: 5 })], async (worlds) => {
      let current: Snapshot | undefined;
      const kept = createMetricsRenderer({ version: 'fuzz', nodeVersion: 'v0', assessed: async () => ({ snapshot: current as Snapshot, assessment: assess(current as Snapshot) }), processMetrics: false });
      for (const w of worlds) {
        current = await snapshotOf(w);
        const again = await kept.render();
        if (again !== (await freshRenderer(current).render())) throw new Error('a reused renderer wrote another body than a fresh one');
      }
    }, 50);
  });

  it('a label that changes on an interface the renderer has seen is written anew, one label at a time', async () => {
    const hostChanges: ((l: HostLink) => HostLink)[] = [
      (l) => ({ ...l, ifindex: (l.ifindex + 1000) as never }),
      (l) => ({ ...l, kind: `${l.kind}x` }),
      (l) => ({ ...l, parentName: `${l.parentName}p` }),
      (l) => ({ ...l, masterName: `${l.masterName}m` }),
      (l) => ({ ...l, mac: l.mac === '02:00:00:00:00:01' ? '02:00:00:00:00:02' : '02:00:00:00:00:01' }),
      (l) => ({ ...l, operstate: l.operstate === 'up' ? 'down' : 'up' }),
      (l) => ({ ...l, device: { ...l.device, duplex: `${l.device.duplex ?? ''}d` } }),
      (l) => ({ ...l, device: { ...l.device, driver: `${l.device.driver ?? ''}v` } }),
      (l) => ({ ...l, device: { ...l.device, pciAddress: '0000:00:00.7' as never } }),
    ];
    const podChanges: ((i: PodInterface) => PodInterface)[] = [
      (i) => ({ ...i, link: { ...i.link, mac: i.link.mac === '02:00:00:00:00:01' ? '02:00:00:00:00:02' : '02:00:00:00:00:01' } }),
      (i) => ({ ...i, kind: `${i.kind}x` }),
      (i) => ({ ...i, master: `${i.master}m` }),
      (i) => ({ ...i, network: `${i.network}n` }),
      (i) => ({ ...i, networkNamespace: `${i.networkNamespace}s` }),
      (i) => ({ ...i, pciAddress: `${i.pciAddress}1` }),
      (i) => ({ ...i, trafficClass: `${i.trafficClass}t` }),
      (i) => ({ ...i, isDefault: !i.isDefault }),
    ];
    await holds('renderer caches, one change at a time', [world], async (w) => {
      const base = await snapshotOf(w);
      const variants: Snapshot[] = [
        ...hostChanges.map((f) => ({ ...base, hostLinks: base.hostLinks.map(f) })),
        ...podChanges.map((f) => ({ ...base, podNetns: base.podNetns.map((v) => ({ ...v, interfaces: v.interfaces.map(f) })) })),
      ];
      let current = base;
      const kept = createMetricsRenderer({ version: 'fuzz', nodeVersion: 'v0', assessed: async () => ({ snapshot: current, assessment: assess(current) }), processMetrics: false });
      for (const v of variants) {
        // A copy of the base each time: the renderer keeps one body per snapshot object, and the
        // label caches must see the base again before each change.
        for (const s of [{ ...base }, v]) {
          current = s;
          if ((await kept.render()) !== (await freshRenderer(s).render())) throw new Error('a reused renderer kept a label that changed');
        }
      }
    }, 30);
  });

  // Issue 14 row 3: the same network asked for twice (same or another spelling) must not yield the same series twice.
  it('a pod that repeats entries of its networks annotation: still no duplicate series', async () => {
    const entry = fc.constantFrom('nad-d', 'nad-d@net1', 'default/nad-d@net1', 'other/nad-d@net9', 'nad-d@net9', 'nad-e@net2');
    const nad = (namespace: string, name: string): object => ({ metadata: { name, namespace }, spec: { config: '{"cniVersion":"0.3.1","type":"macvlan","master":"eth1"}' } });
    await holds('repeated networks entries', [fc.array(entry, { minLength: 2, maxLength: 6 }), fc.subarray(['net1', 'net2', 'net9'])], async (entries, present) => {
      const body = await render({
        pods: [{ metadata: { name: 'p', namespace: 'default', uid: '0b0b0b0b-0000-4000-8000-000000000001', annotations: { 'k8s.v1.cni.cncf.io/networks': entries.join(',') } }, spec: { nodeName: 'node-1' } }],
        nads: [nad('default', 'nad-d'), nad('other', 'nad-d'), nad('default', 'nad-e')],
        host: [netLink({ ifindex: 2, name: 'eth1' })],
        podLinks: [present.map((n) => [n, 1, 'macvlan' as const] as [string, number, 'macvlan'])],
        leases: [],
      });
      assertExposition(Buffer.from(body, 'utf8'), `networks "${entries.join(',')}"`);
    }, 50);
  });
});
