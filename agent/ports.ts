/**
 * Ports: what the core needs from the world, as plain interfaces. Adapters in `collectors/`
 * implement them; `agent/main.ts` wires them. Every port that does I/O takes an AbortSignal.
 */
import type { DeviceInfo, IfIndex, NetLink, NetnsRef } from './domain.js';

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
