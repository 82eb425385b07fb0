/**
 * Decoding of RTM_NEWLINK messages (`struct ifinfomsg` + IFLA_* attributes), per
 * include/uapi/linux/rtnetlink.h and include/uapi/linux/if_link.h.
 */
import type { LinkCounters, NetLink, OperState } from '../../agent/model/domain.js';
import { type IfIndex, type IfName, type NetnsId, type PciAddress } from '../../agent/model/ids.js';
import { attrLength, attrType, firstAttr, NLA_HDRLEN, nextAttr, readAttrMac, readAttrS32, readAttrString, readAttrU32, readAttrU8 } from './attrs.js';

/** sizeof(struct ifinfomsg): family u8, pad u8, type u16, index s32, flags u32, change u32. */
export const IFINFOMSG_LEN = 16;

/** IFLA_* attribute types used here (include/uapi/linux/if_link.h). */
export const IFLA = {
  ADDRESS: 1,
  IFNAME: 3,
  MTU: 4,
  LINK: 5,
  MASTER: 10,
  OPERSTATE: 16,
  LINKINFO: 18,
  STATS64: 23,
  EXT_MASK: 29,
  CARRIER: 33,
  CARRIER_CHANGES: 35,
  LINK_NETNSID: 37,
  TARGET_NETNSID: 46,
  /** Name of the device's parent on its bus (`0000:3b:02.1` on PCI), kernel 5.17+. */
  PARENT_DEV_NAME: 56,
  PARENT_DEV_BUS_NAME: 57,
} as const;

/** IFLA_INFO_* attributes nested in IFLA_LINKINFO. */
const IFLA_INFO_KIND = 1;
const IFLA_INFO_SLAVE_KIND = 4;

/** net_device_flags IFF_UP (include/uapi/linux/if.h). */
const IFF_UP = 0x1;

/** IF_OPER_* in the order of their numeric values (include/uapi/linux/if.h). */
const OPERSTATES: readonly OperState[] = [
  'unknown',
  'notpresent',
  'down',
  'lowerlayerdown',
  'testing',
  'dormant',
  'up',
];

/** Byte offsets of the exported fields in `struct rtnl_link_stats64` (24+ u64 fields). */
const STATS64 = {
  rxPackets: 0,
  txPackets: 8,
  rxBytes: 16,
  txBytes: 24,
  rxErrors: 32,
  txErrors: 40,
  rxDropped: 48,
  txDropped: 56,
  multicast: 64,
} as const;
/** The stats64 struct up to and including `multicast`. */
const STATS64_MIN_LEN = 72;

/** Name of an IF_OPER_* value; `unknown` for values from a newer kernel. */
export function operStateName(value: number | undefined): OperState {
  return (value !== undefined ? OPERSTATES[value] : undefined) ?? 'unknown';
}

function readStats64(buf: Buffer, off: number, len: number): LinkCounters | undefined {
  if (len < STATS64_MIN_LEN) return undefined;
  return {
    rxBytes: buf.readBigUInt64LE(off + STATS64.rxBytes),
    rxPackets: buf.readBigUInt64LE(off + STATS64.rxPackets),
    rxErrors: buf.readBigUInt64LE(off + STATS64.rxErrors),
    rxDropped: buf.readBigUInt64LE(off + STATS64.rxDropped),
    rxMulticast: buf.readBigUInt64LE(off + STATS64.multicast),
    txBytes: buf.readBigUInt64LE(off + STATS64.txBytes),
    txPackets: buf.readBigUInt64LE(off + STATS64.txPackets),
    txErrors: buf.readBigUInt64LE(off + STATS64.txErrors),
    txDropped: buf.readBigUInt64LE(off + STATS64.txDropped),
  };
}

/** `IFLA_INFO_KIND` and `IFLA_INFO_SLAVE_KIND` from a nested IFLA_LINKINFO payload. */
export function parseLinkInfo(buf: Buffer, off: number, len: number): { kind: string; slaveKind: string } {
  let kind = '';
  let slaveKind = '';
  const end = off + len;
  for (let at = firstAttr(buf, off, end); at >= 0; at = nextAttr(buf, at, end)) {
    const type = attrType(buf, at);
    if (type === IFLA_INFO_KIND) kind = readAttrString(buf, at + NLA_HDRLEN, attrLength(buf, at));
    else if (type === IFLA_INFO_SLAVE_KIND) slaveKind = readAttrString(buf, at + NLA_HDRLEN, attrLength(buf, at));
  }
  return { kind, slaveKind };
}

/**
 * Decodes the payload of one RTM_NEWLINK message. Returns undefined for a message too short
 * to hold an ifinfomsg or without IFLA_IFNAME.
 */
export function parseLinkMessage(data: Buffer): NetLink | undefined {
  if (data.length < IFINFOMSG_LEN) return undefined;
  const ifindex = data.readInt32LE(4);
  const flags = data.readUInt32LE(8);

  let name: string | undefined;
  let kind = '';
  let slaveKind = '';
  let parentIfindex: number | undefined;
  let parentNetnsid: number | undefined;
  let masterIfindex: number | undefined;
  let operstate: number | undefined;
  let carrier: number | undefined;
  let carrierChanges: number | undefined;
  let mtu: number | undefined;
  let mac: string | undefined;
  let counters: LinkCounters | undefined;
  let parentDevName: string | undefined;
  let parentDevBus: string | undefined;

  for (let at = firstAttr(data, IFINFOMSG_LEN, data.length); at >= 0; at = nextAttr(data, at, data.length)) {
    const off = at + NLA_HDRLEN;
    const len = attrLength(data, at);
    switch (attrType(data, at)) {
      case IFLA.IFNAME:
        name = readAttrString(data, off, len);
        break;
      case IFLA.ADDRESS:
        if (len > 0) mac = readAttrMac(data, off, len);
        break;
      case IFLA.MTU:
        mtu = readAttrU32(data, off, len);
        break;
      case IFLA.LINK:
        parentIfindex = readAttrU32(data, off, len);
        break;
      case IFLA.MASTER:
        masterIfindex = readAttrU32(data, off, len);
        break;
      case IFLA.OPERSTATE:
        operstate = readAttrU8(data, off, len);
        break;
      case IFLA.LINKINFO:
        ({ kind, slaveKind } = parseLinkInfo(data, off, len));
        break;
      case IFLA.STATS64:
        counters = readStats64(data, off, len);
        break;
      case IFLA.CARRIER:
        carrier = readAttrU8(data, off, len);
        break;
      case IFLA.CARRIER_CHANGES:
        carrierChanges = readAttrU32(data, off, len);
        break;
      case IFLA.LINK_NETNSID:
        parentNetnsid = readAttrS32(data, off, len);
        break;
      case IFLA.PARENT_DEV_NAME:
        parentDevName = readAttrString(data, off, len);
        break;
      case IFLA.PARENT_DEV_BUS_NAME:
        parentDevBus = readAttrString(data, off, len);
        break;
      default:
        break;
    }
  }
  if (name === undefined) return undefined;

  return {
    ifindex: ifindex as IfIndex,
    name: name as IfName,
    kind,
    slaveKind,
    // IFLA_LINK is 0 for a link whose lower device has been removed (or is not visible).
    parentIfindex: parentIfindex ? (parentIfindex as IfIndex) : undefined,
    parentNetnsid: parentNetnsid !== undefined && parentNetnsid >= 0 ? (parentNetnsid as NetnsId) : undefined,
    masterIfindex: masterIfindex ? (masterIfindex as IfIndex) : undefined,
    adminUp: (flags & IFF_UP) !== 0,
    operstate: operStateName(operstate),
    carrier: carrier === undefined ? undefined : carrier !== 0,
    carrierChanges,
    mtu,
    mac,
    counters,
    // A VF or host device moved into a pod keeps its PCI parent: the key to its PF and its user.
    pciAddress: parentDevBus === 'pci' && parentDevName ? (parentDevName as PciAddress) : undefined,
  };
}
