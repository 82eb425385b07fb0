/**
 * SR-IOV families as a pure function of the SR-IOV snapshot and of who uses each VF. Counters are
 * copied as the PF driver reports them, per counter: from its per-VF sysfs stats where it has them,
 * else from the PF's rtnetlink VF info (IFLA_VF_STATS, which also covers vfio/DPDK-bound VFs).
 * sysfs comes first because rtnl_fill_vfinfo() sends IFLA_VF_STATS zeroed for a driver without
 * ndo_get_vf_stats. Error counters exist only in some drivers' sysfs stats. A counter no source
 * exposes has no series.
 */
import { type PciAddress } from '../../agent/model/ids.js';
import { type SriovPf, type SriovSnapshot, type SriovVf, type VfClaimConflict, type VfCounters, type VfUser } from '../../agent/model/sriov.js';
import { formatLabels } from './exposition.js';
import { columnOf, type Family, type Sample } from './family.js';
import { networkLabels } from './network-labels.js';

/** The name a PF is known by in metrics (and in doctor): its netdev, else its PCI address. */
export function pfLabel(pf: SriovPf): string {
  return pf.netdev ?? pf.pciAddress;
}

/** Mb/s (the unit of IFLA_VF_RATE) to bytes per second. */
const MBPS = 125_000;

/** A per-VF family: name, type, help, and how it reads one VF (undefined: no sample). */
interface VfSpec {
  readonly name: string;
  readonly type: 'gauge' | 'counter';
  readonly help: string;
  readonly value: (vf: SriovVf) => number | bigint | undefined;
}

/** A counter: the driver's sysfs value where it has one, else rtnetlink's. */
const counter = (suffix: string, field: keyof VfCounters, what: string): VfSpec => ({
  name: `multinet_sriov_vf_${suffix}_total`,
  type: 'counter',
  help: `${what}, as the PF driver counts them for the VF (its per-VF sysfs stats where it has them, else IFLA_VF_STATS).`,
  value: (vf) => vf.sysfsStats?.[field] ?? vf.netlink?.stats?.[field],
});

/** A counter only some drivers' per-VF sysfs stats have (rtnetlink carries no VF error counters). */
const sysfsCounter = (suffix: string, field: keyof VfCounters, what: string): VfSpec => ({
  name: `multinet_sriov_vf_${suffix}_total`,
  type: 'counter',
  help: `${what}, from the PF driver's per-VF sysfs stats; absent where the driver does not expose it.`,
  value: (vf) => vf.sysfsStats?.[field],
});

/** A rate limit in bytes per second; 0 means "no limit" and gets no sample. */
const rate = (which: 'min' | 'max', pick: (vf: SriovVf) => number | undefined, what: string): VfSpec => ({
  name: `multinet_sriov_vf_${which}_tx_rate_bytes_per_second`,
  type: 'gauge',
  help: `${what} configured on the VF (IFLA_VF_RATE); absent when none is set.`,
  value: (vf) => {
    const mbps = pick(vf);
    return mbps ? mbps * MBPS : undefined;
  },
});

/** Families labelled {pf, vf}; descriptive labels live in multinet_sriov_vf_info. */
const VF_SPECS: readonly VfSpec[] = [
  counter('receive_bytes', 'rxBytes', 'Bytes received'),
  counter('receive_packets', 'rxPackets', 'Packets received'),
  counter('receive_dropped', 'rxDropped', 'Received packets dropped'),
  counter('receive_broadcast', 'rxBroadcast', 'Broadcast packets received'),
  counter('receive_multicast', 'rxMulticast', 'Multicast packets received'),
  sysfsCounter('receive_errors', 'rxErrors', 'Receive errors'),
  counter('transmit_bytes', 'txBytes', 'Bytes transmitted'),
  counter('transmit_packets', 'txPackets', 'Packets transmitted'),
  counter('transmit_dropped', 'txDropped', 'Transmitted packets dropped'),
  sysfsCounter('transmit_errors', 'txErrors', 'Transmit errors'),
  rate('min', (vf) => vf.netlink?.minTxRateMbps, 'Guaranteed transmit rate'),
  rate('max', (vf) => vf.netlink?.maxTxRateMbps, 'Transmit rate ceiling'),
];

const PF_INFO_HELP =
  'Descriptive labels of an SR-IOV physical function (value 1): pf is its netdev, else its PCI address; ids are PCI vendor, device and VF device ids; numa_node is empty on single-node machines.';
const VF_INFO_HELP =
  'Descriptive labels of an SR-IOV virtual function (value 1): configuration from the PF (mac, vlan, vlan_qos, spoof_check, trust, link_state; empty when the PF did not report it) and the pod, interface and network using the VF (empty when none).';

const NO_USER: VfUser = Object.freeze({ namespace: '', pod: '', interface: '', network: '' });

function onOff(v: boolean | undefined): string {
  return v === undefined ? '' : v ? 'on' : 'off';
}

function num(v: number | undefined): string {
  return v === undefined ? '' : String(v);
}

/**
 * The SR-IOV families of a snapshot. `users` maps a VF's PCI address to the pod using it (from
 * network-status device-info and kubelet PodResources); VFs not in it get empty pod labels.
 */
export function sriovFamilies(snapshot: SriovSnapshot, users: ReadonlyMap<PciAddress, VfUser> = new Map(), conflicts: readonly VfClaimConflict[] = []): Family[] {
  const pfs = snapshot.pfs;
  const vfs: { pf: SriovPf; vf: SriovVf }[] = pfs.flatMap((pf) => pf.vfs.map((vf) => ({ pf, vf })));

  const families: Family[] = [
    {
      name: 'multinet_sriov_pf_info',
      help: PF_INFO_HELP,
      type: 'gauge',
      samples: pfs.map((pf) => ({
        labels: {
          pf: pfLabel(pf),
          pci_address: pf.pciAddress,
          driver: pf.driver ?? '',
          link_layer: pf.linkLayer ?? '',
          vendor_id: pf.vendorId ?? '',
          device_id: pf.deviceId ?? '',
          vf_device_id: pf.vfDeviceId ?? '',
          numa_node: num(pf.numaNode),
        },
        value: 1,
      })),
    },
    {
      name: 'multinet_sriov_pf_vfs',
      help: 'Virtual functions currently enabled on an SR-IOV physical function (sriov_numvfs).',
      type: 'gauge',
      samples: pfs.flatMap((pf) => (pf.numVfs === undefined ? [] : [{ labels: { pf: pfLabel(pf) }, value: pf.numVfs }])),
    },
    {
      name: 'multinet_sriov_pf_max_vfs',
      help: 'Virtual functions an SR-IOV physical function supports (sriov_totalvfs).',
      type: 'gauge',
      samples: pfs.map((pf) => ({ labels: { pf: pfLabel(pf) }, value: pf.totalVfs })),
    },
  ];

  const info: Sample[] = vfs.map(({ pf, vf }) => {
    const nl = vf.netlink;
    const user = users.get(vf.pciAddress) ?? NO_USER;
    return {
      labels: {
        pf: pfLabel(pf),
        vf: String(vf.index),
        pci_address: vf.pciAddress,
        driver: vf.driver ?? '',
        mac: nl?.mac ?? '',
        vlan: num(nl?.vlan),
        vlan_qos: num(nl?.qos),
        spoof_check: onOff(nl?.spoofCheck),
        trust: onOff(nl?.trust),
        link_state: nl?.linkState ?? '',
        namespace: user.namespace,
        pod: user.pod,
        interface: user.interface,
        ...networkLabels(user.network),
      },
      value: 1,
    };
  });
  families.push({ name: 'multinet_sriov_vf_info', help: VF_INFO_HELP, type: 'gauge', samples: info });
  families.push({
    name: 'multinet_sriov_vf_claim_conflict',
    help: "A pod whose network-status device-info names a VF that the kubelet (PodResources) allocated to another pod, whose netdev is in another pod, or that another pod's network-status names too (value 1); such a VF is not credited to the claimant.",
    type: 'gauge',
    samples: conflicts.map((c) => ({ labels: { pci_address: c.pciAddress, namespace: c.namespace, pod: c.pod, interface: c.interface }, value: 1 })),
  });

  const labelTexts = vfs.map(({ pf, vf }) => formatLabels({ pf: pfLabel(pf), vf: String(vf.index) }));
  const list = vfs.map((v) => v.vf);
  for (const spec of VF_SPECS) {
    families.push({ name: spec.name, help: spec.help, type: spec.type, samples: [], rows: { labelTexts, values: columnOf(list, spec.value) } });
  }
  return families;
}
