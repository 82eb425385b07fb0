/**
 * readNetnsNetworking over a /proc-shaped directory holding real captures of a pod namespace's
 * /proc/<pid>/net (testdata/pod-net, from capture-pod-net.sh), and the cache keeping its map when
 * nothing changed.
 */
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NetnsRef } from '../../agent/model/domain.js';
import { NetnsNetworkingCache } from '../../agent/runtime/networking-cache.js';
import { readNetnsNetworking, type NetworkingMemo } from './netns-networking.js';

const CAPTURE = new URL('./testdata/pod-net/', import.meta.url).pathname;
let root: string;

function proc(pid: number, files: readonly string[] = ['route', 'ipv6_route', 'fib_trie', 'if_inet6']): void {
  const dir = path.join(root, String(pid), 'net');
  mkdirSync(dir, { recursive: true });
  for (const f of files) copyFileSync(path.join(CAPTURE, f), path.join(dir, f));
}
const ref = (inode: number, pids: number[]): NetnsRef => ({ inode, path: `/proc/${pids[0] ?? 0}/ns/net`, bindPath: undefined, pids, podUid: undefined, containerId: undefined });

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'mna-netns-networking-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('readNetnsNetworking', () => {
  it('reads routes and addresses, skips a process that is gone, and reads a namespace without IPv6', async () => {
    proc(10);
    proc(21, ['route', 'fib_trie']);
    const m = await readNetnsNetworking(root, [ref(1, [9, 10]), ref(2, [21]), ref(3, [30])]);
    expect([...m.keys()]).toEqual([1, 2]);
    const one = m.get(1)!;
    expect(one.routes.length).toBeGreaterThan(2);
    expect(one.addresses.some((a) => a.family === 6)).toBe(true);
    expect(m.get(2)!.addresses.every((a) => a.family === 4)).toBe(true);
    expect(m.get(2)!.routes.length).toBeLessThan(one.routes.length);
  });

  it('with a memo, hands back the same object while the files read the same, a new one when they change', async () => {
    proc(10);
    proc(20);
    const memo: NetworkingMemo = new Map();
    const a = await readNetnsNetworking(root, [ref(1, [10]), ref(2, [20])], memo);
    const b = await readNetnsNetworking(root, [ref(1, [10]), ref(2, [20])], memo);
    expect(b.get(1)).toBe(a.get(1));
    expect(b.get(2)).toBe(a.get(2));
    // A route added in namespace 2 (a line of /proc/net/route as the kernel writes it).
    appendFileSync(path.join(root, '20', 'net', 'route'), 'net9\t0000FEA9\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n');
    const c = await readNetnsNetworking(root, [ref(1, [10]), ref(2, [20])], memo);
    expect(c.get(1)).toBe(a.get(1));
    expect(c.get(2)).not.toBe(a.get(2));
    expect(c.get(2)!.routes.length).toBe(a.get(2)!.routes.length + 1);
    expect(c.get(2)!.routes.some((r) => r.iface === 'net9')).toBe(true);
    // A namespace no longer asked for leaves the memo.
    await readNetnsNetworking(root, [ref(2, [20])], memo);
    expect([...memo.keys()]).toEqual([2]);
  });
  it('reads a namespace whose files outgrow the read buffer whole, and the next one after it as it is', async () => {
    proc(10);
    proc(20);
    // 6,000 routes (~770 KB of /proc/net/route): a pod with a large routing table.
    const lines: string[] = [];
    for (let i = 0; i < 6000; i++) {
      const dst = (((10 << 24) | (i << 8)) >>> 0).toString(16).padStart(8, '0').match(/../g)!.reverse().join('').toUpperCase();
      lines.push(`net1\t${dst}\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0`);
    }
    appendFileSync(path.join(root, '10', 'net', 'route'), `${lines.join('\n')}\n`);
    const memo: NetworkingMemo = new Map();
    const m = await readNetnsNetworking(root, [ref(1, [10]), ref(2, [20])], memo);
    const small = m.get(2)!;
    expect(m.get(1)!.routes.length).toBe(small.routes.length + 6000);
    expect(m.get(1)!.routes.some((r) => r.iface === 'net1' && r.dst === '10.0.23.0/24')).toBe(true);
    // The second namespace's files were read from the start of the buffer, not after the first's.
    const alone = await readNetnsNetworking(root, [ref(2, [20])]);
    expect(small).toEqual(alone.get(2));
    // Read again with the memo: both unchanged, both the same objects.
    const again = await readNetnsNetworking(root, [ref(1, [10]), ref(2, [20])], memo);
    expect(again.get(1)).toBe(m.get(1));
    expect(again.get(2)).toBe(small);
  });
});

describe('NetnsNetworkingCache', () => {
  it('keeps its map while every namespace reads the same, and takes the new one on a change', async () => {
    proc(10);
    const memo: NetworkingMemo = new Map();
    const cache = new NetnsNetworkingCache((refs) => readNetnsNetworking(root, refs, memo));
    const first = await cache.refresh([ref(1, [10])]);
    expect(await cache.refresh([ref(1, [10])])).toBe(first);
    expect(cache.current()).toBe(first);
    writeFileSync(path.join(root, '10', 'net', 'if_inet6'), '');
    const changed = await cache.refresh([ref(1, [10])]);
    expect(changed).not.toBe(first);
    expect(cache.current()).toBe(changed);
    // A namespace gone: a new map too.
    proc(20);
    const two = await cache.refresh([ref(1, [10]), ref(2, [20])]);
    expect(two.size).toBe(2);
    expect(await cache.refresh([ref(2, [20])])).not.toBe(two);
  });
});
