/** host-local IPAM lease state and its usage (computed by agent/rules/ipam.ts). Types and the default directory. */

/** host-local's default data directory; a NAD's `ipam.dataDir` overrides it. */
export const DEFAULT_IPAM_DIR = '/var/lib/cni/networks';

/** One lease file: `<dataDir>/<network>/<ip>`, content `<container ID>\r\n<ifname>` (older plugins: the ID alone). */
export interface IpamAllocation {
  readonly ip: string;
  /** The CNI container ID of the ADD: the pod sandbox's ID. */
  readonly containerId: string;
  readonly ifname: string | undefined;
  /** The file's mtime: when the address was reserved (host-local creates it with O_EXCL and never rewrites it). */
  readonly mtimeMs: number;
}

/** A lease directory to read. */
export interface IpamDirRequest {
  /** The CNI network name (the directory's name). */
  readonly network: string;
  readonly dir: string;
}

/** What one lease directory held. */
export interface IpamDirState extends IpamDirRequest {
  /** False when the directory does not exist (no allocation on this node yet). */
  readonly exists: boolean;
  /**
   * Why the directory could not be listed (errno: ENOTDIR for a dataDir that is a file, ELOOP,
   * EACCES, ...): this network's usage is unknown, and only this network's.
   */
  readonly error?: string;
  readonly allocations: readonly IpamAllocation[];
}

/** Reads host-local lease directories. */
export interface IpamStateSource {
  read(dirs: readonly IpamDirRequest[], signal: AbortSignal): Promise<readonly IpamDirState[]>;
}

/** The IPAM part of a snapshot. */
export interface IpamSnapshot {
  /** The host-local networks the NADs describe, with their ranges. */
  readonly nets: readonly HostLocalNetwork[];
  readonly dirs: readonly IpamDirState[];
  /** Whether the agent saw the node's pod sandboxes in this snapshot, so that an unknown container ID means something. */
  readonly leaksJudgeable: boolean;
  /** An allocation younger than this is never a leak (its pod may not be visible yet). */
  readonly leakGraceMs: number;
}

/** A range as host-local canonicalizes it. */
export interface CanonicalRange {
  /** `subnet`, or `rangeStart-rangeEnd` when either is set (defaults filled in). */
  readonly label: string;
  readonly family: 4 | 6;
  readonly start: bigint;
  readonly end: bigint;
  readonly gateway: bigint;
  /** Addresses host-local can hand out: start..end, less the gateway when it lies inside. */
  readonly capacity: bigint;
}

/** A host-local network of this node: its directory and the union of the ranges its NADs declare. */
export interface HostLocalNetwork extends IpamDirRequest {
  readonly ranges: readonly CanonicalRange[];
  /** The NADs that use it. */
  readonly nads: readonly { readonly namespace: string; readonly name: string }[];
}

/** Per range: capacity, allocated, and leaked (undefined when leaks cannot be judged). */
export interface IpamRangeUsage {
  readonly network: string;
  readonly dir: string;
  readonly nads: HostLocalNetwork['nads'];
  readonly range: string;
  readonly capacity: number;
  readonly allocated: number;
  readonly leaked: number | undefined;
}

/** What tells a live allocation from a leaked one. */
export interface LiveSandboxes {
  /** Container IDs of processes in the node's network namespaces (cgroups): sandbox IDs. */
  readonly containerIds: ReadonlySet<string>;
  /** Addresses of the pods whose namespaces exist (network-status, or read inside the namespace). */
  readonly ips: ReadonlySet<string>;
}
