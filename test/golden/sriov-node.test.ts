/**
 * SR-IOV end to end without hardware: the SR-IOV sysfs fixture tree, the E810 PF's link dump
 * with its IFLA_VFINFO_LIST (bytes laid out per the uapi headers), and the real PodResources
 * client against a grpc-js kubelet test server, through the snapshot builder to /metrics and
 * the doctor's table: every VF with its PF, configuration, counters and pod.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NetLink } from '../../agent/model/domain.js';
import { type PciAddress } from '../../agent/model/ids.js';
import { EMPTY_SNAPSHOT } from '../../agent/model/snapshot.js';
import { FailureLog } from '../../agent/runtime/snapshot.js';
import { snapshotFrom } from '../support/collectors.js';
import { parseLinkMessage } from '../../collectors/netlink/parse-link.js';
import { PodResourcesSource } from '../../collectors/podresources/podresources-client.js';
import { parsePfVfInfo } from '../../collectors/netlink/parse-vfinfo.js';
import { SriovSysfsSource } from '../../collectors/sriov/sriov-sysfs.js';
import { encodePfMessage } from '../../collectors/sriov/testdata/encode-vfinfo.js';
import { SRIOV_SYSFS, sriovFixtureFs } from '../../collectors/sriov/testdata/sriov-fixture.js';
import { assess } from '../../agent/rules/assess.js';
import { renderDoctor } from '../../exporters/doctor/doctor.js';
import { createMetricsRenderer } from '../../exporters/prometheus/registry.js';
import { parseExposition } from '../support/exposition.js';
import { recordingLogger } from '../support/links.js';
import { PodResourcesServer } from '../support/podresources-server.js';
import { renderChecked } from '../support/scrape.js';

const E810 = '0000:3b:00.0' as PciAddress;

/** The E810 PF as the host dump reports it: four VFs, one with VLAN 100 qos 3, with stats. */
function e810Link(): NetLink {
  const msg = encodePfMessage({ ifindex: 4, name: 'ens1f0', numVfs: 4 }, [
    { vf: 0, mac: '52:54:00:00:01:00', spoofchk: true, trust: false, linkState: 0, stats: { rxPackets: 10n, txPackets: 20n, rxBytes: 1000n, txBytes: 2000n, broadcast: 1n, multicast: 2n, rxDropped: 0n, txDropped: 0n } },
    { vf: 1, mac: '52:54:00:00:01:01', vlan: 100, qos: 3, spoofchk: true, trust: true, linkState: 1, stats: { rxPackets: 11n, txPackets: 21n, rxBytes: 1100n, txBytes: 2100n, broadcast: 0n, multicast: 0n, rxDropped: 1n, txDropped: 0n } },
    { vf: 2, mac: '52:54:00:00:01:02', spoofchk: false, trust: false, linkState: 2, stats: { rxPackets: 0n, txPackets: 0n, rxBytes: 0n, txBytes: 0n, broadcast: 0n, multicast: 0n, rxDropped: 0n, txDropped: 0n } },
    { vf: 3, mac: '52:54:00:00:01:03', spoofchk: true, trust: false, linkState: 0, stats: { rxPackets: 5n, txPackets: 6n, rxBytes: 500n, txBytes: 600n, broadcast: 0n, multicast: 0n, rxDropped: 0n, txDropped: 0n } },
  ]);
  const link = parseLinkMessage(msg) as NetLink;
  return { ...link, vfInfo: parsePfVfInfo(msg) };
}

describe('an SR-IOV node from fixtures to /metrics and doctor', () => {
  let dir = '';
  let kubelet: PodResourcesServer | undefined;
  let allocations: PodResourcesSource | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mna-podres-'));
    kubelet = await PodResourcesServer.start(dir);
    kubelet.pods = [
      { name: 'dpdk-app', namespace: 'telco', containers: [{ name: 'vswitch', devices: [{ resource_name: 'intel.com/intel_sriov_dpdk', device_ids: ['0000:3b:01.2'] }] }] },
      { name: 'cnf-1', namespace: 'telco', containers: [{ name: 'app', devices: [{ resource_name: 'intel.com/intel_sriov_netdevice', device_ids: ['0000:3b:01.0'] }] }] },
    ];
    const { log } = recordingLogger();
    allocations = new PodResourcesSource({ dir, log, refreshIntervalMs: 100 });
    allocations.start();
    for (let i = 0; i < 100 && allocations.devices().size < 2; i++) await new Promise((r) => setTimeout(r, 20));
  });

  afterAll(async () => {
    allocations?.stop();
    await kubelet?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('shows every VF of the E810 with its configuration, counters and pod', async () => {
    const { log } = recordingLogger();
    const pf = e810Link();
    const snapshot = await snapshotFrom(
      {
        // The sysfs fixture names the PF's device; the netlink link carries its VF info.
        links: { listLinks: async () => [pf], close: () => {} },
        devices: { describe: async () => new Map([[pf.ifindex, { driver: 'ice', pciAddress: E810, speedBytesPerSecond: undefined, duplex: undefined }]]) },
        sriov: new SriovSysfsSource({ root: SRIOV_SYSFS, log, fs: sriovFixtureFs }),
        allocations,
      },
      { collectorTimeoutMs: 5000, failures: new FailureLog(log) },
    );
    expect(snapshot.collectors.map((c) => [c.name, c.success])).toEqual([
      ['netlink', true],
      ['sysfs', true],
      ['sriov', true],
      ['podresources', true],
    ]);
    const text = await renderChecked(createMetricsRenderer({ version: 'test', assessed: async () => ({ snapshot, assessment: assess(snapshot) }), processMetrics: false }));
    const info = parseExposition(text).filter((s) => s.name === 'multinet_sriov_vf_info' && s.labels.pf === 'ens1f0');
    expect(info.map((s) => [s.labels.vf, s.labels.pci_address, s.labels.driver, s.labels.mac, s.labels.vlan, s.labels.spoof_check, s.labels.trust, s.labels.link_state, s.labels.namespace, s.labels.pod])).toEqual([
      ['0', '0000:3b:01.0', 'iavf', '52:54:00:00:01:00', '0', 'on', 'off', 'auto', 'telco', 'cnf-1'],
      ['1', '0000:3b:01.1', 'iavf', '52:54:00:00:01:01', '100', 'on', 'on', 'enable', '', ''],
      ['2', '0000:3b:01.2', 'vfio-pci', '52:54:00:00:01:02', '0', 'off', 'off', 'disable', 'telco', 'dpdk-app'],
      ['3', '0000:3b:01.3', 'vfio-pci', '52:54:00:00:01:03', '0', 'on', 'off', 'auto', '', ''],
    ]);
    const rx = parseExposition(text).filter((s) => s.name === 'multinet_sriov_vf_receive_bytes_total' && s.labels.pf === 'ens1f0');
    expect(rx.map((s) => [s.labels.vf, s.value])).toEqual([
      ['0', 1000],
      ['1', 1100],
      ['2', 0],
      ['3', 500],
    ]);

    const node = { ...EMPTY_SNAPSHOT, ...snapshot };
    const doctor = renderDoctor(node, assess(node, new Map()), new Map(), new Map());
    expect(doctor).toMatch(/SR-IOV: \d+ PFs, \d+ VFs/);
    expect(doctor).toMatch(/ens1f0\s+2\s+0000:3b:01\.2\s+vfio-pci\s+52:54:00:00:01:02\s+-\s+off\s+off\s+disable\s+0\s+0\s+telco\/dpdk-app/);
  });
});
