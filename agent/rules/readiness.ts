/**
 * Host-interface readiness: which host interfaces this node needs for the networks its pods use
 * (macvlan/ipvlan masters, host-device devices), and whether each is ready — exists, admin up,
 * carrier. Pure: evaluated on pods, NADs and host links, whether they come from a snapshot or from
 * a link event between snapshots.
 */
import { InterfaceReadiness, RequiredInterface } from '../model/readiness.js';
import type { CollectorStatus, HostLink, NetLink } from '../model/domain.js';
import { COLLECTOR } from '../model/collector.js';
import type { NetworkDefinition, NetworkSelection, NetworkStatusEntry, PodInfo } from '../model/pods.js';
import { type SriovSnapshot } from '../model/sriov.js';
import { POD_OBJECT_LIMIT } from './attachments.js';
const key = (namespace: string, name: string): string => `${namespace}/${name}`;

function attachmentsOf(pod: PodInfo): { namespace: string; name: string }[] {
  const seen = new Map<string, { namespace: string; name: string }>();
  // The pod's first POD_OBJECT_LIMIT requests, as the join assesses them: a 131k-entry annotation costs no more than that.
  const requested: readonly NetworkSelection[] = pod.requested.ok ? pod.requested.value.slice(0, POD_OBJECT_LIMIT) : [];
  for (const r of requested) seen.set(`${key(r.namespace, r.name)}@${r.interface ?? seen.size}`, { namespace: r.namespace, name: r.name });
  const status: readonly NetworkStatusEntry[] = pod.status.ok ? pod.status.value.slice(0, POD_OBJECT_LIMIT) : [];
  for (const e of status) {
    if (e.default) continue;
    const slash = e.name.indexOf('/');
    const ref = slash < 0 ? { namespace: pod.namespace, name: e.name } : { namespace: e.name.slice(0, slash), name: e.name.slice(slash + 1) };
    const already = [...seen.values()].some((s) => s.namespace === ref.namespace && s.name === ref.name);
    if (!already) seen.set(`${key(ref.namespace, ref.name)}@${e.interface ?? ''}`, ref);
  }
  return [...seen.values()];
}

/** The host interface a NAD needs on the node: macvlan/ipvlan master or host-device device. */
export function hostInterfaceOf(def: NetworkDefinition): string | undefined {
  if (def.invalid) return undefined;
  if (def.type === 'macvlan' || def.type === 'ipvlan' || def.type === 'macvtap') return def.master;
  if (def.type === 'host-device') return def.device;
  return undefined;
}

/**
 * The host interfaces the pods on this node need, with the NADs and attachment counts behind each.
 * For SR-IOV networks, whose NAD names a device-plugin resource and no interface, the PF is found
 * through the VF the pod got: network-status `device-info` PCI address → VF → its PF.
 */
export function requiredInterfaces(pods: readonly PodInfo[], networks: readonly NetworkDefinition[], sriov: SriovSnapshot = { pfs: [] }): RequiredInterface[] {
  const byKey = new Map<string, NetworkDefinition>(networks.map((n) => [key(n.namespace, n.name), n]));
  const pfOfVf = new Map<string, string>();
  for (const pf of sriov.pfs) for (const vf of pf.vfs) if (pf.netdev) pfOfVf.set(vf.pciAddress, pf.netdev);
  const out = new Map<string, { networks: Set<string>; attachments: number }>();
  for (const pod of pods) {
    const status: readonly NetworkStatusEntry[] = pod.status.ok ? pod.status.value : [];
    for (const a of attachmentsOf(pod)) {
      const def = byKey.get(key(a.namespace, a.name));
      let iface = def ? hostInterfaceOf(def) : undefined;
      if (!iface) {
        const vf = status.find((e) => e.pciAddress && (e.name === key(a.namespace, a.name) || e.name === a.name))?.pciAddress;
        iface = vf ? pfOfVf.get(vf) : undefined;
      }
      if (!iface) continue;
      let e = out.get(iface);
      if (!e) out.set(iface, (e = { networks: new Set(), attachments: 0 }));
      e.networks.add(key(a.namespace, a.name));
      e.attachments++;
    }
  }
  return [...out]
    .map(([iface, e]) => ({ interface: iface, networks: [...e.networks].sort(), attachments: e.attachments }))
    // By code unit, not localeCompare: the same order on every node, and no ICU collator (its data
    // stays out of memory: about 6 MB of RSS).
    .sort((a, b) => (a.interface < b.interface ? -1 : a.interface > b.interface ? 1 : 0));
}

/** Whether a host link can carry its pods' traffic. */
export function linkReadiness(link: NetLink | undefined): { ready: boolean; reason: string } {
  if (!link) return { ready: false, reason: 'missing' };
  if (!link.adminUp) return { ready: false, reason: 'admin down' };
  if (link.carrier === false) return { ready: false, reason: 'no carrier' };
  return { ready: true, reason: '' };
}

/** Readiness of each required interface against the host links; a PF must also have VFs. */
export function evaluateReadiness(required: readonly RequiredInterface[], hostLinks: readonly (NetLink | HostLink)[], sriov: SriovSnapshot = { pfs: [] }): InterfaceReadiness[] {
  const byName = new Map<string, NetLink>(hostLinks.map((l) => [l.name, l]));
  const pfs = new Map(sriov.pfs.filter((p) => p.netdev).map((p) => [p.netdev as string, p]));
  return required.map((r) => {
    const link = linkReadiness(byName.get(r.interface));
    const pf = pfs.get(r.interface);
    if (link.ready && pf && !(pf.numVfs && pf.numVfs > 0)) return { ...r, ready: false, reason: 'no VFs' };
    return { ...r, ...link };
  });
}

/**
 * Readiness of the host interfaces the pods need: the one derivation of it. The assessment of a
 * snapshot (assess.ts) and the ReadinessMonitor, which re-evaluates between snapshots as link
 * events arrive, both call this, so /metrics, the Node Events and the Node condition cannot judge
 * differently the same links.
 */
export function hostInterfaceReadiness(pods: readonly PodInfo[], networks: readonly NetworkDefinition[], hostLinks: readonly (NetLink | HostLink)[], sriov: SriovSnapshot = { pfs: [] }): InterfaceReadiness[] {
  return evaluateReadiness(requiredInterfaces(pods, networks, sriov), hostLinks, sriov);
}

/**
 * Why the agent cannot see what it is deployed to see, from its collectors' outcomes: the host
 * link dump failing, or a collector lacking a capability. /readyz says not ready while any holds.
 */
export function blindSpots(collectors: readonly CollectorStatus[]): string[] {
  const reasons: string[] = [];
  for (const c of collectors) {
    if (c.success) continue;
    if (c.name === COLLECTOR.netlink) reasons.push(`rtnetlink link dump failing: ${c.error ?? ''}`);
    else if (c.missingCapability) reasons.push(`collector ${c.name} needs ${c.missingCapability}: ${c.error ?? ''}`);
  }
  return reasons;
}
