/**
 * rtnetlink link dump adapter: one RTM_GETLINK dump per call on one long-lived NETLINK_ROUTE
 * socket, decoded by our own lean parser (the `netlink` package's generic parser costs about
 * 40 ms for 750 links here; reading the raw dump costs about 8 ms).
 */
import { createNetlink, type NetlinkSocket } from 'netlink';
import { AgentError } from '../../agent/model/errors.js';
import type { NetLink } from '../../agent/model/domain.js';
import type { LinkSource } from '../../agent/model/ports.js';
import { encodeAttr } from './attrs.js';
import { encodeExtMask, parsePfVfInfo, RTEXT_FILTER_VF } from './parse-vfinfo.js';
import { IFINFOMSG_LEN, IFLA, parseLinkMessage } from './parse-link.js';

const NETLINK_ROUTE = 0;
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const NLMSG_ERROR = 2;
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

/** Runs `work` unless the signal aborts first; the abort reason becomes an AgentError. */
export function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new AgentError('E_ABORTED', 'aborted', { cause: signal.reason }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AgentError('E_ABORTED', 'aborted', { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * One long-lived NETLINK_ROUTE socket: link dumps of the agent's own namespace and, through
 * IFLA_TARGET_NETNSID, of other namespaces. Requests on it are serialised by the callers (the
 * kernel runs one dump per socket at a time).
 */
export class NetlinkLinkSource implements LinkSource {
  #socket: NetlinkSocket | undefined;
  /** Our netlink port id, looked up once: the package would otherwise call getsockname per message. */
  #port = 0;
  readonly #vfInfo: boolean;

  /**
   * `vfInfo`: ask the agent's own dumps for SR-IOV VF info (RTEXT_FILTER_VF), decoded into
   * `NetLink.vfInfo`. The driver is asked once or twice per VF then (firmware commands on mlx5),
   * so it is for the host dump only, not for pod namespaces.
   */
  constructor(opts: { readonly vfInfo?: boolean } = {}) {
    this.#vfInfo = opts.vfInfo ?? false;
  }

  /** The socket, opened on first use (and again after a failure). */
  socket(): NetlinkSocket {
    if (!this.#socket) {
      this.#socket = createNetlink(NETLINK_ROUTE);
      this.#port = this.#socket.address().port;
    }
    return this.#socket;
  }

  /** Sends one request and returns the raw reply messages; a transport failure closes the socket. */
  async request(type: number, parts: Buffer[], flags: number, signal: AbortSignal): Promise<readonly RawMessage[]> {
    try {
      const socket = this.socket();
      const [msgs] = await abortable(socket.request(type, parts, { flags, checkError: false, localPort: this.#port }), signal);
      return msgs;
    } catch (err) {
      if (err instanceof AgentError) throw err;
      // A broken socket is replaced on the next call.
      this.close();
      throw new AgentError('E_NETLINK', `rtnetlink request ${type} failed`, { cause: err });
    }
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
    this.#socket?.close();
    this.#socket = undefined;
  }
}
