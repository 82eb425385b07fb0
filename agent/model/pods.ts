/**
 * Domain types for pods, their Multus network annotations and NetworkAttachmentDefinitions, and
 * the pod-metadata port. Plain readonly data, filled by the pod-metadata adapters (manifest files,
 * the kube API).
 */
import { PodUid, type PciAddress } from './ids.js';
import { type LabelSelector } from './label-selector.js';
/** The result of parsing input the agent does not control: a value, or why it is unusable. */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/**
 * One network requested in `k8s.v1.cni.cncf.io/networks` (either syntax), as Multus reads it:
 * `[namespace/]name[@interface]` or a JSON NetworkSelectionElement.
 */
export interface NetworkSelection {
  /** The NAD's namespace; the pod's own namespace when the annotation names none. */
  readonly namespace: string;
  readonly name: string;
  /** The interface name asked for (`@net1` / `"interface"`); undefined lets Multus pick `netN`. */
  readonly interface: string | undefined;
  readonly mac: string | undefined;
  readonly ips: readonly string[];
}

/** One entry of `k8s.v1.cni.cncf.io/network-status` (or the legacy `networks-status`). */
export interface NetworkStatusEntry {
  /** `namespace/name` of the NAD, or the cluster network's name for the default entry. */
  readonly name: string;
  readonly interface: string | undefined;
  readonly ips: readonly string[];
  readonly mac: string | undefined;
  readonly mtu: number | undefined;
  /** True for the cluster-default network (eth0). */
  readonly default: boolean;
  /** `device-info.pci.pci-address` (SR-IOV VFs, host-device on PCI). */
  readonly pciAddress: PciAddress | undefined;
  /** `device-info.type` (`pci`, `vhost-user`, `memif`, `vdpa`), when present. */
  readonly deviceType: string | undefined;
}

/** A pod as the agent needs it. */
export interface PodInfo {
  readonly namespace: string;
  readonly name: string;
  readonly uid: PodUid | undefined;
  readonly nodeName: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  /** Networks requested by annotation; an empty list when the pod asks for none. */
  readonly requested: Parsed<readonly NetworkSelection[]>;
  /** Networks Multus reports as attached; an empty list when there is no status annotation. */
  readonly status: Parsed<readonly NetworkStatusEntry[]>;
  /** Which annotation key the status came from (the legacy key is a fallback). */
  readonly statusKey: 'network-status' | 'networks-status' | undefined;
}

/** The IPAM part of a NAD's CNI config that the agent understands. */
export interface IpamConfig {
  readonly type: string;
  /** Each range as host-local lays it out: subnet with optional start, end, gateway. */
  readonly ranges: readonly IpamRange[];
  /** `routes[].dst`. */
  readonly routes: readonly string[];
  readonly dataDir: string | undefined;
}

/** One host-local range. */
export interface IpamRange {
  readonly subnet: string;
  readonly rangeStart: string | undefined;
  readonly rangeEnd: string | undefined;
  readonly gateway: string | undefined;
}

/**
 * Which pods may attach to a network: the `multinet.io/allowed-pods` annotation of its NAD, a
 * label selector. A selector that does not parse allows no pod (it is never read as allow-all).
 */
export interface AttachmentPolicy {
  /** The annotation's value as written. */
  readonly text: string;
  /** The parsed selector; undefined when it does not parse. */
  readonly selector: LabelSelector | undefined;
  /** Why it does not parse. */
  readonly error: string | undefined;
}

/** A NetworkAttachmentDefinition, parsed. */
export interface NetworkDefinition {
  readonly namespace: string;
  readonly name: string;
  /**
   * The CNI network name: the config's `name`, else the NAD's name (Multus fills it in so). host-local
   * keeps its leases in `<dataDir>/<this>`.
   */
  readonly cniName: string;
  /** The CNI plugin type that makes the interface (macvlan, ipvlan, host-device, sriov, bridge, ...); '' when unknown. */
  readonly type: string;
  /** macvlan/ipvlan `master`; undefined when absent (the plugin then uses the default-route interface). */
  readonly master: string | undefined;
  /** host-device `device`. */
  readonly device: string | undefined;
  /** macvlan `mode` / ipvlan `mode`. */
  readonly mode: string | undefined;
  /** `k8s.v1.cni.cncf.io/resourceName` annotation (SR-IOV device plugin resource). */
  readonly resourceName: string | undefined;
  readonly ipam: IpamConfig | undefined;
  readonly mtu: number | undefined;
  /** From the `multinet.io/traffic-class` label or annotation; '' when unset. */
  readonly trafficClass: string;
  /** Why the config is unusable, or undefined when it parsed. */
  readonly invalid: string | undefined;
  /** The attachment policy, when the NAD declares one. */
  readonly policy: AttachmentPolicy | undefined;
}

/** Where pods and NADs come from: manifest files, or the kube API's caches. Reads are cheap and synchronous. */
export interface PodMetadataSource {
  pods(): readonly PodInfo[];
  networks(): readonly NetworkDefinition[];
  /** Whether the pods are all known yet (a kube cache before its first list is not); true when absent. */
  synced?(): boolean;
}
