/** The snapshot: everything one scrape, doctor run or readiness tick sees. Types only. */
import { type PodNetnsView } from './attachments.js';
import { type NetnsNetworking } from './problems.js';
import { type IpamSnapshot } from './ipam.js';
import { type SriovSnapshot } from './sriov.js';
import type { NetworkDefinition, PodInfo } from './pods.js';
import type { CollectorStatus, HostLink } from './domain.js';
import type { DeviceAllocation } from './ports.js';

/** Everything one scrape, doctor run or readiness tick sees, taken at one moment. */
export interface Snapshot {
  /** Milliseconds since the epoch when the snapshot was started. */
  readonly takenAtMs: number;
  readonly hostLinks: readonly HostLink[];
  /** Every other network namespace on the node, joined with its pod when known. */
  readonly podNetns: readonly PodNetnsView[];
  /** Pods and NADs as the pod-metadata port knew them at that moment. */
  readonly pods: readonly PodInfo[];
  readonly networks: readonly NetworkDefinition[];
  /** SR-IOV PFs and VFs (sysfs topology joined with the PFs' rtnetlink VF info). */
  readonly sriov: SriovSnapshot;
  /** Device-plugin allocations (kubelet PodResources): device ID → pod. */
  readonly allocations: ReadonlyMap<string, DeviceAllocation>;
  readonly collectors: readonly CollectorStatus[];
  /** host-local IPAM leases; absent when that collector is disabled. */
  readonly ipam?: IpamSnapshot | undefined;
  /** Addresses and routes of the namespaces with a process, by inode, as last refreshed off the scrape path. */
  readonly networking?: ReadonlyMap<number, NetnsNetworking> | undefined;
}

/** A snapshot that saw nothing: the starting point for tests and for family templates. */
export const EMPTY_SNAPSHOT: Snapshot = Object.freeze({ takenAtMs: 0, hostLinks: [], podNetns: [], pods: [], networks: [], sriov: { pfs: [] }, allocations: new Map(), collectors: [] });
