import { describe, expect, it } from 'vitest';
import { recordingLogger } from '../../test/support/links.js';
import { NO_VF_COUNTERS, type SriovPf } from '../../agent/model/sriov.js';
import { SriovSysfsSource, type SriovFs } from './sriov-sysfs.js';
import { SRIOV_SYSFS, sriovFixtureFs } from './testdata/sriov-fixture.js';

const signal = new AbortController().signal;

async function read(fs: SriovFs = sriovFixtureFs) {
  const { log, lines } = recordingLogger();
  const source = new SriovSysfsSource({ root: SRIOV_SYSFS, log, fs });
  const pfs = await source.listPfs(signal);
  const byAddr = new Map(pfs.map((p) => [p.pciAddress as string, p]));
  return { pfs, byAddr, lines, source };
}

/** Counts reads per path below the fixture root. */
function countingFs(): { fs: SriovFs; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  const count = (p: string): void => void reads.set(p.slice(SRIOV_SYSFS.length), (reads.get(p.slice(SRIOV_SYSFS.length)) ?? 0) + 1);
  return {
    reads,
    fs: {
      readFile: (p) => (count(p), sriovFixtureFs.readFile(p)),
      realpath: (p) => (count(p), sriovFixtureFs.realpath(p)),
      readdir: (p) => (count(p), sriovFixtureFs.readdir(p)),
    },
  };
}

describe('SriovSysfsSource on the fixture tree', () => {
  it('finds every SR-IOV network PF, with or without a netdev, and skips bridges and the QAT crypto PF', async () => {
    const { pfs, lines } = await read();
    expect(pfs.map((p) => [p.pciAddress, p.netdev ?? ''])).toEqual([
      ['0000:3b:00.0', 'ens1f0'],
      ['0000:3b:00.1', ''],
      ['0000:5e:00.0', 'ens2f0'],
      ['0000:5e:00.1', 'ens2f1'],
      ['0000:af:00.0', 'ens3f0np0'],
      ['0000:d8:00.0', 'ib0'],
    ]);
    expect(lines.filter((l) => l.level !== 'debug')).toEqual([]);
  });

  it('reads an E810 PF: ids, driver, NUMA node, VF counts and VFs on iavf and vfio-pci', async () => {
    const { byAddr } = await read();
    const pf = byAddr.get('0000:3b:00.0') as SriovPf;
    expect({ ...pf, vfs: undefined }).toEqual({
      pciAddress: '0000:3b:00.0',
      netdevs: ['ens1f0'],
      netdev: 'ens1f0',
      linkLayer: 'ethernet',
      driver: 'ice',
      numVfs: 4,
      totalVfs: 128,
      numaNode: 0,
      vendorId: '0x8086',
      deviceId: '0x159b',
      vfDeviceId: '0x1889',
      vfs: undefined,
    });
    expect(pf.vfs).toEqual([
      { index: 0, pciAddress: '0000:3b:01.0', driver: 'iavf', netdev: 'ens1f0v0', sysfsStats: undefined, netlink: undefined },
      { index: 1, pciAddress: '0000:3b:01.1', driver: 'iavf', netdev: 'ens1f0v1', sysfsStats: undefined, netlink: undefined },
      { index: 2, pciAddress: '0000:3b:01.2', driver: 'vfio-pci', netdev: undefined, sysfsStats: undefined, netlink: undefined },
      { index: 3, pciAddress: '0000:3b:01.3', driver: 'vfio-pci', netdev: undefined, sysfsStats: undefined, netlink: undefined },
    ]);
  });

  it('reads a PF bound to no driver: no netdev, link layer from its PCI class', async () => {
    const { byAddr } = await read();
    expect(byAddr.get('0000:3b:00.1')).toMatchObject({ driver: undefined, netdevs: [], netdev: undefined, linkLayer: 'ethernet', numVfs: 0, totalVfs: 128, vfs: [] });
  });

  it('reads per-VF stats files of Intel out-of-tree i40e, tx_errors included', async () => {
    const { byAddr } = await read();
    const pf = byAddr.get('0000:5e:00.0') as SriovPf;
    expect(pf).toMatchObject({ driver: 'i40e', deviceId: '0x1572', vfDeviceId: '0x154c', numVfs: 2, totalVfs: 64 });
    expect(pf.vfs.map((v) => [v.pciAddress, v.driver, v.netdev])).toEqual([
      ['0000:5e:02.0', 'iavf', 'ens2f0v0'],
      ['0000:5e:02.1', 'vfio-pci', undefined],
    ]);
    expect(pf.vfs[0]?.sysfsStats).toEqual({
      ...NO_VF_COUNTERS,
      rxBytes: 98_765_432_100n,
      rxDropped: 12n,
      rxPackets: 87_654_321n,
      txBytes: 45_678_901_234n,
      txDropped: 3n,
      txPackets: 34_567_890n,
      txErrors: 7n,
    });
    // rx_errors is not exposed by this driver: undefined, not 0.
    expect(pf.vfs[1]?.sysfsStats).toMatchObject({ rxBytes: 4_398_046_511_104n, txErrors: 0n, rxErrors: undefined });
  });

  it('reads an X710 port with sriov_numvfs 0', async () => {
    const { byAddr } = await read();
    expect(byAddr.get('0000:5e:00.1')).toMatchObject({ netdev: 'ens2f1', numVfs: 0, totalVfs: 64, vfs: [] });
  });

  it('reads a ConnectX-5 in switchdev mode: uplink among representors, OFED stats file, a VF netdev moved into a pod', async () => {
    const { byAddr } = await read();
    const pf = byAddr.get('0000:af:00.0') as SriovPf;
    expect(pf).toMatchObject({
      netdevs: ['ens3f0np0', 'ens3f0npf0vf0', 'ens3f0npf0vf1'],
      netdev: 'ens3f0np0',
      driver: 'mlx5_core',
      vendorId: '0x15b3',
      deviceId: '0x1017',
      vfDeviceId: '0x1018',
      numaNode: 1,
      numVfs: 2,
      totalVfs: 8,
    });
    expect(pf.vfs.map((v) => [v.index, v.pciAddress, v.driver, v.netdev])).toEqual([
      [0, '0000:af:00.2', 'mlx5_core', 'ens3f0v0'],
      [1, '0000:af:00.3', 'mlx5_core', undefined],
    ]);
    expect(pf.vfs[0]?.sysfsStats).toEqual({
      ...NO_VF_COUNTERS,
      txPackets: 5_550_001n,
      txBytes: 6_660_001_234n,
      txDropped: 0n,
      rxPackets: 4_440_001n,
      rxBytes: 5_330_001_234n,
      rxBroadcast: 17n,
      rxMulticast: 2048n,
      txBroadcast: 3n,
      txMulticast: 9n,
      rxDropped: 21n,
    });
    expect(pf.vfs[1]?.sysfsStats?.rxErrors).toBeUndefined();
  });

  it('reads an InfiniBand PF: ib0 of type 32, a VF on mlx5_core, an unbound VF, no stats', async () => {
    const { byAddr } = await read();
    const pf = byAddr.get('0000:d8:00.0') as SriovPf;
    expect(pf).toMatchObject({ netdev: 'ib0', linkLayer: 'infiniband', deviceId: '0x101b', vfDeviceId: '0x101c', numVfs: 2, totalVfs: 16 });
    expect(pf.vfs).toEqual([
      { index: 0, pciAddress: '0000:d8:00.1', driver: 'mlx5_core', netdev: 'ib1', sysfsStats: undefined, netlink: undefined },
      { index: 1, pciAddress: '0000:d8:00.2', driver: undefined, netdev: undefined, sysfsStats: undefined, netlink: undefined },
    ]);
  });
});

describe('SriovSysfsSource faults', () => {
  it('omits an attribute that errors unexpectedly, warns once per path, and keeps the rest', async () => {
    const { log, lines } = recordingLogger();
    const failing = '0000:af:00.0/sriov/0/stats';
    const fs: SriovFs = {
      ...sriovFixtureFs,
      readFile: (p) => (p.endsWith(failing) ? Promise.reject(Object.assign(new Error('EIO'), { code: 'EIO' })) : sriovFixtureFs.readFile(p)),
    };
    const source = new SriovSysfsSource({ root: SRIOV_SYSFS, log, fs });
    for (let i = 0; i < 3; i++) {
      const pfs = await source.listPfs(signal);
      const cx5 = pfs.find((p) => p.pciAddress === '0000:af:00.0');
      expect(cx5?.vfs[0]).toMatchObject({ pciAddress: '0000:af:00.2', sysfsStats: undefined });
      expect(cx5?.vfs[1]?.sysfsStats).toBeDefined();
    }
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual(['sriov sysfs attribute unreadable']);
    expect(lines.filter((l) => l.level === 'debug')).toHaveLength(2);
  });

  it('does not conclude "not a PF" from a transient error on sriov_totalvfs', async () => {
    const { log, lines } = recordingLogger();
    let fail = true;
    const fs: SriovFs = {
      ...sriovFixtureFs,
      readFile: (p) => (fail && p.endsWith('0000:5e:00.0/sriov_totalvfs') ? Promise.reject(Object.assign(new Error('EIO'), { code: 'EIO' })) : sriovFixtureFs.readFile(p)),
    };
    const source = new SriovSysfsSource({ root: SRIOV_SYSFS, log, fs });
    expect((await source.listPfs(signal)).map((p) => p.pciAddress)).not.toContain('0000:5e:00.0');
    fail = false;
    expect((await source.listPfs(signal)).map((p) => p.pciAddress)).toContain('0000:5e:00.0');
    expect(lines.map((l) => l.level)).toEqual(['warn']);
  });

  it('treats a stats file the driver refuses (EINVAL) as not exposed, silently', async () => {
    const { log, lines } = recordingLogger();
    const fs: SriovFs = {
      ...sriovFixtureFs,
      readFile: (p) => (p.includes('/sriov/') ? Promise.reject(Object.assign(new Error('EINVAL'), { code: 'EINVAL' })) : sriovFixtureFs.readFile(p)),
    };
    const pfs = await new SriovSysfsSource({ root: SRIOV_SYSFS, log, fs }).listPfs(signal);
    expect(pfs.flatMap((p) => p.vfs).every((v) => v.sysfsStats === undefined)).toBe(true);
    expect(lines).toEqual([]);
  });

  it('drops a VF that vanished between listing and reading (virtfn ENOENT)', async () => {
    const fs: SriovFs = {
      ...sriovFixtureFs,
      realpath: (p) => (p.endsWith('0000:3b:00.0/virtfn3') ? Promise.reject(Object.assign(new Error('ENOENT'), { code: 'ENOENT' })) : sriovFixtureFs.realpath(p)),
    };
    const { byAddr, lines } = await read(fs);
    expect(byAddr.get('0000:3b:00.0')?.vfs.map((v) => v.index)).toEqual([0, 1, 2]);
    expect(lines).toEqual([]);
  });

  it('returns no PFs for a sysfs without /sys/bus/pci', async () => {
    const { log } = recordingLogger();
    const pfs = await new SriovSysfsSource({ root: `${SRIOV_SYSFS}/nonexistent`, log, fs: sriovFixtureFs }).listPfs(signal);
    expect(pfs).toEqual([]);
  });

  it('stops when the signal aborts', async () => {
    const { log } = recordingLogger();
    const ctl = new AbortController();
    ctl.abort(new Error('scrape timeout'));
    await expect(new SriovSysfsSource({ root: SRIOV_SYSFS, log, fs: sriovFixtureFs }).listPfs(ctl.signal)).rejects.toThrow('scrape timeout');
  });
});

describe('SriovSysfsSource cache', () => {
  it('reads class, ids and NUMA node once; sriov_totalvfs, numvfs, drivers and VFs every pass', async () => {
    const { log } = recordingLogger();
    const { fs, reads } = countingFs();
    const source = new SriovSysfsSource({ root: SRIOV_SYSFS, log, fs });
    await source.listPfs(signal);
    await source.listPfs(signal);
    const e810 = '/bus/pci/devices/0000:3b:00.0';
    expect(reads.get(`${e810}/sriov_totalvfs`)).toBe(2);
    expect(reads.get(`${e810}/vendor`)).toBe(1);
    expect(reads.get(`${e810}/numa_node`)).toBe(1);
    expect(reads.get(`${e810}/sriov_numvfs`)).toBe(2);
    expect(reads.get(`${e810}/driver`)).toBe(2);
    expect(reads.get(`${e810}/virtfn2`)).toBe(2);
    // A root port and the QAT PF are looked at once and then remembered as "not ours".
    expect(reads.get('/bus/pci/devices/0000:3a:00.0/sriov_totalvfs')).toBe(1);
    expect(reads.get('/bus/pci/devices/0000:3d:00.0/class')).toBe(1);
    expect(reads.get('/bus/pci/devices/0000:3d:00.0/sriov_totalvfs')).toBe(1);
    expect(reads.get('/bus/pci/devices/0000:3d:00.0/sriov_numvfs')).toBeUndefined();
    expect(source.cachedFunctions).toBe(22);
  });

  it('forgets functions that left the bus', async () => {
    const { log } = recordingLogger();
    let hide = false;
    const fs: SriovFs = {
      ...sriovFixtureFs,
      readdir: async (d) => {
        const names = await sriovFixtureFs.readdir(d);
        return hide && d.endsWith('bus/pci/devices') ? names.filter((n) => !n.startsWith('0000:d')) : names;
      },
    };
    const source = new SriovSysfsSource({ root: SRIOV_SYSFS, log, fs });
    await source.listPfs(signal);
    hide = true;
    const pfs = await source.listPfs(signal);
    expect(pfs.map((p) => p.pciAddress)).not.toContain('0000:d8:00.0');
    expect(source.cachedFunctions).toBe(18);
  });
});
