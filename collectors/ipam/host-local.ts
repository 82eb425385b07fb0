/**
 * host-local IPAM lease directories (containernetworking/plugins
 * `plugins/ipam/host-local/backend/disk`): one file per reserved address, named by the address
 * (Go's `net.IP.String()`), holding `<container ID>\r\n<ifname>` — plugins before v0.8 wrote the
 * container ID alone; beside them `last_reserved_ip.<range set index>` and `lock`, which are not
 * leases. A lease's content is read once per (inode, mtime, size), since host-local creates a
 * lease with O_EXCL and never rewrites it.
 */
import { constants, lstatSync } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { isIP } from 'node:net';
import { errnoCode } from '../../agent/model/errors.js';
import { type IpamDirRequest, type IpamDirState, type IpamStateSource } from '../../agent/model/ipam.js';
import type { Logger } from '../../agent/model/ports.js';

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

/** The path of lease `name` in `dir`, as the cache keys it. */
function leasePath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** Options of {@link HostLocalIpamSource}. */
export interface HostLocalIpamOptions {
  readonly log: Logger;
  /** How often leases are stat'ed and new ones read, off the scrape path (default 10 s). */
  readonly refreshMs?: number;
  /** Wait for that refresh inside `read` (doctor: one shot, must be exact); the agent does not. */
  readonly waitForDetails?: boolean;
  readonly now?: () => number;
}

/**
 * Reads host-local lease directories from the node's filesystem. A scrape only lists each
 * directory (which addresses are allocated: measured 0.3 ms for 750 leases, where a stat of
 * each lease cost 6-15 ms); who holds a lease and since when (container ID, mtime) are refreshed
 * in the background every `refreshMs`, and sooner when new leases appear. A lease not described
 * yet counts as just made: allocated, never leaked.
 */
export class HostLocalIpamSource implements IpamStateSource {
  readonly #log: Logger;
  readonly #refreshMs: number;
  readonly #wait: boolean;
  readonly #now: () => number;
  readonly #cache = new Map<string, Cached>();
  #refreshedAt = -Infinity;
  #inFlight: Promise<void> | undefined;
  /** Directories that could not be listed, and why (logged once per change). */
  readonly #dirErrors = new Map<string, string>();
  /** Lease paths that are not regular files, said once each. */
  readonly #oddWarned = new Set<string>();

  constructor(opts: HostLocalIpamOptions) {
    this.#log = opts.log;
    this.#refreshMs = opts.refreshMs ?? 10_000;
    this.#wait = opts.waitForDetails ?? false;
    this.#now = opts.now ?? Date.now;
  }

  async read(dirs: readonly IpamDirRequest[], signal: AbortSignal): Promise<readonly IpamDirState[]> {
    const listed: { req: IpamDirRequest; names: string[] | undefined; error?: string }[] = [];
    for (const d of dirs) {
      signal.throwIfAborted();
      listed.push({ req: d, ...(await this.#list(d.dir)) });
    }
    // A lease's key is its directory (as configured) + '/' + its name: path.join normalised each
    // of them, twice per lease per scrape, a measurable share of the scrape's garbage at 750 leases.
    // Loops, not callbacks, over every lease every scrape (docs/architecture.md, "Code on the scrape path").
    const files: string[] = [];
    let unknown = false;
    for (const l of listed) {
      for (const n of l.names ?? []) {
        const f = leasePath(l.req.dir, n);
        files.push(f);
        if (!unknown && !this.#cache.has(f)) unknown = true;
      }
    }
    const now = this.#now();
    if (now - this.#refreshedAt >= this.#refreshMs || (unknown && now - this.#refreshedAt >= 1000)) {
      const refresh = this.#refresh(files);
      if (this.#wait) await refresh;
      else refresh.catch((err: unknown) => this.#log.warn({ err }, 'ipam lease refresh failed'));
    }
    return listed.map(({ req, names, error }) => {
      const allocations: IpamDirState['allocations'][number][] = [];
      for (const ip of names ?? []) {
        const c = this.#cache.get(leasePath(req.dir, ip));
        allocations.push(c ? { ip, containerId: c.containerId, ifname: c.ifname, mtimeMs: c.mtimeMs } : { ip, containerId: '', ifname: undefined, mtimeMs: now });
      }
      return { ...req, exists: names !== undefined, ...(error !== undefined ? { error } : {}), allocations };
    });
  }

  /** Resolves when no background refresh is running (tests). */
  async idle(): Promise<void> {
    await this.#inFlight;
  }

  /**
   * The lease names of a directory; none when it does not exist (no ADD on this node yet:
   * host-local makes it on first use). A directory that cannot be listed (a dataDir that is a
   * file: ENOTDIR; a symlink loop: ELOOP; EACCES) is this network's error, said once per
   * directory and errno, and never the other networks'.
   */
  async #list(dir: string): Promise<{ names: string[] | undefined; error?: string }> {
    try {
      const names: string[] = [];
      for (const n of await readdir(dir)) if (isIP(n) !== 0) names.push(n);
      this.#dirErrors.delete(dir);
      return { names };
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') {
        this.#dirErrors.delete(dir);
        return { names: undefined };
      }
      const error = code ?? (err instanceof Error ? err.message : String(err));
      if (this.#dirErrors.get(dir) !== error) this.#log.warn({ dir, error }, 'ipam lease directory unreadable; its network has no usage figures');
      this.#dirErrors.set(dir, error);
      return { names: undefined, error };
    }
  }

  #refresh(files: readonly string[]): Promise<void> {
    this.#refreshedAt = this.#now();
    this.#inFlight ??= (async () => {
      const seen = new Set(files);
      // One entry that cannot be described never stops the others (nor the next refreshes).
      let n = 0;
      for (const f of files) {
        // The stats are synchronous (below): a turn of the event loop every 64 leases keeps a
        // scrape that arrives meanwhile from waiting on a long directory.
        if (++n % 64 === 0) await yieldToLoop();
        try {
          await this.#describe(f);
        } catch (err) {
          if (!this.#oddWarned.has(f)) this.#log.warn({ file: f, error: errnoCode(err) ?? String(err) }, 'ipam lease unreadable; counted as allocated, holder unknown');
          this.#oddWarned.add(f);
          this.#cache.set(f, { ino: -1, mtimeMs: this.#now(), size: -1, containerId: '', ifname: undefined });
        }
      }
      for (const k of this.#oddWarned) if (!seen.has(k)) this.#oddWarned.delete(k);
      for (const k of this.#cache.keys()) if (!seen.has(k)) this.#cache.delete(k);
    })().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  /**
   * Reads one lease. lstat, not stat: host-local writes regular files, so anything else under an
   * address's name (a directory, a symlink — maybe a loop —, a FIFO) is never followed or opened;
   * it still blocks the address for host-local (its O_EXCL create fails), so it counts as
   * allocated with no known holder. The lstat is synchronous: an inode the kernel has cached
   * answers in microseconds, where fs/promises' thread-pool round trip cost about 70 µs of CPU
   * per lease, every refresh (750 leases: ~50 ms of the agent's idle CPU every 10 s). Only a lease
   * that changed is opened and read.
   */
  async #describe(file: string): Promise<void> {
    try {
      const st = lstatSync(file);
      const c = this.#cache.get(file);
      if (c && c.ino === st.ino && c.mtimeMs === st.mtimeMs && c.size === st.size) return;
      if (!st.isFile()) {
        if (!this.#oddWarned.has(file)) this.#log.warn({ file, type: st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : 'other' }, 'ipam lease is not a regular file; counted as allocated, holder unknown');
        this.#oddWarned.add(file);
        this.#cache.set(file, { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size, containerId: '', ifname: undefined });
        return;
      }
      this.#cache.set(file, { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size, ...parseLease(await readLease(file)) });
    } catch (err) {
      // Released (CNI DEL) between the readdir and the read: no longer a lease.
      if (errnoCode(err) !== 'ENOENT') throw err;
      this.#log.debug({ file }, 'ipam lease released while read');
      this.#cache.delete(file);
    }
  }
}

/** A lease's first bytes (a lease is an ID and a name: well under 1 KiB), opened without waiting on anything. */
async function readLease(file: string): Promise<string> {
  const fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.toString('latin1', 0, bytesRead);
  } finally {
    await fh.close();
  }
}
