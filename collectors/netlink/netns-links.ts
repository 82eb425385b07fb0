/**
 * Link dumps of other network namespaces, without setns and without spawning `ip`: open the
 * namespace (pins it for the duration), look up or assign its NSID, dump with
 * IFLA_TARGET_NETNSID, close. Needs CAP_NET_ADMIN (NSID assignment, target dump) and, for
 * `/proc/<pid>/ns/net`, CAP_SYS_PTRACE.
 *
 * The kernel runs one dump per socket at a time, so a small pool of sockets keeps several
 * namespaces in flight: with 250 pod namespaces the sequential round trips, not the kernel's
 * work, were the cost.
 */
import { closeSync, openSync } from 'node:fs';
import type { NetLink, NetnsRef } from '../../agent/model/domain.js';
import { CapabilityError, errnoCode } from '../../agent/model/errors.js';
import type { Logger, PodLinkSource } from '../../agent/model/ports.js';
import { NetlinkLinkSource } from './link-dump.js';
import { ensureNsid, getNsid } from './nsid.js';

/** errno codes that mean the namespace went away between discovery and dump. */
const GONE = new Set(['ENOENT', 'ESRCH', 'EINVAL', 'ENETUNREACH']);
const DENIED = new Set(['EACCES', 'EPERM']);
/** Sockets in the pool: dumps in flight at once. */
export const POD_DUMP_CONCURRENCY = 4;

/** Reads links of pod namespaces over a pool of rtnetlink sockets. */
export class NetlinkPodLinkSource implements PodLinkSource {
  readonly #idle: NetlinkLinkSource[];
  readonly #all: NetlinkLinkSource[];
  readonly #waiting: ((s: NetlinkLinkSource) => void)[] = [];
  readonly #log: Logger;
  readonly #selfPath: string;
  #selfNsid: number | undefined;
  /** The NSID each live namespace (by inode) had at its last dump; only ever trusted after re-checking. */
  readonly #nsids = new Map<number, number>();
  /** Refusals already said (one warning per step and errno). */
  readonly #warned = new Set<string>();

  constructor(opts: { log: Logger; procRoot: string; sockets?: number }) {
    this.#all = Array.from({ length: opts.sockets ?? POD_DUMP_CONCURRENCY }, () => new NetlinkLinkSource());
    this.#idle = [...this.#all];
    this.#log = opts.log;
    this.#selfPath = `${opts.procRoot}/self/ns/net`;
  }

  /** How many dumps may usefully run at once. */
  get concurrency(): number {
    return this.#all.length;
  }

  async #withSocket<T>(work: (nl: NetlinkLinkSource) => Promise<T>): Promise<T> {
    const nl = this.#idle.pop() ?? (await new Promise<NetlinkLinkSource>((resolve) => this.#waiting.push(resolve)));
    try {
      return await work(nl);
    } finally {
      const next = this.#waiting.shift();
      if (next) next(nl);
      else this.#idle.push(nl);
    }
  }

  /**
   * The id the agent's namespace has for itself: the kernel reports a pod link's parent in the
   * agent's namespace (a macvlan's master) with IFLA_LINK_NETNSID set to this id.
   */
  async selfNsid(signal: AbortSignal): Promise<number> {
    if (this.#selfNsid === undefined) {
      const fd = openSync(this.#selfPath, 'r');
      try {
        this.#selfNsid = await this.#withSocket((nl) => ensureNsid(nl, fd, signal));
      } catch (err) {
        if (DENIED.has(errnoCode(err) ?? '')) throw new CapabilityError('CAP_NET_ADMIN', 'cannot assign network namespace ids, so no pod namespace can be read', { cause: err });
        throw err;
      } finally {
        closeSync(fd);
      }
    }
    return this.#selfNsid;
  }

  listIn(ref: NetnsRef, signal: AbortSignal): Promise<{ nsid: number; links: readonly NetLink[] } | undefined> {
    return this.#withSocket(async (nl) => {
      let fd: number;
      try {
        // Synchronous: nsfs opens answer from memory, and a threadpool round trip per namespace costs more.
        fd = openSync(ref.pathBytes ?? ref.path, 'r');
      } catch (err) {
        return this.#absent(err, ref, 'open');
      }
      try {
        const cached = this.#nsids.get(ref.inode);
        if (cached !== undefined) {
          // Both requests go out back to back on one socket and the kernel answers them in
          // order: the GETNSID answer is from before the dump, and the namespace cannot die
          // in between (we hold its fd), so if the id still matches, the dump was of this
          // namespace. One round trip instead of two.
          const [nsid, links] = await Promise.all([getNsid(nl, fd, signal), nl.listLinksIn(cached, signal).catch((err: unknown) => err)]);
          if (nsid === cached && !(links instanceof Error)) return { nsid, links: links as readonly NetLink[] };
        }
        const nsid = await ensureNsid(nl, fd, signal);
        const links = await nl.listLinksIn(nsid, signal);
        this.#nsids.set(ref.inode, nsid);
        return { nsid, links };
      } catch (err) {
        return this.#absent(err, ref, 'dump');
      } finally {
        closeSync(fd);
      }
    });
  }

  /** Forgets the NSIDs of namespaces no longer on the node (their ids die with them). */
  retain(inodes: ReadonlySet<number>): void {
    for (const inode of this.#nsids.keys()) if (!inodes.has(inode)) this.#nsids.delete(inode);
  }

  /** Namespaces whose NSID is remembered; bounded by the namespaces of the last pass. */
  get cachedNsids(): number {
    return this.#nsids.size;
  }

  close(): void {
    for (const nl of this.#all) nl.close();
  }

  /** A vanished namespace is data (undefined); a denied one throws a CapabilityError (the collector says it once); anything else throws. */
  #absent(err: unknown, ref: NetnsRef, step: string): undefined {
    const code = errnoCode(err) ?? errnoCode((err as { cause?: unknown }).cause) ?? '';
    if (GONE.has(code)) {
      this.#log.debug({ path: ref.path, step, code }, 'netns gone before its dump');
      return undefined;
    }
    if (DENIED.has(code)) {
      // Opening /proc/<pid>/ns/net is a ptrace access check: refused, it is the collector's to judge
      // (it fails when the agent lacks the capability). A bind mount is an ordinary open: refused,
      // it is file permissions, an LSM or the VM, said once.
      if (step === 'open' && ref.bindPath !== undefined) {
        const key = `${step}/${code}`;
        if (!this.#warned.has(key)) {
          this.#warned.add(key);
          const cause = `refused (${code}): file permissions, an LSM or the VM`;
          this.#log.warn({ err, path: ref.path, step, errno: code, cause }, `cannot read a pod network namespace (${step} ${ref.path}): ${cause}`);
        }
        return undefined;
      }
      if (step === 'open') throw new CapabilityError('CAP_SYS_PTRACE', `cannot open ${ref.path} (${code})`, { cause: err });
      throw new CapabilityError('CAP_NET_ADMIN', `cannot dump the links of another network namespace (${code})`, { cause: err });
    }
    throw err;
  }
}
