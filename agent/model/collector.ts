/**
 * The collector port: what the snapshot builder (agent/runtime) runs. Adapters produce these
 * (collectors/index.ts, the registry); the builder knows nothing of sysfs, rtnetlink or gRPC,
 * only names, the parts they fill, what they wait for and how to run or read them.
 */
import { type NetnsSample } from './attachments.js';
import type { DeviceInfo, NetLink } from './domain.js';
import { type IfIndex } from './ids.js';
import type { NetworkDefinition } from './pods.js';
import type { DeviceAllocation, PodSandbox } from './ports.js';
import { type IpamSnapshot } from './ipam.js';
import { type SriovPf } from './sriov.js';

/** Names of the collectors as they appear in `multinet_scrape_collector_*{collector}`. */
export const COLLECTOR = { netlink: 'netlink', sysfs: 'sysfs', netns: 'netns', sriov: 'sriov', podresources: 'podresources', cri: 'cri', ipam: 'ipam' } as const;
export type CollectorName = (typeof COLLECTOR)[keyof typeof COLLECTOR];

/** What the collectors of one snapshot produce, by part; each collector fills one part. */
export interface SnapshotParts {
  /** The host link dump (rtnetlink). */
  readonly links: readonly NetLink[];
  /** Device details of those links (sysfs), by ifindex. */
  readonly devices: ReadonlyMap<IfIndex, DeviceInfo>;
  /** Every other network namespace's links, and the NSID the agent's namespace has for itself. */
  readonly netns: { readonly selfNsid: number; readonly samples: readonly NetnsSample[] };
  /** SR-IOV PFs and VFs (sysfs), joined with the link dump's VF info when the snapshot is assembled. */
  readonly sriov: readonly SriovPf[];
  /** Device-plugin allocations (kubelet PodResources): device ID → its user. */
  readonly allocations: ReadonlyMap<string, DeviceAllocation>;
  /** Ready pod sandboxes (CRI); empty while the runtime does not answer. */
  readonly sandboxes: readonly PodSandbox[];
  /** host-local lease directories of the NADs' networks (whether leaks can be judged is decided at assembly). */
  readonly ipam: Omit<IpamSnapshot, 'leaksJudgeable'>;
}
export type PartName = keyof SnapshotParts;

/** What a collector may read when it runs: the parts it depends on (finished) and the pod metadata of this snapshot. */
export interface CollectorInputs {
  readonly parts: Partial<SnapshotParts>;
  readonly networks: readonly NetworkDefinition[];
}

/**
 * How a collector gives its part: `read` does I/O on the scrape path, under its own timeout
 * (success = it returned); `cache` reads what a client keeps fresh off the scrape path (success =
 * that client is connected; duration = how long the client's last refresh took).
 */
export type Collect<P extends PartName> =
  | { readonly kind: 'read'; run(signal: AbortSignal, inputs: CollectorInputs): Promise<SnapshotParts[P]> }
  | { readonly kind: 'cache'; read(inputs: CollectorInputs): { readonly value: SnapshotParts[P]; readonly connected: boolean; readonly lastError: string | undefined; readonly lastRefreshSeconds?: number | undefined } };

/** One collector as the snapshot builder runs it. */
export type CollectorRun<P extends PartName = PartName> = P extends PartName
  ? Collect<P> & {
      readonly name: CollectorName;
      /** The part of the snapshot it fills. */
      readonly fills: P;
      /** Parts it waits for (filled by collectors earlier in the list); collectors that wait for nothing of each other run concurrently. */
      readonly dependsOn: readonly PartName[];
    }
  : never;

/** A command-line flag (node_exporter style); the app's FLAGS and the collector registry share the shape. */
export interface FlagSpec {
  readonly name: string;
  readonly arg: string | undefined;
  readonly help: string;
  readonly default: string | undefined;
  /** May be given more than once; every value is kept. */
  readonly repeatable?: boolean;
}

/** Parsed flag values as a collector's options are read from them (the app parses and validates). */
export interface FlagReader {
  /** The value given, else the flag's default. */
  get(name: string): string;
  /** Whether the flag was given. */
  has(name: string): boolean;
  /** A switch's state (`--x` / `--no-x`, else its default). */
  on(name: string): boolean;
  /** A duration flag in milliseconds; throws a usage error naming the flag. */
  durationMs(name: string): number;
}
