/**
 * A random node for the property suites: Pod and NAD objects, link messages and lease
 * directories from the generators of arbitraries.ts, through the real parsers and the collectors'
 * join (test/support/collectors.ts snapshotFrom) into a Snapshot.
 *
 * What the node itself guarantees is kept: link names and ifindexes unique in a namespace, pods
 * unique by namespace/name and UID, NADs by namespace/name, lease names unique in a directory.
 * Everything a pod or NAD author or the kernel's attributes can say is random.
 */
import { isIP } from 'node:net';
import fc from 'fast-check';
import type { NetLink, NetnsRef } from '../../agent/model/domain.js';
import { type PodUid } from '../../agent/model/ids.js';
import type { IpamAllocation } from '../../agent/model/ipam.js';
import type { NetworkDefinition, PodInfo } from '../../agent/model/pods.js';
import type { Snapshot } from '../../agent/model/snapshot.js';
import { networkDefinitionFromObject } from '../../agent/multus/parse-nad.js';
import { podInfoFromObject } from '../../agent/multus/pod-info.js';
import { FailureLog } from '../../agent/runtime/snapshot.js';
import { encodeAttr } from '../../collectors/netlink/attrs.js';
import { IFINFOMSG_LEN, IFLA, parseLinkMessage } from '../../collectors/netlink/parse-link.js';
import { snapshotFrom } from '../support/collectors.js';
import { netLink } from '../support/links.js';
import { hostileText, ifName, linkNameBytes, nadObject, podObject } from './arbitraries.js';

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** Attributes a link message may carry besides its name (random payloads, known types). */
const linkAttr = fc.tuple(fc.constantFrom(IFLA.MTU, IFLA.OPERSTATE, IFLA.CARRIER, IFLA.CARRIER_CHANGES, IFLA.LINKINFO, IFLA.STATS64, IFLA.ADDRESS, IFLA.LINK, IFLA.MASTER, IFLA.PARENT_DEV_NAME), fc.uint8Array({ maxLength: 200 })).map(([t, p]) => encodeAttr(t, Buffer.from(p)));

/** Host links: unique names (bytes), ifindex 2.., random flags and attributes. */
const hostLinks = fc
  .uniqueArray(fc.tuple(linkNameBytes, fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.array(linkAttr, { maxLength: 5 })), { maxLength: 5, selector: ([name]) => Buffer.from(name).toString('latin1') })
  .map((specs) =>
    specs.flatMap(([name, flags, attrs], i) => {
      const header = Buffer.alloc(IFINFOMSG_LEN);
      header.writeInt32LE(i + 2, 4);
      Buffer.from(flags).copy(header, 8);
      const link = parseLinkMessage(Buffer.concat([header, ...attrs, encodeAttr(IFLA.IFNAME, Buffer.concat([Buffer.from(name), Buffer.from([0])]))]));
      return link ? [link] : [];
    }),
  );

/** A lease file name: an address in any spelling the directory may hold, or junk the listing drops. */
const leaseName = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('10.1.0.2', 'fd00::2', 'FD00::2', 'fd00:0::2', '::ffff:10.1.0.2', 'last_reserved_ip.0', 'lock'), hostileText(12));
const allocations = fc
  .uniqueArray(fc.tuple(leaseName, fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }), hostileText(20)), fc.option(ifName)), { maxLength: 5, selector: ([n]) => n })
  .map((l) => l.filter(([n]) => isIP(n) !== 0).map(([ip, containerId, ifname]): IpamAllocation => ({ ip, containerId, ifname: ifname ?? undefined, mtimeMs: 0 })));

/** Pods and NADs as the parsers read them, unique as the API server keeps them. */
function unique<T extends { namespace: string; name: string }>(items: readonly T[], uid?: (t: T) => string | undefined): T[] {
  const seen = new Set<string>();
  return items.filter((t) => {
    const keys = [`n:${t.namespace}/${t.name}`, ...(uid?.(t) ? [`u:${uid(t)}`] : [])];
    if (keys.some((k) => seen.has(k))) return false;
    for (const k of keys) seen.add(k);
    return true;
  });
}

export const world = fc.record({
  pods: fc.array(podObject, { maxLength: 4 }),
  nads: fc.array(nadObject, { maxLength: 4 }),
  host: hostLinks,
  podLinks: fc.array(fc.uniqueArray(fc.tuple(ifName, fc.nat(8), fc.constantFrom('macvlan', 'ipvlan', '', 'veth')), { maxLength: 3, selector: ([n]) => n }), { maxLength: 4 }),
  leases: allocations,
});

export type World = typeof world extends fc.Arbitrary<infer T> ? T : never;

/** The snapshot of the node `w` describes, through the collectors' join. */
export async function snapshotOf(w: World): Promise<Snapshot> {
  const pods: PodInfo[] = unique(w.pods.flatMap((p) => { const r = podInfoFromObject(p); return r.ok ? [r.value] : []; }), (p) => p.uid);
  const networks: NetworkDefinition[] = unique(w.nads.flatMap((n) => { const r = networkDefinitionFromObject(n); return r.ok ? [r.value] : []; }));
  const refs: { ref: NetnsRef; links: NetLink[] }[] = w.podLinks.map((links, i) => ({
    ref: { inode: 1000 + i, path: `/run/netns/cni-${i}`, bindPath: `/run/netns/cni-${i}`, pids: [100 + i], podUid: pods[i]?.uid as PodUid | undefined, containerId: undefined },
    links: links.map(([name, parent, kind], j) => netLink({ ifindex: j + 2, name, kind, parentIfindex: (parent + 1) as never, parentNetnsid: 0 as never })),
  }));
  const snapshot = await snapshotFrom(
    {
      links: { listLinks: async () => w.host, close: () => undefined },
      netns: {
        discovery: { discover: () => ({ netns: refs.map((r) => r.ref), deniedPids: 0 }) },
        links: { selfNsid: async () => 0, listIn: async (ref) => ({ nsid: ref.inode - 999, links: refs.find((r) => r.ref.inode === ref.inode)?.links ?? [] }), concurrency: 1, retain: () => undefined, close: () => undefined },
      },
      ipam: { source: { read: async (dirs) => dirs.map((d) => ({ ...d, exists: true, allocations: w.leases })) }, root: '/var/lib/cni/networks', leakGraceMs: 0 },
      metadata: { pods: () => pods, networks: () => networks },
    },
    { collectorTimeoutMs: 10_000, failures: new FailureLog(quiet), now: () => 60_000 },
  );
  return snapshot;
}
