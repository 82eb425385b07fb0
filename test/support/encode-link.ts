/**
 * Builds RTM_NEWLINK payloads byte by byte, laid out per include/uapi/linux/rtnetlink.h
 * (struct ifinfomsg) and include/uapi/linux/if_link.h (IFLA_*, struct rtnl_link_stats64), for
 * links a test machine cannot have (physical NICs, SR-IOV PFs).
 */
import { encodeAttr, encodeU32Attr } from '../../collectors/netlink/attrs.js';
import { IFINFOMSG_LEN, IFLA } from '../../collectors/netlink/parse-link.js';

/** What a synthetic link says; counters are the first fields of rtnl_link_stats64 in order. */
export interface LinkSpec {
  readonly ifindex: number;
  readonly name: string;
  readonly up: boolean;
  /** IF_OPER_* value: 2 down, 3 lowerlayerdown, 6 up, 0 unknown. */
  readonly operstate: number;
  readonly carrier: boolean;
  readonly carrierChanges: number;
  readonly mtu: number;
  readonly mac?: string;
  readonly kind?: string;
  readonly slaveKind?: string;
  readonly link?: number;
  readonly linkNetnsid?: number;
  readonly master?: number;
  /** IFLA_PARENT_DEV_NAME / IFLA_PARENT_DEV_BUS_NAME (kernel 5.17+). */
  readonly parentDev?: { readonly name: string; readonly bus: string };
  /** rx_packets, tx_packets, rx_bytes, tx_bytes, rx_errors, tx_errors, rx_dropped, tx_dropped, multicast */
  readonly stats?: readonly bigint[];
}

function str(s: string): Buffer {
  return Buffer.from(`${s}\0`, 'latin1');
}

/** The payload of one RTM_NEWLINK message for `spec`. */
export function encodeLinkMessage(spec: LinkSpec): Buffer {
  const hdr = Buffer.alloc(IFINFOMSG_LEN);
  hdr.writeUInt16LE(1, 2); // ARPHRD_ETHER
  hdr.writeInt32LE(spec.ifindex, 4);
  hdr.writeUInt32LE(spec.up ? 0x1 | 0x40 : 0, 8); // IFF_UP | IFF_RUNNING
  const parts: Buffer[] = [hdr, encodeAttr(IFLA.IFNAME, str(spec.name)), encodeU32Attr(IFLA.MTU, spec.mtu)];
  if (spec.mac) parts.push(encodeAttr(IFLA.ADDRESS, Buffer.from(spec.mac.split(':').map((h) => parseInt(h, 16)))));
  parts.push(encodeAttr(IFLA.OPERSTATE, Buffer.from([spec.operstate])));
  parts.push(encodeAttr(IFLA.CARRIER, Buffer.from([spec.carrier ? 1 : 0])));
  parts.push(encodeU32Attr(IFLA.CARRIER_CHANGES, spec.carrierChanges));
  if (spec.link !== undefined) parts.push(encodeU32Attr(IFLA.LINK, spec.link));
  if (spec.linkNetnsid !== undefined) parts.push(encodeU32Attr(IFLA.LINK_NETNSID, spec.linkNetnsid));
  if (spec.master !== undefined) parts.push(encodeU32Attr(IFLA.MASTER, spec.master));
  if (spec.kind || spec.slaveKind) {
    const info: Buffer[] = [];
    if (spec.kind) info.push(encodeAttr(1, str(spec.kind))); // IFLA_INFO_KIND
    if (spec.slaveKind) info.push(encodeAttr(4, str(spec.slaveKind))); // IFLA_INFO_SLAVE_KIND
    parts.push(encodeAttr(IFLA.LINKINFO | 0x8000, Buffer.concat(info))); // NLA_F_NESTED
  }
  if (spec.parentDev) parts.push(encodeAttr(IFLA.PARENT_DEV_NAME, str(spec.parentDev.name)), encodeAttr(IFLA.PARENT_DEV_BUS_NAME, str(spec.parentDev.bus)));
  if (spec.stats) {
    const stats = Buffer.alloc(25 * 8); // 25 u64 fields in kernel 6.x
    spec.stats.forEach((v, i) => stats.writeBigUInt64LE(v, i * 8));
    parts.push(encodeAttr(IFLA.STATS64, stats));
  }
  return Buffer.concat(parts);
}
