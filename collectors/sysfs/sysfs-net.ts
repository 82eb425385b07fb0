/**
 * sysfs adapter for what rtnetlink does not carry: speed, duplex, driver, PCI address and
 * SR-IOV capacity, read under a configurable root (`--path.sysfs`) so fixture trees can stand in
 * for hardware.
 *
 * Reading sysfs is not free: a failing read (EINVAL from `speed` of a virtual or carrier-less
 * device) costs about 100 µs in Node, so 750 links cost 80-250 ms per pass. The adapter therefore
 * caches per ifindex: driver and PCI address never change for an ifindex; speed and duplex are
 * re-read when the link's admin state, operstate or carrier-change count moves (a renegotiation
 * always flaps the carrier) and otherwise after a jittered refresh interval (a bond's speed can
 * change without its own carrier moving). SR-IOV topology is the sriov collector's.
 */
import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { DeviceInfo, NetLink } from '../../agent/model/domain.js';
import { type IfIndex, type PciAddress } from '../../agent/model/ids.js';
import { errnoCode } from '../../agent/model/errors.js';
import type { DeviceInfoSource, Logger } from '../../agent/model/ports.js';

/** The file operations the adapter needs; node:fs/promises by default, wrapped in tests. */
export interface SysfsFs {
  readFile(file: string): Promise<string>;
  realpath(file: string): Promise<string>;
}

const nodeFs: SysfsFs = {
  readFile: (file) => readFile(file, 'latin1'),
  realpath: (file) => realpath(file),
};

/**
 * errno codes that mean "this device does not expose the attribute": ENOENT (no such file, e.g.
 * no `device/`), EINVAL (`speed`/`duplex` of a virtual or carrier-less device), ENODEV,
 * EOPNOTSUPP (driver without ethtool ops), ENOTDIR.
 */
const ABSENT = new Set(['ENOENT', 'EINVAL', 'ENODEV', 'EOPNOTSUPP', 'ENOTSUP', 'ENOTDIR']);

const PCI_ADDRESS = /^[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;
/** Mb/s to bytes per second. */
const MBPS = 125_000;
/** Parallel reads in flight; libuv's threadpool has 4 threads by default. */
const CONCURRENCY = 16;

interface StaticInfo {
  readonly name: string;
  readonly driver: string | undefined;
  readonly pciAddress: PciAddress | undefined;
}

/** Speed and duplex as read, with the link state they were read in (a change of it means a re-read). */
interface LinkSettings {
  readonly adminUp: boolean;
  readonly operstate: NetLink['operstate'];
  readonly carrierChanges: NetLink['carrierChanges'];
  readonly expiresAtMs: number;
  /** What describe() answers for the link meanwhile: one object, the same at every scrape. */
  readonly info: DeviceInfo;
}

interface CacheEntry {
  static: StaticInfo;
  settings: LinkSettings | undefined;
}

/** Options of {@link SysfsDeviceSource}. */
export interface SysfsDeviceSourceOptions {
  /** The sysfs mount point, `/sys` on a host. */
  readonly root: string;
  readonly log: Logger;
  readonly fs?: SysfsFs;
  /** How long speed/duplex are trusted when nothing about the link moved; default 5 minutes. */
  readonly refreshMs?: number;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** Reads `<root>/class/net/<ifname>/...` for each link, with the cache described above. */
export class SysfsDeviceSource implements DeviceInfoSource {
  readonly #root: string;
  readonly #log: Logger;
  readonly #fs: SysfsFs;
  readonly #refreshMs: number;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #cache = new Map<IfIndex, CacheEntry>();

  constructor(opts: SysfsDeviceSourceOptions) {
    this.#root = opts.root;
    this.#log = opts.log;
    this.#fs = opts.fs ?? nodeFs;
    this.#refreshMs = opts.refreshMs ?? 300_000;
    this.#now = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
  }

  /** Number of links whose details are cached; bounded by the links of the last pass. */
  get cachedLinks(): number {
    return this.#cache.size;
  }

  async describe(links: readonly NetLink[], signal: AbortSignal): Promise<ReadonlyMap<IfIndex, DeviceInfo>> {
    const out = new Map<IfIndex, DeviceInfo>();
    const seen = new Set<IfIndex>();
    // Links whose details are cached and still good are answered without a promise each: at 750
    // links the awaits alone cost 1.5-2 ms of a scrape whose reads were all cached.
    const now = this.#now();
    const misses: NetLink[] = [];
    for (const link of links) {
      seen.add(link.ifindex);
      const info = this.#cached(link, now);
      if (info === undefined) misses.push(link);
      else out.set(link.ifindex, info);
    }
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < misses.length) {
        signal.throwIfAborted();
        const link = misses[next++] as NetLink;
        out.set(link.ifindex, await this.#describeOne(link));
      }
    };
    if (misses.length > 0) await Promise.all(Array.from({ length: Math.min(CONCURRENCY, misses.length) }, worker));
    for (const ifindex of this.#cache.keys()) if (!seen.has(ifindex)) this.#cache.delete(ifindex);
    return out;
  }

  /** The link's details when its cache entry is for this name and its settings are still good. */
  #cached(link: NetLink, now: number): DeviceInfo | undefined {
    const entry = this.#cache.get(link.ifindex);
    if (entry === undefined || entry.static.name !== link.name || entry.settings === undefined) return undefined;
    const s = entry.settings;
    if (s.adminUp !== link.adminUp || s.operstate !== link.operstate || s.carrierChanges !== link.carrierChanges || s.expiresAtMs <= now) return undefined;
    return s.info;
  }

  /** A link describe() found no good cache entry for: its static details if the name is new to the ifindex, then speed and duplex. */
  async #describeOne(link: NetLink): Promise<DeviceInfo> {
    const dir = path.join(this.#root, 'class/net', link.name);
    let entry = this.#cache.get(link.ifindex);
    if (!entry || entry.static.name !== link.name) {
      entry = { static: await this.#readStatic(dir, link.name), settings: undefined };
      this.#cache.set(link.ifindex, entry);
    }
    entry.settings = await this.#readSettings(dir, link, entry.static, this.#now());
    return entry.settings.info;
  }

  async #readStatic(dir: string, name: string): Promise<StaticInfo> {
    const device = await this.#link(dir, 'device');
    if (device === undefined) return { name, driver: undefined, pciAddress: undefined };
    const driver = await this.#link(dir, 'device/driver');
    return {
      name,
      driver: driver === undefined ? undefined : path.basename(driver),
      pciAddress: pciAddressOf(device),
    };
  }

  async #readSettings(dir: string, link: NetLink, stat: StaticInfo, now: number): Promise<LinkSettings> {
    const speed = parseCount(await this.#attr(dir, 'speed'));
    const duplex = (await this.#attr(dir, 'duplex'))?.trim();
    // Spread refreshes over ±20% so that links first seen together do not all expire together.
    const ttl = this.#refreshMs * (0.8 + 0.4 * this.#random());
    return {
      adminUp: link.adminUp,
      operstate: link.operstate,
      carrierChanges: link.carrierChanges,
      expiresAtMs: now + ttl,
      info: {
        // SPEED_UNKNOWN is -1; some drivers report 0 without a link.
        speedBytesPerSecond: speed !== undefined && speed > 0 ? speed * MBPS : undefined,
        duplex: duplex === 'full' || duplex === 'half' ? duplex : undefined,
        driver: stat.driver,
        pciAddress: stat.pciAddress,
      },
    };
  }

  /** An attribute's text, or undefined when the kernel says the device does not have it. */
  async #attr(dir: string, rel: string): Promise<string | undefined> {
    return this.#absentOr(() => this.#fs.readFile(path.join(dir, rel)), dir, rel);
  }

  async #link(dir: string, rel: string): Promise<string | undefined> {
    return this.#absentOr(() => this.#fs.realpath(path.join(dir, rel)), dir, rel);
  }

  async #absentOr(read: () => Promise<string>, dir: string, rel: string): Promise<string | undefined> {
    try {
      return await read();
    } catch (err) {
      const code = errnoCode(err);
      if (code !== undefined && ABSENT.has(code)) return undefined;
      // Unexpected (EACCES, EIO from a driver): this attribute is omitted, the rest still exported.
      this.#log.warn({ err, path: path.join(dir, rel) }, 'sysfs attribute unreadable');
      return undefined;
    }
  }
}

/**
 * The PCI address of a net device's parent: the device itself (`.../0000:3b:00.0`), or for a
 * device on a bus below PCI such as virtio (`.../0000:00:03.0/virtio0`) the PCI function above it.
 */
function pciAddressOf(devicePath: string): PciAddress | undefined {
  const base = path.basename(devicePath);
  if (PCI_ADDRESS.test(base)) return base as PciAddress;
  const parent = path.basename(path.dirname(devicePath));
  return PCI_ADDRESS.test(parent) ? (parent as PciAddress) : undefined;
}

/** A non-negative decimal count from a sysfs attribute; undefined for '-1', empty or junk. */
function parseCount(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (!/^-?\d+$/.test(t)) return undefined;
  const n = Number(t);
  return n >= 0 ? n : undefined;
}
