/**
 * Two pods whose network-status `device-info` name the same VF PCI address: the last one used to
 * win, crediting the wrong pod with the VF, and nothing was flagged; and network-status overrode
 * the kubelet's own allocation (PodResources). Now PodResources wins when it answers, a claim
 * that contradicts the holder is a `vf-claim-conflict` finding and a
 * `multinet_sriov_vf_claim_conflict` series, and two unsettled claims credit nobody.
 */
import { describe, expect, it } from 'vitest';
import { type PciAddress } from '../../agent/model/ids.js';
import { type DeviceAllocation } from '../../agent/model/ports.js';
import { EMPTY_SNAPSHOT, type Snapshot } from '../../agent/model/snapshot.js';
import { type SriovSnapshot } from '../../agent/model/sriov.js';
import { assess } from '../../agent/rules/assess.js';
import { snapshotFamilies } from '../../exporters/prometheus/families.js';
import { writeFamilies } from '../../exporters/prometheus/exposition.js';
import { parseExposition } from '../support/exposition.js';
import { pod } from '../support/pods.js';
import { duplicateSeries } from './series.js';

const VF = '0000:3b:01.1' as PciAddress;
const sriov: SriovSnapshot = {
  pfs: [
    {
      pciAddress: '0000:3b:00.0' as PciAddress,
      netdevs: [],
      netdev: undefined,
      linkLayer: 'ethernet',
      driver: 'ice',
      numVfs: 1,
      totalVfs: 8,
      numaNode: 0,
      vendorId: '0x8086',
      deviceId: '0x159b',
      vfDeviceId: '0x1889',
      vfs: [{ index: 1, pciAddress: VF, driver: 'vfio-pci', netdev: undefined, sysfsStats: undefined, netlink: undefined }],
    },
  ],
};
const claimant = (name: string, iface: string) => pod({ name, uid: `00000000-0000-0000-0000-0000000000${name === 'a' ? 'a1' : 'b1'}`, status: [{ name: 'default/sriov-net', interface: iface, pciAddress: VF }] });

function render(pods: ReturnType<typeof pod>[], allocations: Map<string, DeviceAllocation>) {
  const snapshot: Snapshot = { ...EMPTY_SNAPSHOT, takenAtMs: Date.now(), pods, sriov, allocations };
  const assessment = assess(snapshot);
  const text = writeFamilies(snapshotFamilies(snapshot, assessment));
  const samples = parseExposition(text);
  return {
    text,
    user: samples.filter((s) => s.name === 'multinet_sriov_vf_info').map((s) => [s.labels.namespace, s.labels.pod, s.labels.interface]),
    conflicts: samples.filter((s) => s.name === 'multinet_sriov_vf_claim_conflict').map((s) => [s.labels.pod, s.labels.pci_address]),
    problems: assessment.problems.filter((p) => p.code === 'vf-claim-conflict').map((p) => [p.pod, p.message]),
  };
}

const alloc = (podName: string): Map<string, DeviceAllocation> => new Map([[VF, { namespace: 'default', pod: podName, container: 'app', resourceName: 'intel.com/sriov' }]]);

describe('VF claims', () => {
  it('two pods claim one VF and nothing settles it: nobody is credited, both are flagged', () => {
    const r = render([claimant('a', 'net1'), claimant('b', 'net2')], new Map());
    expect(duplicateSeries(r.text)).toEqual([]);
    expect(r.user).toEqual([['', '', '']]);
    expect(r.conflicts).toEqual([
      ['a', VF],
      ['b', VF],
    ]);
    expect(r.problems.map(([p]) => p)).toEqual(['a', 'b']);
    expect(r.problems[0]?.[1]).toBe(`network-status device-info names VF ${VF} for net1, but another pod's network-status names it too, and neither the kubelet nor a netdev settles it`);
  });

  it('PodResources answers: its pod holds the VF (interface from its own claim), the other claim is flagged', () => {
    const r = render([claimant('a', 'net1'), claimant('b', 'net2')], alloc('b'));
    expect(r.user).toEqual([['default', 'b', 'net2']]);
    expect(r.conflicts).toEqual([['a', VF]]);
    expect(r.problems).toEqual([['a', `network-status device-info names VF ${VF} for net1, but the kubelet allocated it to pod default/b`]]);
  });

  it('PodResources wins over a lone network-status claim by another pod', () => {
    const r = render([claimant('b', 'net2')], alloc('a'));
    expect(r.user).toEqual([['default', 'a', '']]);
    expect(r.conflicts).toEqual([['b', VF]]);
  });

  it('one claim and no allocation: credited as before, nothing flagged', () => {
    const r = render([claimant('a', 'net1')], new Map());
    expect(r.user).toEqual([['default', 'a', 'net1']]);
    expect(r.conflicts).toEqual([]);
    expect(r.problems).toEqual([]);
  });
});
