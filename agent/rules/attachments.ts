/**
 * The join: which pod each network namespace belongs to, which network (NAD) each of its
 * interfaces belongs to, which host link it hangs off, and which requested attachments are
 * missing. Pure functions of what the collectors and the pod-metadata port saw.
 */
import { AttachmentConflict, ExpectedAttachment, JoinSource, NetnsSample, PodInterface, PodNetnsView } from '../model/attachments.js';
import type { HostLink, NetLink } from '../model/domain.js';
import { type PciAddress } from '../model/ids.js';
import { type VfClaimConflict, type VfUser } from '../model/sriov.js';
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

/**
 * The node's pods indexed for the join, built once per snapshot: a lookup per namespace instead of
 * a pass over every pod (and, for the MAC join, every pod's network-status) per namespace.
 */
export interface PodIndex {
  /** The first pod with each UID. */
  readonly byUid: ReadonlyMap<string, PodInfo>;
  /** Pods by namespace/name, in list order. */
  readonly byName: ReadonlyMap<string, readonly PodInfo[]>;
  /** Pods by a network-status entry's interface and lowercased MAC, in list order. */
  readonly byStatusMac: ReadonlyMap<string, readonly PodInfo[]>;
  /** Each pod's place in the list (the MAC join keeps the list's order). */
  readonly order: ReadonlyMap<PodInfo, number>;
}

const nameKey = (namespace: string, name: string): string => `${namespace}/${name}`;
const macKey = (ifname: string, mac: string): string => `${ifname}\0${mac.toLowerCase()}`;

function pushTo<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) {
    if (list[list.length - 1] !== v) list.push(v);
  } else m.set(k, [v]);
}

/** The index of the last pods array seen: the metadata sources hand out the same array until a pod changes. */
let lastIndex: { readonly pods: readonly PodInfo[]; readonly index: PodIndex } | undefined;

export function podIndex(pods: readonly PodInfo[]): PodIndex {
  if (lastIndex?.pods === pods) return lastIndex.index;
  const index = buildPodIndex(pods);
  lastIndex = { pods, index };
  return index;
}

function buildPodIndex(pods: readonly PodInfo[]): PodIndex {
  const byUid = new Map<string, PodInfo>();
  const byName = new Map<string, PodInfo[]>();
  const byStatusMac = new Map<string, PodInfo[]>();
  const order = new Map<PodInfo, number>();
  for (let i = 0; i < pods.length; i++) {
    const p = pods[i] as PodInfo;
    if (!order.has(p)) order.set(p, i);
    if (p.uid !== undefined && !byUid.has(p.uid)) byUid.set(p.uid, p);
    pushTo(byName, nameKey(p.namespace, p.name), p);
    for (const e of statusOf(p)) if (e.interface && e.mac) pushTo(byStatusMac, macKey(e.interface, e.mac), p);
  }
  return { byUid, byName, byStatusMac, order };
}

/** The pod a runtime sandbox belongs to: by UID, else (a pod re-created under the same name) by namespace and name. */
function podOfSandbox(sandbox: PodSandbox, index: PodIndex): PodInfo | undefined {
  return (sandbox.uid !== '' ? index.byUid.get(sandbox.uid) : undefined) ?? index.byName.get(nameKey(sandbox.namespace, sandbox.name))?.find((p) => sandbox.uid === '' || p.uid === undefined || p.uid === '');
}

/**
 * The pod of a namespace, in order of authority: the runtime's sandbox whose namespace this is
 * (matched by nsfs inode), the pod UID from a process's cgroup, then network-status MACs.
 */
export function podOfNetns(
  sample: NetnsSample,
  index: PodIndex,
  claimed: ReadonlySet<PodInfo>,
  sandbox?: PodSandbox,
): { pod: PodInfo | undefined; joinedBy: JoinSource } {
  if (sandbox) {
    const pod = podOfSandbox(sandbox, index);
    if (pod) return { pod, joinedBy: 'cri' };
  }
  if (sample.ref.podUid) {
    const pod = index.byUid.get(sample.ref.podUid);
    if (pod) return { pod, joinedBy: 'cgroup' };
  }
  // Only a pod with an entry naming one of these links with its MAC can score; scored in list order.
  const candidates = new Set<PodInfo>();
  for (const l of sample.links) {
    if (l.mac === undefined) continue;
    for (const p of index.byStatusMac.get(macKey(l.name, l.mac)) ?? []) candidates.add(p);
  }
  const ordered = [...candidates].sort((a, b) => (index.order.get(a) ?? 0) - (index.order.get(b) ?? 0));
  let best: PodInfo | undefined;
  let bestScore = 0;
  let tie = false;
  for (const pod of ordered) {
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

/** A pod's network-status entries and requests by interface name, the first of each name: built once per pod, not per link. */
interface PodLookups {
  readonly status: ReadonlyMap<string, NetworkStatusEntry>;
  readonly requested: ReadonlyMap<string, NetworkSelection>;
}

/**
 * Per-pod results of the join that depend only on the pod object (and, for the attachments, on
 * its namespace's link names), kept while the pod object lives. The metadata sources keep a pod's
 * object until the Pod changes (manifests: its file; the kube API: its resourceVersion), so on a
 * settled node every scrape finds them here: at 250 pods they were a tenth of what a scrape
 * allocated, and the snapshot holding the same objects as the last one lets the assessment's
 * comparison (assess-reuse.ts) stop at identity.
 */
interface PodMemo {
  readonly limit: number;
  readonly lookups: PodLookups;
  /** The last attachments worked out, and the link names (in dump order) they were worked out for. */
  attachments?: { readonly names: string; readonly result: ReturnType<typeof computeAttachments> };
}
const podMemo = new WeakMap<PodInfo, PodMemo>();

function memoOf(pod: PodInfo, limit: number): PodMemo {
  let m = podMemo.get(pod);
  if (m === undefined || m.limit !== limit) {
    m = { limit, lookups: computeLookups(pod, limit) };
    podMemo.set(pod, m);
  }
  return m;
}

function podLookups(pod: PodInfo, limit: number): PodLookups {
  return memoOf(pod, limit).lookups;
}

function computeLookups(pod: PodInfo, limit: number): PodLookups {
  const status = new Map<string, NetworkStatusEntry>();
  const entries = statusOf(pod);
  for (let i = 0; i < entries.length && i < limit; i++) {
    const e = entries[i] as NetworkStatusEntry;
    if (e.interface !== undefined && !status.has(e.interface)) status.set(e.interface, e);
  }
  const requested = new Map<string, NetworkSelection>();
  const asked = requestedOf(pod);
  for (let i = 0; i < asked.length && i < limit; i++) {
    const r = asked[i] as NetworkSelection;
    const name = r.interface ?? defaultIfName(i);
    if (!requested.has(name)) requested.set(name, r);
  }
  return { status, requested };
}

function describeInterface(
  link: NetLink,
  pod: PodInfo | undefined,
  lookups: PodLookups | undefined,
  selfNsid: number,
  hostByIndex: ReadonlyMap<number, HostLink>,
  networks: ReadonlyMap<string, NetworkDefinition>,
  vfs: ReadonlySet<string>,
): PodInterface {
  const status = lookups?.status.get(link.name);
  const requested = lookups?.requested.get(link.name);
  let network = '';
  let networkNamespace = '';
  if (status && pod) ({ namespace: networkNamespace, name: network } = splitNetworkName(status.name, pod.namespace));
  else if (requested) ({ namespace: networkNamespace, name: network } = requested);
  const definition = network ? networks.get(`${networkNamespace}/${network}`) : undefined;

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
 * Most interfaces and most attachments the agent assesses and exports per pod (or per unknown
 * namespace). A pod whose annotation names 131,000 networks, or whose namespace holds 100,000
 * dummy links, is cut here (and flagged): the work of a snapshot stays bounded and one object
 * cannot crowd out the series of every other pod. Real pods have tens.
 */
export const POD_OBJECT_LIMIT = 256;

/**
 * The attachments a pod should have, requested first, then those only network-status lists, each
 * marked present or not, one per interface name: a later claim on a name already claimed is a
 * conflict (Multus fails such a pod), reported and left out. A request without an interface name
 * gets the one network-status reports for that network, else Multus's default `net<N>` by
 * position. At most `limit` attachments; `total` counts them all.
 */
export function expectedAttachments(pod: PodInfo, links: readonly NetLink[]): ExpectedAttachment[] {
  return attachmentsOf(pod, links, Number.POSITIVE_INFINITY).attachments;
}

/** {@link expectedAttachments}, at most `limit` of them, with the conflicts and how many there were in all. */
function attachmentsOf(pod: PodInfo, links: readonly NetLink[], limit: number): { attachments: ExpectedAttachment[]; conflicts: AttachmentConflict[]; total: number } {
  const m = memoOf(pod, limit);
  // Interface names hold no '/' (the kernel refuses it), so joined with it they key the set of names.
  let names = '';
  for (const l of links) names += `${l.name}/`;
  if (m.attachments?.names !== names) m.attachments = { names, result: computeAttachments(pod, links, limit) };
  return m.attachments.result;
}

function computeAttachments(pod: PodInfo, links: readonly NetLink[], limit: number): { attachments: ExpectedAttachment[]; conflicts: AttachmentConflict[]; total: number } {
  const present = new Set(links.map((l) => l.name as string));
  const out: ExpectedAttachment[] = [];
  const claimed = new Map<string, string>();
  const conflicts: AttachmentConflict[] = [];
  // The first non-default network-status entry of each network, by `namespace/name`.
  const listedFor = new Map<string, NetworkStatusEntry>();
  for (const e of statusOf(pod).slice(0, limit)) {
    if (e.default) continue;
    const n = splitNetworkName(e.name, pod.namespace);
    const k = `${n.namespace}/${n.name}`;
    if (!listedFor.has(k)) listedFor.set(k, e);
  }
  const add = (a: ExpectedAttachment): void => {
    const full = `${a.networkNamespace}/${a.network}`;
    const prior = claimed.get(a.interface);
    if (prior !== undefined) {
      // network-status listing a requested attachment again is no conflict; anything else is.
      if ((a.reason === 'requested' || prior !== full) && conflicts.length < limit) conflicts.push({ interface: a.interface, kept: prior, dropped: full });
      return;
    }
    claimed.set(a.interface, full);
    out.push(a);
  };
  // Entries are read only until `limit` attachments are kept: the rest is counted, not judged, so a
  // 262 KB annotation costs no more than a 256-entry one.
  const requested = requestedOf(pod);
  const status = statusOf(pod);
  let r = 0;
  for (; r < requested.length && out.length < limit; r++) {
    const req = requested[r] as NetworkSelection;
    const listed = listedFor.get(`${req.namespace}/${req.name}`);
    const ifname = req.interface ?? listed?.interface ?? defaultIfName(r);
    add({ network: req.name, networkNamespace: req.namespace, interface: ifname, reason: 'requested', present: present.has(ifname) });
  }
  let s = 0;
  for (; s < status.length && out.length < limit; s++) {
    const e = status[s] as NetworkStatusEntry;
    if (e.default || !e.interface) continue;
    const { namespace, name } = splitNetworkName(e.name, pod.namespace);
    if (claimed.get(e.interface) === `${namespace}/${name}`) continue;
    add({ network: name, networkNamespace: namespace, interface: e.interface, reason: 'listed', present: present.has(e.interface) });
  }
  // Entries not reached: each would have been at most one more attachment.
  const total = out.length + (requested.length - r) + (status.length - s);
  return { attachments: out, conflicts, total };
}

/**
 * The links of a namespace the agent describes, at most `limit`, loopback left out: those a
 * network claims (network-status or the request) first, then the rest, each in name order.
 */
function describedLinks(links: readonly NetLink[], lookups: PodLookups | undefined, limit: number): NetLink[] {
  const all = links.filter((l) => l.name !== 'lo');
  if (all.length <= limit) return all;
  const claimedFirst = (l: NetLink): number => (lookups && (lookups.status.has(l.name) || lookups.requested.has(l.name)) ? 0 : 1);
  return all
    .map((l) => ({ l, rank: claimedFirst(l) }))
    .sort((a, b) => a.rank - b.rank || (a.l.name < b.l.name ? -1 : a.l.name > b.l.name ? 1 : 0))
    .slice(0, limit)
    .map((x) => x.l);
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
  /** Most interfaces and attachments per pod ({@link POD_OBJECT_LIMIT} by default). */
  readonly podObjectLimit?: number;
}): PodNetnsView[] {
  const limit = input.podObjectLimit ?? POD_OBJECT_LIMIT;
  // Loops rather than callbacks over every pod and link each scrape (docs/architecture.md, "Code on the scrape path").
  const hostByIndex = new Map<number, HostLink>();
  for (const l of input.hostLinks) hostByIndex.set(l.ifindex, l);
  const networks = new Map<string, NetworkDefinition>();
  for (const n of input.networks) if (!networks.has(`${n.namespace}/${n.name}`)) networks.set(`${n.namespace}/${n.name}`, n);
  const sandboxByInode = new Map<number, PodSandbox>();
  for (const s of input.sandboxes ?? []) if (s.netnsInode !== undefined) sandboxByInode.set(s.netnsInode, s);
  const claimed = new Set<PodInfo>();
  const index = podIndex(input.pods);
  // Runtime and cgroup joins first, so that a MAC match cannot take a pod that they already prove.
  const bySandbox: NetnsSample[] = [];
  const byCgroup: NetnsSample[] = [];
  const rest: NetnsSample[] = [];
  for (const s of input.samples) (sandboxByInode.has(s.ref.inode) ? bySandbox : s.ref.podUid !== undefined ? byCgroup : rest).push(s);
  const order = [...bySandbox, ...byCgroup, ...rest];
  const vfPciAddresses = input.vfPciAddresses ?? new Set<string>();
  const views: PodNetnsView[] = [];
  for (const sample of order) {
    const sandbox = sandboxByInode.get(sample.ref.inode);
    let { pod, joinedBy } = podOfNetns(sample, index, claimed, sandbox);
    // A pod is one namespace: a second one proven to be the same pod's (a namespace a container
    // made for itself, a stale sandbox) is exported as unknown, so no series appears twice.
    if (pod && claimed.has(pod)) ({ pod, joinedBy } = { pod: undefined, joinedBy: 'none' });
    if (pod) claimed.add(pod);
    const lookups = pod ? podLookups(pod, limit) : undefined;
    const links = describedLinks(sample.links, lookups, limit);
    const interfaces: PodInterface[] = [];
    for (const l of links) interfaces.push(describeInterface(l, pod, lookups, input.selfNsid, hostByIndex, networks, vfPciAddresses));
    const { attachments, conflicts, total } = pod ? attachmentsOf(pod, sample.links, limit) : { attachments: [], conflicts: [], total: 0 };
    let linkCount = 0;
    for (const l of sample.links) if (l.name !== 'lo') linkCount++;
    const capped = linkCount > interfaces.length || total > attachments.length ? { interfaces: linkCount, attachments: total, limit } : undefined;
    views.push({
      netns: sample.ref,
      nsid: sample.nsid,
      pod,
      joinedBy,
      sandboxId: sandbox?.id,
      sandbox,
      interfaces,
      attachments,
      ...(conflicts.length > 0 ? { conflicts } : {}),
      ...(capped ? { capped } : {}),
    });
  }
  return views;
}

const PCI_ADDRESS = /^[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;

type Claim = { namespace: string; pod: string; interface: string; network: string };

/**
 * Who uses each VF, by PCI address, and the network-status claims that contradict it. Evidence in
 * order of authority: the kubelet's device-plugin allocation (PodResources: the only source for a
 * vfio-pci VF, which has no netdev), the VF's netdev found in a pod's namespace, then network-status
 * `device-info` (written by the CNI, editable by anyone who can patch the pod). A claim by a pod
 * other than the holder is a conflict; two pods' claims with nothing else to settle them credit
 * nobody. Interface and network come from the holder's own claim or netdev.
 */
export function vfClaims(snapshot: {
  readonly podNetns: readonly PodNetnsView[];
  readonly pods: readonly PodInfo[];
  readonly allocations: ReadonlyMap<string, { readonly namespace: string; readonly pod: string }>;
}): { users: Map<PciAddress, VfUser>; conflicts: VfClaimConflict[] } {
  const podKey = (c: { namespace: string; pod: string }): string => `${c.namespace}/${c.pod}`;
  const claims = new Map<string, Claim[]>();
  for (const pod of snapshot.pods) {
    for (const e of statusOf(pod)) {
      if (!e.pciAddress) continue;
      const list = claims.get(e.pciAddress) ?? [];
      if (!list.some((c) => c.namespace === pod.namespace && c.pod === pod.name)) list.push({ namespace: pod.namespace, pod: pod.name, interface: e.interface ?? '', network: splitNetworkName(e.name, pod.namespace).name });
      claims.set(e.pciAddress, list);
    }
  }
  const netdevs = new Map<string, Claim>();
  for (const v of snapshot.podNetns) {
    if (!v.pod) continue;
    for (const i of v.interfaces) {
      const pci = i.link.pciAddress;
      if (pci && !netdevs.has(pci)) netdevs.set(pci, { namespace: v.pod.namespace, pod: v.pod.name, interface: i.link.name, network: i.network });
    }
  }
  const allocated = new Map<string, { namespace: string; pod: string }>();
  for (const [id, a] of snapshot.allocations) if (PCI_ADDRESS.test(id)) allocated.set(id, { namespace: a.namespace, pod: a.pod });

  const users = new Map<PciAddress, VfUser>();
  const conflicts: VfClaimConflict[] = [];
  for (const pci of new Set([...allocated.keys(), ...netdevs.keys(), ...claims.keys()])) {
    const claimed = claims.get(pci) ?? [];
    const netdev = netdevs.get(pci);
    const alloc = allocated.get(pci);
    const holder = alloc ? { ...alloc, by: 'podresources' as const } : netdev ? { namespace: netdev.namespace, pod: netdev.pod, by: 'netdev' as const } : undefined;
    if (holder) {
      const own = claimed.find((c) => podKey(c) === podKey(holder));
      const dev = netdev && podKey(netdev) === podKey(holder) ? netdev : undefined;
      users.set(pci as PciAddress, { namespace: holder.namespace, pod: holder.pod, interface: own?.interface || dev?.interface || '', network: own?.network || dev?.network || '' });
      for (const c of claimed) if (podKey(c) !== podKey(holder)) conflicts.push({ pciAddress: pci as PciAddress, ...c, holder });
    } else if (claimed.length === 1) {
      users.set(pci as PciAddress, claimed[0] as Claim);
    } else {
      for (const c of claimed) conflicts.push({ pciAddress: pci as PciAddress, ...c, holder: undefined });
    }
  }
  return { users, conflicts };
}

/** Who uses each VF, by PCI address ({@link vfClaims}). */
export function vfUsers(snapshot: Parameters<typeof vfClaims>[0]): Map<PciAddress, VfUser> {
  return vfClaims(snapshot).users;
}
