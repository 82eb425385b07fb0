import { describe, expect, it } from 'vitest';
import { formatIp, parseIp } from './ip-address.js';
import { canonicalRange, hostLocalNetworks, ipamUsage, liveIpKey } from './ipam.js';
import { type IpamAllocation, type IpamSnapshot } from '../model/ipam.js';
import type { IpamRange } from '../model/pods.js';
import { networkDefinition } from '../../test/support/pods.js';

const range = (subnet: string, over: Partial<IpamRange> = {}): IpamRange => ({ subnet, rangeStart: undefined, rangeEnd: undefined, gateway: undefined, ...over });
const capacity = (r: IpamRange): string => {
  const c = canonicalRange(r);
  return 'error' in c ? `error: ${c.error}` : `${c.label} ${c.capacity}`;
};

describe('ip addresses', () => {
  it('parses and formats both families', () => {
    expect(parseIp('10.30.0.200')).toEqual({ family: 4, value: 0x0a1e00c8n });
    expect(parseIp('256.0.0.1')).toBeUndefined();
    for (const [text, canonical] of [
      ['3ffe:ffff:0:01ff::0010', '3ffe:ffff:0:1ff::10'],
      ['::', '::'],
      ['::1', '::1'],
      ['fe80::', 'fe80::'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['::ffff:10.0.0.1', '::ffff:a00:1'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ]) {
      const ip = parseIp(text as string);
      expect(ip && formatIp(ip), text).toBe(canonical);
    }
    for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'lock', 'last_reserved_ip.0', '']) expect(parseIp(bad), bad).toBeUndefined();
  });
});

describe('host-local capacity', () => {
  it('counts what host-local hands out: start..end, less the gateway, never network or broadcast', () => {
    // The seed's storage network: 10.30.0.100-200, gateway .1 (default) outside the range.
    expect(capacity(range('10.30.0.0/24', { rangeStart: '10.30.0.100', rangeEnd: '10.30.0.200' }))).toBe('10.30.0.100-10.30.0.200 101');
    // Whole /24: .1 (gateway) .. .254 → .2-.254.
    expect(capacity(range('10.30.0.0/24'))).toBe('10.30.0.0/24 253');
    // A gateway inside the range is skipped.
    expect(capacity(range('10.40.0.0/29', { rangeStart: '10.40.0.2', rangeEnd: '10.40.0.4', gateway: '10.40.0.3' }))).toBe('10.40.0.2-10.40.0.4 2');
    expect(capacity(range('10.40.0.0/29', { rangeStart: '10.40.0.2', rangeEnd: '10.40.0.4' }))).toBe('10.40.0.2-10.40.0.4 3');
    // /29: .1 gateway, .2-.6 (broadcast .7 left out).
    expect(capacity(range('10.40.0.0/29'))).toBe('10.40.0.0/29 5');
    // A subnet written with host bits is canonicalized to its network.
    expect(capacity(range('10.40.0.9/30'))).toBe('10.40.0.8/30 1');
    // Only rangeStart: the end defaults.
    expect(capacity(range('10.40.0.0/24', { rangeStart: '10.40.0.250' }))).toBe('10.40.0.250-10.40.0.254 5');
  });

  it('IPv6: no broadcast, capacities beyond 2^53 kept exact until export', () => {
    expect(capacity(range('3ffe:ffff:0:01ff::/64', { rangeStart: '3ffe:ffff:0:01ff::0010', rangeEnd: '3ffe:ffff:0:01ff::0020' }))).toBe('3ffe:ffff:0:1ff::10-3ffe:ffff:0:1ff::20 17');
    expect(capacity(range('fd00::/120'))).toBe('fd00::/120 254');
    expect(capacity(range('fd00::/64'))).toBe(`fd00::/64 ${2n ** 64n - 2n}`);
  });

  it('refuses the ranges host-local refuses', () => {
    expect(capacity(range('10.0.0.0/31'))).toBe('error: network 10.0.0.0/31 too small to allocate from');
    expect(capacity(range('10.0.0.0/24', { rangeStart: '10.0.1.5' }))).toBe('error: rangeStart 10.0.1.5 not in network 10.0.0.0/24');
    expect(capacity(range('10.0.0.0/24', { rangeStart: '10.0.0.9', rangeEnd: '10.0.0.5' }))).toBe('error: rangeEnd 10.0.0.5 before rangeStart 10.0.0.9');
    expect(capacity(range('10.0.0.0/24', { gateway: 'fd00::1' }))).toBe('error: gateway fd00::1 is not an IPv4 address');
    expect(capacity(range('nonsense'))).toBe('error: subnet nonsense does not parse');
  });
});

describe('host-local networks and usage', () => {
  const hostLocal = (name: string, ranges: IpamRange[], over: { cniName?: string; dataDir?: string; type?: string } = {}) =>
    networkDefinition('default', name, { type: 'macvlan', cniName: over.cniName ?? name, ipam: { type: over.type ?? 'host-local', ranges, routes: [], dataDir: over.dataDir } });

  it('one directory per CNI network; dataDir overrides the root; ranges merged; other IPAM types left out', () => {
    const nets = hostLocalNetworks(
      [
        hostLocal('storage-network', [range('10.30.0.0/24', { rangeStart: '10.30.0.100', rangeEnd: '10.30.0.200' })]),
        // Another NAD of the same CNI network (another namespace): one directory, its extra range added.
        { ...hostLocal('storage-network', [range('10.30.0.0/24', { rangeStart: '10.30.0.100', rangeEnd: '10.30.0.200' }), range('fd30::/120')]), namespace: 'other' },
        hostLocal('lab', [range('10.50.0.0/29')], { dataDir: '/run/lab/ipam/' }),
        hostLocal('wb', [range('10.60.0.0/24')], { type: 'whereabouts' }),
        hostLocal('escape', [range('10.70.0.0/24')], { cniName: '../etc' }),
      ],
      '/var/lib/cni/networks',
    );
    expect(nets.map((n) => [n.network, n.dir, n.ranges.map((r) => `${r.label}:${r.capacity}`)])).toEqual([
      ['storage-network', '/var/lib/cni/networks/storage-network', ['10.30.0.100-10.30.0.200:101', 'fd30::/120:254']],
      ['lab', '/run/lab/ipam/lab', ['10.50.0.0/29:5']],
    ]);
  });

  const alloc = (ip: string, containerId: string, mtimeMs: number): IpamAllocation => ({ ip, containerId, ifname: 'net1', mtimeMs });
  const nets = hostLocalNetworks([hostLocal('tiny', [range('10.40.0.0/29', { rangeStart: '10.40.0.2', rangeEnd: '10.40.0.4' }), range('10.41.0.0/24')])], '/d');
  const NOW = 1_000_000;
  const snap = (leaksJudgeable: boolean, allocations: IpamAllocation[]): IpamSnapshot => ({ nets, dirs: [{ network: 'tiny', dir: '/d/tiny', exists: true, allocations }], leaksJudgeable, leakGraceMs: 60_000 });
  const old = NOW - 120_000;

  it('counts allocations per range; a leak is old, unknown by container ID and by address', () => {
    const ipam = snap(true, [
      alloc('10.40.0.2', 'live-sandbox', old),
      alloc('10.40.0.3', 'gone', old), // leaked
      alloc('10.40.0.4', 'gone-but-young', NOW - 1000), // within the grace period
      alloc('10.41.0.7', 'gone-2', old), // its address is still on a pod (network-status)
      alloc('10.42.0.1', 'x', old), // in no range: counted nowhere
      alloc('not-an-ip', 'x', old),
    ]);
    const live = { containerIds: new Set(['live-sandbox']), ips: new Set([liveIpKey('10.41.0.7/24') as string]) };
    expect(ipamUsage(ipam, live, NOW)).toEqual([
      { network: 'tiny', dir: '/d/tiny', nads: [{ namespace: 'default', name: 'tiny' }], range: '10.40.0.2-10.40.0.4', capacity: 3, allocated: 3, leaked: 1 },
      { network: 'tiny', dir: '/d/tiny', nads: [{ namespace: 'default', name: 'tiny' }], range: '10.41.0.0/24', capacity: 253, allocated: 1, leaked: 0 },
    ]);
  });

  it('no leak figure when the sandboxes are not visible; a missing directory is zero allocated', () => {
    const live = { containerIds: new Set<string>(), ips: new Set<string>() };
    expect(ipamUsage(snap(false, [alloc('10.40.0.3', 'gone', old)]), live, NOW).map((u) => [u.allocated, u.leaked])).toEqual([
      [1, undefined],
      [0, undefined],
    ]);
    expect(ipamUsage({ nets, dirs: [{ network: 'tiny', dir: '/d/tiny', exists: false, allocations: [] }], leaksJudgeable: true, leakGraceMs: 0 }, live, NOW).map((u) => [u.allocated, u.leaked])).toEqual([
      [0, 0],
      [0, 0],
    ]);
  });
});
