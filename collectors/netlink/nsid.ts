/**
 * Network namespace ids (NSIDs) per include/uapi/linux/net_namespace.h: RTM_GETNSID asks the id
 * our namespace has for a peer namespace given by an open fd (NETNSA_FD); -1
 * (NETNSA_NSID_NOT_ASSIGNED) means none yet, and RTM_NEWNSID with NETNSA_NSID = -1 lets the
 * kernel pick one. The `netlink` package does not parse these messages, so they go raw.
 * The kernel drops an id when its namespace dies and may hand it out again: callers hold the
 * namespace's fd open from the id lookup until the dump that uses it is done.
 */
import { attrLength, attrType, encodeAttr, encodeU32Attr, firstAttr, NLA_HDRLEN, nextAttr } from './attrs.js';
import { NLM_F_ACK, throwIfNetlinkError, type NetlinkLinkSource } from './link-dump.js';

const RTM_NEWNSID = 88;
const RTM_GETNSID = 90;
const NETNSA_NSID = 1;
const NETNSA_FD = 3;
/** struct rtgenmsg { u8 rtgen_family; }, padded to NLMSG_ALIGNTO. */
const RTGENMSG = Buffer.alloc(4);

function s32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value, 0);
  return b;
}

/** The id this namespace has for the namespace open at `fd`, or -1 when it has none. */
export async function getNsid(nl: NetlinkLinkSource, fd: number, signal: AbortSignal): Promise<number> {
  const msgs = await nl.request(RTM_GETNSID, [RTGENMSG, encodeU32Attr(NETNSA_FD, fd)], 0, signal);
  let nsid = -1;
  for (const msg of msgs) {
    throwIfNetlinkError(msg, 'RTM_GETNSID');
    if (msg.type !== RTM_NEWNSID) continue;
    const d = msg.data;
    for (let at = firstAttr(d, RTGENMSG.length, d.length); at >= 0; at = nextAttr(d, at, d.length)) {
      if (attrType(d, at) === NETNSA_NSID && attrLength(d, at) >= 4) nsid = d.readInt32LE(at + NLA_HDRLEN);
    }
  }
  return nsid;
}

/** The id of the namespace open at `fd`, assigning one (kernel's choice) when it has none. */
export async function ensureNsid(nl: NetlinkLinkSource, fd: number, signal: AbortSignal): Promise<number> {
  const existing = await getNsid(nl, fd, signal);
  if (existing >= 0) return existing;
  // No reply but the acknowledgement, asked for.
  const ack = await nl.request(RTM_NEWNSID, [RTGENMSG, encodeU32Attr(NETNSA_FD, fd), encodeAttr(NETNSA_NSID, s32(-1))], NLM_F_ACK, signal);
  // EEXIST: another process assigned one between our two requests; the lookup below finds it.
  for (const msg of ack) if (!(msg.type === 2 && msg.data.length >= 4 && msg.data.readInt32LE(0) === -17)) throwIfNetlinkError(msg, 'RTM_NEWNSID');
  return getNsid(nl, fd, signal);
}
