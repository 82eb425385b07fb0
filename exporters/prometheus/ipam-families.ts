/**
 * host-local IPAM usage, per-attachment route checks and attachment-policy audits: formatters of
 * the snapshot's assessment (agent/rules/assess.ts judges them). A value the agent cannot know is no sample, never a made-up 0: no leak figure
 * while the node's sandboxes are not all in view, no route check for a namespace whose routes
 * have not been read (no process inside, or before the first refresh).
 */
import { type Assessment } from '../../agent/model/assessment.js';
import { type Snapshot } from '../../agent/model/snapshot.js';
import { EXPORT_ALL, networkPasses, passes, type ExportFilter } from './export-filter.js';
import { type Family, type Sample } from './family.js';
import { SampleCache } from './label-cache.js';

/** `multinet_ipam_addresses_*{network,range}`: the assessment's range usage; none while the IPAM collector is off. */
export function ipamFamilies(snapshot: Snapshot, assessment: Assessment): Family[] {
  if (!snapshot.ipam) return [];
  // The NAD's namespace and name when exactly one NAD uses the range's lease directory (several
  // NADs may share a CNI network name, and so its leases); '' when none or several.
  const labels = (u: (typeof assessment.ipam)[number]) => {
    const nad = u.nads.length === 1 ? u.nads[0] : undefined;
    return { network_namespace: nad?.namespace ?? '', network: nad?.name ?? '', cni_network: u.network, range: u.range };
  };
  // Two lease directories of one CNI network name (NADs with different dataDirs) may hold the same
  // range under the same labels: its series would appear twice. The first directory's are exported.
  const seen = new Set<string>();
  const usage = assessment.ipam.filter((u) => {
    const l = labels(u);
    const k = `${l.network_namespace}\0${l.network}\0${l.cni_network}\0${l.range}`;
    return !seen.has(k) && (seen.add(k), true);
  });
  return [
    {
      name: 'multinet_ipam_addresses_allocated',
      help: 'Addresses host-local has reserved on this node in the range (lease files under its data directory); network_namespace and network name the NAD when exactly one uses the range, cni_network is the CNI network name, range the subnet or rangeStart-rangeEnd.',
      type: 'gauge',
      samples: usage.map((u) => ({ labels: labels(u), value: u.allocated })),
    },
    {
      name: 'multinet_ipam_addresses_capacity',
      help: 'Addresses host-local can hand out in the range: rangeStart..rangeEnd less the gateway (network and IPv4 broadcast excluded by default); IPv6 ranges beyond 2^53 are approximate.',
      type: 'gauge',
      samples: usage.map((u) => ({ labels: labels(u), value: u.capacity })),
    },
    {
      name: 'multinet_ipam_addresses_leaked',
      help: 'Reserved addresses older than the grace period whose container (pod sandbox) ID and address belong to no network namespace on this node; absent while the sandboxes are not all visible.',
      type: 'gauge',
      samples: usage.filter((u) => u.leaked !== undefined).map((u) => ({ labels: labels(u), value: u.leaked as number })),
    },
    {
      name: 'multinet_ipam_directory_error',
      help: "1 when the lease directory of the CNI network cannot be listed (a dataDir that is a file, a symlink loop, no permission; the log says which, once), else 0; its multinet_ipam_addresses_* are then absent. Labelled as multinet_ipam_addresses_allocated.",
      type: 'gauge',
      samples: directoryErrors(snapshot.ipam),
    },
  ];
}

/**
 * Per lease directory, 1 when it cannot be listed, labelled as the usage families are (the NAD
 * when exactly one uses the directory, and the CNI network name); directories that end up with
 * the same labels are one series, 1 when any of them fails.
 */
function directoryErrors(ipam: NonNullable<Snapshot['ipam']>): { labels: Record<string, string>; value: number }[] {
  const out = new Map<string, { labels: Record<string, string>; value: number }>();
  for (const d of ipam.dirs) {
    const nads = ipam.nets.find((n) => n.dir === d.dir)?.nads ?? [];
    const nad = nads.length === 1 ? nads[0] : undefined;
    const labels = { network_namespace: nad?.namespace ?? '', network: nad?.name ?? '', cni_network: d.network };
    const key = JSON.stringify(labels);
    const value = Math.max(out.get(key)?.value ?? 0, d.error === undefined ? 0 : 1);
    out.set(key, { labels, value });
  }
  return [...out.values()];
}

/** Whether the filter keeps a pod interface's rule result. */
function kept(filter: ExportFilter, c: { namespace: string; networkNamespace: string; network: string; trafficClass: string }): boolean {
  return filter === EXPORT_ALL || (passes(filter.namespace, c.namespace) && networkPasses(filter, c.networkNamespace, c.network, c.trafficClass));
}

/** Rule verdicts' samples, kept per verdict object: a reused assessment (assess-reuse.ts) hands out the same ones. */
const routeSamples = new SampleCache<Assessment['routes'][number]>((c) => ({ labels: { namespace: c.namespace, pod: c.pod, interface: c.interface, network_namespace: c.networkNamespace, network: c.network }, value: c.mismatch ? 1 : 0 }));
const policySamples = new SampleCache<Assessment['policy'][number]>((c) => ({ labels: { namespace: c.namespace, pod: c.pod, network_namespace: c.networkNamespace, network: c.network, interface: c.interface }, value: c.violation ? 1 : 0 }));

/** `multinet_pod_interface_route_mismatch` and `multinet_pod_network_policy_violation`, for the pods and networks the filter keeps. */
export function attachmentRuleFamilies(assessment: Assessment, filter: ExportFilter = EXPORT_ALL): Family[] {
  // Loops, not callbacks, over every pod interface each scrape (docs/architecture.md, "Code on the scrape path").
  const routes: Sample[] = [];
  for (const c of assessment.routes) {
    if (kept(filter, c)) routes.push(routeSamples.of(c, undefined));
  }
  const policy: Sample[] = [];
  for (const c of assessment.policy) {
    if (kept(filter, c)) policy.push(policySamples.of(c, undefined));
  }
  return [
    {
      name: 'multinet_pod_interface_route_mismatch',
      help: "1 when the pod's routing table sends the network's subnet or a destination of its IPAM routes out of another interface (e.g. eth0), else 0; absent where the pod's routes cannot be read.",
      type: 'gauge',
      samples: routes,
    },
    {
      name: 'multinet_pod_network_policy_violation',
      help: "1 when the pod is attached to a network whose NAD's multinet.io/allowed-pods selector does not match the pod's labels (or does not parse), else 0; only networks with a policy.",
      type: 'gauge',
      samples: policy,
    },
  ];
}

