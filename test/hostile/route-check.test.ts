/**
 * Route check against the kernel. A pod whose routing table sends part of a network's subnet out
 * of another interface (a more specific route, a wrong covering one) must be flagged: for each
 * destination of the network, the kernel's longest-prefix choice for ANY address in it counts.
 * The routing function is constant between route boundaries, so the addresses that matter are the
 * destination's first address and, inside it, each route's first address and the one after its
 * last. Unit: seeded random tables against a brute-force oracle. Root: the same tables built in a
 * namespace (IPv4 and IPv6), read back from /proc as the agent reads them, and every boundary
 * address compared with `ip route get`.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { type RouteEntry } from '../../agent/model/domain.js';
import { formatIp, parseCidr } from '../../agent/rules/ip-address.js';
import { routeMismatch } from '../../agent/rules/health.js';
import { parseIpv4Routes, parseIpv6Routes } from '../../collectors/procfs/parse-net.js';
import { IS_ROOT, netnsName } from '../support/netns.js';
import { macvlanNad } from '../support/pods.js';

const IFACES = ['net1', 'eth0', 'net2'] as const;

/** A fixed-seed generator (LCG): the same tables every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

interface Table {
  readonly family: 4 | 6;
  readonly dst: string;
  readonly routes: readonly { dst: string; iface: string; metric: number }[];
}

const bits = (f: 4 | 6): number => (f === 4 ? 32 : 128);
const prefixOf = (text: string): { family: 4 | 6; net: bigint; len: number } => {
  const c = parseCidr(text);
  if (!c) throw new Error(text);
  const host = (1n << BigInt(bits(c.ip.family) - c.len)) - 1n;
  return { family: c.ip.family, net: c.ip.value & ~host, len: c.len };
};
const last = (p: { family: 4 | 6; net: bigint; len: number }): bigint => p.net | ((1n << BigInt(bits(p.family) - p.len)) - 1n);

/** A random table around a destination: covering routes, routes inside it, overlapping neighbours. */
function randomTable(rand: () => number, family: 4 | 6): Table {
  const base = family === 4 ? prefixOf('10.77.0.0/16') : prefixOf('fd77::/48');
  const dLen = base.len + 4 + Math.floor(rand() * 6);
  const dNet = base.net | (BigInt(Math.floor(rand() * 2 ** (dLen - base.len))) << BigInt(bits(family) - dLen));
  const d = { family, net: dNet, len: dLen };
  const routes: { dst: string; iface: string; metric: number }[] = [];
  const n = 1 + Math.floor(rand() * 6);
  for (let i = 0; i < n; i++) {
    const len = Math.max(base.len, Math.min(bits(family) - (family === 4 ? 2 : 64), dLen - 3 + Math.floor(rand() * 10)));
    const span = BigInt(bits(family) - dLen);
    const addr = dNet + (len > dLen ? BigInt(Math.floor(rand() * 2 ** Math.min(24, Number(span)))) << (span > 24n ? span - 24n : 0n) : 0n);
    const host = (1n << BigInt(bits(family) - len)) - 1n;
    routes.push({ dst: `${formatIp({ family, value: addr & ~host })}/${len}`, iface: IFACES[Math.floor(rand() * 3)] as string, metric: [100, 200][Math.floor(rand() * 2)] as number });
  }
  // One route of the destination itself, by net1, most of the time.
  if (rand() < 0.8) routes.push({ dst: `${formatIp({ family, value: dNet })}/${dLen}`, iface: 'net1', metric: 100 });
  // No two routes of one prefix and metric: the kernel refuses the second.
  const unique = [...new Map(routes.map((r) => [`${prefixOf(r.dst).net}/${prefixOf(r.dst).len}/${r.metric}`, r])).values()];
  return { family, dst: `${formatIp({ family, value: dNet })}/${dLen}`, routes: unique };
}

/** The addresses that matter: the destination's first, and each route start and end+1 inside it. */
function boundaries(t: Table): bigint[] {
  const d = prefixOf(t.dst);
  const out = new Set<bigint>([d.net]);
  for (const r of t.routes) {
    const p = prefixOf(r.dst);
    for (const a of [p.net, last(p) + 1n]) if (a > d.net && a <= last(d)) out.add(a);
  }
  return [...out].sort((a, b) => (a < b ? -1 : 1));
}

/** The oracle: longest prefix, then lowest metric, for one address. */
function choose(routes: readonly RouteEntry[], family: 4 | 6, a: bigint): string | undefined {
  let best: { len: number; metric: number; iface: string } | undefined;
  for (const r of routes) {
    if (r.family !== family) continue;
    const p = prefixOf(r.dst);
    if (a < p.net || a > last(p)) continue;
    const m = r.metric ?? 0;
    if (!best || p.len > best.len || (p.len === best.len && m < best.metric)) best = { len: p.len, metric: m, iface: r.iface };
  }
  return best?.iface;
}

const nad = (t: Table) => macvlanNad('n', 'eth1', t.dst);
const entries = (t: Table): RouteEntry[] => t.routes.map((r) => ({ family: t.family, dst: r.dst, gateway: undefined, iface: r.iface, metric: r.metric }));

describe('route check: every address of the destination counts (unit, seeded)', () => {
  it('flags a route more specific than the subnet that leaves by eth0', () => {
    const t: Table = { family: 4, dst: '10.1.0.0/24', routes: [{ dst: '10.1.0.0/24', iface: 'net1', metric: 0 }, { dst: '10.1.0.128/25', iface: 'eth0', metric: 0 }] };
    expect(routeMismatch('net1', nad(t), entries(t))).toEqual({ dst: '10.1.0.0/24', via: 'eth0', range: '10.1.0.128/25' });
  });

  it('agrees with the brute-force oracle on 2,000 random tables of either family', () => {
    const rand = rng(14);
    for (let i = 0; i < 2000; i++) {
      const t = randomTable(rand, i % 2 === 0 ? 4 : 6);
      const routes = entries(t);
      const wrong = boundaries(t).some((a) => {
        const via = choose(routes, t.family, a);
        return via !== undefined && via !== 'net1';
      });
      expect(routeMismatch('net1', nad(t), routes) !== undefined, JSON.stringify(t)).toBe(wrong);
    }
  });
});

const NS = netnsName('routes');

if (!IS_ROOT) {
  if (process.env.CI) throw new Error('the hostile route suite must run as root in CI');
  console.warn('test/hostile/route-check.test.ts needs root (network namespaces): kernel comparison skipped');
}

function sh(...args: string[]): string {
  return execFileSync(args[0] as string, args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe.skipIf(!IS_ROOT)('route check against the kernel (ip route get)', () => {
  afterAll(() => {
    try {
      sh('ip', 'netns', 'del', NS);
    } catch {
      // not made
    }
  });

  it('the rule\'s verdict and the kernel\'s choice agree on every boundary address of 60 seeded tables, IPv4 and IPv6', () => {
    sh('ip', 'netns', 'add', NS);
    sh('ip', 'netns', 'exec', NS, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=0');
    sh('ip', '-n', NS, 'link', 'set', 'lo', 'up');
    for (const [a, b] of [['net1', 'p-net1'], ['eth0', 'p-eth0'], ['net2', 'p-net2']]) {
      sh('ip', '-n', NS, 'link', 'add', a as string, 'type', 'veth', 'peer', 'name', b as string);
      sh('ip', '-n', NS, 'link', 'set', a as string, 'up');
      sh('ip', '-n', NS, 'link', 'set', b as string, 'up');
    }
    const rand = rng(1714);
    let compared = 0;
    let mismatches = 0;
    for (let i = 0; i < 60; i++) {
      const t = randomTable(rand, i % 2 === 0 ? 4 : 6);
      const v = t.family === 4 ? '-4' : '-6';
      sh('ip', '-n', NS, v, 'route', 'flush', 'proto', 'static');
      for (const r of t.routes) sh('ip', '-n', NS, v, 'route', 'add', r.dst, 'dev', r.iface, 'metric', String(r.metric), 'proto', 'static');
      // The table as the agent reads it: /proc/<pid>/net/route or ipv6_route of a process inside.
      const proc = sh('ip', 'netns', 'exec', NS, 'cat', t.family === 4 ? '/proc/net/route' : '/proc/net/ipv6_route');
      const read = (t.family === 4 ? parseIpv4Routes(proc) : parseIpv6Routes(proc)).filter((r) => r.iface !== 'lo');
      let wrong = false;
      for (const a of boundaries(t)) {
        const addr = formatIp({ family: t.family, value: a });
        let dev: string | undefined;
        try {
          dev = (JSON.parse(sh('ip', '-n', NS, '-j', v, 'route', 'get', addr)) as { dev?: string }[])[0]?.dev;
        } catch {
          // No route at all ("Network is unreachable"): nothing leaves, by any interface.
        }
        expect(choose(read, t.family, a), `${addr} in ${JSON.stringify(t)}`).toBe(dev);
        if (dev !== undefined && dev !== 'net1') wrong = true;
        compared++;
      }
      const verdict = routeMismatch('net1', nad(t), read);
      expect(verdict !== undefined, JSON.stringify({ t, verdict })).toBe(wrong);
      if (wrong) mismatches++;
    }
    console.log(`route check vs kernel: ${compared} addresses compared over 60 tables, ${mismatches} tables misrouted`);
    expect(mismatches).toBeGreaterThan(5);
    expect(mismatches).toBeLessThan(55);
  });
});
