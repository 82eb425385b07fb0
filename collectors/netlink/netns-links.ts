/**
 * Link dumps of other network namespaces, without setns and without spawning `ip`: open the
 * namespace (pins it for the duration), look up or assign its NSID, dump with
 * IFLA_TARGET_NETNSID, close. Needs CAP_NET_ADMIN (NSID assignment, target dump) and, for
 * `/proc/<pid>/ns/net`, CAP_SYS_PTRACE.
 */
import { open } from 'node:fs/promises';
import type { NetLink, NetnsRef } from '../../agent/domain.js';
import { errnoCode } from '../../agent/errors.js';
import type { Logger, PodLinkSource } from '../../agent/ports.js';
import type { NetlinkLinkSource } from './link-dump.js';
import { ensureNsid } from './nsid.js';

/** errno codes that mean the namespace went away between discovery and dump. */
const GONE = new Set(['ENOENT', 'ESRCH', 'EINVAL', 'ENETUNREACH']);
const DENIED = new Set(['EACCES', 'EPERM']);

/** Reads links of pod namespaces over the agent's rtnetlink socket. */
export class NetlinkPodLinkSource implements PodLinkSource {
  readonly #nl: NetlinkLinkSource;
  readonly #log: Logger;
  readonly #selfPath: string;
  #selfNsid: number | undefined;
  readonly #warned = new Set<string>();

  constructor(opts: { netlink: NetlinkLinkSource; log: Logger; procRoot: string }) {
    this.#nl = opts.netlink;
    this.#log = opts.log;
    this.#selfPath = `${opts.procRoot}/self/ns/net`;
  }

  /**
   * The id the agent's namespace has for itself: the kernel reports a pod link's parent in the
   * agent's namespace (a macvlan's master) with IFLA_LINK_NETNSID set to this id.
   */
  async selfNsid(signal: AbortSignal): Promise<number> {
    if (this.#selfNsid === undefined) {
      const fh = await open(this.#selfPath, 'r');
      try {
        this.#selfNsid = await ensureNsid(this.#nl, fh.fd, signal);
      } finally {
        await fh.close();
      }
    }
    return this.#selfNsid;
  }

  async listIn(ref: NetnsRef, signal: AbortSignal): Promise<{ nsid: number; links: readonly NetLink[] } | undefined> {
    let fh;
    try {
      fh = await open(ref.path, 'r');
    } catch (err) {
      return this.#absent(err, ref, 'open');
    }
    try {
      const nsid = await ensureNsid(this.#nl, fh.fd, signal);
      return { nsid, links: await this.#nl.listLinksIn(nsid, signal) };
    } catch (err) {
      return this.#absent(err, ref, 'dump');
    } finally {
      await fh.close();
    }
  }

  /** A vanished namespace is data (undefined); a denied one is said once; anything else throws. */
  #absent(err: unknown, ref: NetnsRef, step: string): undefined {
    const code = errnoCode(err) ?? errnoCode((err as { cause?: unknown }).cause) ?? '';
    if (GONE.has(code)) {
      this.#log.debug({ path: ref.path, step, code }, 'netns gone before its dump');
      return undefined;
    }
    if (DENIED.has(code)) {
      const capability = step === 'open' ? 'CAP_SYS_PTRACE' : 'CAP_NET_ADMIN';
      if (!this.#warned.has(capability)) {
        this.#warned.add(capability);
        this.#log.warn({ err, path: ref.path, capability }, 'cannot read pod network namespaces');
      }
      return undefined;
    }
    throw err;
  }
}
