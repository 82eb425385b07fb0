/**
 * rtnetlink link dump adapter: one RTM_GETLINK dump per call on one long-lived NETLINK_ROUTE
 * socket, decoded by our own lean parser (the `netlink` package's generic parser costs about
 * 40 ms for 750 links here; reading the raw dump costs about 8 ms). Only the package's raw socket
 * is used: requests, replies and multipart grouping are ours (RtnlSocket), so that requests made
 * in the same turn go out in one sendmsg and a reply costs no objects beyond its messages.
 */
import { RawNetlinkSocket } from 'netlink/dist/raw.js';
import { AgentError } from '../../agent/model/errors.js';
import type { NetLink } from '../../agent/model/domain.js';
import type { LinkSource } from '../../agent/model/ports.js';
import { encodeAttr } from './attrs.js';
import { encodeExtMask, parsePfVfInfo, RTEXT_FILTER_VF } from './parse-vfinfo.js';
import { IFINFOMSG_LEN, IFLA, parseLinkMessage } from './parse-link.js';

const NETLINK_ROUTE = 0;
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const NLMSG_NOOP = 1;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLMSG_HDRLEN = 16;
const NLM_F_REQUEST = 0x1;
const NLM_F_MULTI = 0x2;
/** Ask for an acknowledgement: for requests that have no reply of their own. */
export const NLM_F_ACK = 0x4;
/** NLM_F_ROOT | NLM_F_MATCH */
const NLM_F_DUMP = 0x300;

/** A raw netlink message as the `netlink` package hands it over. */
export interface RawMessage {
  readonly type: number;
  readonly data: Buffer;
}

/** An Error carrying the errno name of a netlink NLMSG_ERROR reply, like Node's system errors. */
export function netlinkErrnoError(errno: number, what: string): NodeJS.ErrnoException {
  const names: Record<number, string> = { 1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 13: 'EACCES', 16: 'EBUSY', 22: 'EINVAL', 95: 'EOPNOTSUPP' };
  const code = names[errno] ?? `E${errno}`;
  const err: NodeJS.ErrnoException = new Error(`${what}: ${code}`);
  err.code = code;
  err.errno = -errno;
  return err;
}

/** Throws the errno of an NLMSG_ERROR message carrying a non-zero error. */
export function throwIfNetlinkError(msg: RawMessage, what: string): void {
  if (msg.type !== NLMSG_ERROR || msg.data.length < 4) return;
  const errno = -msg.data.readInt32LE(0);
  if (errno !== 0) throw netlinkErrnoError(errno, what);
}

const abortedError = (signal: AbortSignal): AgentError => new AgentError('E_ABORTED', 'aborted', { cause: signal.reason });

const PAD = Buffer.alloc(4);

/**
 * Size of the message a new socket sends itself. The kernel sizes a dump's datagrams by the
 * largest buffer recvmsg was ever given on the socket (netlink_recvmsg records it, capped just
 * under 32 KiB; netlink_dump allocates that much), and the `netlink` package reads every datagram
 * with a buffer of exactly its size: left alone, a socket's dumps stay at one page per datagram.
 * Reading one 32 KiB message raises it for the socket's life, as iproute2's 32 KiB receive buffer
 * does: 753 links then come in 37 datagrams instead of 378, a pod namespace's links in one
 * instead of about four (the dump's end stays a datagram of its own: the kernel keeps it apart for
 * rtnetlink), each datagram a peek, a read, a Buffer and a callback fewer. Checked without
 * CAP_NET_ADMIN too (setpriv): the send is refused and the dumps come as before.
 */
const DUMP_BUFFER_PRIME_BYTES = 32 * 1024;

interface Pending {
  readonly msgs: RawMessage[];
  readonly resolve: (msgs: readonly RawMessage[]) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * A NETLINK_ROUTE socket that matches replies to requests by sequence number. A reply is complete
 * at its first message that is not part of a multipart answer, or at NLMSG_DONE. Requests made in
 * the same turn of the event loop leave in one sendmsg (a namespace's NSID lookup and its dump:
 * one system call and one send completion instead of two). A socket error fails every pending
 * request and closes the socket; replies nobody waits for are dropped.
 */
export class RtnlSocket {
  readonly #socket: RawNetlinkSocket;
  readonly #port: number;
  readonly #pending = new Map<number, Pending>();
  #seq = 0;
  #queued: Buffer[] = [];
  #queuedSeqs: number[] = [];
  #closed = false;
  #datagrams = 0;
  #largest = 0;

  constructor() {
    this.#socket = new RawNetlinkSocket(NETLINK_ROUTE);
    this.#port = this.#socket.address().port;
    this.#socket.on('message', (buf) => this.#receive(buf));
    this.#socket.on('error', (err) => this.#fail(err));
    // Idle, the socket does not keep the process alive; a request in flight does.
    this.#socket.unref();
    this.#primeDumpBuffer();
  }

  /**
   * Sends the socket a NLMSG_NOOP of {@link DUMP_BUFFER_PRIME_BYTES} (sequence 0, which no request
   * uses; #receive drops it): reading it makes the kernel build this socket's dumps in datagrams of
   * that size. A socket without CAP_NET_ADMIN may not send to a port; it keeps the small datagrams.
   */
  #primeDumpBuffer(): void {
    const noop = Buffer.alloc(DUMP_BUFFER_PRIME_BYTES);
    noop.writeUInt32LE(DUMP_BUFFER_PRIME_BYTES, 0);
    noop.writeUInt16LE(NLMSG_NOOP, 4);
    noop.writeUInt32LE(this.#port, 12);
    this.#socket.send(noop, { port: this.#port }, () => {
      // Refused (EPERM without CAP_NET_ADMIN): only the dumps' datagram size is lost.
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Datagrams received on the socket, and the largest one's size in bytes. */
  get received(): { readonly datagrams: number; readonly largest: number } {
    return { datagrams: this.#datagrams, largest: this.#largest };
  }

  /** Sends one request (NLM_F_REQUEST is added to `flags`) and resolves with its reply's messages. */
  request(type: number, parts: readonly Buffer[], flags: number): Promise<readonly RawMessage[]> {
    if (this.#closed) return Promise.reject(new Error('netlink socket closed'));
    this.#seq = (this.#seq % 0x7fffffff) + 1;
    const seq = this.#seq;
    let len = NLMSG_HDRLEN;
    for (const p of parts) len += p.length;
    const header = Buffer.allocUnsafe(NLMSG_HDRLEN);
    header.writeUInt32LE(len, 0);
    header.writeUInt16LE(type, 4);
    header.writeUInt16LE(flags | NLM_F_REQUEST, 6);
    header.writeUInt32LE(seq, 8);
    header.writeUInt32LE(this.#port, 12);
    const promise = new Promise<readonly RawMessage[]>((resolve, reject) => {
      if (this.#pending.size === 0) this.#socket.ref();
      this.#pending.set(seq, { msgs: [], resolve, reject });
    });
    if (this.#queued.length === 0) queueMicrotask(() => this.#flush());
    this.#queued.push(header, ...parts);
    // The next message of the same sendmsg starts at NLMSG_ALIGN(len).
    if (len % 4 !== 0) this.#queued.push(PAD.subarray(0, 4 - (len % 4)));
    this.#queuedSeqs.push(seq);
    return promise;
  }

  /** Stops waiting for `seq`'s reply (answered, or failed to send). */
  #forget(seq: number): void {
    if (this.#pending.delete(seq) && this.#pending.size === 0 && !this.#closed) this.#socket.unref();
  }

  close(): void {
    if (this.#closed) return;
    this.#fail(new Error('netlink socket closed'));
  }

  #flush(): void {
    const parts = this.#queued;
    const seqs = this.#queuedSeqs;
    this.#queued = [];
    this.#queuedSeqs = [];
    if (this.#closed) return;
    // netlink_rcv_skb walks the messages in order, each answered in turn.
    this.#socket.send(parts, {}, (err) => {
      if (err === undefined) return;
      for (const seq of seqs) {
        const p = this.#pending.get(seq);
        if (!p) continue;
        this.#forget(seq);
        p.reject(err);
      }
    });
  }

  #receive(buf: Buffer): void {
    this.#datagrams++;
    if (buf.length > this.#largest) this.#largest = buf.length;
    let off = 0;
    while (off + NLMSG_HDRLEN <= buf.length) {
      const len = buf.readUInt32LE(off);
      if (len < NLMSG_HDRLEN || off + len > buf.length) break;
      const type = buf.readUInt16LE(off + 4);
      const flags = buf.readUInt16LE(off + 6);
      const seq = buf.readUInt32LE(off + 8);
      const p = this.#pending.get(seq);
      if (p) {
        if (type !== NLMSG_DONE) p.msgs.push({ type, data: buf.subarray(off + NLMSG_HDRLEN, off + len) });
        if (type === NLMSG_DONE || !(flags & NLM_F_MULTI)) {
          this.#forget(seq);
          p.resolve(p.msgs);
        }
      }
      off += (len + 3) & ~3;
    }
  }

  #fail(err: unknown): void {
    this.#closed = true;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(err);
    try {
      this.#socket.close();
    } catch {
      // already closed
    }
  }
}

/**
 * One long-lived NETLINK_ROUTE socket: link dumps of the agent's own namespace and, through
 * IFLA_TARGET_NETNSID, of other namespaces. Requests on it are serialised by the callers (the
 * kernel runs one dump per socket at a time).
 */
export class NetlinkLinkSource implements LinkSource {
  #socket: RtnlSocket | undefined;
  readonly #vfInfo: boolean;
  /**
   * The signal whose abort closes the socket (failing what is pending on it), its listener, and
   * how many of its requests are pending: one listener per signal rather than one per request (a
   * pass over 250 namespaces makes 500 requests with one signal, and each EventTarget listener is
   * several objects). Requests of another signal made while this one's are pending get a listener
   * each.
   */
  #watched: { readonly signal: AbortSignal; readonly onAbort: () => void; pending: number } | undefined;

  /**
   * `vfInfo`: ask the agent's own dumps for SR-IOV VF info (RTEXT_FILTER_VF), decoded into
   * `NetLink.vfInfo`. The driver is asked once or twice per VF then (firmware commands on mlx5),
   * so it is for the host dump only, not for pod namespaces.
   */
  constructor(opts: { readonly vfInfo?: boolean } = {}) {
    this.#vfInfo = opts.vfInfo ?? false;
  }

  /** The socket, opened on first use (and again after a failure). */
  socket(): RtnlSocket {
    if (!this.#socket || this.#socket.closed) this.#socket = new RtnlSocket();
    return this.#socket;
  }

  /**
   * Sends one request and returns the raw reply messages (an NLMSG_ERROR among them is the
   * caller's to read); a transport failure closes the socket. `flags` besides NLM_F_REQUEST:
   * NLM_F_DUMP for a dump, NLM_F_ACK for a request without a reply of its own.
   */
  async request(type: number, parts: Buffer[], flags: number, signal: AbortSignal): Promise<readonly RawMessage[]> {
    if (signal.aborted) throw abortedError(signal);
    const socket = this.socket();
    const watched = this.#watch(signal);
    let onAbort: (() => void) | undefined;
    if (watched) watched.pending++;
    else {
      onAbort = () => {
        if (socket === this.#socket) this.close();
      };
      signal.addEventListener('abort', onAbort, { once: true });
    }
    try {
      return await socket.request(type, parts, flags);
    } catch (err) {
      // A broken socket is replaced on the next call.
      if (socket === this.#socket) this.close();
      if (signal.aborted) throw abortedError(signal);
      throw new AgentError('E_NETLINK', `rtnetlink request ${type} failed`, { cause: err });
    } finally {
      if (watched) watched.pending--;
      else if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Makes `signal` the watched one unless another's requests are pending; undefined then. An
   * abort closes the socket: a dump still running holds it (the kernel answers another with EBUSY
   * until this one is read out), so the next request gets a fresh socket, and closing this one
   * fails what it still waited for, at once.
   */
  #watch(signal: AbortSignal): { pending: number } | undefined {
    const current = this.#watched;
    if (current?.signal === signal) return current;
    if (current && current.pending > 0) return undefined;
    this.#unwatch();
    const onAbort = (): void => {
      // A signal may abort long after its requests were answered (AbortSignal.timeout): then the
      // socket serves others, and only the listener goes.
      if (this.#watched?.signal !== signal) return;
      if (this.#watched.pending > 0) this.close();
      else this.#watched = undefined;
    };
    signal.addEventListener('abort', onAbort, { once: true });
    this.#watched = { signal, onAbort, pending: 0 };
    return this.#watched;
  }

  #unwatch(): void {
    if (this.#watched) this.#watched.signal.removeEventListener('abort', this.#watched.onAbort);
    this.#watched = undefined;
  }

  /** Raw RTM_GETLINK dump, of another namespace when `targetNsid` is given; exposed for the benchmark. */
  dumpRaw(signal: AbortSignal, targetNsid?: number): Promise<readonly RawMessage[]> {
    const parts: Buffer[] = [Buffer.alloc(IFINFOMSG_LEN)];
    if (targetNsid !== undefined) {
      const id = Buffer.alloc(4);
      id.writeInt32LE(targetNsid, 0);
      parts.push(encodeAttr(IFLA.TARGET_NETNSID, id));
    } else if (this.#vfInfo) {
      parts.push(encodeExtMask(RTEXT_FILTER_VF));
    }
    return this.request(RTM_GETLINK, parts, NLM_F_DUMP, signal);
  }

  listLinks(signal: AbortSignal): Promise<readonly NetLink[]> {
    return this.listLinksIn(undefined, signal);
  }

  /** Links of the namespace with id `targetNsid` (undefined: the agent's own). */
  async listLinksIn(targetNsid: number | undefined, signal: AbortSignal): Promise<readonly NetLink[]> {
    const msgs = await this.dumpRaw(signal, targetNsid);
    const links: NetLink[] = [];
    for (const msg of msgs) {
      throwIfNetlinkError(msg, 'RTM_GETLINK');
      if (msg.type !== RTM_NEWLINK) continue;
      const link = parseLinkMessage(msg.data);
      if (!link) continue;
      const vfInfo = targetNsid === undefined && this.#vfInfo ? parsePfVfInfo(msg.data) : undefined;
      links.push(vfInfo ? { ...link, vfInfo } : link);
    }
    return links;
  }

  close(): void {
    this.#unwatch();
    this.#socket?.close();
    this.#socket = undefined;
  }
}
