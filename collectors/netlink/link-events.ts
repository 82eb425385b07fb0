/**
 * Link changes as the kernel announces them: a NETLINK_ROUTE socket in the RTNLGRP_LINK
 * multicast group gets RTM_NEWLINK/RTM_DELLINK for every link of the agent's namespace, a few
 * milliseconds after the change. When the socket overruns (ENOBUFS: more changes than its
 * buffer held), some announcements are lost: the listener is told to resynchronise from a dump.
 */
import { createNetlink, type NetlinkSocket } from 'netlink/dist/netlink.js';
import type { NetLink } from '../../agent/model/domain.js';
import type { LinkChange, LinkEventSource, Logger } from '../../agent/model/ports.js';
import { parseLinkMessage } from './parse-link.js';

const NETLINK_ROUTE = 0;
const RTNLGRP_LINK = 1;
const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;

/** Subscribes to RTNLGRP_LINK. */
export class NetlinkLinkEvents implements LinkEventSource {
  readonly #log: Logger;
  #socket: NetlinkSocket | undefined;

  constructor(opts: { log: Logger }) {
    this.#log = opts.log;
  }

  start(onChange: (c: LinkChange) => void, onResync: () => void): void {
    const socket = createNetlink(NETLINK_ROUTE);
    socket.addMembership(RTNLGRP_LINK);
    socket.on('message', (msgs) => {
      for (const m of msgs) {
        if (m.type !== RTM_NEWLINK && m.type !== RTM_DELLINK) continue;
        const link: NetLink | undefined = parseLinkMessage(m.data);
        if (link) onChange({ removed: m.type === RTM_DELLINK, link });
      }
    });
    socket.on('error', (err) => {
      // ENOBUFS: announcements were lost; what is true now must be read again.
      this.#log.debug({ err }, 'link event socket error; resynchronising');
      onResync();
    });
    this.#socket = socket;
  }

  stop(): void {
    this.#socket?.close();
    this.#socket = undefined;
  }
}
