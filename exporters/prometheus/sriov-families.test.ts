/**
 * Golden SR-IOV exposition: the sysfs fixture tree (E810, X710, ConnectX-5, ConnectX-6 IB) read by
 * the real adapter, joined with RTM_NEWLINK messages laid out per the uapi headers and parsed by
 * the real parser, and a VF -> pod map, rendered by the real writer. Regenerate with UPDATE_GOLDEN=1.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type PciAddress } from '../../agent/model/ids.js';
import { parseLinkMessage } from '../../collectors/netlink/parse-link.js';
import { parsePfVfInfo } from '../../collectors/netlink/parse-vfinfo.js';
import { indexPfVfInfo, joinVfNetlinkInfo } from '../../agent/rules/sriov.js';
import { type SriovPf, type SriovSnapshot, type VfUser } from '../../agent/model/sriov.js';
import { SriovSysfsSource } from '../../collectors/sriov/sriov-sysfs.js';
import { encodePfMessage, type VfSpec } from '../../collectors/sriov/testdata/encode-vfinfo.js';
import { SRIOV_SYSFS, sriovFixtureFs } from '../../collectors/sriov/testdata/sriov-fixture.js';
import { byLabel, parseExposition } from '../../test/support/exposition.js';
import { expositionComplaints } from '../../test/support/exposition-invariant.js';
import { recordingLogger } from '../../test/support/links.js';
import { writeFamilies } from './exposition.js';
import { sriovFamilies } from './sriov-families.js';

const GOLDEN = new URL('../../collectors/sriov/testdata/sriov-metrics.prom', import.meta.url);

const stats = (n: bigint) => ({ rxPackets: 10n * n, txPackets: 9n * n, rxBytes: 1500n * n, txBytes: 1400n * n, broadcast: n / 7n, multicast: n / 3n, rxDropped: n / 11n, txDropped: n / 13n });

/** What the kernel would send for the PFs that have a netdev in the host namespace (the IB PF's is left out: EMSGSIZE). */
const DUMP: { name: string; ifindex: number; vfs: VfSpec[] }[] = [
  {
    name: 'ens1f0',
    ifindex: 3,
    vfs: [
      { vf: 0, mac: '52:54:00:aa:00:01', spoofchk: true, trust: false, linkState: 0, rssQueryEn: false, stats: stats(1_000_000n) },
      { vf: 1, mac: '52:54:00:aa:00:02', vlan: 100, qos: 3, spoofchk: false, trust: true, linkState: 1, rssQueryEn: false, minTxRate: 1000, maxTxRate: 10000, stats: stats(77n) },
      { vf: 2, mac: '52:54:00:aa:00:03', spoofchk: true, trust: false, linkState: 2, rssQueryEn: false, stats: stats(2n ** 40n) },
      { vf: 3, spoofchk: true, trust: false, linkState: 0, rssQueryEn: false, stats: stats(0n) },
    ],
  },
  {
    name: 'ens2f0',
    ifindex: 5,
    vfs: [
      { vf: 0, mac: '3c:fd:fe:00:10:01', vlan: 300, spoofchk: true, trust: false, linkState: 0, stats: stats(123_456n) },
      { vf: 1, mac: '3c:fd:fe:00:10:02', spoofchk: true, trust: true, linkState: 0, stats: stats(5n) },
    ],
  },
  { name: 'ens2f1', ifindex: 6, vfs: [] },
  {
    name: 'ens3f0np0',
    ifindex: 7,
    // switchdev mode: MAC, spoof check, trust and link state through the uplink; VLANs belong to TC/OVS.
    vfs: [
      { vf: 0, mac: '0c:42:a1:5e:00:01', spoofchk: true, trust: false, linkState: 0, stats: stats(4242n) },
      { vf: 1, mac: '0c:42:a1:5e:00:02', spoofchk: true, trust: true, linkState: 1, stats: stats(0n) },
    ],
  },
];

const USERS = new Map<PciAddress, VfUser>([
  ['0000:3b:01.0' as PciAddress, { namespace: 'telco', pod: 'upf-0', interface: 'net1', network: 'telco/sriov-n3' }],
  ['0000:3b:01.2' as PciAddress, { namespace: 'telco', pod: 'upf-0', interface: '', network: 'telco/sriov-dpdk-n6' }],
  ['0000:af:00.3' as PciAddress, { namespace: 'hpc', pod: 'trainer-0', interface: 'net1', network: 'hpc/rdma-net' }],
]);

const signal = new AbortController().signal;

async function sysfsPfs(): Promise<readonly SriovPf[]> {
  const { log } = recordingLogger();
  return new SriovSysfsSource({ root: SRIOV_SYSFS, log, fs: sriovFixtureFs }).listPfs(signal);
}

/** The snapshot as the agent would build it: sysfs topology, joined with each PF's parsed RTM_NEWLINK by PCI address. */
async function snapshot(): Promise<SriovSnapshot> {
  const pfs = await sysfsPfs();
  const byName = new Map(pfs.flatMap((pf) => (pf.netdev ? [[pf.netdev as string, pf.pciAddress] as const] : [])));
  const messages = DUMP.map((pf) => encodePfMessage({ ifindex: pf.ifindex, name: pf.name }, pf.vfs));
  const byPf = indexPfVfInfo(
    messages.map((msg) => {
      const link = parseLinkMessage(msg);
      return { pciAddress: link ? byName.get(link.name) : undefined, info: parsePfVfInfo(msg) };
    }),
  );
  return joinVfNetlinkInfo(pfs, byPf);
}

describe('golden SR-IOV exposition of the fixture node', () => {
  it('matches sriov-metrics.prom', async () => {
    const text = writeFamilies(sriovFamilies(await snapshot(), USERS));
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, text);
    expect(text).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('holds the exposition invariant, promtool check metrics included', async () => {
    expect(expositionComplaints(writeFamilies(sriovFamilies(await snapshot(), USERS)))).toBe('');
  });
});

describe('sriovFamilies', () => {
  it('labels every VF with its PF, configuration and pod; empty strings where unknown', async () => {
    const samples = parseExposition(writeFamilies(sriovFamilies(await snapshot(), USERS)));
    const info = byLabel(samples, 'multinet_sriov_vf_info', 'pci_address');
    expect(info.get('0000:3b:01.1')?.labels).toEqual({
      pf: 'ens1f0', vf: '1', pci_address: '0000:3b:01.1', driver: 'iavf', mac: '52:54:00:aa:00:02', vlan: '100', vlan_qos: '3',
      spoof_check: 'off', trust: 'on', link_state: 'enable', namespace: '', pod: '', interface: '', network_namespace: '', network: '',
    });
    expect(info.get('0000:3b:01.2')?.labels).toMatchObject({ driver: 'vfio-pci', link_state: 'disable', namespace: 'telco', pod: 'upf-0', interface: '', network_namespace: 'telco', network: 'sriov-dpdk-n6' });
    // The IB PF was not in the dump: topology only, configuration unknown.
    expect(info.get('0000:d8:00.2')?.labels).toMatchObject({ pf: 'ib0', vf: '1', driver: '', mac: '', vlan: '', spoof_check: '', trust: '', link_state: '' });
    expect(info.size).toBe(10);
  });

  it('names a PF without a netdev by its PCI address', async () => {
    const samples = parseExposition(writeFamilies(sriovFamilies(await snapshot())));
    expect(byLabel(samples, 'multinet_sriov_pf_max_vfs', 'pf').get('0000:3b:00.1')?.value).toBe(128);
    expect(byLabel(samples, 'multinet_sriov_pf_vfs', 'pf').get('ens2f1')?.value).toBe(0);
    expect(byLabel(samples, 'multinet_sriov_pf_info', 'pf').get('ib0')?.labels).toMatchObject({ link_layer: 'infiniband', numa_node: '1', vf_device_id: '0x101c' });
  });

  it('exports error counters only where a driver exposes them in sysfs, never a fake 0', async () => {
    const samples = parseExposition(writeFamilies(sriovFamilies(await snapshot())));
    const tx = samples.filter((s) => s.name === 'multinet_sriov_vf_transmit_errors_total');
    expect(tx.map((s) => [s.labels.pf, s.labels.vf, s.value])).toEqual([
      ['ens2f0', '0', 7],
      ['ens2f0', '1', 0],
    ]);
    expect(samples.filter((s) => s.name === 'multinet_sriov_vf_receive_errors_total')).toEqual([]);
  });

  it('takes each counter from the driver sysfs stats, else from rtnetlink, else exports none', async () => {
    const samples = parseExposition(writeFamilies(sriovFamilies(await snapshot())));
    const rx = samples.filter((s) => s.name === 'multinet_sriov_vf_receive_bytes_total').map((s) => [`${s.labels.pf}/${s.labels.vf}`, s.value]);
    expect(rx).toEqual([
      ['ens1f0/0', 1_500_000_000],
      ['ens1f0/1', 115_500],
      ['ens1f0/2', 1500 * 2 ** 40],
      ['ens1f0/3', 0],
      // the i40e sysfs files win over IFLA_VF_STATS (which the kernel zero-fills for drivers without ndo_get_vf_stats)
      ['ens2f0/0', 98_765_432_100],
      ['ens2f0/1', 4_398_046_511_104],
      // the MLNX_OFED stats file likewise
      ['ens3f0np0/0', 5_330_001_234],
      ['ens3f0np0/1', 0],
    ]);
    // i40e's sysfs has no broadcast counter: that one comes from rtnetlink.
    const bcast = byLabel(samples.filter((s) => s.labels.pf === 'ens2f0'), 'multinet_sriov_vf_receive_broadcast_total', 'vf');
    expect(bcast.get('0')?.value).toBe(17_636);
  });

  it('exports sysfs counters for a PF that is not in the rtnetlink dump', async () => {
    const samples = parseExposition(writeFamilies(sriovFamilies({ pfs: await sysfsPfs() })));
    const bytes = byLabel(samples.filter((s) => s.labels.pf === 'ens2f0'), 'multinet_sriov_vf_receive_bytes_total', 'vf');
    expect(bytes.get('0')?.value).toBe(98_765_432_100);
    expect(samples.filter((s) => s.name === 'multinet_sriov_vf_receive_bytes_total' && s.labels.pf === 'ens1f0')).toEqual([]);
  });

  it('exports rate limits in bytes per second, and nothing for "no limit"', async () => {
    const samples = parseExposition(writeFamilies(sriovFamilies(await snapshot())));
    expect(samples.filter((s) => s.name === 'multinet_sriov_vf_max_tx_rate_bytes_per_second').map((s) => [s.labels.vf, s.value])).toEqual([['1', 1_250_000_000]]);
    expect(samples.filter((s) => s.name === 'multinet_sriov_vf_min_tx_rate_bytes_per_second').map((s) => [s.labels.vf, s.value])).toEqual([['1', 125_000_000]]);
  });

  it('has HELP and TYPE for every family even on a node without SR-IOV', () => {
    const text = writeFamilies(sriovFamilies({ pfs: [] }));
    expect(text.match(/^# TYPE /gm)).toHaveLength(17);
    expect(parseExposition(text)).toEqual([]);
  });
});
