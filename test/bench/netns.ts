/**
 * Throwaway network namespaces for the bench, made and removed with iproute2 (`ip netns`, which
 * keeps each as a bind mount in /run/netns). Every namespace is registered before it is created,
 * so a setup that fails half-way still leaves nothing behind; any number of them is made and
 * removed in a fixed number of processes (one `ip -batch`, one /proc scan).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { alive, killGone, type ChildProcesses } from './processes.js';

/** Prefix of every namespace the bench creates; the creating process id follows it. */
export const NETNS_PREFIX = 'mna-bench-';

/** Where `ip netns` keeps its namespaces. */
const NETNS_RUN_DIR = '/run/netns';

/** Namespace names of this bench process: `mna-bench-<pid>` plus an optional suffix. */
export function benchNetnsName(suffix = ''): string {
  return `${NETNS_PREFIX}${process.pid}${suffix ? `-${suffix}` : ''}`;
}

/** The names `ip netns list` prints, first word of each line. */
export function parseNetnsList(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

/** `ip -batch` input that adds or deletes the named namespaces, one per line. */
export function netnsBatchInput(verb: 'add' | 'del', names: readonly string[]): string {
  return names.map((n) => `netns ${verb} ${n}\n`).join('');
}

/** The inode in a `/proc/<pid>/ns/net` link (`net:[4026531840]`), or undefined for anything else. */
export function netnsInodeOfLink(target: string): number | undefined {
  const m = /^net:\[(\d+)\]$/.exec(target);
  return m ? Number(m[1]) : undefined;
}

const GONE = new Set(['ENOENT', 'ESRCH']);
/** A process whose namespace even root may not read (PID 1 of a Firecracker VM answers EACCES) was not started by the bench. */
const DENIED = new Set(['EACCES', 'EPERM']);

/** The nsfs inodes of those named namespaces that are mounted in /run/netns. */
function mountedInodes(names: readonly string[]): Set<number> {
  const nsfsDev = statSync('/proc/self/ns/net').dev;
  const inodes = new Set<number>();
  for (const name of names) {
    try {
      const st = statSync(path.join(NETNS_RUN_DIR, name));
      // A half-made namespace is a plain file in /run/netns, not an nsfs mount: nothing runs in it.
      if (st.dev === nsfsDev) inodes.add(st.ino);
    } catch (err) {
      if (!GONE.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    }
  }
  return inodes;
}

/** Processes whose network namespace is one of `inodes`, from one pass over /proc (what `ip netns pids` does per name). */
function pidsIn(inodes: ReadonlySet<number>): number[] {
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let target: string;
    try {
      target = readlinkSync(`/proc/${entry}/ns/net`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (GONE.has(code) || DENIED.has(code)) continue; // exited since readdir, or not ours
      throw err;
    }
    const inode = netnsInodeOfLink(target);
    if (inode !== undefined && inodes.has(inode)) pids.push(Number(entry));
  }
  return pids;
}

/** The names whose /run/netns entry still exists (mounted or half-made). */
function existing(names: readonly string[]): string[] {
  return names.filter((n) => existsSync(path.join(NETNS_RUN_DIR, n)));
}

/** Kills every process inside the named namespaces, waits for them to go, then deletes the namespaces in one `ip -batch`. */
export async function removeNetns(children: ChildProcesses, names: readonly string[]): Promise<void> {
  const present = existing(names);
  if (present.length === 0) return;
  for (let attempt = 0; attempt < 50; attempt++) {
    const pids = pidsIn(mountedInodes(present)).filter(alive);
    if (pids.length === 0) break;
    for (const pid of pids) killGone(pid);
    await sleep(100);
  }
  // -force: go on past a line that fails, so one bad name does not keep the others alive.
  await children.run('ip', ['-force', '-batch', '-'], netnsBatchInput('del', present));
}

/** {@link removeNetns} for `process.on('exit')`, when nothing asynchronous can run any more. */
function removeNetnsSync(names: readonly string[]): void {
  const present = existing(names);
  if (present.length === 0) return;
  for (const pid of pidsIn(mountedInodes(present))) killGone(pid);
  spawnSync('ip', ['-force', '-batch', '-'], { input: netnsBatchInput('del', present), stdio: ['pipe', 'ignore', 'ignore'] });
}

/** Namespaces the bench made and must remove; removal kills whatever still runs inside. */
export class NetnsRegistry {
  readonly #children: ChildProcesses;
  readonly #names: string[] = [];

  constructor(children: ChildProcesses) {
    this.#children = children;
  }

  /** Registers a namespace for removal, then creates it. */
  async create(name: string): Promise<void> {
    await this.createMany([name]);
  }

  /** Registers the namespaces for removal, then creates them all in one `ip -batch`. */
  async createMany(names: readonly string[]): Promise<void> {
    this.#names.push(...names);
    await this.#children.run('ip', ['-batch', '-'], netnsBatchInput('add', names));
  }

  /** Registers namespaces something else created (the lab), so that they are removed with the bench's own. */
  adopt(names: readonly string[]): void {
    this.#names.push(...names);
  }

  /** Runs iproute2 commands (one per line, without the leading `ip`) inside `name` in one process. */
  async batch(name: string, commands: readonly string[]): Promise<void> {
    await this.#children.run('ip', ['-n', name, '-batch', '-'], `${commands.join('\n')}\n`);
  }

  /** The number of links `ip link` shows inside `name`. */
  async linkCount(name: string): Promise<number> {
    const { stdout } = await this.#children.run('ip', ['-n', name, '-o', 'link', 'show']);
    return stdout.split('\n').filter((l) => l.trim() !== '').length;
  }

  /** Removes every registered namespace; on a failure they stay registered, for the exit handler to try again. */
  async removeAll(): Promise<void> {
    await removeNetns(this.#children, this.#names);
    this.#names.length = 0;
  }

  /** Synchronous removal for `process.on('exit')`. */
  removeAllSync(): void {
    removeNetnsSync(this.#names);
    this.#names.length = 0;
  }

  /** Names still registered. */
  get names(): readonly string[] {
    return this.#names;
  }
}

/** Bench namespaces left by a bench process that no longer runs (killed with SIGKILL, say). */
export async function staleBenchNetns(children: ChildProcesses): Promise<string[]> {
  const { stdout } = await children.run('ip', ['netns', 'list']);
  return parseNetnsList(stdout).filter((name) => {
    const m = new RegExp(`^${NETNS_PREFIX}(\\d+)(?:-|$)`).exec(name);
    return m !== null && Number(m[1]) !== process.pid && !alive(Number(m[1]));
  });
}
