/**
 * Test support: builds a PF's RTM_NEWLINK payload with IFLA_NUM_VF and IFLA_VFINFO_LIST byte by
 * byte, laid out per include/uapi/linux/if_link.h and in the order rtnl_fill_vfinfo() of
 * net/core/rtnetlink.c (Linux 6.17) writes it, for PFs a test machine cannot have.
 * (Under testdata/ so the build leaves it out; test/support/ next to encode-link.ts is its natural home.)
 */
import { encodeAttr, encodeU32Attr } from '../../netlink/attrs.js';
import { IFINFOMSG_LEN, IFLA } from '../../netlink/parse-link.js';
import { IFLA_NUM_VF, IFLA_VF, IFLA_VF_INFO, IFLA_VF_STATS, IFLA_VF_VLAN_INFO, IFLA_VFINFO_LIST } from '../../netlink/parse-vfinfo.js';

/** The eight u64 counters of struct ifla_vf_stats, in IFLA_VF_STATS_* order. */
export interface VfStatsSpec {
  readonly rxPackets: bigint;
  readonly txPackets: bigint;
  readonly rxBytes: bigint;
  readonly txBytes: bigint;
  readonly broadcast: bigint;
  readonly multicast: bigint;
  /** IFLA_VF_STATS_RX_DROPPED/TX_DROPPED, which older kernels do not send; omit to model one. */
  readonly rxDropped?: bigint;
  readonly txDropped?: bigint;
}

/** What one VF's IFLA_VF_INFO says; unset fields are sent as the kernel's defaults. */
export interface VfSpec {
  readonly vf: number;
  /** Hex bytes, colon-separated; 6 for Ethernet, 20 for InfiniBand. All zeros when unset. */
  readonly mac?: string;
  readonly vlan?: number;
  readonly qos?: number;
  /** ETH_P_8021Q (0x8100, the default) or ETH_P_8021AD (0x88a8). */
  readonly vlanProto?: number;
  readonly minTxRate?: number;
  readonly maxTxRate?: number;
  /** `undefined`: the driver did not report it (the kernel's preset -1). */
  readonly spoofchk?: boolean;
  /** IFLA_VF_LINK_STATE_AUTO 0, ENABLE 1, DISABLE 2. */
  readonly linkState?: number;
  readonly rssQueryEn?: boolean;
  readonly trust?: boolean;
  readonly nodeGuid?: bigint;
  readonly portGuid?: bigint;
  /** Omitted: the IFLA_VF_STATS nest is not sent (RTEXT_FILTER_SKIP_STATS, or an older kernel). */
  readonly stats?: VfStatsSpec;
  /** Put an IFLA_VF_STATS_PAD before each counter, as nla_put_u64_64bit() does on arches without efficient unaligned access. */
  readonly statsPad?: boolean;
  /** Leave out the attributes older kernels did not send (IFLA_VF_BROADCAST, IFLA_VF_VLAN_LIST, IFLA_VF_TRUST). */
  readonly oldKernel?: boolean;
}

/** Kernel's "driver did not say" value for spoofchk, rss_query_en and trusted. */
const UNSET = 0xffffffff;

function u32s(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32LE(v >>> 0, i * 4));
  return b;
}

function bool(v: boolean | undefined): number {
  return v === undefined ? UNSET : v ? 1 : 0;
}

function guid(vf: number, value: bigint): Buffer {
  // struct ifla_vf_guid { __u32 vf; __u64 guid; }: 4 bytes of padding before the u64 on x86-64.
  const b = Buffer.alloc(16);
  b.writeUInt32LE(vf, 0);
  b.writeBigUInt64LE(value, 8);
  return b;
}

function u64(type: number, value: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(value, 0);
  return encodeAttr(type, b);
}

/** One IFLA_VF_INFO attribute (a nest, written without NLA_F_NESTED as nla_nest_start_noflag() does). */
export function encodeVfInfo(spec: VfSpec): Buffer {
  const { vf } = spec;
  const mac = Buffer.alloc(36); // struct ifla_vf_mac { __u32 vf; __u8 mac[32]; }
  mac.writeUInt32LE(vf, 0);
  if (spec.mac) Buffer.from(spec.mac.split(':').map((h) => parseInt(h, 16))).copy(mac, 4);
  const vlan = spec.vlan ?? 0;
  const qos = spec.qos ?? 0;
  const maxRate = spec.maxTxRate ?? 0;
  const parts: Buffer[] = [encodeAttr(IFLA_VF.MAC, mac)];
  if (!spec.oldKernel) parts.push(encodeAttr(IFLA_VF.BROADCAST, Buffer.alloc(32, 0xff)));
  parts.push(
    encodeAttr(IFLA_VF.VLAN, u32s(vf, vlan, qos)),
    encodeAttr(IFLA_VF.RATE, u32s(vf, spec.minTxRate ?? 0, maxRate)),
    encodeAttr(IFLA_VF.TX_RATE, u32s(vf, maxRate)),
    encodeAttr(IFLA_VF.SPOOFCHK, u32s(vf, bool(spec.spoofchk))),
    encodeAttr(IFLA_VF.LINK_STATE, u32s(vf, spec.linkState ?? 0)),
    encodeAttr(IFLA_VF.RSS_QUERY_EN, u32s(vf, bool(spec.rssQueryEn))),
  );
  if (!spec.oldKernel) parts.push(encodeAttr(IFLA_VF.TRUST, u32s(vf, bool(spec.trust))));
  if (spec.nodeGuid !== undefined) parts.push(encodeAttr(IFLA_VF.IB_NODE_GUID, guid(vf, spec.nodeGuid)));
  if (spec.portGuid !== undefined) parts.push(encodeAttr(IFLA_VF.IB_PORT_GUID, guid(vf, spec.portGuid)));
  if (!spec.oldKernel) {
    // struct ifla_vf_vlan_info { __u32 vf, vlan, qos; __be16 vlan_proto; } is 16 bytes with its tail padding.
    const info = Buffer.alloc(16);
    info.writeUInt32LE(vf, 0);
    info.writeUInt32LE(vlan, 4);
    info.writeUInt32LE(qos, 8);
    info.writeUInt16BE(spec.vlanProto ?? 0x8100, 12);
    parts.push(encodeAttr(IFLA_VF.VLAN_LIST, encodeAttr(IFLA_VF_VLAN_INFO, info)));
  }
  if (spec.stats) {
    const s = spec.stats;
    const counters: [number, bigint | undefined][] = [
      [IFLA_VF_STATS.RX_PACKETS, s.rxPackets],
      [IFLA_VF_STATS.TX_PACKETS, s.txPackets],
      [IFLA_VF_STATS.RX_BYTES, s.rxBytes],
      [IFLA_VF_STATS.TX_BYTES, s.txBytes],
      [IFLA_VF_STATS.BROADCAST, s.broadcast],
      [IFLA_VF_STATS.MULTICAST, s.multicast],
      [IFLA_VF_STATS.RX_DROPPED, s.rxDropped],
      [IFLA_VF_STATS.TX_DROPPED, s.txDropped],
    ];
    const nest: Buffer[] = [];
    for (const [type, value] of counters) {
      if (value === undefined) continue;
      if (spec.statsPad) nest.push(encodeAttr(IFLA_VF_STATS.PAD, Buffer.alloc(0)));
      nest.push(u64(type, value));
    }
    parts.push(encodeAttr(IFLA_VF.STATS, Buffer.concat(nest)));
  }
  return encodeAttr(IFLA_VF_INFO, Buffer.concat(parts));
}

/** The IFLA_VFINFO_LIST attribute for `vfs`. */
export function encodeVfInfoList(vfs: readonly VfSpec[]): Buffer {
  return encodeAttr(IFLA_VFINFO_LIST, Buffer.concat(vfs.map(encodeVfInfo)));
}

/** A PF's RTM_NEWLINK payload: ifinfomsg, IFLA_IFNAME, IFLA_NUM_VF and IFLA_VFINFO_LIST. */
export function encodePfMessage(pf: { readonly ifindex: number; readonly name: string; readonly arphrd?: number; readonly numVfs?: number }, vfs: readonly VfSpec[]): Buffer {
  const hdr = Buffer.alloc(IFINFOMSG_LEN);
  hdr.writeUInt16LE(pf.arphrd ?? 1, 2); // ARPHRD_ETHER
  hdr.writeInt32LE(pf.ifindex, 4);
  hdr.writeUInt32LE(0x1 | 0x40, 8); // IFF_UP | IFF_RUNNING
  return Buffer.concat([
    hdr,
    encodeAttr(IFLA.IFNAME, Buffer.from(`${pf.name}\0`, 'latin1')),
    encodeU32Attr(IFLA.MTU, 1500),
    encodeU32Attr(IFLA_NUM_VF, pf.numVfs ?? vfs.length),
    encodeVfInfoList(vfs),
  ]);
}
