/**
 * Domain types of the agent core: links, devices, addresses, routes, namespaces, collector
 * outcomes. Plain readonly data: no I/O, no adapter libraries. Counters are bigint until the
 * exporter; a value the kernel does not expose is `undefined`.
 */
import { IfIndex, IfName, NetnsId, PciAddress, type PodUid } from './ids.js';
import { type PfVfInfo } from './sriov.js';

/** RFC 2863 operational state, as `IFLA_OPERSTATE` / `/sys/class/net/<if>/operstate` names it. */
export type OperState =
  | 'unknown'
  | 'notpresent'
  | 'down'
  | 'lowerlayerdown'
  | 'testing'
  | 'dormant'
  | 'up';

/** The 64-bit counters of `struct rtnl_link_stats64` that the agent exports. */
export interface LinkCounters {
  readonly rxBytes: bigint;
  readonly rxPackets: bigint;
  readonly rxErrors: bigint;
  readonly rxDropped: bigint;
  readonly rxMulticast: bigint;
  readonly txBytes: bigint;
  readonly txPackets: bigint;
  readonly txErrors: bigint;
  readonly txDropped: bigint;
}

/** One link as rtnetlink describes it, in the namespace that was dumped. */
export interface NetLink {
  readonly ifindex: IfIndex;
  readonly name: IfName;
  /** `IFLA_INFO_KIND` (macvlan, ipvlan, veth, bridge, vxlan, bond, vlan, ...); '' for a physical device or loopback. */
  readonly kind: string;
  /** `IFLA_INFO_SLAVE_KIND` when the link is enslaved (bridge, bond, ...); '' otherwise. */
  readonly slaveKind: string;
  /** `IFLA_LINK`: the lower device (macvlan/ipvlan/vlan parent, veth peer). */
  readonly parentIfindex: IfIndex | undefined;
  /** `IFLA_LINK_NETNSID`: set when the parent lives in another network namespace. */
  readonly parentNetnsid: NetnsId | undefined;
  /** `IFLA_MASTER`: the bridge, bond or VRF this link is enslaved to. */
  readonly masterIfindex: IfIndex | undefined;
  /** `IFF_UP`: administratively up. */
  readonly adminUp: boolean;
  readonly operstate: OperState;
  readonly carrier: boolean | undefined;
  readonly carrierChanges: number | undefined;
  readonly mtu: number | undefined;
  /** Hardware address, lowercase `aa:bb:...`; undefined for links without one. */
  readonly mac: string | undefined;
  readonly counters: LinkCounters | undefined;
  /** PCI address of the device behind the link (`IFLA_PARENT_DEV_NAME` on bus `pci`), kernel 5.17+. */
  readonly pciAddress?: PciAddress | undefined;
  /** `IFLA_VFINFO_LIST` of an SR-IOV PF, when the dump asked for it (RTEXT_FILTER_VF). */
  readonly vfInfo?: PfVfInfo | undefined;
}

/** What sysfs says of a net device beyond rtnetlink. Every field is optional: virtual devices lack most. */
export interface DeviceInfo {
  /** Link speed in bytes per second; undefined when the kernel answers EINVAL or -1. */
  readonly speedBytesPerSecond: number | undefined;
  /** `full`, `half`, or undefined when unknown. */
  readonly duplex: string | undefined;
  /** Kernel driver bound to the parent device (`device/driver`). */
  readonly driver: string | undefined;
  /** PCI address of the parent device, when it sits on the PCI bus. */
  readonly pciAddress: PciAddress | undefined;
}

/** A host link with its parent and master resolved to names and its sysfs details joined in. */
export interface HostLink extends NetLink {
  /** Name of the parent link; '' when there is none or it lives in another namespace. */
  readonly parentName: string;
  /** Name of the master link; '' when there is none. */
  readonly masterName: string;
  readonly device: DeviceInfo;
}

/** An address configured on an interface. */
export interface InterfaceAddress {
  readonly iface: string;
  readonly family: 4 | 6;
  readonly address: string;
  readonly prefixLen: number;
}

/** A route of a network namespace's main table. */
export interface RouteEntry {
  readonly family: 4 | 6;
  /** Destination in CIDR form (`0.0.0.0/0` for the default route). */
  readonly dst: string;
  readonly gateway: string | undefined;
  readonly iface: string;
  /** Route priority (the kernel prefers the lowest among routes of one prefix); 0 when not read. */
  readonly metric?: number;
}

/** A network namespace found on the node, other than the agent's own. */
export interface NetnsRef {
  /** The nsfs inode: the namespace's identity. */
  readonly inode: number;
  /** A path that opens it: its bind mount if it has one, else `/proc/<pid>/ns/net` of its first process. */
  readonly path: string;
  /** The bind mount (`/run/netns/cni-...`), if any. */
  readonly bindPath: string | undefined;
  /**
   * The bind mount's path as the bytes the kernel has, when its name is not valid UTF-8: open
   * this, not `path` (a string cannot hold those bytes). `bindPath` then shows each byte that is
   * not UTF-8 as `\xNN` (nameFromBytes, agent/rules/names.ts).
   */
  readonly pathBytes?: Buffer;
  /** Processes inside, ascending; empty for a namespace held only by a bind mount. */
  readonly pids: readonly number[];
  /** Pod UID from the cgroup of a process inside, when it belongs to a pod. */
  readonly podUid: PodUid | undefined;
  readonly containerId: string | undefined;
}

/** Outcome of one collector in one snapshot. */
export interface CollectorStatus {
  readonly name: string;
  readonly success: boolean;
  readonly durationSeconds: number;
  /** Why it failed, when it did. */
  readonly error?: string;
  /** The capability whose absence made it fail (`CAP_NET_ADMIN`, ...), when that is the reason. */
  readonly missingCapability?: string;
}

/** No device information at all: what a link gets when sysfs could not be read. */
export const NO_DEVICE_INFO: DeviceInfo = Object.freeze({
  speedBytesPerSecond: undefined,
  duplex: undefined,
  driver: undefined,
  pciAddress: undefined,
});
