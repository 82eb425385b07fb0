/**
 * The join: which pod each network namespace belongs to, which network (NAD) each of its
 * interfaces belongs to, which host link it hangs off, and which requested attachments are
 * missing. Pure functions of what the collectors and the pod-metadata port saw.
 */
import { ExpectedAttachment, JoinSource, NetnsSample, PodInterface, PodNetnsView } from '../model/attachments.js';
import type { HostLink, NetLink } from '../model/domain.js';
import { type PciAddress } from '../model/ids.js';
import type { NetworkDefinition, NetworkSelection, NetworkStatusEntry, PodInfo } from '../model/pods.js';
import type { PodSandbox } from '../model/ports.js';

/** Splits a network-status name, `namespace/name` (or a bare cluster network name). */
export function splitNetworkName(full: string, podNamespace: string): { namespace: string; name: string } {
  const slash = full.indexOf('/');
  return slash < 0 ? { namespace: podNamespace, name: full } : { namespace: full.slice(0, slash), name: full.slice(slash + 1) };
}

const statusOf = (pod: PodInfo): readonly NetworkStatusEntry[] => (pod.status.ok ? pod.status.value : []);
const requestedOf = (pod: PodInfo): readonly NetworkSelection[] => (pod.requested.ok ? pod.requested.value : []);

function sameMac(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}

/**
 * How well a pod's network-status describes a namespace's links: one point per entry whose
 * interface exists with the same MAC. An entry naming an interface that exists with another MAC
 * rules the pod out. ipvlan children share their master's MAC, so several pods may tie; a tie
 * joins nobody rather than guessing.
 */
function statusScore(pod: PodInfo, links: readonly NetLink[]): number {
  let score = 0;
  for (const entry of statusOf(pod)) {
    if (!entry.interface || !entry.mac) continue;
    const link = links.find((l) => l.name === entry.interface);
    if (!link) continue;
    if (!sameMac(link.mac, entry.mac)) return 0;
    score++;
  }
  return score;
}

/** The pod a runtime sandbox belongs to: by UID, else (a pod re-created under the same name) by namespace and name. */
function podOfSandbox(sandbox: PodSandbox, pods: readonly PodInfo[]): PodInfo | undefined {
  return pods.find((p) => sandbox.uid !== '' && p.uid === sandbox.uid) ?? pods.find((p) => p.namespace === sandbox.namespace && p.name === sandbox.name && (sandbox.uid === '' || p.uid === undefined || p.uid === ''));
}

/**
 * The pod of a namespace, in order of authority: the runtime's sandbox whose namespace this is
 * (matched by nsfs inode), the pod UID from a process's cgroup, then network-status MACs.
 */
export function podOfNetns(
  sample: NetnsSample,
  pods: readonly PodInfo[],
  claimed: ReadonlySet<PodInfo>,
  sandbox?: PodSandbox,
): { pod: PodInfo | undefined; joinedBy: JoinSource } {
  if (sandbox) {
    const pod = podOfSandbox(sandbox, pods);
    if (pod) return { pod, joinedBy: 'cri' };
  }
  if (sample.ref.podUid) {
    const pod = pods.find((p) => p.uid === sample.ref.podUid);
    if (pod) return { pod, joinedBy: 'cgroup' };
  }
  let best: PodInfo | undefined;
  let bestScore = 0;
  let tie = false;
  for (const pod of pods) {
    if (claimed.has(pod)) continue;
    const score = statusScore(pod, sample.links);
    if (score > bestScore) {
      best = pod;
      bestScore = score;
      tie = false;
    } else if (score > 0 && score === bestScore) {
      tie = true;
    }
  }
  return best && !tie ? { pod: best, joinedBy: 'network-status' } : { pod: undefined, joinedBy: 'none' };
}

/** Link kinds that sit on a lower device of the host: their IFLA_LINK is the master. */
const STACKED_KINDS = new Set(['macvlan', 'macvtap', 'ipvlan', 'ipvtap', 'vlan']);

/** The interface name Multus gives the i-th (0-based) secondary network when none is asked for. */
const defaultIfName = (index: number): string => `net${index + 1}`;

function describeInterface(
  link: NetLink,
  pod: PodInfo | undefined,
  selfNsid: number,
  hostByIndex: ReadonlyMap<number, HostLink>,
  networks: readonly NetworkDefinition[],
  vfs: ReadonlySet<string>,
): PodInterface {
  const status = pod ? statusOf(pod).find((e) => e.interface === link.name) : undefined;
  const requested = pod ? requestedOf(pod).find((r, i) => (r.interface ?? defaultIfName(i)) === link.name) : undefined;
  let network = '';
  let networkNamespace = '';
  if (status && pod) ({ namespace: networkNamespace, name: network } = splitNetworkName(status.name, pod.namespace));
  else if (requested) ({ namespace: networkNamespace, name: network } = requested);
  const definition = network ? networks.find((n) => n.name === network && n.namespace === networkNamespace) : undefined;

  // Only stacked kinds have a master; a veth's IFLA_LINK is its peer, which is no master.
  const stacked = STACKED_KINDS.has(link.kind);
  const host = stacked && link.parentIfindex !== undefined && link.parentNetnsid === selfNsid ? hostByIndex.get(link.parentIfindex) : undefined;
  let kind = link.kind;
  if (kind === '') {
    // A netdev without IFLA_INFO_KIND inside a pod was moved in whole: a VF or a host device.
    const pci = status?.pciAddress ?? link.pciAddress;
    if (definition?.type === 'sriov' || (pci !== undefined && vfs.has(pci))) kind = 'sriov';
    else if (definition?.type === 'host-device' || pci !== undefined) kind = 'host-device';
    else kind = 'device';
  }
  return {
    link,
    network,
    networkNamespace,
    kind,
    master: host?.name ?? '',
    masterIfindex: host?.ifindex,
    pciAddress: status?.pciAddress ?? link.pciAddress ?? '',
    trafficClass: definition?.trafficClass ?? '',
    isDefault: status?.default ?? false,
    status,
    definition,
  };
}

/**
 * The attachments a pod should have, requested first, then those only network-status lists, each
 * marked present or not. A request without an interface name gets the one network-status reports
 * for that network, else Multus's default `net<N>` by position.
 */
export function expectedAttachments(pod: PodInfo, links: readonly NetLink[]): ExpectedAttachment[] {
  const present = new Set(links.map((l) => l.name as string));
  const out: ExpectedAttachment[] = [];
  const seen = new Set<string>();
  requestedOf(pod).forEach((r, i) => {
    const listed = statusOf(pod).find((e) => {
      if (e.default) return false;
      const n = splitNetworkName(e.name, pod.namespace);
      return n.name === r.name && n.namespace === r.namespace;
    });
    const ifname = r.interface ?? listed?.interface ?? defaultIfName(i);
    seen.add(ifname);
    out.push({ network: r.name, networkNamespace: r.namespace, interface: ifname, reason: 'requested', present: present.has(ifname) });
  });
  for (const e of statusOf(pod)) {
    if (e.default || !e.interface || seen.has(e.interface)) continue;
    const { namespace, name } = splitNetworkName(e.name, pod.namespace);
    out.push({ network: name, networkNamespace: namespace, interface: e.interface, reason: 'listed', present: present.has(e.interface) });
  }
  return out;
}

/** Joins every sampled namespace with its pod, networks and host masters. */
export function joinPodNetns(input: {
  readonly samples: readonly NetnsSample[];
  readonly selfNsid: number;
  readonly hostLinks: readonly HostLink[];
  readonly pods: readonly PodInfo[];
  readonly networks: readonly NetworkDefinition[];
  /** PCI addresses of the node's SR-IOV VFs: a kindless netdev at one of them is a VF. */
  readonly vfPciAddresses?: ReadonlySet<string>;
  /** The container runtime's ready sandboxes (CRI), each with its namespace's inode; empty without a runtime or while it is away. */
  readonly sandboxes?: readonly PodSandbox[];
}): PodNetnsView[] {
  const hostByIndex = new Map<number, HostLink>(input.hostLinks.map((l) => [l.ifindex, l]));
  const sandboxByInode = new Map<number, PodSandbox>();
  for (const s of input.sandboxes ?? []) if (s.netnsInode !== undefined) sandboxByInode.set(s.netnsInode, s);
  const claimed = new Set<PodInfo>();
  // Runtime and cgroup joins first, so that a MAC match cannot take a pod that they already prove.
  const rank = (s: NetnsSample): number => (sandboxByInode.has(s.ref.inode) ? 2 : s.ref.podUid !== undefined ? 1 : 0);
  const order = [...input.samples].sort((a, b) => rank(b) - rank(a));
  const views: PodNetnsView[] = [];
  for (const sample of order) {
    const sandbox = sandboxByInode.get(sample.ref.inode);
    const { pod, joinedBy } = podOfNetns(sample, input.pods, claimed, sandbox);
    if (pod) claimed.add(pod);
    const interfaces = sample.links
      .filter((l) => l.name !== 'lo')
      .map((l) => describeInterface(l, pod, input.selfNsid, hostByIndex, input.networks, input.vfPciAddresses ?? new Set()));
    views.push({ netns: sample.ref, nsid: sample.nsid, pod, joinedBy, sandboxId: sandbox?.id, sandbox, interfaces, attachments: pod ? expectedAttachments(pod, sample.links) : [] });
  }
  return views;
}

/**
 * Who uses each VF, by PCI address: the kubelet's device-plugin allocations say which pod holds
 * it (authoritative, and the only source for a vfio-pci VF that has no netdev and often no
 * device-info); network-status `device-info` PCI addresses add the interface and network.
 */
export function vfUsers(snapshot: {
  readonly podNetns: readonly PodNetnsView[];
  readonly pods: readonly PodInfo[];
  readonly allocations: ReadonlyMap<string, { readonly namespace: string; readonly pod: string }>;
}): Map<PciAddress, { namespace: string; pod: string; interface: string; network: string }> {
  const out = new Map<PciAddress, { namespace: string; pod: string; interface: string; network: string }>();
  for (const [id, a] of snapshot.allocations) {
    if (/^[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/.test(id)) out.set(id as PciAddress, { namespace: a.namespace, pod: a.pod, interface: '', network: '' });
  }
  for (const pod of snapshot.pods) {
    for (const e of statusOf(pod)) {
      if (!e.pciAddress) continue;
      out.set(e.pciAddress, { namespace: pod.namespace, pod: pod.name, interface: e.interface ?? '', network: splitNetworkName(e.name, pod.namespace).name });
    }
  }
  // A VF netdev found in a pod namespace names its user even without device-info.
  for (const v of snapshot.podNetns) {
    if (!v.pod) continue;
    for (const i of v.interfaces) {
      const pci = i.link.pciAddress;
      if (pci && !out.get(pci)?.interface) out.set(pci, { namespace: v.pod.namespace, pod: v.pod.name, interface: i.link.name, network: i.network });
    }
  }
  return out;
}
