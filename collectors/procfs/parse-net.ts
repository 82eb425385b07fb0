/**
 * Addresses and routes of a network namespace from a process inside it: `/proc/<pid>/net/route`,
 * `ipv6_route`, `fib_trie` and `if_inet6`. rtnetlink cannot give another namespace's addresses
 * here: the kernel honours IFA_TARGET_NETNSID only on sockets with NETLINK_GET_STRICT_CHK, which
 * the `netlink` package cannot set.
 */
import type { InterfaceAddress, RouteEntry } from '../../agent/model/domain.js';
import { ipv4InSubnet } from '../../agent/rules/ipv4.js';

const RTF_UP = 0x1;
const RTF_GATEWAY = 0x2;
/** IPv6 RTF_LOCAL and RTF_CACHE entries are not configuration. */
const RTF6_SKIP = 0x80000000 | 0x01000000;

/** `/proc/net/route` prints each __be32 as a host-order (little-endian) hex word. */
function ipv4FromHex(hex: string): string {
  const v = parseInt(hex, 16);
  return `${v & 0xff}.${(v >>> 8) & 0xff}.${(v >>> 16) & 0xff}.${(v >>> 24) & 0xff}`;
}

function popcount(v: number): number {
  let n = 0;
  for (let x = v >>> 0; x; x >>>= 1) n += x & 1;
  return n;
}

/** An IPv6 address from 32 hex digits, in the canonical compressed form. */
export function ipv6FromHex(hex: string): string {
  const groups = hex.match(/.{4}/g)?.map((g) => g.replace(/^0+(?=.)/, '')) ?? [];
  return new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1);
}

/** IPv4 routes of the main table (`/proc/<pid>/net/route`). */
export function parseIpv4Routes(text: string): RouteEntry[] {
  const out: RouteEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [iface, dst, gw, flagsHex, , , metric, mask] = f as [string, string, string, string, string, string, string, string];
    const flags = parseInt(flagsHex, 16);
    if (!(flags & RTF_UP)) continue;
    out.push({
      family: 4,
      dst: `${ipv4FromHex(dst)}/${popcount(parseInt(mask, 16))}`,
      gateway: flags & RTF_GATEWAY ? ipv4FromHex(gw) : undefined,
      iface,
      metric: Number(metric) || 0,
    });
  }
  return out;
}

/** IPv6 routes (`/proc/<pid>/net/ipv6_route`), without local, cache, multicast and lo entries. */
export function parseIpv6Routes(text: string): RouteEntry[] {
  const out: RouteEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [dst, plen, , , nexthop, metric, , , flagsHex, iface] = f as string[] as [string, string, string, string, string, string, string, string, string, string];
    const flags = parseInt(flagsHex, 16);
    if (!(flags & RTF_UP) || flags & RTF6_SKIP || iface === 'lo' || dst.startsWith('ff')) continue;
    out.push({
      family: 6,
      dst: `${ipv6FromHex(dst)}/${parseInt(plen, 16)}`,
      gateway: flags & RTF_GATEWAY ? ipv6FromHex(nexthop) : undefined,
      iface,
      metric: parseInt(metric, 16) || 0,
    });
  }
  return out;
}

/** The local IPv4 addresses of `fib_trie` (`/32 host LOCAL` leaves), loopback excluded. */
export function parseFibTrieLocals(text: string): string[] {
  const found = new Set<string>();
  let last: string | undefined;
  for (const line of text.split('\n')) {
    const leaf = /\|--\s+(\d+\.\d+\.\d+\.\d+)/.exec(line);
    if (leaf) {
      last = leaf[1];
      continue;
    }
    if (last && /\/32 host LOCAL/.test(line) && !last.startsWith('127.')) found.add(last);
  }
  return [...found];
}

/**
 * Places each local IPv4 address on the interface whose connected (gateway-less) route contains
 * it, longest prefix first: `fib_trie` lists local addresses without their device.
 */
export function assignIpv4(locals: readonly string[], routes: readonly RouteEntry[]): InterfaceAddress[] {
  const connected = routes
    .filter((r) => r.family === 4 && r.gateway === undefined && !r.dst.endsWith('/0'))
    .sort((a, b) => Number(b.dst.split('/')[1]) - Number(a.dst.split('/')[1]));
  const out: InterfaceAddress[] = [];
  for (const address of locals) {
    const route = connected.find((r) => ipv4InSubnet(address, r.dst));
    if (route) out.push({ iface: route.iface, family: 4, address, prefixLen: Number(route.dst.split('/')[1]) });
  }
  return out;
}

/** Global-scope IPv6 addresses from `if_inet6` (link-local ones are not what IPAM assigned). */
export function parseIfInet6(text: string): InterfaceAddress[] {
  const out: InterfaceAddress[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    const [hex, , plen, scope, , iface] = f as [string, string, string, string, string, string];
    if (parseInt(scope, 16) !== 0) continue;
    out.push({ iface, family: 6, address: ipv6FromHex(hex), prefixLen: parseInt(plen, 16) });
  }
  return out;
}
