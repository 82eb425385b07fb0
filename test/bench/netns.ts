/**
 * Throwaway network namespaces for the bench, made and removed with iproute2. Every namespace
 * is registered the moment it exists, so a setup that fails half-way still leaves nothing behind.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcesses } from './processes.js';

/** Prefix of every namespace the bench creates; the creating process id follows it. */
export const NETNS_PREFIX = 'mna-bench-';

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

/** Process ids from `ip netns pids` output. */
function parsePids(text: string): number[] {
  return text
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** Whether a process with this id exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGKILLs `pid`; a process that exited between listing and killing is fine. */
function killGone(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Namespaces the bench made and must remove; removal kills whatever still runs inside. */
export class NetnsRegistry {
  readonly #children: ChildProcesses;
  readonly #names: string[] = [];

  constructor(children: ChildProcesses) {
    this.#children = children;
  }

  /** Creates a namespace and registers it for removal. */
  async create(name: string): Promise<void> {
    await this.#children.run('ip', ['netns', 'add', name]);
    this.#names.push(name);
  }

  /** Runs iproute2 commands (one per line, without the leading `ip`) inside `name` in one process. */
  async batch(name: string, commands: readonly string[]): Promise<void> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mna-bench-'));
    try {
      const file = path.join(dir, 'batch');
      await writeFile(file, `${commands.join('\n')}\n`);
      await this.#children.run('ip', ['-n', name, '-batch', file]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** The number of links `ip link` shows inside `name`. */
  async linkCount(name: string): Promise<number> {
    const { stdout } = await this.#children.run('ip', ['-n', name, '-o', 'link', 'show']);
    return stdout.split('\n').filter((l) => l.trim() !== '').length;
  }

  /** Removes every registered namespace, newest first; keeps going past failures and rethrows the first. */
  async removeAll(): Promise<void> {
    let first: unknown;
    while (this.#names.length > 0) {
      const name = this.#names.pop() as string;
      try {
        await removeNetns(this.#children, name);
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }

  /** Synchronous removal for `process.on('exit')`, when nothing asynchronous can run any more. */
  removeAllSync(): void {
    while (this.#names.length > 0) removeNetnsSync(this.#names.pop() as string);
  }

  /** Names still registered. */
  get names(): readonly string[] {
    return this.#names;
  }
}

/** Kills every process inside `name`, waits for them to go, then deletes the namespace. */
export async function removeNetns(children: ChildProcesses, name: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const pids = parsePids((await children.run('ip', ['netns', 'pids', name])).stdout).filter(alive);
    if (pids.length === 0) break;
    for (const pid of pids) killGone(pid);
    await sleep(100);
  }
  await children.run('ip', ['netns', 'del', name]);
}

function removeNetnsSync(name: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' });
  for (const pid of parsePids(pids.stdout ?? '')) killGone(pid);
  spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
}

/** Bench namespaces left by a bench process that no longer runs (killed with SIGKILL, say). */
export async function staleBenchNetns(children: ChildProcesses): Promise<string[]> {
  const { stdout } = await children.run('ip', ['netns', 'list']);
  return parseNetnsList(stdout).filter((name) => {
    const m = new RegExp(`^${NETNS_PREFIX}(\\d+)(?:-|$)`).exec(name);
    return m !== null && Number(m[1]) !== process.pid && !alive(Number(m[1]));
  });
}
