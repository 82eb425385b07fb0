/**
 * rtnetlink link dump adapter: one RTM_GETLINK dump per call on one long-lived NETLINK_ROUTE
 * socket, decoded by our own lean parser (the `netlink` package's generic parser costs about
 * 40 ms for 750 links here; reading the raw dump costs about 8 ms).
 */
import { createNetlink, type NetlinkSocket } from 'netlink';
import { AgentError } from '../../agent/errors.js';
import type { NetLink } from '../../agent/domain.js';
import type { LinkSource } from '../../agent/ports.js';
import { IFINFOMSG_LEN, parseLinkMessage } from './parse-link.js';

const NETLINK_ROUTE = 0;
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const NLMSG_ERROR = 2;
/** NLM_F_ROOT | NLM_F_MATCH */
const NLM_F_DUMP = 0x300;

/** A raw netlink message as the `netlink` package hands it over. */
interface RawMessage {
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

/** Lists links of the agent's own network namespace with one rtnetlink dump. */
export class NetlinkLinkSource implements LinkSource {
  #socket: NetlinkSocket | undefined;

  #open(): NetlinkSocket {
    this.#socket ??= createNetlink(NETLINK_ROUTE);
    return this.#socket;
  }

  /** Raw RTM_GETLINK dump; exposed for the benchmark's kernel round-trip figure. */
  async dumpRaw(signal: AbortSignal): Promise<readonly RawMessage[]> {
    const ifinfomsg = Buffer.alloc(IFINFOMSG_LEN);
    try {
      const [msgs] = await abortable(
        this.#open().request(RTM_GETLINK, [ifinfomsg], { flags: NLM_F_DUMP, checkError: false }),
        signal,
      );
      return msgs;
    } catch (err) {
      if (err instanceof AgentError) throw err;
      // A broken socket is replaced on the next call.
      this.close();
      throw new AgentError('E_NETLINK', 'rtnetlink link dump failed', { cause: err });
    }
  }

  async listLinks(signal: AbortSignal): Promise<readonly NetLink[]> {
    const msgs = await this.dumpRaw(signal);
    const links: NetLink[] = [];
    for (const msg of msgs) {
      throwIfNetlinkError(msg, 'RTM_GETLINK');
      if (msg.type !== RTM_NEWLINK) continue;
      const link = parseLinkMessage(msg.data);
      if (link) links.push(link);
    }
    return links;
  }

  close(): void {
    this.#socket?.close();
    this.#socket = undefined;
  }
}
