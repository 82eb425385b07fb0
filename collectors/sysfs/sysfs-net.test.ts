import { describe, expect, it } from 'vitest';
import { type IfIndex } from '../../agent/model/ids.js';
import { fixtureFs, SYSFS_FIXTURE } from '../../test/support/fixture-fs.js';
import { netLink, recordingLogger } from '../../test/support/links.js';
import { SysfsDeviceSource, type SysfsFs } from './sysfs-net.js';

const links = [
  netLink({ ifindex: 1, name: 'lo', operstate: 'unknown' }),
  netLink({ ifindex: 2, name: 'eno1' }),
  netLink({ ifindex: 3, name: 'ens1f0' }),
  netLink({ ifindex: 4, name: 'eth0' }),
  netLink({ ifindex: 5, name: 'mv-mgmt', kind: 'macvlan' }),
  netLink({ ifindex: 6, name: 'veth0', kind: 'veth' }),
];

/** Counts reads per path, to see what the cache spares. */
function countingFs(): { fs: SysfsFs; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  const count = (p: string): void => void reads.set(p.slice(SYSFS_FIXTURE.length), (reads.get(p.slice(SYSFS_FIXTURE.length)) ?? 0) + 1);
  return {
    reads,
    fs: {
      readFile: (p) => (count(p), fixtureFs.readFile(p)),
      realpath: (p) => (count(p), fixtureFs.realpath(p)),
    },
  };
}

const signal = new AbortController().signal;

describe('SysfsDeviceSource on the fixture tree', () => {
  it('reads driver, PCI address, speed and duplex of a physical NIC', async () => {
    const { log } = recordingLogger();
    const info = await new SysfsDeviceSource({ root: SYSFS_FIXTURE, log, fs: fixtureFs }).describe(links, signal);
    expect(info.get(2 as IfIndex)).toEqual({
      driver: 'igb',
      pciAddress: '0000:02:00.0',
      speedBytesPerSecond: 125_000_000,
      duplex: 'full',
    });
  });

  it('reads driver and speed of an SR-IOV PF like any NIC', async () => {
    const { log } = recordingLogger();
    const info = await new SysfsDeviceSource({ root: SYSFS_FIXTURE, log, fs: fixtureFs }).describe(links, signal);
    expect(info.get(3 as IfIndex)).toMatchObject({ driver: 'ice', pciAddress: '0000:3b:00.0', speedBytesPerSecond: 3_125_000_000 });
  });

  it('finds the PCI function above a virtio device and omits speed -1', async () => {
    const { log } = recordingLogger();
    const info = await new SysfsDeviceSource({ root: SYSFS_FIXTURE, log, fs: fixtureFs }).describe(links, signal);
    expect(info.get(4 as IfIndex)).toEqual({ driver: 'virtio_net', pciAddress: '0000:00:03.0', speedBytesPerSecond: undefined, duplex: undefined });
  });

  it('omits speed and duplex that answer EINVAL, without a warning', async () => {
    const { log, lines } = recordingLogger();
    const info = await new SysfsDeviceSource({ root: SYSFS_FIXTURE, log, fs: fixtureFs }).describe(links, signal);
    for (const i of [1, 6]) {
      expect(info.get(i as IfIndex)).toEqual({ driver: undefined, pciAddress: undefined, speedBytesPerSecond: undefined, duplex: undefined });
    }
    expect(info.get(5 as IfIndex)?.speedBytesPerSecond).toBe(125_000_000);
    expect(lines.filter((l) => l.level !== 'debug')).toEqual([]);
  });

  it('warns about an unexpected error and still describes the other links', async () => {
    const { log, lines } = recordingLogger();
    const fs: SysfsFs = {
      readFile: (p) => (p.endsWith('eno1/speed') ? Promise.reject(Object.assign(new Error('EIO'), { code: 'EIO' })) : fixtureFs.readFile(p)),
      realpath: fixtureFs.realpath,
    };
    const info = await new SysfsDeviceSource({ root: SYSFS_FIXTURE, log, fs }).describe(links, signal);
    expect(info.get(2 as IfIndex)).toMatchObject({ driver: 'igb', speedBytesPerSecond: undefined, duplex: 'full' });
    expect(info.get(3 as IfIndex)?.speedBytesPerSecond).toBe(3_125_000_000);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([['warn', 'sysfs attribute unreadable']]);
  });

  it('re-reads speed only when the link moved or the entry expired', async () => {
    const { log } = recordingLogger();
    const { fs, reads } = countingFs();
    let now = 1_000_000;
    const source = new SysfsDeviceSource({ root: SYSFS_FIXTURE, log, fs, refreshMs: 60_000, now: () => now, random: () => 0.5 });
    await source.describe(links, signal);
    await source.describe(links, signal);
    expect(reads.get('/class/net/eno1/speed')).toBe(1);
    expect(reads.get('/class/net/eno1/device')).toBe(1);

    // A carrier flap (renegotiation) invalidates speed and duplex at once.
    const flapped = links.map((l) => (l.name === 'eno1' ? { ...l, carrierChanges: 3 } : l));
    await source.describe(flapped, signal);
    expect(reads.get('/class/net/eno1/speed')).toBe(2);
    expect(reads.get('/class/net/ens1f0/speed')).toBe(1);

    // After the refresh interval everything is read again.
    now += 61_000;
    await source.describe(flapped, signal);
    expect(reads.get('/class/net/ens1f0/speed')).toBe(2);
    expect(reads.get('/class/net/ens1f0/device')).toBe(1);
  });

  it('forgets links that are gone and re-reads a reused ifindex under a new name', async () => {
    const { log } = recordingLogger();
    const { fs, reads } = countingFs();
    const source = new SysfsDeviceSource({ root: SYSFS_FIXTURE, log, fs });
    await source.describe(links, signal);
    expect(source.cachedLinks).toBe(links.length);
    await source.describe(links.slice(0, 2), signal);
    expect(source.cachedLinks).toBe(2);
    const renamed = await source.describe([netLink({ ifindex: 2, name: 'ens1f0' })], signal);
    expect(renamed.get(2 as IfIndex)?.driver).toBe('ice');
    expect(reads.get('/class/net/ens1f0/device')).toBe(2);
  });

  it('stops when the signal aborts', async () => {
    const { log } = recordingLogger();
    const ac = new AbortController();
    ac.abort(new Error('budget'));
    await expect(new SysfsDeviceSource({ root: SYSFS_FIXTURE, log, fs: fixtureFs }).describe(links, ac.signal)).rejects.toThrow('budget');
  });
});
