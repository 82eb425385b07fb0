/** Reads problems back off a /metrics body, for tests that compare it with doctor and the Events. */
import { type ParsedSample } from './exposition.js';

/** A problem as the three outputs can all name it. */
export const problemKey = (code: string, namespace: string, pod: string, iface: string, network: string): string => [code, namespace, pod, iface, network].join(' ');

/**
 * The problems a /metrics body shows, each read off its own series: attachment_missing 1,
 * pod_interface_up 0 on a known pod's secondary interface, route_mismatch 1, policy_violation 1,
 * NAD invalid 1, a host-local range full or with leaked leases (told on the NAD its series name). Codes without a series of their own (no-address, master-*, mtu,
 * annotation, nad-missing) are not read.
 */
export function problemSeries(samples: readonly ParsedSample[]): Set<string> {
  const out = new Set<string>();
  const of = (name: string): ParsedSample[] => samples.filter((s) => s.name === name);
  const l = (s: ParsedSample, n: string): string => s.labels[n] ?? '';
  for (const s of of('multinet_pod_network_attachment_missing')) if (s.value === 1) out.add(problemKey('attachment-missing', l(s, 'namespace'), l(s, 'pod'), l(s, 'interface'), l(s, 'network')));
  // Down: operational state not up, on an interface of a known pod that is not the cluster network's.
  const secondary = new Set(of('multinet_pod_interface_info').filter((s) => l(s, 'pod') !== '' && l(s, 'default') === 'false').map((s) => problemKey('', l(s, 'namespace'), l(s, 'pod'), l(s, 'interface'), '')));
  for (const s of of('multinet_pod_interface_up')) if (s.value === 0 && secondary.has(problemKey('', l(s, 'namespace'), l(s, 'pod'), l(s, 'interface'), ''))) out.add(problemKey('interface-down', l(s, 'namespace'), l(s, 'pod'), l(s, 'interface'), l(s, 'network')));
  for (const s of of('multinet_pod_interface_route_mismatch')) if (s.value === 1) out.add(problemKey('route-mismatch', l(s, 'namespace'), l(s, 'pod'), l(s, 'interface'), l(s, 'network')));
  for (const s of of('multinet_pod_network_policy_violation')) if (s.value === 1) out.add(problemKey('policy-violation', l(s, 'namespace'), l(s, 'pod'), l(s, 'interface'), l(s, 'network')));
  for (const s of of('multinet_network_attachment_definition_invalid')) if (s.value === 1) out.add(problemKey('nad-invalid', l(s, 'network_namespace'), '', '', l(s, 'network')));
  // IPAM series name the NAD that uses the range (network_namespace, network) when exactly one
  // does; a range several NADs share names none, and its problems are not read here.
  const value = (name: string, s: ParsedSample): number | undefined => of(name).find((x) => l(x, 'cni_network') === l(s, 'cni_network') && l(x, 'range') === l(s, 'range'))?.value;
  for (const s of of('multinet_ipam_addresses_allocated')) {
    if (l(s, 'network') === '') continue;
    const capacity = value('multinet_ipam_addresses_capacity', s) ?? 0;
    const leaked = value('multinet_ipam_addresses_leaked', s) ?? 0;
    if (capacity > 0 && s.value >= capacity) out.add(problemKey('ipam-exhausted', l(s, 'network_namespace'), '', '', l(s, 'network')));
    if (leaked > 0) out.add(problemKey('ipam-leaked', l(s, 'network_namespace'), '', '', l(s, 'network')));
  }
  return out;
}
