import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ipv4InSubnet } from '../../agent/rules/ipv4.js';
import { assignIpv4, ipv6FromHex, parseFibTrieLocals, parseIfInet6, parseIpv4Routes, parseIpv6Routes } from './parse-net.js';

/** /proc/<pid>/net of a pod-shaped namespace and iproute2's view of it (testdata/capture-pod-net.sh). */
const read = (f: string): string => readFileSync(new URL(`./testdata/pod-net/${f}`, import.meta.url), 'utf8');
const ipAddr = JSON.parse(read('ip-addr.json')) as { ifname: string; addr_info: { family: string; local: string; prefixlen: number; scope: string }[] }[];
const ipRoute = JSON.parse(read('ip-route.json')) as { dst: string; gateway?: string; dev: string; metric?: number }[];
const ipRoute6 = JSON.parse(read('ip-route6.json')) as { dst: string; gateway?: string; dev: string; metric?: number }[];

/** iproute2 writes `default` and host-less prefixes without /len where it can. */
const cidr = (dst: string, family: 4 | 6): string => (dst === 'default' ? (family === 4 ? '0.0.0.0/0' : '::/0') : dst.includes('/') ? dst : `${dst}/${family === 4 ? 32 : 128}`);

describe('procfs network files of a pod namespace', () => {
  it('IPv4 routes equal ip -j route', () => {
    const want = ipRoute.map((r) => ({ family: 4, dst: cidr(r.dst, 4), gateway: r.gateway, iface: r.dev, metric: r.metric ?? 0 }));
    expect(parseIpv4Routes(read('route'))).toEqual(expect.arrayContaining(want));
    expect(parseIpv4Routes(read('route'))).toHaveLength(want.length);
  });

  it('IPv6 routes equal ip -6 -j route', () => {
    const want = ipRoute6.map((r) => ({ family: 6, dst: cidr(r.dst, 6), gateway: r.gateway, iface: r.dev, metric: r.metric ?? 0 }));
    expect(parseIpv6Routes(read('ipv6_route')).sort((a, b) => a.iface.localeCompare(b.iface))).toEqual(want.sort((a, b) => a.iface.localeCompare(b.iface)));
  });

  it('addresses equal ip -j addr (global scope, loopback excluded)', () => {
    const routes = parseIpv4Routes(read('route'));
    const got = [...assignIpv4(parseFibTrieLocals(read('fib_trie')), routes), ...parseIfInet6(read('if_inet6'))];
    const want = ipAddr.flatMap((l) =>
      l.addr_info
        .filter((a) => a.scope === 'global')
        .map((a) => ({ iface: l.ifname, family: a.family === 'inet' ? 4 : 6, address: a.local, prefixLen: a.prefixlen })),
    );
    const key = (a: { iface: string; address: string }): string => `${a.iface} ${a.address}`;
    expect(got.sort((a, b) => key(a).localeCompare(key(b)))).toEqual(want.sort((a, b) => key(a).localeCompare(key(b))));
  });
});

describe('helpers', () => {
  it('formats IPv6 canonically', () => {
    expect(ipv6FromHex('fd000020000000000000000000000065')).toBe('fd00:20::65');
    expect(ipv6FromHex('00000000000000000000000000000000')).toBe('::');
    expect(ipv6FromHex('20010db8000000000000000000000001')).toBe('2001:db8::1');
  });

  it.each([
    ['10.30.0.5', '10.30.0.0/24', true],
    ['10.30.1.5', '10.30.0.0/24', false],
    ['10.30.1.5', '0.0.0.0/0', true],
    ['192.168.1.1', '192.168.1.1/32', true],
  ])('%s in %s is %s', (a, c, want) => {
    expect(ipv4InSubnet(a, c)).toBe(want);
  });

  it('leaves an address without a connected route unassigned', () => {
    expect(assignIpv4(['10.1.1.1'], [{ family: 4, dst: '0.0.0.0/0', gateway: '10.0.0.1', iface: 'eth0' }])).toEqual([]);
  });
});
