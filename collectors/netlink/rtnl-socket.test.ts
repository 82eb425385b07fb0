/**
 * RtnlSocket against the real kernel (this process's own namespace, nothing created): replies
 * matched to requests when several leave in one sendmsg, an error reply in the middle of a batch,
 * an aborted request whose reply still comes, a closed socket, and how aborts reach requests (one
 * listener per signal, a signal that aborts after its requests were answered).
 */
import { getEventListeners } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentError } from '../../agent/model/errors.js';
import { encodeU32Attr } from './attrs.js';
import { NetlinkLinkSource, RtnlSocket, throwIfNetlinkError } from './link-dump.js';
import { getNsid } from './nsid.js';
import { IFINFOMSG_LEN, parseLinkMessage } from './parse-link.js';

const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const RTM_GETNSID = 90;
const NLM_F_DUMP = 0x300;
const RTGENMSG = Buffer.alloc(4);

const names = (msgs: readonly { type: number; data: Buffer }[]): string[] => msgs.filter((m) => m.type === RTM_NEWLINK).map((m) => parseLinkMessage(m.data)?.name ?? '?');
const opened: number[] = [];
const sockets: { close(): void }[] = [];
/** A link source closed after the test. */
const linkSource = (): NetlinkLinkSource => {
  const nl = new NetlinkLinkSource();
  sockets.push(nl);
  return nl;
};
/** This process's own namespace, open until the test ends. */
const ownNetns = (): number => {
  const fd = openSync('/proc/self/ns/net', 'r');
  opened.push(fd);
  return fd;
};
afterEach(() => {
  for (const fd of opened.splice(0)) closeSync(fd);
  for (const s of sockets.splice(0)) s.close();
});

describe('RtnlSocket', () => {
  it('answers requests made in the same turn (one sendmsg) each with its own reply, an error reply included', async () => {
    const s = new RtnlSocket();
    sockets.push(s);
    const self = openSync('/proc/self/ns/net', 'r');
    const notNetns = openSync('/proc/self/status', 'r');
    opened.push(self, notNetns);
    // One dump at a time per socket (the kernel answers a second with EBUSY until the first is read
    // out); other requests may share its sendmsg.
    const [nsidOfFile, dump1, nsidOfSelf] = await Promise.all([
      s.request(RTM_GETNSID, [RTGENMSG, encodeU32Attr(3, notNetns)], 0),
      s.request(RTM_GETLINK, [Buffer.alloc(IFINFOMSG_LEN)], NLM_F_DUMP),
      s.request(RTM_GETNSID, [RTGENMSG, encodeU32Attr(3, self)], 0),
    ]);
    const dump2 = await s.request(RTM_GETLINK, [Buffer.alloc(IFINFOMSG_LEN)], NLM_F_DUMP);
    expect(names(dump1)).toContain('lo');
    // The dump whole: the same links as a dump of its own.
    expect(names(dump2)).toEqual(names(dump1));
    // An fd that is no namespace: the kernel's error, as a reply of its own.
    expect(nsidOfFile).toHaveLength(1);
    expect(() => throwIfNetlinkError(nsidOfFile[0] as { type: number; data: Buffer }, 'RTM_GETNSID')).toThrow(/E[A-Z]+/);
    // Its own namespace: an RTM_NEWNSID answer.
    expect(nsidOfSelf.map((m) => m.type)).toEqual([88]);
  });

  it('after an aborted dump, answers the next requests (a fresh socket: the old one is busy with the dump)', async () => {
    const nl = linkSource();
    const ac = new AbortController();
    const aborted = nl.request(RTM_GETLINK, [Buffer.alloc(IFINFOMSG_LEN)], NLM_F_DUMP, ac.signal);
    ac.abort();
    await expect(aborted).rejects.toBeInstanceOf(AgentError);
    const links = await nl.listLinks(AbortSignal.timeout(5000));
    expect(links.map((l) => l.name)).toContain('lo');
    const fd = ownNetns();
    expect(await getNsid(nl, fd, AbortSignal.timeout(5000))).toBeTypeOf('number');
  });

  it('fails what is pending when closed, and refuses requests after', async () => {
    const s = new RtnlSocket();
    const pending = s.request(RTM_GETLINK, [Buffer.alloc(IFINFOMSG_LEN)], NLM_F_DUMP);
    s.close();
    await expect(pending).rejects.toThrow(/closed/);
    await expect(s.request(RTM_GETLINK, [Buffer.alloc(IFINFOMSG_LEN)], NLM_F_DUMP)).rejects.toThrow(/closed/);
    expect(s.closed).toBe(true);
  });

  it('listens once per signal, not once per request', async () => {
    const nl = linkSource();
    const fd = ownNetns();
    const ac = new AbortController();
    for (let i = 0; i < 5; i++) {
      // Five requests of the signal in flight at once: one listener on it between them.
      const inFlight = Promise.all([getNsid(nl, fd, ac.signal), getNsid(nl, fd, ac.signal), getNsid(nl, fd, ac.signal), getNsid(nl, fd, ac.signal), nl.listLinksIn(undefined, ac.signal)]);
      expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
      await inFlight;
    }
    // Aborting it now, with nothing of it pending, leaves the socket to the next signal's requests.
    const before = nl.socket();
    ac.abort();
    expect(nl.socket()).toBe(before);
    expect((await nl.listLinks(AbortSignal.timeout(5000))).map((l) => l.name)).toContain('lo');
  });

  it('a signal that aborts after its requests were answered fails nothing of another signal\'s', async () => {
    const nl = linkSource();
    const fd = ownNetns();
    const first = new AbortController();
    const second = new AbortController();
    // The first signal's NSID lookup and the second's dump share the socket; the lookup is answered
    // first, and its signal aborts then (as AbortSignal.timeout fires, late) with the dump pending.
    const lookup = getNsid(nl, fd, first.signal).then((nsid) => {
      first.abort();
      return nsid;
    });
    const dump = nl.listLinks(second.signal);
    expect(await lookup).toBeTypeOf('number');
    expect((await dump).map((l) => l.name)).toContain('lo');
  });

  it('an abort of a signal whose requests share the socket with another signal\'s fails its own at once', async () => {
    const nl = linkSource();
    const fd = ownNetns();
    const a = new AbortController();
    const b = new AbortController();
    const ofA = nl.listLinks(a.signal);
    const ofB = getNsid(nl, fd, b.signal);
    b.abort();
    await expect(ofB).rejects.toMatchObject({ code: 'E_ABORTED' });
    // Closing the socket failed what else it waited for; the source answers again after.
    await expect(ofA).rejects.toMatchObject({ code: 'E_NETLINK' });
    expect(await getNsid(nl, fd, AbortSignal.timeout(5000))).toBeTypeOf('number');
  });
});
