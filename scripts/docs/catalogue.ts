/**
 * The metric catalogue as the agent exports it: a fixture node that exercises every family
 * (host links, a pod on three NADs, an unknown namespace, an invalid annotation, a policy, a
 * mismatched route, host-local ranges, an SR-IOV PF with a VF a pod holds, and every self-metric
 * family) rendered by the real /metrics renderer, once per pod-series mode, and read back as
 * name, type, help and label names. Nothing is typed twice: help text and labels come from the
 * family code, so the catalogue cannot drift from it.
 */
import { assess } from '../../agent/rules/assess.js';
import { joinPodNetns } from '../../agent/rules/attachments.js';
import { netLink } from '../../test/support/links.js';
import type { LinkCounters, NetLink } from '../../agent/model/domain.js';
import type { IfIndex, IfName, PciAddress } from '../../agent/model/ids.js';
import { EMPTY_SNAPSHOT, type Snapshot } from '../../agent/model/snapshot.js';
import { EXPORT_ALL } from '../../exporters/prometheus/export-filter.js';
import { hostLocalNetworks } from '../../agent/rules/ipam.js';
import { networkDefinitionFromObject } from '../../agent/multus/parse-nad.js';
import { podInfoFromObject } from '../../agent/multus/pod-info.js';
import type { NetworkDefinition, PodInfo } from '../../agent/model/pods.js';
import { joinHostLinks } from '../../agent/runtime/snapshot.js';
import type { SriovSnapshot, VfCounters } from '../../agent/model/sriov.js';
import { eventFamilies, kubeCacheFamilies, manifestFamilies, netnsFamilies } from '../../exporters/prometheus/agent-families.js';
import type { Family } from '../../exporters/prometheus/family.js';
import { createMetricsRenderer } from '../../exporters/prometheus/registry.js';
import { webAuthFamilies, webLimitFamilies, webTlsFamilies } from '../../exporters/prometheus/web-families.js';

/** One metric family as /metrics announces it. */
export interface CatalogueFamily {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  /** Label names of its samples, sorted. */
  readonly labels: readonly string[];
}

const SELF_NSID = 0;

/** A link with every counter at 1 (so that every counter family has a sample). */
function link(ifindex: number, name: string, over: Partial<NetLink> = {}): NetLink {
  const counters: LinkCounters = { rxBytes: 1n, rxPackets: 1n, rxErrors: 1n, rxDropped: 1n, rxMulticast: 1n, txBytes: 1n, txPackets: 1n, txErrors: 1n, txDropped: 1n };
  return netLink({ mac: '02:00:00:00:00:01', counters, ...over, ifindex, name });
}

function parsed<T>(p: { ok: true; value: T } | { ok: false; error: string }): T {
  if (!p.ok) throw new Error(`catalogue fixture does not parse: ${p.error}`);
  return p.value;
}

function nad(name: string, config: object, annotations: Record<string, string> = {}): NetworkDefinition {
  return parsed(
    networkDefinitionFromObject({
      apiVersion: 'k8s.cni.cncf.io/v1',
      kind: 'NetworkAttachmentDefinition',
      metadata: { name, namespace: 'default', labels: { 'multinet.io/traffic-class': 'bulk' }, annotations },
      spec: { config: JSON.stringify({ cniVersion: '0.3.1', ...config }) },
    }),
  );
}

function pod(name: string, uid: string, annotations: Record<string, string>): PodInfo {
  return parsed(podInfoFromObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid, labels: { app: name }, annotations }, spec: { nodeName: 'node-1' } }));
}

/** A snapshot in which every snapshot family has at least one sample. */
function fixtureSnapshot(): Snapshot {
  const hostLinks = joinHostLinks(
    [link(1, 'lo', { operstate: 'unknown' }), link(2, 'eth1'), link(3, 'eth2'), link(4, 'ens1f0')],
    new Map([[4 as IfIndex, { speedBytesPerSecond: 3_125_000_000, duplex: 'full', driver: 'ice', pciAddress: '0000:3b:00.0' as PciAddress }]]),
  );
  const networks = [
    nad('mgmt-network', { type: 'macvlan', master: 'eth1', mode: 'bridge', ipam: { type: 'host-local', subnet: '10.10.0.0/24', routes: [{ dst: '10.99.0.0/16' }] } }),
    nad('storage-network', { type: 'macvlan', master: 'eth2', mode: 'bridge', ipam: { type: 'host-local', subnet: '10.30.0.0/24' } }, { 'multinet.io/allowed-pods': 'hexagonal.io/adapter in (database)' }),
    nad('sriov-network', { type: 'sriov', ipam: { type: 'host-local', subnet: 'fd00:30::/64' } }, { 'k8s.v1.cni.cncf.io/resourceName': 'intel.com/sriov_netdevice' }),
  ];
  const web = pod('web-0', '00000000-0000-0000-0000-000000000001', {
    'k8s.v1.cni.cncf.io/networks': 'mgmt-network@net1,storage-network@net2,sriov-network@net3',
    'k8s.v1.cni.cncf.io/network-status': JSON.stringify([{ name: 'default/sriov-network', interface: 'net3', 'device-info': { type: 'pci', version: '1.1.0', pci: { 'pci-address': '0000:3b:01.0' } } }]),
  });
  // Its network-status also names web-0's VF: multinet_sriov_vf_claim_conflict.
  const broken = pod('broken-0', '00000000-0000-0000-0000-000000000002', {
    'k8s.v1.cni.cncf.io/networks': '[{not json',
    'k8s.v1.cni.cncf.io/network-status': JSON.stringify([{ name: 'default/sriov-network', interface: 'net1', 'device-info': { type: 'pci', version: '1.1.0', pci: { 'pci-address': '0000:3b:01.0' } } }]),
  });
  const pods = [web, broken];
  const podNetns = joinPodNetns({
    samples: [
      {
        ref: { inode: 100, path: '/run/netns/cni-100', bindPath: '/run/netns/cni-100', pids: [10], podUid: web.uid, containerId: 'c0ffee' },
        nsid: 1,
        links: [link(1, 'eth0', { kind: 'veth' }), link(2, 'net1', { kind: 'macvlan', parentIfindex: 2 as IfIndex, parentNetnsid: SELF_NSID as never }), link(3, 'net2', { kind: 'macvlan', parentIfindex: 3 as IfIndex, parentNetnsid: SELF_NSID as never })],
      },
      { ref: { inode: 200, path: '/run/netns/cni-200', bindPath: '/run/netns/cni-200', pids: [], podUid: undefined, containerId: undefined }, nsid: 2, links: [link(1, 'eth0', { kind: 'veth' })] },
      // A namespace holding more links than the per-pod object limit below: multinet_pod_series_capped.
      { ref: { inode: 300, path: '/run/netns/cni-300', bindPath: '/run/netns/cni-300', pids: [], podUid: undefined, containerId: undefined }, nsid: 3, links: [1, 2, 3, 4].map((i) => link(i, `d${i}`, { kind: 'dummy' })) },
    ],
    selfNsid: SELF_NSID,
    hostLinks,
    pods,
    networks,
    podObjectLimit: 3,
  });
  const stats: VfCounters = { rxPackets: 1n, txPackets: 1n, rxBytes: 1n, txBytes: 1n, rxBroadcast: 1n, rxMulticast: 1n, txBroadcast: 1n, txMulticast: 1n, rxDropped: 1n, txDropped: 1n, rxErrors: 1n, txErrors: 1n };
  const sriov: SriovSnapshot = {
    pfs: [
      {
        pciAddress: '0000:3b:00.0' as PciAddress,
        netdevs: ['ens1f0' as IfName],
        netdev: 'ens1f0' as IfName,
        linkLayer: 'ethernet',
        driver: 'ice',
        numVfs: 1,
        totalVfs: 64,
        numaNode: 0,
        vendorId: '0x8086',
        deviceId: '0x1593',
        vfDeviceId: '0x1889',
        vfs: [
          {
            index: 0,
            pciAddress: '0000:3b:01.0' as PciAddress,
            driver: 'iavf',
            netdev: undefined,
            sysfsStats: stats,
            netlink: { index: 0, mac: '52:54:00:aa:00:01', vlan: 100, qos: 3, vlanProto: '802.1Q', minTxRateMbps: 100, maxTxRateMbps: 1000, spoofCheck: true, linkState: 'auto', trust: false, rssQuery: false, nodeGuid: undefined, portGuid: undefined, stats },
          },
        ],
      },
    ],
  };
  return {
    ...EMPTY_SNAPSHOT,
    takenAtMs: 1_000_000,
    hostLinks,
    podNetns,
    pods,
    networks,
    sriov,
    collectors: [{ name: 'netlink', success: true, durationSeconds: 0.01 }],
    ipam: {
      nets: hostLocalNetworks(networks, '/var/lib/cni/networks'),
      dirs: hostLocalNetworks(networks, '/var/lib/cni/networks').map(({ network, dir }) => ({ network, dir, exists: true, allocations: [] })),
      leaksJudgeable: true,
      leakGraceMs: 0,
    },
    networking: new Map([[100, { addresses: [], routes: [{ family: 4, dst: '10.10.0.0/24', gateway: undefined, iface: 'eth0' }] }]]),
  };
}

/** Families of the agent's own moving parts (events, kube caches, netns, /metrics auth and TLS), as main.ts adds them. */
function liveFamilies(): Family[] {
  return [
    ...eventFamilies({ written: new Map([['HostInterfaceNotReady/Warning', 1]]), dropped: { rateLimited: 0, queueFull: 0, retriesExhausted: 0 }, queued: 0 }),
    ...kubeCacheFamilies([{ resource: 'pods', synced: true, lastEventMs: 1_000_000, objects: 1, restarts: 0 }]),
    ...netnsFamilies({ discovered: 1, nsidsCached: 1 }),
    ...webAuthFamilies({ requests: { allowed: 0, unauthenticated: 0, forbidden: 0, error: 0 }, cacheHits: 0, cacheEntries: 0, reviews: { token: { ok: 0, error: 0 }, subject_access: { ok: 0, error: 0 } } }),
    ...webTlsFamilies({ notAfterMs: 2_000_000, reloads: { success: 0, failure: 0 } }),
    ...webLimitFamilies({ bufferedBytes: 0, refusedBuffered: 0, writeTimeouts: 0, droppedPipelined: 0 }),
    ...manifestFamilies({ files: 1, bytes: 100, skipped: new Map([['not_regular_file', 0]]) }),
  ];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$/;

/** Families of a /metrics body: HELP, TYPE and the label names of their samples. */
export function familiesOfExposition(text: string): CatalogueFamily[] {
  const byName = new Map<string, { type: string; help: string; labels: Set<string>; samples: number }>();
  const get = (name: string) => {
    let f = byName.get(name);
    if (!f) byName.set(name, (f = { type: '', help: '', labels: new Set(), samples: 0 }));
    return f;
  };
  for (const line of text.split('\n')) {
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const f = get(meta[2] as string);
      if (meta[1] === 'TYPE') f.type = meta[3] as string;
      else f.help = (meta[3] as string).replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const f = get(m[1] as string);
    f.samples++;
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)) f.labels.add(l[1] as string);
  }
  return [...byName].map(([name, f]) => {
    if (f.samples === 0) throw new Error(`the catalogue fixture gives ${name} no sample: its labels are unknown (scripts/docs/catalogue.ts)`);
    return { name, type: f.type, help: f.help, labels: [...f.labels].sort() };
  });
}

/** Every multinet_* family the agent can export, by name. */
export async function metricCatalogue(): Promise<CatalogueFamily[]> {
  const snapshot = fixtureSnapshot();
  const assessed = { snapshot, assessment: assess(snapshot) };
  const bodies = await Promise.all(
    (['per-pod', 'per-network'] as const).map((podSeries) =>
      createMetricsRenderer({
        version: '0.0.0-docs',
        nodeVersion: 'v0.0.0',
        assessed: async () => assessed,
        processMetrics: false,
        live: liveFamilies,
        filter: { ...EXPORT_ALL, podSeries },
      }).render(),
    ),
  );
  const byName = new Map<string, CatalogueFamily>();
  for (const body of bodies) for (const f of familiesOfExposition(body)) if (f.name.startsWith('multinet_')) byName.set(f.name, f);
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
