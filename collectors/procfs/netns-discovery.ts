/**
 * Finds the network namespaces of the node: bind mounts under a directory (`/run/netns`, where
 * containerd's `cni-*`, CRI-O's and `ip netns` namespaces live) and `/proc/<pid>/ns/net` of every
 * process, deduplicated by nsfs inode. The agent's own namespace is left out. Reads are
 * synchronous: procfs and nsfs answer from memory, and 2,000 processes cost about 10 ms.
 */
import { nameFromBytes } from '../../agent/rules/names.js';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import type { NetnsRef } from '../../agent/model/domain.js';
import { errnoCode } from '../../agent/model/errors.js';
import type { Logger } from '../../agent/model/ports.js';
import { effectiveCapabilities, holds, refusalCause } from './capabilities.js';
import { podFromCgroupFile, type CgroupPod } from './parse-cgroup.js';

/** What one discovery pass found. */
export interface Discovery {
  readonly netns: readonly NetnsRef[];
  /** Processes whose namespace could not be read (EACCES/EPERM: CAP_SYS_PTRACE missing, or an LSM or the VM refusing). */
  readonly deniedPids: number;
}

/** Options of {@link NetnsDiscovery}. */
export interface NetnsDiscoveryOptions {
  readonly procRoot: string;
  /** Directory of bind-mounted namespaces; undefined to skip. */
  readonly netnsDir: string | undefined;
  readonly log: Logger;
}

const NS_LINK = /^net:\[(\d+)\]$/;
const GONE = new Set(['ENOENT', 'ESRCH']);
const DENIED = new Set(['EACCES', 'EPERM']);

/** What a pass found of one namespace. */
interface Found {
  bindPath: string | undefined;
  pathBytes?: Buffer | undefined;
  pids: number[];
}

/**
 * The entry of `inode`, made when new. A function of the module, not a closure made per pass
 * (docs/architecture.md, "Code on the scrape path").
 */
function entryOf(found: Map<number, Found>, inode: number): Found {
  let e = found.get(inode);
  if (!e) found.set(inode, (e = { bindPath: undefined, pids: [] }));
  return e;
}

/** Discovers namespaces; keeps, per namespace, the pod read from a process's cgroup. */
export class NetnsDiscovery {
  readonly #proc: string;
  readonly #netnsDir: string | undefined;
  readonly #log: Logger;
  /** inode → the pid whose cgroup was read and what it said; pruned to live namespaces. */
  readonly #pods = new Map<number, { pid: number; pod: CgroupPod | undefined }>();
  #warnedDenied = false;
  /** Bind mounts with a name that is not UTF-8, said once each. */
  readonly #nonUtf8Said = new Set<string>();
  #lastFound = 0;

  constructor(opts: NetnsDiscoveryOptions) {
    // Normalised once: a path per process per scrape is built by concatenation, not path.join.
    this.#proc = path.resolve(opts.procRoot);
    this.#netnsDir = opts.netnsDir;
    this.#log = opts.log;
  }

  discover(): Discovery {
    const own = this.#inodeOfLink(path.join(this.#proc, 'self/ns/net'));
    if (own === undefined) throw new Error(`cannot read ${this.#proc}/self/ns/net`);
    const nsfsDev = statSync(path.join(this.#proc, 'self/ns/net')).dev;
    const found = new Map<number, Found>();

    for (const { path: bindPath, bytes } of this.#bindMounts()) {
      try {
        const st = statSync(bytes ?? bindPath);
        // An unmounted leftover is a plain file on tmpfs, not a namespace.
        if (st.dev !== nsfsDev || st.ino === own) continue;
        const e = entryOf(found, st.ino);
        if (e.bindPath === undefined) {
          e.bindPath = bindPath;
          e.pathBytes = bytes;
        }
      } catch (err) {
        if (!GONE.has(errnoCode(err) ?? '')) this.#log.debug({ err, path: bindPath }, 'netns bind mount unreadable');
      }
    }

    let denied = 0;
    let firstDenied: { pid: number; path: string; code: string } | undefined;
    for (const name of readdirSync(this.#proc)) {
      if (!/^\d+$/.test(name)) continue;
      let target: string;
      try {
        target = readlinkSync(`${this.#proc}/${name}/ns/net`);
      } catch (err) {
        const code = errnoCode(err) ?? '';
        if (DENIED.has(code)) {
          denied++;
          firstDenied ??= { pid: Number(name), path: path.join(this.#proc, name, 'ns/net'), code };
        }
        else if (!GONE.has(code)) this.#log.debug({ err, pid: name }, 'process netns unreadable');
        continue;
      }
      const m = NS_LINK.exec(target);
      if (!m) continue;
      const inode = Number(m[1]);
      if (inode !== own) entryOf(found, inode).pids.push(Number(name));
    }
    if (denied > 0 && firstDenied && !this.#warnedDenied) {
      this.#warnedDenied = true;
      // Which process, which path, which errno, and the likely cause: a missing CAP_SYS_PTRACE
      // only when the agent does not hold it (issue 14: EACCES from an LSM or the VM was blamed on it).
      const cause = refusalCause('CAP_SYS_PTRACE', firstDenied.code, holds(effectiveCapabilities(), 'CAP_SYS_PTRACE'));
      this.#log.warn(
        { processes: denied, pid: firstDenied.pid, comm: this.#comm(firstDenied.pid), path: firstDenied.path, errno: firstDenied.code, cause },
        `cannot read the network namespace of ${denied} process${denied === 1 ? '' : 'es'} (first: pid ${firstDenied.pid}, ${firstDenied.path}): ${cause}`,
      );
    }

    const netns: NetnsRef[] = [];
    for (const [inode, e] of found) {
      e.pids.sort((a, b) => a - b);
      const pod = this.#podOf(inode, e.pids);
      netns.push({
        inode,
        path: e.bindPath ?? path.join(this.#proc, String(e.pids[0]), 'ns/net'),
        bindPath: e.bindPath,
        ...(e.pathBytes ? { pathBytes: e.pathBytes } : {}),
        pids: e.pids,
        podUid: pod?.podUid,
        containerId: pod?.containerId,
      });
    }
    for (const inode of this.#pods.keys()) if (!found.has(inode)) this.#pods.delete(inode);
    this.#lastFound = netns.length;
    return { netns, deniedPids: denied };
  }

  /** Namespaces the last pass found, and cgroup readings kept (bounded by them). */
  get stats(): { found: number; cachedPods: number } {
    return { found: this.#lastFound, cachedPods: this.#pods.size };
  }

  /**
   * The bind mounts, named by bytes: a name that is not valid UTF-8 (nothing stops `ip netns add`
   * or a runtime from making one) read as a string would turn into U+FFFD, a path that does not
   * exist, and its namespace would silently go missing. Such a name keeps its bytes to open and
   * a `\xNN`-escaped text to show; it is said once in the log.
   */
  #bindMounts(): { path: string; bytes: Buffer | undefined }[] {
    const dir = this.#netnsDir;
    if (dir === undefined) return [];
    try {
      return readdirSync(dir, { encoding: 'buffer' }).map((raw) => {
        const text = raw.toString('utf8');
        if (Buffer.from(text, 'utf8').equals(raw)) return { path: path.join(dir, text), bytes: undefined };
        const shown = path.join(dir, nameFromBytes(raw));
        if (!this.#nonUtf8Said.has(shown)) {
          this.#nonUtf8Said.add(shown);
          this.#log.info({ path: shown }, 'netns bind mount name is not valid UTF-8; sampled, and shown with \\xNN for the bytes that are not');
        }
        return { path: shown, bytes: Buffer.concat([Buffer.from(`${dir.replace(/\/+$/, '')}/`, 'utf8'), raw]) };
      });
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') this.#log.warn({ err, dir: this.#netnsDir }, 'netns directory unreadable');
      return [];
    }
  }

  /** A process's command name for a log line ('' when it cannot be read). */
  #comm(pid: number): string {
    try {
      return readFileSync(path.join(this.#proc, String(pid), 'comm'), 'latin1').trim();
    } catch {
      return '';
    }
  }

  #inodeOfLink(p: string): number | undefined {
    const m = NS_LINK.exec(readlinkSync(p));
    return m ? Number(m[1]) : undefined;
  }

  /** The pod of a namespace from the cgroup of its first process, read once per (namespace, pid). */
  #podOf(inode: number, pids: readonly number[]): CgroupPod | undefined {
    const cached = this.#pods.get(inode);
    if (cached && pids.includes(cached.pid)) return cached.pod;
    for (const pid of pids) {
      let text: string;
      try {
        text = readFileSync(path.join(this.#proc, String(pid), 'cgroup'), 'latin1');
      } catch {
        continue; // exited since the readlink
      }
      const pod = podFromCgroupFile(text);
      this.#pods.set(inode, { pid, pod });
      if (pod) return pod;
    }
    return undefined;
  }
}
