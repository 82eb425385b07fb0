/**
 * sysfs adapter for SR-IOV topology: every network PCI function with the SR-IOV capability
 * (`sriov_totalvfs` under `<root>/bus/pci/devices/*`), whether or not it has a netdev or appears
 * in the rtnetlink dump, with its VFs (`virtfnN`), their drivers and netdevs, and the per-VF
 * counters the PF driver exposes in sysfs.
 *
 * Layouts read (see testdata/README.md for the sources):
 *   PCI core (drivers/pci/iov.c):  <pf>/sriov_totalvfs, sriov_numvfs, sriov_vf_device, virtfnN -> ../<vf>; <vf>/physfn
 *   MLNX_OFED mlx5_core, Broadcom's out-of-tree bnxt_en:  <pf>/sriov/<n>/stats, one file of `name : value` lines
 *   Intel's out-of-tree i40e/ice (VF-d, src/kcompat_vfd.c):  <pf>/sriov/<n>/stats/<name>, one file per counter
 * In-tree ice, i40e and mlx5_core have no per-VF sysfs counters: rtnetlink (IFLA_VF_STATS) is the source there.
 *
 * What never changes for a PCI function (class, ids, NUMA node) is read once per address;
 * functions that are not SR-IOV network PFs are remembered and not read again.
 */
import { readdir, readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { type IfName, type PciAddress } from '../../agent/model/ids.js';
import { errnoCode } from '../../agent/model/errors.js';
import type { SriovTopologySource, Logger } from '../../agent/model/ports.js';
import { nameFromBytes } from '../../agent/rules/names.js';
import type { SysfsFs } from '../sysfs/sysfs-net.js';
import { NO_VF_COUNTERS, type LinkLayer, type SriovPf, type SriovVf, type VfCounters } from '../../agent/model/sriov.js';

/** The file operations the adapter needs: SysfsFs and directory listing. */
export interface SriovFs extends SysfsFs {
  readdir(dir: string): Promise<string[]>;
}

const nodeFs: SriovFs = {
  readFile: (file) => readFile(file, 'latin1'),
  realpath: (file) => realpath(file),
  // Entry names are bytes (a netdev under net/ may have any name): mapped as every name is.
  readdir: async (dir) => (await readdir(dir, { encoding: 'buffer' })).map((n) => nameFromBytes(n)),
};


/**
 * errno codes that mean "not there": ENOENT (no such attribute, a VF removed mid-read), EINVAL
 * and EOPNOTSUPP (a show function that refuses, e.g. phys_port_name without one), ENODEV, ENOTDIR.
 */
const ABSENT = new Set(['ENOENT', 'EINVAL', 'ENODEV', 'EOPNOTSUPP', 'ENOTSUP', 'ENOTDIR']);
const PCI_ADDRESS = /^[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;
/**
 * The PCI core names VF links `virtfn%u` (drivers/pci/iov.c): a decimal index without leading
 * zeros, below 65536 (sriov_totalvfs is a u16). Anything else (`virtfn01` planted beside
 * `virtfn1`) is not the kernel's and would read the same VF twice.
 */
const VIRTFN = /^virtfn(0|[1-9][0-9]{0,4})$/;
/** PCI base class 0x02: network controller (0x0200 Ethernet, 0x0207 InfiniBand). */
const NETWORK_CLASS = /^0x02/;
/** ARPHRD_ETHER and ARPHRD_INFINIBAND (include/uapi/linux/if_arp.h). */
const ARPHRD_ETHER = 1;
const ARPHRD_INFINIBAND = 32;
/** An uplink port's phys_port_name (`p0`), as opposed to a representor's (`pf0vf3`, `pf0sf1`, `c1pf0`). */
const UPLINK_PORT = /^p\d+$/;
/** A read that failed for a reason other than absence: nothing may be concluded (or cached) from it. */
const FAILED = Symbol('failed');
/** PCI functions read in parallel, and VFs per PF: at most 16 x 4 reads in flight (libuv's threadpool has 4 threads by default). */
const CONCURRENCY = 16;
const VF_CONCURRENCY = 4;

/** sysfs counter names, as both per-VF stats layouts spell them, to counter fields. */
const STAT_NAMES: Readonly<Record<string, keyof VfCounters>> = {
  rx_packets: 'rxPackets',
  tx_packets: 'txPackets',
  rx_bytes: 'rxBytes',
  tx_bytes: 'txBytes',
  rx_broadcast: 'rxBroadcast',
  rx_multicast: 'rxMulticast',
  tx_broadcast: 'txBroadcast',
  tx_multicast: 'txMulticast',
  rx_dropped: 'rxDropped',
  tx_dropped: 'txDropped',
  rx_errors: 'rxErrors',
  tx_errors: 'txErrors',
};

/** What never changes for a PCI function while it exists. */
interface StaticPf {
  readonly classCode: string | undefined;
  readonly vendorId: string | undefined;
  readonly deviceId: string | undefined;
  readonly vfDeviceId: string | undefined;
  readonly numaNode: number | undefined;
}

/** Options of {@link SriovSysfsSource}. */
export interface SriovSysfsSourceOptions {
  /** The sysfs mount point, `/sys` on a host. */
  readonly root: string;
  readonly log: Logger;
  readonly fs?: SriovFs;
}

/** Reads `<root>/bus/pci/devices/*` for SR-IOV PFs and their VFs. */
export class SriovSysfsSource implements SriovTopologySource {
  readonly #root: string;
  readonly #log: Logger;
  readonly #fs: SriovFs;
  /** Static facts of the PFs seen; `null` for a function that is not an SR-IOV network PF. */
  readonly #static = new Map<string, StaticPf | null>();
  /** Paths already warned about, so an unreadable attribute is said once, not every scrape. */
  readonly #warned = new Set<string>();

  constructor(opts: SriovSysfsSourceOptions) {
    this.#root = opts.root;
    this.#log = opts.log;
    this.#fs = opts.fs ?? nodeFs;
  }

  /** PCI functions whose static facts are cached (PFs and non-PFs); bounded by the machine's PCI functions. */
  get cachedFunctions(): number {
    return this.#static.size;
  }

  async listPfs(signal: AbortSignal): Promise<readonly SriovPf[]> {
    const devicesDir = path.join(this.#root, 'bus/pci/devices');
    // Without a PCI bus in this sysfs (a container without /sys/bus/pci) there is nothing to report.
    const addresses = ((await this.#list(devicesDir)) ?? []).filter((a) => PCI_ADDRESS.test(a)).sort();
    const present = new Set(addresses);
    for (const a of this.#static.keys()) if (!present.has(a)) this.#static.delete(a);

    const pfs = await mapLimit(addresses, CONCURRENCY, signal, async (address) => {
      const dir = path.join(devicesDir, address);
      if (this.#static.get(address) === null) return undefined;
      // Re-read every pass: a PF driver may lower it when it binds (pci_sriov_set_totalvfs).
      const totalVfsText = await this.#probe(dir, 'sriov_totalvfs');
      if (totalVfsText === FAILED) return undefined;
      const totalVfs = parseCount(totalVfsText);
      if (totalVfs === undefined) {
        // The PCI core shows sriov_* only on functions with the SR-IOV capability: a definite "no".
        this.#static.set(address, null);
        return undefined;
      }
      let facts = this.#static.get(address);
      if (facts === undefined) {
        facts = await this.#readStatic(dir);
        this.#static.set(address, facts);
      }
      return facts === null ? undefined : this.#readPf(address as PciAddress, dir, totalVfs, facts, signal);
    });
    return pfs.filter((pf): pf is SriovPf => pf !== undefined);
  }

  async #readStatic(dir: string): Promise<StaticPf | null> {
    const classCode = (await this.#attr(dir, 'class'))?.trim().toLowerCase();
    // A crypto or NVMe PF has VFs too; only network functions are ours. An unreadable class is kept.
    if (classCode !== undefined && !NETWORK_CLASS.test(classCode)) return null;
    return {
      classCode,
      vendorId: hexId(await this.#attr(dir, 'vendor')),
      deviceId: hexId(await this.#attr(dir, 'device')),
      // sriov_vf_device is printed "%x" without 0x.
      vfDeviceId: hexId(await this.#attr(dir, 'sriov_vf_device'), true),
      numaNode: parseCount(await this.#attr(dir, 'numa_node')),
    };
  }

  async #readPf(address: PciAddress, dir: string, totalVfs: number, facts: StaticPf, signal: AbortSignal): Promise<SriovPf> {
    const [driver, numVfsText, netdevs, entries] = await Promise.all([
      this.#linkName(dir, 'driver'),
      this.#attr(dir, 'sriov_numvfs'),
      this.#netdevs(dir),
      this.#list(dir),
    ]);
    const netdev = await this.#primaryNetdev(dir, netdevs);
    const type = netdev === undefined ? undefined : parseCount(await this.#attr(dir, `net/${netdev}/type`));
    const linkLayer: LinkLayer | undefined =
      type === ARPHRD_INFINIBAND ? 'infiniband'
      : type === ARPHRD_ETHER ? 'ethernet'
      : facts.classCode?.startsWith('0x0207') ? 'infiniband'
      : facts.classCode?.startsWith('0x0200') ? 'ethernet'
      : undefined;

    const indices = (entries ?? []).flatMap((e) => {
      const m = VIRTFN.exec(e);
      return m && Number(m[1]) <= 0xffff ? [Number(m[1])] : [];
    }).sort((a, b) => a - b);
    const read = await mapLimit(indices, VF_CONCURRENCY, signal, (index) => this.#readVf(dir, index));
    // One VF per PCI address, the lowest index first: two links resolving to one function are one VF.
    const seen = new Set<string>();
    const vfs = read.filter((vf): vf is SriovVf => vf !== undefined && !seen.has(vf.pciAddress) && (seen.add(vf.pciAddress), true));
    return {
      pciAddress: address,
      netdevs,
      netdev,
      linkLayer,
      driver,
      numVfs: parseCount(numVfsText),
      totalVfs,
      numaNode: facts.numaNode,
      vendorId: facts.vendorId,
      deviceId: facts.deviceId,
      vfDeviceId: facts.vfDeviceId,
      vfs,
    };
  }

  async #readVf(pfDir: string, index: number): Promise<SriovVf | undefined> {
    const vfDir = await this.#absentOr(() => this.#fs.realpath(path.join(pfDir, `virtfn${index}`)), pfDir, `virtfn${index}`);
    const pciAddress = vfDir === undefined ? undefined : path.basename(vfDir);
    // The VF went away between listing and reading (sriov_numvfs lowered): no VF, no error.
    if (vfDir === undefined || pciAddress === undefined || !PCI_ADDRESS.test(pciAddress)) return undefined;
    const [driver, netdevs, sysfsStats] = await Promise.all([
      this.#linkName(vfDir, 'driver'),
      this.#netdevs(vfDir),
      this.#vfStats(pfDir, index),
    ]);
    return { index, pciAddress: pciAddress as PciAddress, driver, netdev: netdevs[0], sysfsStats, netlink: undefined };
  }

  /** Per-VF counters in either driver layout; undefined when the driver has none. */
  async #vfStats(pfDir: string, index: number): Promise<VfCounters | undefined> {
    const rel = `sriov/${index}/stats`;
    const file = path.join(pfDir, rel);
    try {
      // MLNX_OFED mlx5 and out-of-tree bnxt_en: one file, "tx_packets    : 123" per line.
      return countersFrom(parseStatLines(await this.#fs.readFile(file)));
    } catch (err) {
      if (errnoCode(err) !== 'EISDIR') {
        this.#failed(err, file);
        return undefined;
      }
    }
    // Intel out-of-tree i40e/ice: a directory with one "%llu\n" file per counter.
    const names = ((await this.#list(file)) ?? []).filter((n) => n in STAT_NAMES);
    const values = await Promise.all(names.map((n) => this.#attr(file, n)));
    return countersFrom(names.map((n, i) => [n, values[i]] as const));
  }

  /** Netdev names under a PCI function's `net/`, sorted; empty for vfio-bound functions and netdevs in other namespaces. */
  async #netdevs(dir: string): Promise<IfName[]> {
    const names = (await this.#list(path.join(dir, 'net'))) ?? [];
    return names.filter((n) => !n.startsWith('.')).sort() as IfName[];
  }

  /**
   * The PF's own netdev: the only one, else (switchdev: uplink plus VF representors under one PCI
   * function) the one whose phys_port_name is an uplink port (`p0`), else one without a port name.
   */
  async #primaryNetdev(dir: string, netdevs: readonly IfName[]): Promise<IfName | undefined> {
    if (netdevs.length <= 1) return netdevs[0];
    const portNames = await Promise.all(netdevs.map((n) => this.#attr(dir, `net/${n}/phys_port_name`)));
    const named = portNames.map((p) => p?.trim());
    const uplink = named.findIndex((p) => p !== undefined && UPLINK_PORT.test(p));
    const unnamed = named.findIndex((p) => p === undefined || p === '');
    return netdevs[uplink >= 0 ? uplink : unnamed >= 0 ? unnamed : 0];
  }

  /** An attribute's text, or undefined when the kernel says the function does not have it. */
  #attr(dir: string, rel: string): Promise<string | undefined> {
    return this.#absentOr(() => this.#fs.readFile(path.join(dir, rel)), dir, rel);
  }

  /** Like #attr, but tells "absent" (undefined) from "could not read" (FAILED), for answers that get cached. */
  async #probe(dir: string, rel: string): Promise<string | undefined | typeof FAILED> {
    try {
      return await this.#fs.readFile(path.join(dir, rel));
    } catch (err) {
      this.#failed(err, path.join(dir, rel));
      const code = errnoCode(err);
      return code !== undefined && ABSENT.has(code) ? undefined : FAILED;
    }
  }

  /** The last path component a symlink resolves to (`driver` -> `ice`). */
  async #linkName(dir: string, rel: string): Promise<string | undefined> {
    const target = await this.#absentOr(() => this.#fs.realpath(path.join(dir, rel)), dir, rel);
    return target === undefined ? undefined : path.basename(target);
  }

  #list(dir: string): Promise<string[] | undefined> {
    return this.#absentOr(() => this.#fs.readdir(dir), dir, '');
  }

  async #absentOr<T>(read: () => Promise<T>, dir: string, rel: string): Promise<T | undefined> {
    try {
      return await read();
    } catch (err) {
      this.#failed(err, path.join(dir, rel));
      return undefined;
    }
  }

  /** Absence is data; anything else (EACCES, EIO from a driver's show function) is warned about once per path. */
  #failed(err: unknown, file: string): void {
    const code = errnoCode(err);
    if (code !== undefined && ABSENT.has(code)) return;
    if (this.#warned.has(file)) {
      this.#log.debug({ err, path: file }, 'sriov sysfs attribute unreadable');
      return;
    }
    this.#warned.add(file);
    this.#log.warn({ err, path: file }, 'sriov sysfs attribute unreadable');
  }
}

/** Runs `work` over `items` with at most `limit` in flight, keeping order; checks `signal` between items. */
async function mapLimit<T, R>(items: readonly T[], limit: number, signal: AbortSignal, work: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      signal.throwIfAborted();
      const i = next++;
      out[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** `name : value` lines (mlx5/bnxt per-VF stats) as pairs. */
function parseStatLines(text: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z_]+)\s*:\s*(\S+)\s*$/.exec(line);
    if (m) pairs.push([m[1] as string, m[2] as string]);
  }
  return pairs;
}

/** Counters from name/value pairs; undefined when none is a known counter with a decimal value. */
function countersFrom(pairs: readonly (readonly [string, string | undefined])[]): VfCounters | undefined {
  const out: { -readonly [K in keyof VfCounters]: VfCounters[K] } = { ...NO_VF_COUNTERS };
  let any = false;
  for (const [name, raw] of pairs) {
    const field = STAT_NAMES[name];
    const text = raw?.trim();
    if (field === undefined || text === undefined || !/^\d+$/.test(text)) continue;
    out[field] = BigInt(text);
    any = true;
  }
  return any ? out : undefined;
}

/** A PCI id as `0x8086`; `bare` for attributes printed without the prefix (`sriov_vf_device`). */
function hexId(text: string | undefined, bare = false): string | undefined {
  const t = text?.trim().toLowerCase();
  if (!t) return undefined;
  const digits = bare ? t.replace(/^0x/, '') : t.startsWith('0x') ? t.slice(2) : undefined;
  return digits !== undefined && /^[0-9a-f]{1,4}$/.test(digits) ? `0x${digits.padStart(4, '0')}` : undefined;
}

/** A non-negative decimal count; undefined for `-1` (NUMA_NO_NODE), empty or junk. */
function parseCount(text: string | undefined): number | undefined {
  const t = text?.trim();
  if (t === undefined || !/^-?\d+$/.test(t)) return undefined;
  const n = Number(t);
  return n >= 0 ? n : undefined;
}
