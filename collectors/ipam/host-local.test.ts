import { cp, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HostLocalIpamSource, parseLease } from './host-local.js';

const ROOT = new URL('./testdata/networks', import.meta.url).pathname;
const log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const dirs = (...names: string[]) => names.map((network) => ({ network, dir: path.join(ROOT, network) }));
const leases = (s: { allocations: readonly { ip: string; containerId: string; ifname: string | undefined }[] }) =>
  s.allocations.map((a) => [a.ip, a.containerId, a.ifname]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));

describe('parseLease', () => {
  it('reads the current and the old format', () => {
    expect(parseLease('0e9e98\r\nnet2')).toEqual({ containerId: '0e9e98', ifname: 'net2' });
    expect(parseLease('0e9e98')).toEqual({ containerId: '0e9e98', ifname: undefined });
    expect(parseLease('0e9e98\n')).toEqual({ containerId: '0e9e98', ifname: undefined });
  });
});

describe('HostLocalIpamSource', () => {
  const tmp: string[] = [];
  afterAll(async () => {
    for (const d of tmp) await rm(d, { recursive: true, force: true });
  });

  it('reads every lease of every directory; last_reserved_ip, lock and strays are not leases', async () => {
    const got = await new HostLocalIpamSource({ log, waitForDetails: true }).read(dirs('storage-network', 'dual', 'empty-network', 'never-used'), AbortSignal.timeout(5000));
    expect(got.map((d) => [d.network, d.exists, leases(d)])).toEqual([
      [
        'storage-network',
        true,
        [
          ['10.30.0.100', '0e9e986859311b6abfd21c0f64e59f057dd276eb79359a73df', 'net2'],
          ['10.30.0.101', '345d110872e81fe7ec65fe33265e88872a5a436ccd0ad01b', 'net1'],
        ],
      ],
      [
        'dual',
        true,
        [
          ['10.50.0.2', 'c0ffee00c0ffee00', undefined],
          ['fd50::2', 'abcdef', 'net1'],
        ],
      ],
      ['empty-network', true, []],
      ['never-used', false, []],
    ]);
    expect(got[0]?.allocations.every((a) => a.mtimeMs > 0)).toBe(true);
  });

  it('in the agent, a scrape only lists: leases not described yet count as just made, described by the background refresh', async () => {
    let now = 1_000_000;
    const source = new HostLocalIpamSource({ log, now: () => now });
    const first = await source.read(dirs('storage-network'), AbortSignal.timeout(5000));
    // Listed at once; who holds them is not known yet: young, so never a leak.
    expect(first[0]?.allocations.map((a) => [a.ip, a.containerId, a.mtimeMs])).toEqual([
      ['10.30.0.100', '', 1_000_000],
      ['10.30.0.101', '', 1_000_000],
    ]);
    await source.idle();
    now += 500;
    const second = await source.read(dirs('storage-network'), AbortSignal.timeout(5000));
    expect(second[0]?.allocations.map((a) => a.containerId)).toEqual(['0e9e986859311b6abfd21c0f64e59f057dd276eb79359a73df', '345d110872e81fe7ec65fe33265e88872a5a436ccd0ad01b']);
  });

  it('re-reads a lease that was released and reserved again under the same address', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'mna-ipam-'));
    tmp.push(dir);
    await cp(path.join(ROOT, 'storage-network'), path.join(dir, 'storage-network'), { recursive: true });
    const source = new HostLocalIpamSource({ log, waitForDetails: true, refreshMs: 0 });
    const req = [{ network: 'storage-network', dir: path.join(dir, 'storage-network') }];
    expect(leases((await source.read(req, AbortSignal.timeout(5000)))[0] as never)[0]).toEqual(['10.30.0.100', '0e9e986859311b6abfd21c0f64e59f057dd276eb79359a73df', 'net2']);
    const lease = path.join(dir, 'storage-network', '10.30.0.100');
    await unlink(lease);
    await writeFile(lease, 'feedfeed\r\nnet3', { flag: 'wx' });
    expect(leases((await source.read(req, AbortSignal.timeout(5000)))[0] as never)[0]).toEqual(['10.30.0.100', 'feedfeed', 'net3']);
  });
});
