/**
 * RtnlSocket against the real kernel (this process's own namespace, nothing created): replies
 * matched to requests when several leave in one sendmsg, an error reply in the middle of a batch,
 * an aborted request whose reply still comes, a closed socket, and replies read into a fixed
 * buffer, one larger than it included (a dump over many datagrams: test/integration/netns-links.test.ts).
 */
import { closeSync, openSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentError } from '../../agent/model/errors.js';
import { encodeU32Attr } from './attrs.js';
import { FIXED_RECEIVE_BUFFER, NetlinkLinkSource, RtnlSocket, throwIfNetlinkError, TruncatedReplyError } from './link-dump.js';
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
    const nl = new NetlinkLinkSource();
    sockets.push(nl);
    const ac = new AbortController();
    const aborted = nl.request(RTM_GETLINK, [Buffer.alloc(IFINFOMSG_LEN)], NLM_F_DUMP, ac.signal);
    ac.abort();
    await expect(aborted).rejects.toBeInstanceOf(AgentError);
    const links = await nl.listLinks(AbortSignal.timeout(5000));
    expect(links.map((l) => l.name)).toContain('lo');
    const fd = openSync('/proc/self/ns/net', 'r');
    opened.push(fd);
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

  it('reads into a fixed buffer the same links as when peeking at each datagram\'s size', async () => {
    const peek = new RtnlSocket();
    const fixed = new RtnlSocket({ receiveBuffer: FIXED_RECEIVE_BUFFER });
    sockets.push(peek, fixed);
    const whole = await peek.request(RTM_GETLINK, [Buffer.alloc(IFINFOMSG_LEN)], NLM_F_DUMP);
    const read = await fixed.request(RTM_GETLINK, [Buffer.alloc(IFINFOMSG_LEN)], NLM_F_DUMP);
    expect(names(whole)).toContain('lo');
    expect(names(read)).toEqual(names(whole));
  });

  it('fails what is pending with TruncatedReplyError and closes the socket when a reply is larger than its fixed buffer', async () => {
    const s = new RtnlSocket({ receiveBuffer: 64 });
    sockets.push(s);
    const self = openSync('/proc/self/ns/net', 'r');
    opened.push(self);
    const [dump, nsid] = await Promise.allSettled([s.request(RTM_GETLINK, [Buffer.alloc(IFINFOMSG_LEN)], NLM_F_DUMP), s.request(RTM_GETNSID, [RTGENMSG, encodeU32Attr(3, self)], 0)]);
    expect(dump.status === 'rejected' && dump.reason).toBeInstanceOf(TruncatedReplyError);
    expect(dump.status === 'rejected' && (dump.reason as TruncatedReplyError).size).toBeGreaterThan(64);
    // Asked after the dump on the same socket: failed with it.
    expect(nsid.status === 'rejected' && nsid.reason).toBeInstanceOf(TruncatedReplyError);
    expect(s.closed).toBe(true);
  });

  it('a link source whose reply did not fit asks again, peeking at each size from then on', async () => {
    const small = new NetlinkLinkSource({ receiveBuffer: 64 });
    const usual = new NetlinkLinkSource();
    sockets.push(small, usual);
    expect(usual.fixedReceiveBuffer).toBe(true);
    expect(small.fixedReceiveBuffer).toBe(true);
    const signal = AbortSignal.timeout(5000);
    const fd = openSync('/proc/self/ns/net', 'r');
    opened.push(fd);
    // A dump and an NSID lookup in the same turn, as a pod namespace is read: both failed with the
    // first socket, both asked again on one new socket.
    const [links, nsid] = await Promise.all([small.listLinks(signal), getNsid(small, fd, signal)]);
    expect(small.fixedReceiveBuffer).toBe(false);
    expect(links.map((l) => l.name)).toEqual((await usual.listLinks(signal)).map((l) => l.name));
    expect(nsid).toBe(await getNsid(usual, fd, signal));
    expect(FIXED_RECEIVE_BUFFER % 4).toBe(0);
  });
});
