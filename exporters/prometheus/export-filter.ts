/**
 * What the exporter leaves out, node_exporter style: host interfaces, networks, pod namespaces,
 * per-pod series, and a per-scrape series limit. Pure; the flags are parsed in cli.ts and the
 * families apply it in exporters/prometheus/.
 */
import { type Assessment } from '../../agent/model/assessment.js';
import type { HostLink } from '../../agent/model/domain.js';
import { type Snapshot } from "../../agent/model/snapshot.js";

/** An include/exclude pair of anchored regular expressions; undefined: no constraint. */
export interface NameFilter {
  readonly include: RegExp | undefined;
  readonly exclude: RegExp | undefined;
}

/** Which host interfaces get per-interface series when no include regex is given. */
export type HostInterfaceSet = 'default' | 'all';

/** How pod interfaces are exported: a series set per interface, or summed per network on the node. */
export type PodSeriesMode = 'per-pod' | 'per-network';

/** Everything the exporter filters. */
export interface ExportFilter {
  readonly hostInterfaces: HostInterfaceSet;
  /** Matched against the interface name. */
  readonly hostInterface: NameFilter;
  /** Matched against the NAD's `namespace/name` ('' for an interface no network claims). */
  readonly network: NameFilter;
  /** Matched against the NAD's traffic class ('' when it has none). */
  readonly trafficClass: NameFilter;
  /** Matched against the pod's Kubernetes namespace ('' for a network namespace without a known pod). */
  readonly namespace: NameFilter;
  readonly podSeries: PodSeriesMode;
  /** Most snapshot series per scrape; 0 for no limit. */
  readonly seriesLimit: number;
}

const NONE: NameFilter = Object.freeze({ include: undefined, exclude: undefined });

/** Exports everything, as before filters existed: what tests of the families use. */
export const EXPORT_ALL: ExportFilter = Object.freeze({
  hostInterfaces: 'all',
  hostInterface: NONE,
  network: NONE,
  trafficClass: NONE,
  namespace: NONE,
  podSeries: 'per-pod',
  seriesLimit: 0,
});

/** Compiles a regex anchored at both ends, as Go's node_exporter anchors its device filters. */
export function anchoredRegex(source: string): RegExp {
  return new RegExp(`^(?:${source})$`);
}

/** Whether a name passes an include/exclude pair (exclude wins). */
export function passes(filter: NameFilter, value: string): boolean {
  if (filter.include && !filter.include.test(value)) return false;
  return !(filter.exclude && filter.exclude.test(value));
}

/** Whether a filter constrains anything at all. */
export const constrains = (filter: NameFilter): boolean => filter.include !== undefined || filter.exclude !== undefined;

/**
 * The host interfaces that matter to secondary networks, the default set: a physical device
 * (kindless but `lo`, or a driver or PCI address behind it), an SR-IOV PF, the master or device
 * a known NAD names, a host link a pod interface hangs off, and the lower devices of those last
 * two (a VLAN's parent bond, a bond's or bridge's master). veth, tun/tap, vxlan, bridges and the
 * like that nothing names (cali*, lxc*, cni0, flannel.1) are left out.
 */
export function defaultHostInterfaces(snapshot: Snapshot, assessment: Assessment): Set<string> {
  const byName = new Map<string, HostLink>(snapshot.hostLinks.map((l) => [l.name, l]));
  const out = new Set<string>();
  const pfPci = new Set<string>(snapshot.sriov.pfs.map((pf) => pf.pciAddress as string));
  const pfNames = new Set<string>(snapshot.sriov.pfs.flatMap((pf) => (pf.netdev ? [pf.netdev as string] : [])));
  for (const l of snapshot.hostLinks) {
    const physical = (l.kind === '' && l.name !== 'lo') || l.device.driver !== undefined || l.device.pciAddress !== undefined || l.pciAddress !== undefined;
    const pf = pfNames.has(l.name) || (l.device.pciAddress !== undefined && pfPci.has(l.device.pciAddress));
    if (physical || pf) out.add(l.name);
  }
  const named = new Set<string>();
  for (const n of snapshot.networks) {
    const dev = n.master ?? n.device;
    if (dev) named.add(dev);
  }
  for (const r of assessment.hostInterfaces) named.add(r.interface);
  for (const v of snapshot.podNetns) for (const i of v.interfaces) if (i.master) named.add(i.master);
  for (const name of named) {
    // Walk down to the devices the named one rests on: vlan -> bond, macvlan master -> bridge.
    let l = byName.get(name);
    for (let depth = 0; l && depth < 4; depth++) {
      out.add(l.name);
      l = byName.get(l.parentName) ?? byName.get(l.masterName);
    }
  }
  return out;
}

/** The host links whose per-interface series are exported. */
export function exportedHostLinks(snapshot: Snapshot, assessment: Assessment, filter: ExportFilter): readonly HostLink[] {
  if (filter.hostInterface.include) return snapshot.hostLinks.filter((l) => passes(filter.hostInterface, l.name));
  if (filter.hostInterfaces === 'all') return constrains(filter.hostInterface) ? snapshot.hostLinks.filter((l) => passes(filter.hostInterface, l.name)) : snapshot.hostLinks;
  const keep = defaultHostInterfaces(snapshot, assessment);
  return snapshot.hostLinks.filter((l) => keep.has(l.name) && passes(filter.hostInterface, l.name));
}

/** Whether series of a network pass the network and traffic-class filters. */
export function networkPasses(filter: ExportFilter, networkNamespace: string, network: string, trafficClass: string): boolean {
  return passes(filter.network, network ? `${networkNamespace}/${network}` : '') && passes(filter.trafficClass, trafficClass);
}
