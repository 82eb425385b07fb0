import { type Snapshot } from '../../agent/model/snapshot.js';
import { EXPORT_ALL, networkPasses, passes, type ExportFilter } from './export-filter.js';
import { routeDestinations, routeMismatch } from '../../agent/rules/health.js';
import { ipamUsage, liveSandboxes } from '../../agent/rules/ipam.js';
import { policyChecks } from '../../agent/rules/policy.js';
import { type Family, type Sample } from './family.js';

/** `multinet_ipam_addresses_*{network,range}`. */
export function ipamFamilies(snapshot: Snapshot): Family[] {
  if (!snapshot.ipam) return [];
  const usage = ipamUsage(snapshot.ipam, liveSandboxes(snapshot), snapshot.takenAtMs);
  const labels = (u: (typeof usage)[number]) => ({ network: u.network, range: u.range });
  return [
    {
      name: 'multinet_ipam_addresses_allocated',
      help: 'Addresses host-local has reserved on this node in the range (lease files under its data directory); network is the CNI network name, range the subnet or rangeStart-rangeEnd.',
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
  ];
}

/** `multinet_pod_interface_route_mismatch` and `multinet_pod_network_policy_violation`, for the pods and networks the filter keeps. */
export function attachmentRuleFamilies(snapshot: Snapshot, filter: ExportFilter = EXPORT_ALL): Family[] {
  const kept = (namespace: string, networkNamespace: string, network: string, trafficClass: string): boolean =>
    filter === EXPORT_ALL || (passes(filter.namespace, namespace) && networkPasses(filter, networkNamespace, network, trafficClass));
  const mismatch: Sample[] = [];
  const networking = snapshot.networking;
  if (networking) {
    for (const v of snapshot.podNetns) {
      const net = v.pod ? networking.get(v.netns.inode) : undefined;
      if (!v.pod || !net) continue;
      for (const i of v.interfaces) {
        if (i.isDefault || routeDestinations(i.definition).length === 0 || !kept(v.pod.namespace, i.networkNamespace, i.network, i.trafficClass)) continue;
        mismatch.push({ labels: { namespace: v.pod.namespace, pod: v.pod.name, interface: i.link.name, network: i.network }, value: routeMismatch(i.link.name, i.definition, net.routes) ? 1 : 0 });
      }
    }
  }
  return [
    {
      name: 'multinet_pod_interface_route_mismatch',
      help: "1 when the pod's routing table sends the network's subnet or a destination of its IPAM routes out of another interface (e.g. eth0), else 0; absent where the pod's routes cannot be read.",
      type: 'gauge',
      samples: mismatch,
    },
    {
      name: 'multinet_pod_network_policy_violation',
      help: "1 when the pod is attached to a network whose NAD's multinet.io/allowed-pods selector does not match the pod's labels (or does not parse), else 0; only networks with a policy.",
      type: 'gauge',
      samples: policyChecks(snapshot.podNetns, false)
        .filter((c) => kept(c.namespace, c.networkNamespace, c.network, c.trafficClass))
        .map((c) => ({ labels: { namespace: c.namespace, pod: c.pod, network: c.network, interface: c.interface }, value: c.violation ? 1 : 0 })),
    },
  ];
}

