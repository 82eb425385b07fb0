/**
 * Ports: what the core needs from the world, as plain interfaces. Adapters in `collectors/`
 * implement them; `agent/app/main.ts` wires them. Every port that does I/O takes an AbortSignal.
 */
import type { DeviceInfo, NetLink, NetnsRef } from './domain.js';
import { type IfIndex } from './ids.js';
import { type SriovPf } from './sriov.js';

/** Lists the links of the network namespace the agent runs in (one rtnetlink dump). */
export interface LinkSource {
  listLinks(signal: AbortSignal): Promise<readonly NetLink[]>;
  close(): void;
}

/** Describes net devices from what the kernel exposes beside rtnetlink (sysfs). */
export interface DeviceInfoSource {
  /**
   * Device details for the given links, keyed by ifindex. A link whose details cannot be read
   * is left out of the map, not failed.
   */
  describe(links: readonly NetLink[], signal: AbortSignal): Promise<ReadonlyMap<IfIndex, DeviceInfo>>;
}

/** Reads SR-IOV topology (sysfs): every SR-IOV network PF and its VFs. */
export interface SriovTopologySource {
  /** Every SR-IOV network PF, by ascending PCI address. A PF or VF that cannot be read is left out, not failed. */
  listPfs(signal: AbortSignal): Promise<readonly SriovPf[]>;
}

/** A device a pod's container was allocated by a device plugin (kubelet PodResources). */
export interface DeviceAllocation {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  readonly resourceName: string;
}

/** Whether a cache kept off the scrape path is current, and what its last refresh cost. */
export interface CachedSourceStatus {
  readonly connected: boolean;
  readonly lastError: string | undefined;
  /** Seconds the last finished refresh took (successful or not); undefined before the first. */
  readonly lastRefreshSeconds?: number | undefined;
}

/** Device allocations, kept fresh off the scrape path; reads are synchronous. */
export interface DeviceAllocationSource {
  /** Device ID (a VF's PCI address for SR-IOV resources) → its user. */
  devices(): ReadonlyMap<string, DeviceAllocation>;
  status(): CachedSourceStatus;
}

/** A ready pod sandbox as the container runtime (CRI) reports it, with its network namespace. */
export interface PodSandbox {
  /** The runtime's sandbox id (the pause container's id under containerd and CRI-O). */
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** The network namespace path the runtime reports (`/var/run/netns/cni-...`), if any. */
  readonly netnsPath: string | undefined;
  /** The sandbox's process (pause), if it has one. */
  readonly pid: number | undefined;
  /** nsfs inode of its network namespace, resolved by the adapter (undefined: gone or unreadable). */
  readonly netnsInode: number | undefined;
}

/** Pod sandboxes from the container runtime, kept fresh off the scrape path; reads are synchronous. */
export interface PodSandboxSource {
  /** Ready sandboxes as of the last successful refresh. */
  sandboxes(): readonly PodSandbox[];
  status(): CachedSourceStatus;
}

/** A link of the agent's namespace appeared, changed or went away. */
export interface LinkChange {
  readonly removed: boolean;
  readonly link: NetLink;
}

/** Announces link changes as they happen (rtnetlink multicast), between snapshots. */
export interface LinkEventSource {
  /** `onResync`: announcements may have been lost; read the links afresh. */
  start(onChange: (c: LinkChange) => void, onResync: () => void): void;
  stop(): void;
}

/** Hands events to the cluster (the recorder); never blocks, never throws. */
export interface EventRecorderPort {
  /**
   * `urgent`: sent before every queued event that is not (after the one being sent): the
   * readiness Events the cluster must hear within a second, not behind a burst of pod Events.
   */
  record(e: KubeEvent, opts?: { readonly urgent?: boolean }): void;
}

/** Finds the network namespaces on the node other than the agent's own. */
export interface NetnsDiscoverer {
  discover(): { readonly netns: readonly NetnsRef[]; readonly deniedPids: number };
}

/** Lists the links of another network namespace. */
export interface PodLinkSource {
  /** The NSID the agent's namespace has for itself (parents of pod links in it carry this id). */
  selfNsid(signal: AbortSignal): Promise<number>;
  /** The namespace's NSID and links, or undefined when it vanished or cannot be read. Safe to call concurrently. */
  listIn(ref: NetnsRef, signal: AbortSignal): Promise<{ nsid: number; links: readonly NetLink[] } | undefined>;
  /** How many listIn calls may usefully run at once. */
  readonly concurrency: number;
  /** Drops what is kept about namespaces other than these (by inode). */
  retain(inodes: ReadonlySet<number>): void;
  close(): void;
}

/** The slice of a structured logger the core uses (pino's call shape: object first). */
export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Cache state of one watched kube resource, for `multinet_kube_cache_*` and /readyz. */
export interface KubeCacheStatus {
  /** `pods` or `network-attachment-definitions`. */
  readonly resource: string;
  /** The first list has completed (and, after a relist, completed again). */
  readonly synced: boolean;
  /** Milliseconds since the epoch of the last watch event or list (undefined before the first). */
  readonly lastEventMs: number | undefined;
  /** Objects in the cache. */
  readonly objects: number;
  /** Watch (re)starts since the agent started: restarts after errors, 410 Gone, or the watchdog. */
  readonly restarts: number;
}

/** A Kubernetes Event the agent wants the cluster to hear (core/v1 Event, what client-go's recorder writes). */
export interface KubeEvent {
  /** The object the event is about. */
  readonly involvedObject: {
    readonly kind: 'Node' | 'Pod' | 'NetworkAttachmentDefinition';
    readonly name: string;
    /** '' for the cluster-scoped Node. */
    readonly namespace: string;
    readonly uid?: string;
    readonly apiVersion: string;
  };
  readonly type: 'Normal' | 'Warning';
  /** UpperCamelCase, stable: HostInterfaceNotReady, HostInterfaceReady, NetworkAttachmentMissing, ... */
  readonly reason: string;
  readonly message: string;
}

/** Writes Events to the API: create a new one, or raise the count of one already written. */
export interface EventSink {
  /** Creates the event object `name` in `namespace` (an Event's namespace is its object's, `default` for a Node). */
  create(e: { readonly name: string; readonly namespace: string; readonly event: KubeEvent; readonly count: number; readonly firstTimestamp: Date; readonly lastTimestamp: Date; readonly reportingInstance: string }): Promise<void>;
  /** Updates count and lastTimestamp (and message) of an event created before. */
  patch(e: { readonly name: string; readonly namespace: string; readonly count: number; readonly lastTimestamp: Date; readonly message: string }): Promise<void>;
}

/** Who a bearer token belongs to, as a TokenReview answers (authentication.k8s.io/v1 UserInfo). */
export interface ReviewedUser {
  readonly username: string;
  readonly uid: string;
  readonly groups: readonly string[];
  readonly extra: Readonly<Record<string, readonly string[]>>;
}

/** A request to a non-resource URL, as a SubjectAccessReview names it. */
export interface NonResourceRequest {
  readonly path: string;
  readonly verb: string;
}

/** Asks the cluster who a token is and what that user may do (TokenReview, SubjectAccessReview). */
export interface AccessReviewer {
  /** The token's user, or undefined when the cluster does not authenticate it; throws when the API cannot answer. */
  authenticate(token: string, signal: AbortSignal): Promise<ReviewedUser | undefined>;
  /** Whether `user` may make `request` (and the authorizer's reason); throws when the API cannot answer. */
  authorize(user: ReviewedUser, request: NonResourceRequest, signal: AbortSignal): Promise<{ readonly allowed: boolean; readonly reason: string }>;
}
