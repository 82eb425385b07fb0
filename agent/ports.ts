/**
 * Ports: what the core needs from the world, as plain interfaces. Adapters in `collectors/`
 * implement them; `agent/main.ts` wires them. Every port that does I/O takes an AbortSignal.
 */
import type { DeviceInfo, IfIndex, NetLink } from './domain.js';

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

/** The slice of a structured logger the core uses (pino's call shape: object first). */
export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}
