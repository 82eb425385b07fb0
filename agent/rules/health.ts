/**
 * Health rules: what is wrong with the secondary networks of the pods on this node, in the words
 * of the user's troubleshooting list (pod has no additional interface; no connectivity). Pure:
 * evaluated on a snapshot plus, for namespaces with a process, their addresses and routes.
 */
import { type RouteCheck } from '../model/assessment.js';
import { type PodInterface, type PodNetnsView } from '../model/attachments.js';
import type { HostLink, RouteEntry } from '../model/domain.js';
import { type IpamRangeUsage } from '../model/ipam.js';
import type { NetworkDefinition } from '../model/pods.js';
import { type PolicyCheck } from '../model/policy.js';
import { NetnsNetworking, Problem } from '../model/problems.js';
import { type VfClaimConflict } from '../model/sriov.js';
import { type Snapshot } from '../model/snapshot.js';
import { familyBits, formatIp, parseCidr } from './ip-address.js';
import { inCidr4, ipv4ToInt, parseCidr4 } from './ipv4.js';
const NO_INTERFACE_HINTS = [
  'Check Multus daemonset running: kubectl get pods -n kube-system | grep multus',
  'Check NetworkAttachmentDefinition exists: kubectl get net-attach-def',
  'Check annotation syntax in pod spec',
  'Check host interface exists (master field in NAD config)',
];
const NO_CONNECTIVITY_HINTS = [
  'Check IPAM allocated IP: kubectl exec pod -- ip addr show <interface>',
  'Check routing table: kubectl exec pod -- ip route',
  'Check host network config (VLAN, bridge)',
  'Check firewall rules on host',
];

/** A prefix of either family as numbers: network (host bits zero) and length. */
interface Prefix {
  readonly family: 4 | 6;
  readonly net: bigint;
  readonly len: number;
}

interface ParsedRoute extends Prefix {
  readonly r: RouteEntry;
  readonly metric: number;
}

// Parsed once per routing table and per NAD: tables are replaced whole every refresh and NADs
// whenever they change, so object identity is the cache key (a scrape checks 750 attachments).
const parsedTables = new WeakMap<readonly RouteEntry[], readonly ParsedRoute[]>();
const parsedDestinations = new WeakMap<NetworkDefinition, readonly (Prefix & { readonly dst: string })[]>();

const hostBits = (p: { family: 4 | 6; len: number }): bigint => (1n << BigInt(familyBits(p.family) - p.len)) - 1n;

/** `a/len` as a prefix with its host bits cleared (the kernel stores routes so). */
function parsePrefix(text: string): Prefix | undefined {
  const c = parseCidr(text);
  if (!c) return undefined;
  const p = { family: c.ip.family, len: c.len };
  return { ...p, net: c.ip.value & ~hostBits(p) };
}

/** Whether prefix `outer` contains prefix `inner` (same family, shorter or equal, same leading bits). */
function contains(outer: Prefix, inner: Prefix): boolean {
  return outer.family === inner.family && outer.len <= inner.len && (inner.net & ~hostBits(outer)) === outer.net;
}

const formatPrefix = (p: Prefix): string => `${formatIp({ family: p.family, value: p.net })}/${p.len}`;

function parsedRoutes(routes: readonly RouteEntry[]): readonly ParsedRoute[] {
  let out = parsedTables.get(routes);
  if (!out) {
    out = routes.flatMap((r) => {
      const p = parsePrefix(r.dst);
      return p && p.family === r.family ? [{ ...p, r, metric: r.metric ?? 0 }] : [];
    });
    parsedTables.set(routes, out);
  }
  return out;
}

/** The route the kernel prefers among several: longest prefix, then lowest metric, then the first listed. */
function better(a: ParsedRoute | undefined, b: ParsedRoute): ParsedRoute {
  return !a || b.len > a.len || (b.len === a.len && b.metric < a.metric) ? b : a;
}

/** Of the routes that contain all of `target`, the one the kernel prefers (longest prefix, lowest metric); more specific routes inside `target` are {@link misrouted}'s. */
function longestMatch(target: Prefix, routes: readonly ParsedRoute[]): ParsedRoute | undefined {
  let best: ParsedRoute | undefined;
  for (const p of routes) if (contains(p, target)) best = better(best, p);
  return best;
}

/** The route the kernel would pick (longest prefix) for the first address of `subnet`, either family. */
export function routeFor(subnet: string, routes: readonly RouteEntry[]): RouteEntry | undefined {
  const target = parsePrefix(subnet);
  if (!target) return undefined;
  return longestMatch({ ...target, len: familyBits(target.family) }, parsedRoutes(routes))?.r;
}

/** IPv4 subnets the NAD's IPAM hands out. */
function subnetsOf(def: NetworkDefinition | undefined): string[] {
  return (def?.ipam?.ranges ?? []).map((r) => r.subnet).filter((s) => parseCidr4(s) !== undefined);
}

/** Where traffic of a network must leave by its own interface: its subnets (either family) and the destinations of its IPAM `routes`. */
export function routeDestinations(def: NetworkDefinition | undefined): readonly (Prefix & { readonly dst: string })[] {
  if (!def) return [];
  let out = parsedDestinations.get(def);
  if (!out) {
    const dsts = [...new Set([...(def.ipam?.ranges ?? []).map((r) => r.subnet), ...(def.ipam?.routes ?? [])])];
    out = dsts.flatMap((dst) => {
      const p = parsePrefix(dst);
      return p ? [{ ...p, dst }] : [];
    });
    parsedDestinations.set(def, out);
  }
  return out;
}

/**
 * The first part of `target` (lowest addresses first) whose every address the kernel sends by a
 * route out of another interface than `ifname`: `best` is the route chosen for all of `target`
 * so far; routes strictly inside it split it in halves until none does. Visits at most
 * (routes inside) x (prefix length) halves.
 */
function misrouted(target: Prefix, best: ParsedRoute | undefined, inside: readonly ParsedRoute[], ifname: string): { range: Prefix; via: string } | undefined {
  const within = inside.filter((p) => p.len > target.len && contains(target, p));
  if (within.length === 0) return best && best.r.iface !== ifname ? { range: target, via: best.r.iface } : undefined;
  const len = target.len + 1;
  for (const half of [{ family: target.family, net: target.net, len }, { family: target.family, net: target.net | (1n << BigInt(familyBits(target.family) - len)), len }]) {
    let b = best;
    for (const p of within) if (p.len === len && p.net === half.net) b = better(b, p);
    const found = misrouted(half, b, within, ifname);
    if (found) return found;
  }
  return undefined;
}

/**
 * The first destination of the network that the pod's routing table sends, for any of its
 * addresses, out of another interface: the kernel's longest-prefix choice (lowest metric among
 * equals) for every address of the destination, routes more specific than it included (for a
 * default route, 0.0.0.0/0 or ::/0, only the covering route: the rest are its carve-outs). Undefined
 * when every address leaves by `ifname` (or has no route at all: that is `no-address`'s business).
 * `range` is the first such part of `dst` (the whole of it when the covering route is wrong).
 */
export function routeMismatch(ifname: string, def: NetworkDefinition | undefined, routes: readonly RouteEntry[]): { readonly dst: string; readonly via: string; readonly range: string } | undefined {
  const dsts = routeDestinations(def);
  if (dsts.length === 0) return undefined;
  const table = parsedRoutes(routes);
  for (const d of dsts) {
    // A default route (0.0.0.0/0, ::/0) names the gateway for what no other route covers: the
    // pod's own subnets, cluster routes via eth0 and other attachments' routes are its carve-outs,
    // so only the covering route counts. Any narrower destination counts for every address.
    const inside = d.len === 0 ? [] : table.filter((p) => p.len > d.len && contains(d, p));
    const found = misrouted(d, longestMatch(d, table), inside, ifname);
    if (found) return { dst: d.dst, via: found.via, range: formatPrefix(found.range) };
  }
  return undefined;
}

/**
 * The route check of every interface of a known pod whose routes were read and whose network
 * names destinations, by interface, in snapshot order; `networking` is keyed by netns inode.
 */
export function routeChecks(views: readonly PodNetnsView[], networking: ReadonlyMap<number, NetnsNetworking>): Map<PodInterface, RouteCheck> {
  const out = new Map<PodInterface, RouteCheck>();
  for (const v of views) {
    const net = v.pod ? networking.get(v.netns.inode) : undefined;
    if (!v.pod || !net) continue;
    for (const i of v.interfaces) {
      if (i.isDefault || routeDestinations(i.definition).length === 0) continue;
      out.set(i, { namespace: v.pod.namespace, pod: v.pod.name, interface: i.link.name, network: i.network, networkNamespace: i.networkNamespace, trafficClass: i.trafficClass, mismatch: routeMismatch(i.link.name, i.definition, net.routes) });
    }
  }
  return out;
}

/** What the problems are made from that other outputs show as well: judged once (assess.ts), read here. */
export interface JudgedParts {
  /** Route checks by pod interface ({@link routeChecks}). */
  readonly routes: ReadonlyMap<PodInterface, RouteCheck>;
  /** Policy checks with their messages ({@link policyChecks}). */
  readonly policy: readonly PolicyCheck[];
  /** host-local range usage ({@link ipamUsage}). */
  readonly ipam: readonly IpamRangeUsage[];
  /** VF claims contradicted by another pod's (vfClaims in attachments.ts); none when absent. */
  readonly vfClaimConflicts?: readonly VfClaimConflict[];
}

const CAPPED_HINTS = [
  "Check the pod's k8s.v1.cni.cncf.io/networks annotation: every entry is one interface Multus must create",
  'Check for links created inside the pod namespace: kubectl exec pod -- ip -br link | wc -l',
];

const VF_HINTS = [
  'Compare the pod\'s k8s.v1.cni.cncf.io/network-status device-info with the kubelet\'s allocation: kubectl get pod <pod> -o jsonpath=\'{.metadata.annotations.k8s\\.v1\\.cni\\.cncf\\.io/network-status}\'',
  'A stale or hand-edited network-status (a pod re-created on the same VF, a patched annotation) claims a VF it does not hold',
];

const IPAM_HINTS = [
  'Check IPAM allocated IP: kubectl exec pod -- ip addr show <interface>',
  'Widen the range (rangeStart/rangeEnd, subnet) in the NAD config, or add a range to its range set',
];
const LEAK_HINTS = [
  'A lease whose container is gone: its CNI DEL never ran (node crash, runtime restart, a netns deleted by hand)',
  'Once sure the container is gone, remove the lease file named by the address; the runtime\'s garbage collection (CNI GC) does the same',
];

const POLICY_HINTS = [
  "Check the pod's labels against the NAD's multinet.io/allowed-pods selector: kubectl get pod <pod> --show-labels; kubectl get net-attach-def <network> -o jsonpath='{.metadata.annotations.multinet\\.io/allowed-pods}'",
  'Remove the network from the pod\'s k8s.v1.cni.cncf.io/networks annotation, or label the pod for the layer the network is for',
];

function interfaceProblems(view: PodNetnsView, i: PodInterface, host: ReadonlyMap<string, HostLink>, net: NetnsNetworking | undefined, routes: JudgedParts['routes']): Problem[] {
  const base = { namespace: view.pod?.namespace ?? '', pod: view.pod?.name ?? '', interface: i.link.name as string, network: i.network };
  const out: Problem[] = [];
  if (i.link.operstate !== 'up' && i.link.operstate !== 'unknown') {
    out.push({ ...base, code: 'interface-down', message: `${i.link.name} interface down (operstate ${i.link.operstate})`, hints: NO_CONNECTIVITY_HINTS });
  }
  const wantMaster = i.definition?.master;
  const master = wantMaster !== undefined ? host.get(wantMaster) : i.masterIfindex !== undefined ? host.get(i.master) : undefined;
  if (wantMaster !== undefined && !master) {
    out.push({ ...base, code: 'master-missing', message: `master ${wantMaster} of network ${i.network} does not exist on this node`, hints: NO_INTERFACE_HINTS });
  } else if (master && (!master.adminUp || master.operstate === 'down' || master.operstate === 'lowerlayerdown' || master.carrier === false)) {
    out.push({ ...base, code: 'master-down', message: `master ${master.name} is down (${master.adminUp ? 'no carrier' : 'admin down'}, operstate ${master.operstate})`, hints: NO_CONNECTIVITY_HINTS });
  }
  if (master && i.link.mtu !== undefined && master.mtu !== undefined && i.link.mtu > master.mtu) {
    out.push({ ...base, code: 'mtu-above-master', message: `MTU ${i.link.mtu} of ${i.link.name} is above master ${master.name}'s ${master.mtu}`, hints: NO_CONNECTIVITY_HINTS });
  }
  if (net) {
    const mismatch = routes.get(i)?.mismatch;
    if (mismatch) {
      const part = mismatch.range !== undefined && mismatch.range !== mismatch.dst ? `${mismatch.range} (of ${mismatch.dst})` : mismatch.dst;
      out.push({ ...base, code: 'route-mismatch', message: `${part} of network ${i.network} is routed via ${mismatch.via}, not ${i.link.name}`, hints: NO_CONNECTIVITY_HINTS });
    }
    for (const subnet of subnetsOf(i.definition)) {
      const c = parseCidr4(subnet);
      const has = net.addresses.some((a) => a.iface === i.link.name && a.family === 4 && c !== undefined && inCidr4(ipv4ToInt(a.address), c));
      if (!has) {
        out.push({ ...base, code: 'no-address', message: `${i.link.name} has no address in ${subnet} (IPAM allocated none)`, hints: NO_CONNECTIVITY_HINTS });
      }
    }
  }
  return out;
}

/**
 * Every problem of the snapshot; `networking` is keyed by netns inode. Route, policy and IPAM
 * verdicts come judged (`judged`): the assessment computes them once for every output.
 */
export function findProblems(snapshot: Snapshot, networking: ReadonlyMap<number, NetnsNetworking>, judged: JudgedParts): Problem[] {
  const host = new Map<string, HostLink>(snapshot.hostLinks.map((l) => [l.name, l]));
  const out: Problem[] = [];
  for (const pod of snapshot.pods) {
    for (const [parsed, key] of [
      [pod.requested, 'k8s.v1.cni.cncf.io/networks'],
      [pod.status, `k8s.v1.cni.cncf.io/${pod.statusKey ?? 'network-status'}`],
    ] as const) {
      if (!parsed.ok) {
        out.push({ code: 'annotation-invalid', namespace: pod.namespace, pod: pod.name, interface: '', network: '', message: `annotation ${key} does not parse: ${parsed.error}`, hints: [NO_INTERFACE_HINTS[2] as string] });
      }
    }
  }
  for (const view of snapshot.podNetns) {
    if (view.capped) {
      const c = view.capped;
      const what = view.pod ? `pod ${view.pod.namespace}/${view.pod.name}` : `network namespace ${view.netns.bindPath ?? `inode ${view.netns.inode}`}`;
      out.push({
        code: 'pod-capped',
        namespace: view.pod?.namespace ?? '',
        pod: view.pod?.name ?? '',
        interface: '',
        network: '',
        message: `${what} has ${c.interfaces} interfaces and ${c.attachments} attachments; only the first ${c.limit} of each are checked and exported (multinet_pod_series_capped)`,
        hints: CAPPED_HINTS,
      });
    }
    if (!view.pod) continue;
    const base = { namespace: view.pod.namespace, pod: view.pod.name };
    for (const c of view.conflicts ?? []) {
      out.push({ ...base, code: 'attachment-conflict', interface: c.interface, network: c.dropped.slice(c.dropped.indexOf('/') + 1), message: `interface ${c.interface} is claimed by network ${c.kept} and again by ${c.dropped}: Multus cannot create it twice; only ${c.kept} is checked`, hints: [NO_INTERFACE_HINTS[2] as string] });
    }
    for (const a of view.attachments) {
      if (a.present) continue;
      const def = snapshot.networks.find((n) => n.name === a.network && n.namespace === a.networkNamespace);
      out.push({ ...base, code: 'attachment-missing', interface: a.interface, network: a.network, message: `no additional interface ${a.interface} for network ${a.networkNamespace}/${a.network} (${a.reason === 'requested' ? 'requested in k8s.v1.cni.cncf.io/networks' : 'listed in network-status'})`, hints: NO_INTERFACE_HINTS });
      if (!def) {
        out.push({ ...base, code: 'nad-missing', interface: a.interface, network: a.network, message: `NetworkAttachmentDefinition ${a.networkNamespace}/${a.network} does not exist`, hints: [NO_INTERFACE_HINTS[1] as string] });
      } else if (def.master !== undefined && !host.has(def.master)) {
        out.push({ ...base, code: 'master-missing', interface: a.interface, network: a.network, message: `master ${def.master} of network ${a.network} does not exist on this node`, hints: [NO_INTERFACE_HINTS[3] as string] });
      }
    }
    for (const i of view.interfaces) {
      if (i.isDefault || (i.network === '' && i.link.name === 'eth0')) continue;
      out.push(...interfaceProblems(view, i, host, networking.get(view.netns.inode), judged.routes));
    }
  }
  for (const c of judged.vfClaimConflicts ?? []) {
    const holder = c.holder ? `${c.holder.by === 'podresources' ? 'the kubelet allocated it to' : 'its netdev is in'} pod ${c.holder.namespace}/${c.holder.pod}` : 'another pod\'s network-status names it too, and neither the kubelet nor a netdev settles it';
    out.push({ code: 'vf-claim-conflict', namespace: c.namespace, pod: c.pod, interface: c.interface, network: c.network, message: `network-status device-info names VF ${c.pciAddress}${c.interface ? ` for ${c.interface}` : ''}, but ${holder}`, hints: VF_HINTS });
  }
  for (const c of judged.policy) {
    if (c.violation) out.push({ code: 'policy-violation', namespace: c.namespace, pod: c.pod, interface: c.interface, network: c.network, message: c.message, hints: POLICY_HINTS });
  }
  // host-local ranges of this node: full, and leases nobody holds; each told on the NADs that use the network.
  for (const u of judged.ipam) {
    for (const nad of u.nads) {
      const base = { namespace: nad.namespace, pod: '', interface: '', network: nad.name };
      if (u.capacity > 0 && u.allocated >= u.capacity) {
        out.push({ ...base, code: 'ipam-exhausted', message: `host-local range ${u.range} of network ${u.network} is full on this node: ${u.allocated} of ${u.capacity} addresses allocated (${u.dir})`, hints: IPAM_HINTS });
      }
      if (u.leaked) {
        out.push({ ...base, code: 'ipam-leaked', message: `${u.leaked} address${u.leaked === 1 ? '' : 'es'} of host-local range ${u.range} of network ${u.network} held by containers that no longer exist on this node (${u.dir})`, hints: LEAK_HINTS });
      }
    }
  }
  for (const n of snapshot.networks) {
    if (n.policy?.error) {
      out.push({ code: 'nad-invalid', namespace: n.namespace, pod: '', interface: '', network: n.name, message: `NetworkAttachmentDefinition ${n.namespace}/${n.name}: annotation multinet.io/allowed-pods does not parse (${n.policy.error}); no pod may attach until it does`, hints: [NO_INTERFACE_HINTS[1] as string] });
    }
    if (n.invalid) out.push({ code: 'nad-invalid', namespace: n.namespace, pod: '', interface: '', network: n.name, message: `NetworkAttachmentDefinition ${n.namespace}/${n.name} is invalid: ${n.invalid}`, hints: [NO_INTERFACE_HINTS[1] as string] });
  }
  return out;
}
