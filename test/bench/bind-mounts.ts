/**
 * Bind mounts the bench makes: a namespace's /run/netns entry mounted on a file in a case's
 * private directory, which the agent gets as `--path.netns`, so that it sees exactly the case's
 * namespaces and none of the others in /run/netns. Any number is made with one
 * `mount --all --fstab` and removed with one `umount --lazy` per 200. Every target is registered
 * before it is mounted, and /proc/self/mountinfo, not the registry, says what is still mounted.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { alive, type ChildProcesses } from './processes.js';

/** One bind mount: `source` shows at `target`. */
export interface BindMount {
  readonly source: string;
  readonly target: string;
}

/** Targets per `umount` command line. */
const UMOUNT_CHUNK = 200;

/** fstab(5) and mountinfo escape space, tab, newline and backslash as a backslash and three octal digits. */
function escapePath(p: string): string {
  return p.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

function unescapePath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** An fstab(5) file that bind-mounts each source on its target. */
export function fstabText(mounts: readonly BindMount[]): string {
  return mounts.map((m) => `${escapePath(m.source)} ${escapePath(m.target)} none bind 0 0\n`).join('');
}

/** The mount points in /proc/self/mountinfo (field 5), unescaped, once per mount (a stacked one twice). */
export function mountPoints(mountinfo: string): string[] {
  return mountinfo
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => unescapePath(l.split(' ')[4] ?? ''));
}

/** The mount points of this process' mount namespace. */
function currentMountPoints(): string[] {
  return mountPoints(readFileSync('/proc/self/mountinfo', 'utf8'));
}

/** The mount points at or under `dir`. */
export function mountsUnder(points: readonly string[], dir: string): string[] {
  return points.filter((p) => p === dir || p.startsWith(`${dir}/`));
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Lazily unmounts `targets` (detached at once; the namespace goes when its last user does). */
export async function unmount(children: ChildProcesses, targets: readonly string[]): Promise<void> {
  for (const chunk of chunks(targets, UMOUNT_CHUNK)) await children.run('umount', ['--lazy', ...chunk]);
}

/** Bind mounts the bench made and must remove. */
export class BindMounts {
  readonly #children: ChildProcesses;
  readonly #targets = new Set<string>();

  constructor(children: ChildProcesses) {
    this.#children = children;
  }

  /** Creates each target as an empty file, registers it, and mounts them all with one `mount --all --fstab fstabPath`. */
  async bindAll(mounts: readonly BindMount[], fstabPath: string): Promise<void> {
    for (const m of mounts) {
      this.#targets.add(m.target);
      await writeFile(m.target, '');
    }
    await writeFile(fstabPath, fstabText(mounts));
    await this.#children.run('mount', ['--all', '--fstab', fstabPath]);
  }

  /** Unmounts every registered target still mounted; they stay registered if that fails, for the exit handler. */
  async unmountAll(): Promise<void> {
    // A target mounted twice shows twice in mountinfo, and one umount takes off the top one.
    for (let pass = 0; pass < 3; pass++) {
      const mounted = this.#mounted();
      if (mounted.length === 0) break;
      await unmount(this.#children, [...new Set(mounted)]);
    }
    this.#targets.clear();
  }

  /** Synchronous {@link unmountAll} for `process.on('exit')`. */
  unmountAllSync(): void {
    for (let pass = 0; pass < 3; pass++) {
      const mounted = [...new Set(this.#mounted())];
      if (mounted.length === 0) break;
      for (const chunk of chunks(mounted, UMOUNT_CHUNK)) spawnSync('umount', ['--lazy', ...chunk], { stdio: 'ignore' });
    }
    this.#targets.clear();
  }

  /** Registered targets that mountinfo shows mounted, once per mount. */
  #mounted(): string[] {
    return currentMountPoints().filter((p) => this.#targets.has(p));
  }
}

/**
 * Mount points left in the private directories (`<tmpDir>/mna-bench-<pid>-...`) of bench
 * processes that no longer run, with the directories they are in.
 */
export function staleBenchMounts(tmpDir: string): { dirs: string[]; targets: string[] } {
  const dirs = new Set<string>();
  const targets: string[] = [];
  const pattern = new RegExp(`^(${tmpDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/mna-bench-(\\d+)-[^/]+)/`);
  for (const p of currentMountPoints()) {
    const m = pattern.exec(p);
    if (!m || Number(m[2]) === process.pid || alive(Number(m[2]))) continue;
    dirs.add(m[1] as string);
    targets.push(p);
  }
  return { dirs: [...dirs], targets: [...new Set(targets)] };
}

/** The mount points still under `dir` in this mount namespace: what a clean teardown leaves is none. */
export function mountsLeftUnder(dir: string): string[] {
  return mountsUnder(currentMountPoints(), dir);
}
