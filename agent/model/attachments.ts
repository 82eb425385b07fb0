/** A pod network namespace joined with its pod: what the join rules (agent/rules/attachments.ts) produce. Types only. */
import type { NetLink, NetnsRef } from './domain.js';
import { type IfIndex } from './ids.js';
import type { NetworkDefinition, NetworkStatusEntry, PodInfo } from './pods.js';
import type { PodSandbox } from './ports.js';

/** One network namespace's dump as the snapshot took it. */
export interface NetnsSample {
  readonly ref: NetnsRef;
  readonly nsid: number;
  readonly links: readonly NetLink[];
}

/**
 * How a namespace was tied to its pod: the container runtime's sandbox (CRI), the pod UID in a
 * process's cgroup, network-status names and MACs, or not at all.
 */
export type JoinSource = 'cri' | 'cgroup' | 'network-status' | 'none';

/** An interface inside a pod's namespace, with what the agent knows of it. */
export interface PodInterface {
  readonly link: NetLink;
  /** NAD name (without namespace); '' when no network claims the interface. */
  readonly network: string;
  /** NAD namespace; '' when unknown. */
  readonly networkNamespace: string;
  /** macvlan, ipvlan, veth, ..., or for a kindless netdev moved into the pod: sriov, host-device, device. */
  readonly kind: string;
  /** Name of the host link the interface hangs off ('' when none or not in the agent's namespace). */
  readonly master: string;
  /** Host master's ifindex in the agent's namespace, when resolved. */
  readonly masterIfindex: IfIndex | undefined;
  readonly pciAddress: string;
  readonly trafficClass: string;
  /** The cluster-default network (network-status `default: true`). */
  readonly isDefault: boolean;
  readonly status: NetworkStatusEntry | undefined;
  readonly definition: NetworkDefinition | undefined;
}

/** An attachment the pod asked for (networks annotation) or Multus listed (network-status). */
export interface ExpectedAttachment {
  readonly network: string;
  readonly networkNamespace: string;
  readonly interface: string;
  readonly reason: 'requested' | 'listed';
  /** Whether the namespace has an interface of that name. */
  readonly present: boolean;
}

/**
 * Two attachments of a pod that claim one interface name: the networks annotation asks for the
 * same interface twice (`nad@net1,nad@net1`) or for two networks on it (`a@net9,other/b@net9`).
 * Multus fails such a pod; the first claim is the one assessed and exported.
 */
export interface AttachmentConflict {
  readonly interface: string;
  /** `namespace/name` of the claim that was kept, and of the one left out. */
  readonly kept: string;
  readonly dropped: string;
}

/**
 * What a pod (or unknown namespace) held beyond the per-pod object limit: counts before the cut.
 * One object cannot make the agent do unbounded work, nor crowd out other pods' series.
 */
export interface PodObjectsCapped {
  /** Interfaces (links but loopback) in the namespace, and attachments the pod's annotations name. */
  readonly interfaces: number;
  readonly attachments: number;
  /** The limit that cut them. */
  readonly limit: number;
}

/** A network namespace and, when known, its pod. */
export interface PodNetnsView {
  readonly netns: NetnsRef;
  readonly nsid: number;
  readonly pod: PodInfo | undefined;
  readonly joinedBy: JoinSource;
  /** The container runtime's sandbox id, when the runtime (CRI) named this namespace. */
  readonly sandboxId?: string | undefined;
  /**
   * What the runtime said of that sandbox: its pod's namespace, name and UID and the namespace's
   * path, also when no pod the kube API (or --manifests) knows matches it (then `pod` is undefined).
   */
  readonly sandbox?: PodSandbox | undefined;
  /** Every interface but loopback. */
  readonly interfaces: readonly PodInterface[];
  /** Empty when the pod is unknown; one per interface name, at most the per-pod object limit. */
  readonly attachments: readonly ExpectedAttachment[];
  /** Attachments that claimed an interface an earlier one had (left out of `attachments`). */
  readonly conflicts?: readonly AttachmentConflict[];
  /** Set when the per-pod object limit cut `interfaces` or `attachments`. */
  readonly capped?: PodObjectsCapped;
}
