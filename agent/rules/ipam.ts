/**
 * host-local IPAM on this node: which lease directories to read, each range's capacity as
 * host-local computes it, and per range the addresses allocated and leaked. Pure; the directory
 * reader is a port (`IpamStateSource`, agent/model/ipam.ts).
 *
 * Capacity follows containernetworking/plugins `plugins/ipam/host-local/backend/allocator`
 * (`range.go` Canonicalize, `allocator.go` RangeIter): rangeStart defaults to the subnet's
 * network address + 1, rangeEnd to its last address (less the IPv4 broadcast), the gateway
 * (default network + 1) is skipped; a subnet with fewer than 2 host bits is refused.
 */
import { CanonicalRange, HostLocalNetwork, IpamRangeUsage, IpamSnapshot, LiveSandboxes } from '../model/ipam.js';
import type { IpamRange, NetworkDefinition } from '../model/pods.js';
import { type Snapshot } from '../model/snapshot.js';
import { familyBits, formatIp, parseCidr, parseIp, type IpNumber } from './ip-address.js';

/** The range host-local would use, or why it would refuse it. */
export function canonicalRange(r: IpamRange): CanonicalRange | { readonly error: string } {
  const subnet = parseCidr(r.subnet);
  if (!subnet) return { error: `subnet ${r.subnet} does not parse` };
  const { family } = subnet.ip;
  const bits = familyBits(family);
  if (subnet.len > bits - 2) return { error: `network ${r.subnet} too small to allocate from` };
  const hostMask = (1n << BigInt(bits - subnet.len)) - 1n;
  const network = subnet.ip.value & ~hostMask;
  const last = network | hostMask;
  const inSubnet = (text: string | undefined, what: string): bigint | { error: string } | undefined => {
    if (text === undefined) return undefined;
    const ip = parseIp(text);
    if (!ip || ip.family !== family) return { error: `${what} ${text} is not an IPv${family} address` };
    if (ip.value < network || ip.value > last) return { error: `${what} ${text} not in network ${r.subnet}` };
    return ip.value;
  };
  const start = inSubnet(r.rangeStart, 'rangeStart') ?? network + 1n;
  const end = inSubnet(r.rangeEnd, 'rangeEnd') ?? (family === 4 ? last - 1n : last);
  const gateway = inSubnet(r.gateway, 'gateway') ?? network + 1n;
  for (const v of [start, end, gateway]) if (typeof v !== 'bigint') return v;
  const [s, e, g] = [start, end, gateway] as [bigint, bigint, bigint];
  if (e < s) return { error: `rangeEnd ${formatIp({ family, value: e })} before rangeStart ${formatIp({ family, value: s })}` };
  const label = r.rangeStart !== undefined || r.rangeEnd !== undefined ? `${formatIp({ family, value: s })}-${formatIp({ family, value: e })}` : `${formatIp({ family, value: network })}/${subnet.len}`;
  return { label, family, start: s, end: e, gateway: g, capacity: e - s + 1n - (g >= s && g <= e ? 1n : 0n) };
}

/**
 * The host-local networks the NADs describe, one per lease directory: `<dataDir or root>/<CNI
 * network name>`. Several NADs may share one CNI network (and so one directory); their ranges
 * are merged by label. Ranges host-local would refuse are left out.
 */
export function hostLocalNetworks(networks: readonly NetworkDefinition[], root: string): HostLocalNetwork[] {
  const byDir = new Map<string, { network: string; dir: string; ranges: Map<string, CanonicalRange>; nads: { namespace: string; name: string }[] }>();
  for (const n of networks) {
    if (n.invalid || n.ipam?.type !== 'host-local') continue;
    const base = (n.ipam.dataDir ?? root).replace(/\/+$/, '');
    const dir = `${base}/${n.cniName}`;
    // The CNI name is a directory name: host-local would not write outside its data dir either.
    if (n.cniName === '' || n.cniName.includes('/') || n.cniName === '.' || n.cniName === '..') continue;
    let entry = byDir.get(dir);
    if (!entry) byDir.set(dir, (entry = { network: n.cniName, dir, ranges: new Map(), nads: [] }));
    entry.nads.push({ namespace: n.namespace, name: n.name });
    for (const r of n.ipam.ranges) {
      const c = canonicalRange(r);
      if ('label' in c && !entry.ranges.has(c.label)) entry.ranges.set(c.label, c);
    }
  }
  return [...byDir.values()].map((e) => ({ network: e.network, dir: e.dir, ranges: [...e.ranges.values()], nads: e.nads }));
}

const ipKey = (ip: IpNumber): string => `${ip.family}/${ip.value}`;

/** Normalizes an address for {@link LiveSandboxes.ips}; undefined when it does not parse. */
export function liveIpKey(text: string): string | undefined {
  const ip = parseIp(text.split('/')[0] as string);
  return ip ? ipKey(ip) : undefined;
}

/**
 * Usage of every range of every host-local network. An allocation counts in the first range
 * that holds it (one outside every range — a range since removed — counts in none). It is
 * leaked when leaks can be judged, it is older than the grace period, and neither its container
 * ID nor its address belongs to a sandbox the agent sees.
 */
export function ipamUsage(ipam: IpamSnapshot, live: LiveSandboxes, nowMs: number): IpamRangeUsage[] {
  const out: IpamRangeUsage[] = [];
  for (const net of ipam.nets) {
    const state = ipam.dirs.find((d) => d.dir === net.dir);
    // An unreadable directory gives no usage (not a made-up 0); multinet_ipam_directory_error says so.
    if (state?.error !== undefined) continue;
    const allocated = new Array<number>(net.ranges.length).fill(0);
    const leaked = new Array<number>(net.ranges.length).fill(0);
    for (const a of state?.allocations ?? []) {
      const ip = parseIp(a.ip);
      if (!ip) continue;
      const i = net.ranges.findIndex((r) => r.family === ip.family && ip.value >= r.start && ip.value <= r.end);
      if (i < 0) continue;
      allocated[i] = (allocated[i] ?? 0) + 1;
      if (ipam.leaksJudgeable && nowMs - a.mtimeMs >= ipam.leakGraceMs && !live.containerIds.has(a.containerId) && !live.ips.has(ipKey(ip))) leaked[i] = (leaked[i] ?? 0) + 1;
    }
    net.ranges.forEach((r, i) => {
      // IPv6 capacities exceed 2^53: exported as the nearest float, which is what Prometheus stores anyway.
      out.push({ network: net.network, dir: net.dir, nads: net.nads, range: r.label, capacity: Number(r.capacity), allocated: allocated[i] as number, leaked: ipam.leaksJudgeable ? (leaked[i] as number) : undefined });
    });
  }
  return out;
}

/**
 * The sandboxes the snapshot shows: container IDs from the cgroups of processes in the node's
 * namespaces, and the addresses of every namespace — from network-status of the pod it is joined
 * to, and as read inside it where a process allows. Lenient on purpose: an address still in use
 * anywhere is not a leak.
 */
export function liveSandboxes(snapshot: Snapshot): LiveSandboxes {
  const containerIds = new Set<string>();
  const ips = new Set<string>();
  const add = (text: string): void => {
    const k = liveIpKey(text);
    if (k) ips.add(k);
  };
  for (const v of snapshot.podNetns) {
    if (v.netns.containerId) containerIds.add(v.netns.containerId);
    if (v.pod?.status.ok) for (const e of v.pod.status.value) e.ips.forEach(add);
    for (const a of snapshot.networking?.get(v.netns.inode)?.addresses ?? []) add(a.address);
  }
  return { containerIds, ips };
}
