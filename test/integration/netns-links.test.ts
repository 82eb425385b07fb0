/**
 * Root-only: pod namespace reads against the real kernel — a namespace that disappears between
 * discovery and dump is dropped quietly, NSIDs of dead namespaces are the kernel's to forget, and
 * a dump that spans many datagrams is read whole, in datagrams of up to 32 KiB, and a socket
 * without CAP_NET_ADMIN (which may not send itself the 32 KiB message) still dumps.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { NetlinkLinkSource } from '../../collectors/netlink/link-dump.js';
import { NetlinkPodLinkSource } from '../../collectors/netlink/netns-links.js';
import { ensureNsid } from '../../collectors/netlink/nsid.js';
import { NetnsDiscovery } from '../../collectors/procfs/netns-discovery.js';
import { recordingLogger } from '../support/links.js';
import { createNetns, deleteNetns, ip, IS_ROOT, netnsName } from '../support/netns.js';

const A = netnsName('nl-a');
const B = netnsName('nl-b');
const C = netnsName('nl-c');
const signal = new AbortController().signal;

if (!IS_ROOT) {
  if (process.env.CI) throw new Error('the netns suite must run as root in CI');
  console.warn('test/integration/netns-links.test.ts needs root (network namespaces): skipped');
}

/** The built link source, loaded by a child process that runs with fewer capabilities. */
const BUILT_LINK_DUMP = fileURLToPath(new URL('../../dist/collectors/netlink/link-dump.js', import.meta.url));
/** Two dumps of the child's own namespace; prints how many links and the largest datagram. */
const CHILD_DUMPS = `
const { NetlinkLinkSource } = await import(process.argv[1]);
const nl = new NetlinkLinkSource();
const first = await nl.listLinks(AbortSignal.timeout(10000));
const second = await nl.listLinks(AbortSignal.timeout(10000));
console.log(JSON.stringify({ links: second.length, same: first.length === second.length, largest: nl.socket().received.largest }));
nl.close();
`;

describe.skipIf(!IS_ROOT)('NetlinkPodLinkSource on real namespaces', () => {
  afterAll(() => deleteNetns(A, B, C));

  it('dumps a namespace, and drops one deleted between discovery and dump', async () => {
    await createNetns(A);
    await createNetns(B);
    await ip('-n', A, 'link', 'add', 'net1', 'type', 'veth', 'peer', 'name', 'peer1');
    const { log, lines } = recordingLogger();
    const source = new NetlinkPodLinkSource({ log, procRoot: '/proc', sockets: 2 });
    try {
      const discovery = new NetnsDiscovery({ procRoot: '/proc', netnsDir: '/run/netns', log });
      const refs = discovery.discover().netns.filter((r) => r.bindPath === `/run/netns/${A}` || r.bindPath === `/run/netns/${B}`);
      expect(refs).toHaveLength(2);
      const a = refs.find((r) => r.bindPath?.endsWith(A));
      const dumped = a ? await source.listIn(a, signal) : undefined;
      expect(dumped?.links.map((l) => l.name).sort()).toEqual(['lo', 'net1', 'peer1']);

      deleteNetns(B);
      const b = refs.find((r) => r.bindPath?.endsWith(B));
      expect(b ? await source.listIn(b, signal) : 'no ref').toBeUndefined();
      // The one warning a VM may add: a process more privileged than the agent's root (pid 1 here,
      // which holds CAP_SYS_RESOURCE), named with its cause, never the capability the agent holds.
      const others = lines.filter((l) => l.level !== 'debug' && !/^cannot read the network namespace of \d+ process/.test(l.msg));
      expect(others).toEqual([]);
      expect(lines.some((l) => l.msg === 'netns gone before its dump')).toBe(true);

      // The agent remembers A's id while A lives and forgets it once A is gone; the kernel
      // frees the id itself, asynchronously, when the namespace is destroyed.
      expect(dumped?.nsid).toBeGreaterThanOrEqual(0);
      expect(source.cachedNsids).toBe(1);
      deleteNetns(A);
      const after = discovery.discover().netns;
      expect(after.some((r) => r.bindPath?.endsWith(A))).toBe(false);
      source.retain(new Set(after.map((r) => r.inode)));
      expect(source.cachedNsids).toBe(0);
    } finally {
      source.close();
    }
  });

  it('without CAP_NET_ADMIN the socket may not send itself the 32 KiB message, and dumps its own namespace as before', () => {
    const dumps = (prefix: readonly string[]): { links: number; same: boolean; largest: number } => {
      const argv = [...prefix, process.execPath, '--input-type=module', '-e', CHILD_DUMPS, BUILT_LINK_DUMP];
      return JSON.parse(execFileSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', timeout: 30_000 })) as { links: number; same: boolean; largest: number };
    };
    const held = dumps([]);
    const without = dumps(['setpriv', '--bounding-set=-net_admin', '--inh-caps=-net_admin', '--']);
    // With the capability the 32 KiB message itself is the largest datagram read; without it the
    // send is refused (EPERM), quietly, and every datagram stays under a page or two.
    expect(held.largest).toBe(32 * 1024);
    expect(without.largest).toBeLessThan(16 * 1024);
    expect(without).toMatchObject({ links: held.links, same: true });
    expect(without.links).toBeGreaterThan(0);
  });

  it('reads a namespace whose dump spans many datagrams, every link whole', async () => {
    await createNetns(C);
    for (let i = 0; i < 40; i++) await ip('-n', C, 'link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', `p${i}`);
    // 81 links of over a kilobyte each: far more than one datagram holds.
    const expected = (await ip('-n', C, '-o', 'link', 'show')).split('\n').filter(Boolean).map((l) => (l.split(': ')[1] ?? '').replace(/@.*/, '')).sort();
    expect(expected).toHaveLength(81);
    const nl = new NetlinkLinkSource();
    const fd = openSync(`/run/netns/${C}`, 'r');
    try {
      const nsid = await ensureNsid(nl, fd, signal);
      const links = await nl.listLinksIn(nsid, signal);
      expect(links.map((l) => l.name).sort()).toEqual(expected);
      expect(links.every((l) => l.counters !== undefined && l.mac !== undefined)).toBe(true);
      // The socket read a 32 KiB message it sent itself: the kernel now fills the datagrams of its
      // dumps up to 32 KiB, not one page each (about 30 datagrams for these links).
      const before = nl.socket().received.datagrams;
      expect((await nl.listLinksIn(nsid, signal)).map((l) => l.name).sort()).toEqual(expected);
      const { datagrams, largest } = nl.socket().received;
      expect(largest).toBeGreaterThan(16 * 1024);
      expect(datagrams - before).toBeLessThanOrEqual(8);
    } finally {
      closeSync(fd);
      nl.close();
    }
  });
});
