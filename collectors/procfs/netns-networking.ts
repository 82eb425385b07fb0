/**
 * Addresses and routes of a namespace through a process inside it (`/proc/<pid>/net/*`). Used by
 * the doctor and the health rules, not by every scrape: four reads per pod add up at 250 pods.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { nameFromBytes } from '../../agent/rules/names.js';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { NetnsRef } from '../../agent/model/domain.js';
import { type NetnsNetworking } from '../../agent/model/problems.js';
import { assignIpv4, parseFibTrieLocals, parseIfInet6, parseIpv4Routes, parseIpv6Routes } from './parse-net.js';

const FILES = ['route', 'ipv6_route', 'fib_trie', 'if_inet6'] as const;

/**
 * What the last read of each namespace gave: its files' bytes and what they parsed to. A namespace
 * whose files are unchanged keeps the same object, so that a caller can tell "nothing changed" by
 * identity (and is not made to judge the same routes again).
 */
export type NetworkingMemo = Map<number, { readonly bytes: Buffer; readonly value: NetnsNetworking }>;

/**
 * Where the four files of one namespace are read, back to back with a 0 byte after each (procfs
 * text has none), kept across reads and grown when a namespace needs more. readFileSync of a
 * procfs file (size 0) allocates a 64 KiB buffer per call and stats the file: 1,000 files every
 * 10 s at 250 pods.
 */
const SCRATCH_KEPT = 64 * 1024;
let scratch = Buffer.allocUnsafe(SCRATCH_KEPT);

/** Reads `file` whole into `scratch` from `at`, growing it as needed; returns the end offset. */
function readInto(file: string, at: number): number {
  const fd = openSync(file, 'r');
  try {
    let end = at;
    for (;;) {
      if (scratch.length - end < 4096) {
        const bigger = Buffer.allocUnsafe(scratch.length * 2);
        scratch.copy(bigger, 0, 0, end);
        scratch = bigger;
      }
      // procfs regenerates the text at each read from 0 and serves it in pieces; read to EOF.
      const n = readSync(fd, scratch, end, scratch.length - end, null);
      if (n === 0) return end;
      end += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** Reads the four files of `dir` into `scratch`; returns where each ends (before its 0 byte). Throws when a process is gone. */
function readNetFiles(dir: string): number[] {
  const ends: number[] = [];
  let at = 0;
  for (const f of FILES) {
    let end: number;
    try {
      end = readInto(dir + f, at);
    } catch (err) {
      // IPv6 disabled in the namespace: its files are absent.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || (f !== 'ipv6_route' && f !== 'if_inet6')) throw err;
      end = at;
    }
    ends.push(end);
    scratch[end] = 0;
    at = end + 1;
  }
  return ends;
}

/** Interface names in these files are the kernel's bytes; everything else is ASCII, so the name mapping of the whole text is the mapping of each name (agent/rules/names.ts). */
function parseNetFiles(ends: readonly number[]): NetnsNetworking {
  const [route, route6, trie, inet6] = ends.map((end, i) => nameFromBytes(scratch, i === 0 ? 0 : (ends[i - 1] as number) + 1, end)) as [string, string, string, string];
  const routes = [...parseIpv4Routes(route), ...parseIpv6Routes(route6)];
  return { routes, addresses: [...assignIpv4(parseFibTrieLocals(trie), routes), ...parseIfInet6(inet6)] };
}

/**
 * Reads addresses and routes of each namespace that has a process; keyed by inode. With a memo,
 * a namespace whose four files read the same as last time is not parsed again, and the memo
 * keeps only the namespaces of this read.
 *
 * The files are read synchronously, one namespace at a time with a turn of the event loop between
 * namespaces: procfs answers from memory, and fs/promises' readFile (open, fstat, read, close, each
 * a thread-pool round trip) cost 0.7-0.8 ms of CPU per namespace here against 0.3 ms.
 */
export async function readNetnsNetworking(procRoot: string, refs: readonly NetnsRef[], memo?: NetworkingMemo): Promise<Map<number, NetnsNetworking>> {
  const out = new Map<number, NetnsNetworking>();
  const seen: NetworkingMemo = new Map();
  const root = procRoot.endsWith('/') ? procRoot : `${procRoot}/`;
  for (const ref of refs) {
    for (const pid of ref.pids) {
      let ends: number[];
      try {
        ends = readNetFiles(`${root}${pid}/net/`);
      } catch {
        // That process exited; try the next one in the namespace.
        continue;
      }
      const read = scratch.subarray(0, (ends[ends.length - 1] as number) + 1);
      const before = memo?.get(ref.inode);
      // Compared as bytes: an unchanged namespace (the usual case) costs no string and no parse.
      const same = before !== undefined && before.bytes.equals(read);
      const value = same ? before.value : parseNetFiles(ends);
      out.set(ref.inode, value);
      if (memo) seen.set(ref.inode, same ? before : { bytes: Buffer.from(read), value });
      break;
    }
    await yieldToLoop();
  }
  // A namespace with a full routing table grew it: not kept at that size between refreshes.
  if (scratch.length > SCRATCH_KEPT) scratch = Buffer.allocUnsafe(SCRATCH_KEPT);
  if (memo) {
    memo.clear();
    for (const [k, v] of seen) memo.set(k, v);
  }
  return out;
}
