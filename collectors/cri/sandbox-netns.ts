/**
 * From the network namespace a runtime names to the one the agent can open: the path mapped into
 * the agent's mount namespace, then its nsfs inode (the identity the netns collector keys on).
 */
import { readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { errnoCode } from '../../agent/model/errors.js';

/** The device of nsfs, for {@link resolveNetnsInode}; undefined when procfs cannot say. */
export function nsfsDevice(procRoot: string): number | undefined {
  try {
    return statSync(path.join(procRoot, 'self/ns/net')).dev;
  } catch {
    return undefined; // a fixture procfs without self/: skip the check
  }
}

/** The agent's view of the host filesystem: `--path.netns` and `--path.procfs`. */
export interface HostPaths {
  readonly netnsDir: string;
  readonly procRoot: string;
}

const PROC_NETNS = /^\/proc\/(\d+)\/ns\/net$/;
const NS_LINK = /^net:\[(\d+)\]$/;
const GONE = new Set(['ENOENT', 'ESRCH', 'ENOTDIR']);

/**
 * Where the agent finds a namespace the runtime calls `runtimePath`. Runtimes write
 * `/var/run/netns/...` (containerd's `cni-*`, CRI-O's pinns): on the host `/var/run` is a symlink
 * to `/run`, and the agent sees the host's `/run/netns` at `--path.netns` (the same path in the
 * chart). A `/proc/<pid>/ns/net` path is read under `--path.procfs`. Other paths are used as given.
 */
export function agentNetnsPath(runtimePath: string, host: HostPaths): string {
  const normal = path.posix.normalize(runtimePath);
  const run = normal.startsWith('/var/run/') ? normal.slice('/var'.length) : normal;
  if (path.posix.dirname(run) === '/run/netns') return path.join(host.netnsDir, path.posix.basename(run));
  const proc = PROC_NETNS.exec(run);
  if (proc) return path.join(host.procRoot, proc[1] as string, 'ns/net');
  return run;
}

/** What resolving one sandbox's namespace gave: its inode, or why there is none. */
export type NetnsResolution = { readonly inode: number; readonly via: string } | { readonly inode: undefined; readonly reason: string };

/**
 * The nsfs inode of a sandbox's network namespace: by its path first (a bind mount outlives any
 * process), else by its pid's `/proc/<pid>/ns/net`. A path or process that is gone is an answer
 * (`inode: undefined`), not an error.
 */
export function resolveNetnsInode(
  sandbox: { readonly netnsPath: string | undefined; readonly pid: number | undefined },
  host: HostPaths,
  /** The nsfs device (`stat /proc/self/ns/net`): a path on another device is an unmounted leftover, not a namespace. */
  nsfsDev?: number,
): NetnsResolution {
  const reasons: string[] = [];
  if (sandbox.netnsPath !== undefined) {
    const p = agentNetnsPath(sandbox.netnsPath, host);
    try {
      const st = statSync(p);
      if (nsfsDev === undefined || st.dev === nsfsDev) return { inode: st.ino, via: p };
      reasons.push(`${p}: not a mounted namespace`);
    } catch (err) {
      reasons.push(`${p}: ${GONE.has(errnoCode(err) ?? '') ? 'gone' : String(errnoCode(err) ?? err)}`);
    }
  }
  if (sandbox.pid !== undefined) {
    const p = path.join(host.procRoot, String(sandbox.pid), 'ns/net');
    try {
      const m = NS_LINK.exec(readlinkSync(p));
      if (m) return { inode: Number(m[1]), via: p };
      reasons.push(`${p}: not a network namespace link`);
    } catch (err) {
      reasons.push(`${p}: ${GONE.has(errnoCode(err) ?? '') ? 'gone' : String(errnoCode(err) ?? err)}`);
    }
  }
  return { inode: undefined, reason: reasons.join('; ') || 'the runtime names no network namespace path and no pid' };
}
