/**
 * host-local IPAM lease directories (containernetworking/plugins
 * `plugins/ipam/host-local/backend/disk`): one file per reserved address, named by the address
 * (Go's `net.IP.String()`), holding `<container ID>\r\n<ifname>` — plugins before v0.8 wrote the
 * container ID alone; beside them `last_reserved_ip.<range set index>` and `lock`, which are not
 * leases. A scrape reads each directory (readdir) and stats each lease; a file's content is read
 * once per (inode, mtime, size), since host-local creates a lease with O_EXCL and never rewrites it.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import { errnoCode } from '../../agent/errors.js';
import type { IpamAllocation, IpamDirRequest, IpamDirState, IpamStateSource } from '../../agent/ipam.js';
import type { Logger } from '../../agent/ports.js';

interface Cached {
  readonly ino: number;
  readonly mtimeMs: number;
  readonly size: number;
  readonly containerId: string;
  readonly ifname: string | undefined;
}

/** Splits a lease file: the container ID, then (current plugins) the interface name. */
export function parseLease(text: string): { containerId: string; ifname: string | undefined } {
  const [id = '', ifname] = text.split(/\r?\n/);
  return { containerId: id.trim(), ifname: ifname?.trim() || undefined };
}

/** Reads host-local lease directories from the node's filesystem. */
export class HostLocalIpamSource implements IpamStateSource {
  readonly #log: Logger;
  readonly #cache = new Map<string, Cached>();

  constructor(opts: { readonly log: Logger }) {
    this.#log = opts.log;
  }

  async read(dirs: readonly IpamDirRequest[], signal: AbortSignal): Promise<readonly IpamDirState[]> {
    const seen = new Set<string>();
    const out: IpamDirState[] = [];
    for (const d of dirs) {
      signal.throwIfAborted();
      out.push(await this.#readDir(d, seen));
    }
    for (const k of this.#cache.keys()) if (!seen.has(k)) this.#cache.delete(k);
    return out;
  }

  async #readDir(d: IpamDirRequest, seen: Set<string>): Promise<IpamDirState> {
    let names: string[];
    try {
      names = await readdir(d.dir);
    } catch (err) {
      // No ADD on this node yet for that network (host-local makes the directory on first use).
      if (errnoCode(err) === 'ENOENT') return { ...d, exists: false, allocations: [] };
      throw err;
    }
    const leases = names.filter((n) => isIP(n) !== 0);
    const read = await Promise.all(leases.map((n) => this.#readLease(path.join(d.dir, n), n, seen)));
    return { ...d, exists: true, allocations: read.filter((a): a is IpamAllocation => a !== undefined) };
  }

  async #readLease(file: string, ip: string, seen: Set<string>): Promise<IpamAllocation | undefined> {
    try {
      const st = await stat(file);
      seen.add(file);
      let c = this.#cache.get(file);
      if (!c || c.ino !== st.ino || c.mtimeMs !== st.mtimeMs || c.size !== st.size) {
        const lease = parseLease(await readFile(file, 'latin1'));
        c = { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size, ...lease };
        this.#cache.set(file, c);
      }
      return { ip, containerId: c.containerId, ifname: c.ifname, mtimeMs: c.mtimeMs };
    } catch (err) {
      // Released (CNI DEL) between the readdir and the read: no longer a lease.
      if (errnoCode(err) === 'ENOENT') {
        this.#log.debug({ file }, 'ipam lease released while read');
        return undefined;
      }
      throw err;
    }
  }
}
