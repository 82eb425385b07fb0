/**
 * Decoding of a PF's VF list (`IFLA_VFINFO_LIST`) from its RTM_NEWLINK payload, and the request
 * attribute that makes the kernel send it (`IFLA_EXT_MASK` = RTEXT_FILTER_VF).
 *
 * Layout from include/uapi/linux/if_link.h and include/uapi/linux/rtnetlink.h of Linux 6.17-rc3
 * (as mirrored in github.com/Kingxukai/linux), and the order and defaults from
 * rtnl_fill_vfinfo() in net/core/rtnetlink.c of the same tree:
 *
 *   [IFLA_NUM_VF]            u32
 *   [IFLA_VFINFO_LIST]       nest (no NLA_F_NESTED flag)
 *     [IFLA_VF_INFO]         nest, one per VF
 *       [IFLA_VF_MAC]        struct ifla_vf_mac        { u32 vf; u8 mac[32]; }
 *       [IFLA_VF_BROADCAST]  struct ifla_vf_broadcast  { u8 broadcast[32]; }     (newer kernels)
 *       [IFLA_VF_VLAN]       struct ifla_vf_vlan       { u32 vf, vlan, qos; }
 *       [IFLA_VF_RATE]       struct ifla_vf_rate       { u32 vf, min_tx_rate, max_tx_rate; }
 *       [IFLA_VF_TX_RATE]    struct ifla_vf_tx_rate    { u32 vf, rate; }        (= max_tx_rate)
 *       [IFLA_VF_SPOOFCHK]   struct ifla_vf_spoofchk   { u32 vf, setting; }
 *       [IFLA_VF_LINK_STATE] struct ifla_vf_link_state { u32 vf, link_state; }  (0 auto, 1 enable, 2 disable)
 *       [IFLA_VF_RSS_QUERY_EN] struct ifla_vf_rss_query_en { u32 vf, setting; }
 *       [IFLA_VF_TRUST]      struct ifla_vf_trust      { u32 vf, setting; }
 *       [IFLA_VF_IB_NODE_GUID], [IFLA_VF_IB_PORT_GUID] struct ifla_vf_guid { u32 vf; u64 guid; }  (drivers with ndo_get_vf_guid)
 *       [IFLA_VF_VLAN_LIST]  nest of [IFLA_VF_VLAN_INFO] struct ifla_vf_vlan_info { u32 vf, vlan, qos; __be16 vlan_proto; }
 *       [IFLA_VF_STATS]      nest of u64 IFLA_VF_STATS_* (with IFLA_VF_STATS_PAD where the arch needs 8-byte alignment);
 *                            absent with RTEXT_FILTER_SKIP_STATS and from older kernels; RX/TX_DROPPED came later still
 */
import { attrLength, attrType, encodeU32Attr, firstAttr, forEachAttr, NLA_HDRLEN, nextAttr, readAttrU32 } from './attrs.js';
import { IFINFOMSG_LEN } from './parse-link.js';
import { NO_VF_COUNTERS, type PfVfInfo, type VfCounters, type VfLinkState, type VfNetlinkInfo } from '../../agent/model/sriov.js';

/** IFLA_* attributes of a link message that carry VF information (enum in if_link.h). */
export const IFLA_NUM_VF = 21;
export const IFLA_VFINFO_LIST = 22;
export const IFLA_EXT_MASK = 29;

/** IFLA_EXT_MASK bits (include/uapi/linux/rtnetlink.h). */
export const RTEXT_FILTER_VF = 1 << 0;
export const RTEXT_FILTER_SKIP_STATS = 1 << 3;

/** The nest inside IFLA_VFINFO_LIST. */
export const IFLA_VF_INFO = 1;

/** IFLA_VF_* attributes inside one IFLA_VF_INFO. */
export const IFLA_VF = {
  MAC: 1,
  VLAN: 2,
  TX_RATE: 3,
  SPOOFCHK: 4,
  LINK_STATE: 5,
  RATE: 6,
  RSS_QUERY_EN: 7,
  STATS: 8,
  TRUST: 9,
  IB_NODE_GUID: 10,
  IB_PORT_GUID: 11,
  VLAN_LIST: 12,
  BROADCAST: 13,
} as const;

/** IFLA_VF_VLAN_INFO inside IFLA_VF_VLAN_LIST. */
export const IFLA_VF_VLAN_INFO = 1;

/** IFLA_VF_STATS_* attributes inside IFLA_VF_STATS (note PAD sits between MULTICAST and RX_DROPPED). */
export const IFLA_VF_STATS = {
  RX_PACKETS: 0,
  TX_PACKETS: 1,
  RX_BYTES: 2,
  TX_BYTES: 3,
  BROADCAST: 4,
  MULTICAST: 5,
  PAD: 6,
  RX_DROPPED: 7,
  TX_DROPPED: 8,
} as const;

/** ARPHRD_INFINIBAND (include/uapi/linux/if_arp.h): the PF's `ifi_type` when VF addresses are 20 bytes. */
export const ARPHRD_INFINIBAND = 32;
const ETH_ALEN = 6;
const INFINIBAND_ALEN = 20;

/** sizeof(struct ifla_vf_mac). */
const VF_MAC_LEN = 36;
/** sizeof(struct ifla_vf_vlan_info) without its tail padding. */
const VF_VLAN_INFO_LEN = 14;
/**
 * rtnl_fill_vfinfo() presets spoofchk, rss_query_en and trusted to -1 and sends them as u32: a
 * driver that does not fill them in leaves 0xffffffff ("not reported", as iproute2 reads it).
 */
const NOT_REPORTED = 0xffffffff;
const ETH_P_8021Q = 0x8100;
const ETH_P_8021AD = 0x88a8;
const LINK_STATES: readonly VfLinkState[] = ['auto', 'enable', 'disable'];
/** IFLA_VF_* attributes whose payload is a struct that starts with `u32 vf`. */
const VF_STRUCTS: ReadonlySet<number> = new Set([
  IFLA_VF.MAC,
  IFLA_VF.VLAN,
  IFLA_VF.TX_RATE,
  IFLA_VF.SPOOFCHK,
  IFLA_VF.LINK_STATE,
  IFLA_VF.RATE,
  IFLA_VF.RSS_QUERY_EN,
  IFLA_VF.TRUST,
  IFLA_VF.IB_NODE_GUID,
  IFLA_VF.IB_PORT_GUID,
]);

const STAT_FIELDS: Readonly<Record<number, keyof VfCounters>> = {
  [IFLA_VF_STATS.RX_PACKETS]: 'rxPackets',
  [IFLA_VF_STATS.TX_PACKETS]: 'txPackets',
  [IFLA_VF_STATS.RX_BYTES]: 'rxBytes',
  [IFLA_VF_STATS.TX_BYTES]: 'txBytes',
  // struct ifla_vf_stats.broadcast/.multicast count received frames (ice: rx_broadcast; mlx5: received_eth_broadcast).
  [IFLA_VF_STATS.BROADCAST]: 'rxBroadcast',
  [IFLA_VF_STATS.MULTICAST]: 'rxMulticast',
  [IFLA_VF_STATS.RX_DROPPED]: 'rxDropped',
  [IFLA_VF_STATS.TX_DROPPED]: 'txDropped',
};

/**
 * The IFLA_EXT_MASK attribute for an RTM_GETLINK request: RTEXT_FILTER_VF by default, so the kernel
 * adds IFLA_NUM_VF and IFLA_VFINFO_LIST to each PF's message.
 */
export function encodeExtMask(mask: number = RTEXT_FILTER_VF): Buffer {
  return encodeU32Attr(IFLA_EXT_MASK, mask);
}

/**
 * The payload parts of an RTM_GETLINK request that asks for VF information: an all-zero ifinfomsg
 * (a dump with NLM_F_DUMP, or `ifindex` for one link with plain NLM_F_REQUEST) and IFLA_EXT_MASK.
 */
export function vfInfoRequestParts(opts: { readonly ifindex?: number; readonly extMask?: number } = {}): Buffer[] {
  const hdr = Buffer.alloc(IFINFOMSG_LEN);
  if (opts.ifindex !== undefined) hdr.writeInt32LE(opts.ifindex, 4);
  return [hdr, encodeExtMask(opts.extMask)];
}

/** 8-byte GUID as the kernel holds it (host-order u64), written most significant byte first as iproute2 prints it. */
function readGuid(buf: Buffer, off: number, len: number): string | undefined {
  // struct ifla_vf_guid is { u32 vf; u64 guid; }: the guid sits at 8 where u64 is 8-aligned (x86-64, arm64), at 4 on i386.
  const at = len >= 16 ? 8 : len >= 12 ? 4 : -1;
  if (at < 0) return undefined;
  const hex = buf.readBigUInt64LE(off + at).toString(16).padStart(16, '0');
  return hex.replace(/(..)(?!$)/g, '$1:');
}

function readMac(buf: Buffer, off: number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += (i ? ':' : '') + (buf[off + i] as number).toString(16).padStart(2, '0');
  return s;
}

/** A u32 field at byte `at` of a struct attribute, when the attribute is long enough. */
function field(buf: Buffer, off: number, len: number, at: number): number | undefined {
  return len >= at + 4 ? buf.readUInt32LE(off + at) : undefined;
}

/** A `setting` u32 that is a boolean, or "not reported". */
function setting(v: number | undefined): boolean | undefined {
  return v === undefined || v === NOT_REPORTED ? undefined : v !== 0;
}

function parseVfStats(buf: Buffer, off: number, len: number): VfCounters {
  const out: { -readonly [K in keyof VfCounters]: VfCounters[K] } = { ...NO_VF_COUNTERS };
  forEachAttr(buf, off, off + len, (type, o, l) => {
    const name = STAT_FIELDS[type];
    // IFLA_VF_STATS_PAD carries nothing; a counter that is not a whole u64 is left out.
    if (name !== undefined && l >= 8) out[name] = buf.readBigUInt64LE(o);
  });
  return out;
}

/** One IFLA_VF_INFO nest; undefined when no attribute says which VF it is. */
export function parseVfInfo(buf: Buffer, off: number, len: number, addrLen: number = ETH_ALEN): VfNetlinkInfo | undefined {
  let index: number | undefined;
  let mac: string | undefined;
  let vlan: number | undefined;
  let qos: number | undefined;
  let vlanProto: string | undefined;
  let listVlan: { vlan: number; qos: number; proto: string | undefined } | undefined;
  let minTxRate: number | undefined;
  let maxTxRate: number | undefined;
  let txRate: number | undefined;
  let spoofCheck: boolean | undefined;
  let linkState: VfLinkState | undefined;
  let trust: boolean | undefined;
  let rssQuery: boolean | undefined;
  let nodeGuid: string | undefined;
  let portGuid: string | undefined;
  let stats: VfCounters | undefined;

  forEachAttr(buf, off, off + len, (type, o, l) => {
    // Every ifla_vf_* struct starts with `u32 vf`: whichever of them comes first names the VF.
    if (VF_STRUCTS.has(type)) index ??= readAttrU32(buf, o, l);
    switch (type) {
      case IFLA_VF.MAC:
        if (l >= VF_MAC_LEN) mac = readMac(buf, o + 4, Math.min(addrLen, 32));
        break;
      case IFLA_VF.VLAN:
        vlan = field(buf, o, l, 4);
        qos = field(buf, o, l, 8);
        break;
      case IFLA_VF.VLAN_LIST:
        forEachAttr(buf, o, o + l, (t, vo, vl) => {
          if (t !== IFLA_VF_VLAN_INFO || vl < VF_VLAN_INFO_LEN || listVlan) return;
          const proto = buf.readUInt16BE(vo + 12);
          listVlan = {
            vlan: buf.readUInt32LE(vo + 4),
            qos: buf.readUInt32LE(vo + 8),
            proto: proto === ETH_P_8021Q ? '802.1Q' : proto === ETH_P_8021AD ? '802.1ad' : undefined,
          };
        });
        break;
      case IFLA_VF.TX_RATE:
        txRate = field(buf, o, l, 4);
        break;
      case IFLA_VF.RATE:
        minTxRate = field(buf, o, l, 4);
        maxTxRate = field(buf, o, l, 8);
        break;
      case IFLA_VF.SPOOFCHK:
        spoofCheck = setting(field(buf, o, l, 4));
        break;
      case IFLA_VF.LINK_STATE: {
        const v = field(buf, o, l, 4);
        linkState = v === undefined ? undefined : LINK_STATES[v];
        break;
      }
      case IFLA_VF.RSS_QUERY_EN:
        rssQuery = setting(field(buf, o, l, 4));
        break;
      case IFLA_VF.TRUST:
        trust = setting(field(buf, o, l, 4));
        break;
      case IFLA_VF.IB_NODE_GUID:
        nodeGuid = readGuid(buf, o, l);
        break;
      case IFLA_VF.IB_PORT_GUID:
        portGuid = readGuid(buf, o, l);
        break;
      case IFLA_VF.STATS:
        stats = parseVfStats(buf, o, l);
        break;
      default:
        break;
    }
  });
  if (index === undefined) return undefined;
  if (listVlan) {
    // IFLA_VF_VLAN_LIST (newer kernels) carries the protocol too; the kernel fills both from the same values.
    ({ vlan, qos } = listVlan);
    vlanProto = listVlan.proto;
  }
  return {
    index,
    mac,
    vlan,
    qos,
    vlanProto,
    minTxRateMbps: minTxRate,
    // IFLA_VF_TX_RATE is the older form of the ceiling; IFLA_VF_RATE wins where both are sent.
    maxTxRateMbps: maxTxRate ?? txRate,
    spoofCheck,
    linkState,
    trust,
    rssQuery,
    nodeGuid,
    portGuid,
    stats,
  };
}

/** The IFLA_VF_INFO entries of an IFLA_VFINFO_LIST payload, in the order the kernel sent them. */
export function parseVfInfoList(buf: Buffer, off: number, len: number, addrLen: number = ETH_ALEN): VfNetlinkInfo[] {
  const vfs: VfNetlinkInfo[] = [];
  forEachAttr(buf, off, off + len, (type, o, l) => {
    if (type !== IFLA_VF_INFO) return;
    const vf = parseVfInfo(buf, o, l, addrLen);
    if (vf) vfs.push(vf);
  });
  return vfs;
}

/**
 * The VF information of one RTM_NEWLINK payload (ifinfomsg + attributes), or undefined when the
 * message carries none (not a PF, or the request lacked RTEXT_FILTER_VF). An InfiniBand PF
 * (`ifi_type` ARPHRD_INFINIBAND) gets 20-byte VF addresses, as iproute2 prints them.
 */
export function parsePfVfInfo(data: Buffer): PfVfInfo | undefined {
  if (data.length < IFINFOMSG_LEN) return undefined;
  const addrLen = data.readUInt16LE(2) === ARPHRD_INFINIBAND ? INFINIBAND_ALEN : ETH_ALEN;
  let numVfs: number | undefined;
  let vfs: VfNetlinkInfo[] | undefined;
  // Every host link's message goes through here (most carry no VF information): no visitor closure.
  for (let at = firstAttr(data, IFINFOMSG_LEN, data.length); at >= 0; at = nextAttr(data, at, data.length)) {
    const type = attrType(data, at);
    if (type === IFLA_NUM_VF) numVfs = readAttrU32(data, at + NLA_HDRLEN, attrLength(data, at));
    else if (type === IFLA_VFINFO_LIST) vfs = parseVfInfoList(data, at + NLA_HDRLEN, attrLength(data, at), addrLen);
  }
  if (numVfs === undefined && vfs === undefined) return undefined;
  return { numVfs, vfs: vfs ?? [] };
}
