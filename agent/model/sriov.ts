/** SR-IOV PFs and VFs as sysfs and rtnetlink describe them (joined by agent/rules/sriov.ts). Types only. */
import { type IfName, type PciAddress } from './ids.js';

/** Per-VF counters. Each driver and each source exposes a different subset; the rest are undefined. */
export interface VfCounters {
  readonly rxPackets: bigint | undefined;
  readonly txPackets: bigint | undefined;
  readonly rxBytes: bigint | undefined;
  readonly txBytes: bigint | undefined;
  readonly rxBroadcast: bigint | undefined;
  readonly rxMulticast: bigint | undefined;
  readonly txBroadcast: bigint | undefined;
  readonly txMulticast: bigint | undefined;
  readonly rxDropped: bigint | undefined;
  readonly txDropped: bigint | undefined;
  readonly rxErrors: bigint | undefined;
  readonly txErrors: bigint | undefined;
}

/** Counters that no source filled: the base the parsers fill in. */
export const NO_VF_COUNTERS: VfCounters = Object.freeze({
  rxPackets: undefined,
  txPackets: undefined,
  rxBytes: undefined,
  txBytes: undefined,
  rxBroadcast: undefined,
  rxMulticast: undefined,
  txBroadcast: undefined,
  txMulticast: undefined,
  rxDropped: undefined,
  txDropped: undefined,
  rxErrors: undefined,
  txErrors: undefined,
});

/** `IFLA_VF_LINK_STATE`: follow the uplink, forced up, forced down. */
export type VfLinkState = 'auto' | 'enable' | 'disable';

/** A VF's configuration and counters as its PF's driver reports them over rtnetlink (one IFLA_VF_INFO). */
export interface VfNetlinkInfo {
  /** The VF number (`vf` of the ifla_vf_* structs); matches `virtfnN` in sysfs. */
  readonly index: number;
  /** Administrative MAC (6 bytes; 20 for an InfiniBand PF); all zeros when none was set. */
  readonly mac: string | undefined;
  /** VLAN the PF tags the VF's traffic with (VST); 0 when none. */
  readonly vlan: number | undefined;
  /** 802.1p priority of that VLAN. */
  readonly qos: number | undefined;
  /** `802.1Q` or `802.1ad` (IFLA_VF_VLAN_LIST); undefined with older kernels. */
  readonly vlanProto: string | undefined;
  /** Tx rate floor in Mb/s; 0 means none. */
  readonly minTxRateMbps: number | undefined;
  /** Tx rate ceiling in Mb/s; 0 means unlimited. */
  readonly maxTxRateMbps: number | undefined;
  /** MAC/VLAN anti-spoof check; undefined when the driver does not report it. */
  readonly spoofCheck: boolean | undefined;
  readonly linkState: VfLinkState | undefined;
  /** Trusted VF (may set promiscuous mode, change its MAC); undefined when not reported. */
  readonly trust: boolean | undefined;
  /** Whether the VF may query the PF's RSS table and key; undefined when not reported. */
  readonly rssQuery: boolean | undefined;
  /** InfiniBand node and port GUIDs (`aa:bb:...`, 8 bytes), for IB PFs that report them. */
  readonly nodeGuid: string | undefined;
  readonly portGuid: string | undefined;
  /**
   * IFLA_VF_STATS: rx/tx packets, bytes, dropped and rx broadcast/multicast. Undefined when the kernel
   * sent none (RTEXT_FILTER_SKIP_STATS, older kernels); all zeros for a driver without ndo_get_vf_stats.
   */
  readonly stats: VfCounters | undefined;
}

/** What one PF's RTM_NEWLINK says about its VFs. */
export interface PfVfInfo {
  /** `IFLA_NUM_VF`; more than `vfs.length` when the kernel skipped VFs or the list was cut short. */
  readonly numVfs: number | undefined;
  readonly vfs: readonly VfNetlinkInfo[];
}

/** A virtual function as sysfs shows it under its PF. */
export interface SriovVf {
  /** N of `virtfnN`. */
  readonly index: number;
  readonly pciAddress: PciAddress;
  /** Bound driver (`iavf`, `vfio-pci`, `mlx5_core`, ...); undefined when unbound. */
  readonly driver: string | undefined;
  /** The VF's netdev in the namespace sysfs was mounted from; undefined for vfio/DPDK VFs and VFs moved into a pod. */
  readonly netdev: IfName | undefined;
  /** Per-VF counters from the PF driver's sysfs (`<pf>/sriov/<n>/stats`), where the driver has them. */
  readonly sysfsStats: VfCounters | undefined;
  /** Filled by the rules' joinVfNetlinkInfo; undefined when the PF was not in the rtnetlink dump. */
  readonly netlink: VfNetlinkInfo | undefined;
}

/** The link layer of a PF: from its netdev's ARPHRD type, else from its PCI class. */
export type LinkLayer = 'ethernet' | 'infiniband';

/** A physical function: a network PCI function with the SR-IOV capability. */
export interface SriovPf {
  readonly pciAddress: PciAddress;
  /** Every netdev under the PCI function (uplink, and VF representors in switchdev mode), sorted. */
  readonly netdevs: readonly IfName[];
  /** The PF's own netdev among them (not a representor); undefined when it has none. */
  readonly netdev: IfName | undefined;
  readonly linkLayer: LinkLayer | undefined;
  readonly driver: string | undefined;
  /** `sriov_numvfs`. */
  readonly numVfs: number | undefined;
  /** `sriov_totalvfs`. */
  readonly totalVfs: number;
  /** NUMA node of the function; undefined on single-node machines (`-1`). */
  readonly numaNode: number | undefined;
  /** PCI ids, `0x8086`-style lowercase hex. */
  readonly vendorId: string | undefined;
  readonly deviceId: string | undefined;
  /** `sriov_vf_device`: the device id its VFs carry. */
  readonly vfDeviceId: string | undefined;
  /** VFs by ascending index. */
  readonly vfs: readonly SriovVf[];
}

/** Every SR-IOV PF on the node, by ascending PCI address. */
export interface SriovSnapshot {
  readonly pfs: readonly SriovPf[];
}

/**
 * A pod whose network-status `device-info` names a VF that is someone else's: the kubelet
 * (PodResources) allocated it to another pod, its netdev sits in another pod's namespace, or
 * another pod's network-status names it too and nothing says which is right.
 */
export interface VfClaimConflict {
  readonly pciAddress: PciAddress;
  /** The claimant. */
  readonly namespace: string;
  readonly pod: string;
  readonly interface: string;
  readonly network: string;
  /** Who holds the VF, and by what evidence; undefined when nothing settles it (then nobody is credited). */
  readonly holder: { readonly namespace: string; readonly pod: string; readonly by: 'podresources' | 'netdev' } | undefined;
}

/** Who uses a VF: from network-status `device-info.pci.pci-address` and kubelet PodResources. */
export interface VfUser {
  readonly namespace: string;
  readonly pod: string;
  /** The interface name inside the pod ('' for a vfio/DPDK VF without one). */
  readonly interface: string;
  /** `namespace/name` of the NetworkAttachmentDefinition. */
  readonly network: string;
}
