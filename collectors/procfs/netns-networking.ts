/**
 * Addresses and routes of a namespace through a process inside it (`/proc/<pid>/net/*`). Used by
 * the doctor and the health rules, not by every scrape: four reads per pod add up at 110 pods.
 */
import { readFile } from 'node:fs/promises';
import { nameFromBytes } from '../../agent/rules/names.js';
import path from 'node:path';
import type { NetnsRef } from '../../agent/model/domain.js';
import { type NetnsNetworking } from '../../agent/model/problems.js';
import { assignIpv4, parseFibTrieLocals, parseIfInet6, parseIpv4Routes, parseIpv6Routes } from './parse-net.js';

/** Reads addresses and routes of each namespace that has a process; keyed by inode. */
export async function readNetnsNetworking(procRoot: string, refs: readonly NetnsRef[]): Promise<Map<number, NetnsNetworking>> {
  const out = new Map<number, NetnsNetworking>();
  for (const ref of refs) {
    for (const pid of ref.pids) {
      const dir = path.join(procRoot, String(pid), 'net');
      try {
        const [route, route6, trie, inet6] = await Promise.all(
          // Interface names in these files are the kernel's bytes; everything else is ASCII, so the
          // name mapping of the whole text is the mapping of each name (agent/rules/names.ts).
          ['route', 'ipv6_route', 'fib_trie', 'if_inet6'].map((f) => readFile(path.join(dir, f)).then((b) => nameFromBytes(b)).catch((err: NodeJS.ErrnoException) => {
            // IPv6 disabled in the namespace: its files are absent.
            if (err.code === 'ENOENT' && (f === 'ipv6_route' || f === 'if_inet6')) return '';
            throw err;
          })),
        );
        const routes = [...parseIpv4Routes(route ?? ''), ...parseIpv6Routes(route6 ?? '')];
        out.set(ref.inode, { routes, addresses: [...assignIpv4(parseFibTrieLocals(trie ?? ''), routes), ...parseIfInet6(inet6 ?? '')] });
        break;
      } catch {
        // That process exited; try the next one in the namespace.
      }
    }
  }
  return out;
}
