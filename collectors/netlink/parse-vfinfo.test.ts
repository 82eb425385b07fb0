import { describe, expect, it } from 'vitest';
import { encodeAttr, forEachAttr } from './attrs.js';
import { IFINFOMSG_LEN } from './parse-link.js';
import { encodePfMessage, encodeVfInfo, encodeVfInfoList, type VfSpec } from '../sriov/testdata/encode-vfinfo.js';
import {
  ARPHRD_INFINIBAND,
  IFLA_EXT_MASK,
  IFLA_VF,
  IFLA_VF_INFO,
  IFLA_VFINFO_LIST,
  parsePfVfInfo,
  parseVfInfo,
  parseVfInfoList,
  RTEXT_FILTER_SKIP_STATS,
  RTEXT_FILTER_VF,
  vfInfoRequestParts,
} from './parse-vfinfo.js';
import { NO_VF_COUNTERS } from '../../agent/model/sriov.js';

/** An E810 (ice) PF with four VFs configured the way an SR-IOV network operator leaves them. */
const E810_VFS: VfSpec[] = [
  {
    vf: 0,
    mac: '52:54:00:aa:00:01',
    spoofchk: true,
    trust: false,
    linkState: 0,
    rssQueryEn: false,
    stats: { rxPackets: 1_000_001n, txPackets: 2_000_002n, rxBytes: 1_500_000_000n, txBytes: 2n ** 40n, broadcast: 11n, multicast: 22n, rxDropped: 3n, txDropped: 4n },
  },
  {
    vf: 1,
    mac: '52:54:00:aa:00:02',
    vlan: 100,
    qos: 3,
    spoofchk: false,
    trust: true,
    linkState: 1,
    rssQueryEn: false,
    minTxRate: 1000,
    maxTxRate: 10000,
    stats: { rxPackets: 5n, txPackets: 6n, rxBytes: 700n, txBytes: 800n, broadcast: 0n, multicast: 1n, rxDropped: 0n, txDropped: 0n },
  },
  {
    vf: 2,
    mac: '52:54:00:aa:00:03',
    spoofchk: true,
    trust: false,
    linkState: 2,
    rssQueryEn: false,
    stats: { rxPackets: 0n, txPackets: 0n, rxBytes: 0n, txBytes: 0n, broadcast: 0n, multicast: 0n, rxDropped: 0n, txDropped: 0n },
  },
  {
    vf: 3,
    // A VF nobody gave a MAC: the kernel reports all zeros.
    spoofchk: true,
    trust: false,
    linkState: 0,
    rssQueryEn: false,
    maxTxRate: 2500,
    stats: { rxPackets: 2n ** 64n - 1n, txPackets: 9n, rxBytes: 10n, txBytes: 11n, broadcast: 12n, multicast: 13n, rxDropped: 14n, txDropped: 15n },
  },
];

describe('parsePfVfInfo on an E810 PF with four VFs', () => {
  const msg = encodePfMessage({ ifindex: 3, name: 'ens1f0' }, E810_VFS);
  const info = parsePfVfInfo(msg);

  it('reads IFLA_NUM_VF and one entry per VF, in order', () => {
    expect(info?.numVfs).toBe(4);
    expect(info?.vfs.map((v) => v.index)).toEqual([0, 1, 2, 3]);
  });

  it('reads MAC, VLAN and QoS, spoof check, trust, link state and rates', () => {
    const [vf0, vf1, vf2, vf3] = info?.vfs ?? [];
    expect(vf0).toMatchObject({ mac: '52:54:00:aa:00:01', vlan: 0, qos: 0, vlanProto: '802.1Q', spoofCheck: true, trust: false, linkState: 'auto', rssQuery: false, minTxRateMbps: 0, maxTxRateMbps: 0 });
    expect(vf1).toMatchObject({ mac: '52:54:00:aa:00:02', vlan: 100, qos: 3, vlanProto: '802.1Q', spoofCheck: false, trust: true, linkState: 'enable', minTxRateMbps: 1000, maxTxRateMbps: 10000 });
    expect(vf2).toMatchObject({ mac: '52:54:00:aa:00:03', spoofCheck: true, linkState: 'disable' });
    expect(vf3).toMatchObject({ mac: '00:00:00:00:00:00', linkState: 'auto', maxTxRateMbps: 2500, nodeGuid: undefined, portGuid: undefined });
  });

  it('reads the eight IFLA_VF_STATS counters as bigint, up to 2^64-1', () => {
    expect(info?.vfs[0]?.stats).toEqual({
      ...NO_VF_COUNTERS,
      rxPackets: 1_000_001n,
      txPackets: 2_000_002n,
      rxBytes: 1_500_000_000n,
      txBytes: 2n ** 40n,
      rxBroadcast: 11n,
      rxMulticast: 22n,
      rxDropped: 3n,
      txDropped: 4n,
    });
    expect(info?.vfs[3]?.stats?.rxPackets).toBe(18_446_744_073_709_551_615n);
    // Netlink VF stats carry no error or transmit broadcast counters: those stay undefined, not 0.
    expect(info?.vfs[1]?.stats).toMatchObject({ rxErrors: undefined, txErrors: undefined, txBroadcast: undefined, txMulticast: undefined });
  });

  it('lays IFLA_VF_INFO out as the kernel does: struct sizes and attribute order', () => {
    // Walk the bytes independently of the parser: the list sits after ifinfomsg, IFNAME, MTU and NUM_VF.
    const types: number[] = [];
    const lens: number[] = [];
    forEachAttr(msg, IFINFOMSG_LEN, msg.length, (type, off, len) => {
      if (type !== IFLA_VFINFO_LIST) return;
      let first = true;
      forEachAttr(msg, off, off + len, (t, o, l) => {
        expect(t).toBe(IFLA_VF_INFO);
        if (!first) return;
        first = false;
        forEachAttr(msg, o, o + l, (vt, _vo, vl) => {
          types.push(vt);
          lens.push(vl);
        });
      });
    });
    expect(types).toEqual([IFLA_VF.MAC, IFLA_VF.BROADCAST, IFLA_VF.VLAN, IFLA_VF.RATE, IFLA_VF.TX_RATE, IFLA_VF.SPOOFCHK, IFLA_VF.LINK_STATE, IFLA_VF.RSS_QUERY_EN, IFLA_VF.TRUST, IFLA_VF.VLAN_LIST, IFLA_VF.STATS]);
    // ifla_vf_mac 36, broadcast 32, ifla_vf_vlan 12, ifla_vf_rate 12, tx_rate 8, spoofchk 8, link_state 8, rss 8, trust 8, vlan list 4+16, stats 8 * (4+8)
    expect(lens).toEqual([36, 32, 12, 12, 8, 8, 8, 8, 8, 20, 96]);
  });
});

describe('parseVfInfo edge cases', () => {
  const one = (spec: VfSpec, addrLen?: number) => {
    const attr = encodeVfInfo(spec);
    return parseVfInfo(attr, 4, attr.readUInt16LE(0) - 4, addrLen);
  };

  it('leaves stats undefined for a driver or kernel that sends no IFLA_VF_STATS', () => {
    const vfs = parseVfInfoList(...listArgs(encodeVfInfoList([{ vf: 0, mac: '02:00:00:00:00:01' }, { vf: 1, mac: '02:00:00:00:00:02', oldKernel: true }])));
    expect(vfs.map((v) => v.stats)).toEqual([undefined, undefined]);
    // An older kernel sends neither IFLA_VF_TRUST nor IFLA_VF_VLAN_LIST: trust and protocol are unknown.
    expect(vfs[1]).toMatchObject({ index: 1, mac: '02:00:00:00:00:02', trust: undefined, vlan: 0, vlanProto: undefined });
  });

  it('leaves rx/tx dropped undefined when the kernel sends only the first six counters', () => {
    const vf = one({ vf: 0, stats: { rxPackets: 1n, txPackets: 2n, rxBytes: 3n, txBytes: 4n, broadcast: 5n, multicast: 6n } });
    expect(vf?.stats).toMatchObject({ rxPackets: 1n, rxMulticast: 6n, rxDropped: undefined, txDropped: undefined });
  });

  it('skips IFLA_VF_STATS_PAD attributes', () => {
    const vf = one({ vf: 2, statsPad: true, stats: { rxPackets: 7n, txPackets: 8n, rxBytes: 9n, txBytes: 10n, broadcast: 11n, multicast: 12n, rxDropped: 13n, txDropped: 14n } });
    expect(vf?.stats).toEqual({ ...NO_VF_COUNTERS, rxPackets: 7n, txPackets: 8n, rxBytes: 9n, txBytes: 10n, rxBroadcast: 11n, rxMulticast: 12n, rxDropped: 13n, txDropped: 14n });
  });

  it('reads "not reported" (0xffffffff) spoof check, trust and RSS query as undefined', () => {
    expect(one({ vf: 0 })).toMatchObject({ spoofCheck: undefined, trust: undefined, rssQuery: undefined, linkState: 'auto' });
  });

  it('reads an 802.1ad VLAN from IFLA_VF_VLAN_LIST', () => {
    expect(one({ vf: 5, vlan: 4094, qos: 7, vlanProto: 0x88a8 })).toMatchObject({ index: 5, vlan: 4094, qos: 7, vlanProto: '802.1ad' });
  });

  it('reads InfiniBand GUIDs and 20-byte addresses of an IB PF', () => {
    const ibAddr = '00:00:10:49:fe:80:00:00:00:00:00:00:0c:42:a1:03:00:7b:8c:01';
    const msg = encodePfMessage({ ifindex: 9, name: 'ib0', arphrd: ARPHRD_INFINIBAND }, [
      { vf: 0, mac: ibAddr, nodeGuid: 0x22443300_33110033n, portGuid: 0x10213312_00112210n, spoofchk: false, trust: false, linkState: 2 },
    ]);
    const vf = parsePfVfInfo(msg)?.vfs[0];
    // iproute2 prints these as NODE_GUID 22:44:33:00:33:11:00:33, PORT_GUID 10:21:33:12:00:11:22:10.
    expect(vf).toMatchObject({ mac: ibAddr, nodeGuid: '22:44:33:00:33:11:00:33', portGuid: '10:21:33:12:00:11:22:10', linkState: 'disable' });
  });

  it('ignores an unknown link state value rather than mislabelling it', () => {
    expect(one({ vf: 0, linkState: 7 })?.linkState).toBeUndefined();
  });
});

/** Payload offset and length of a single top-level attribute, for parseVfInfoList. */
function listArgs(attr: Buffer): [Buffer, number, number] {
  return [attr, 4, attr.readUInt16LE(0) - 4];
}

describe('truncated and odd input', () => {
  const full = encodePfMessage({ ifindex: 3, name: 'ens1f0' }, E810_VFS);

  it('never throws on any prefix of a valid message, and keeps only whole VFs', () => {
    for (let n = 0; n <= full.length; n++) {
      const info = parsePfVfInfo(full.subarray(0, n));
      for (const vf of info?.vfs ?? []) expect(vf.index).toBeGreaterThanOrEqual(0);
      if (n < full.length) expect(info?.vfs.length ?? 0).toBeLessThan(4);
    }
    expect(parsePfVfInfo(full)?.vfs).toHaveLength(4);
  });

  it('returns undefined for a message without VF attributes or shorter than ifinfomsg', () => {
    expect(parsePfVfInfo(Buffer.alloc(8))).toBeUndefined();
    expect(parsePfVfInfo(Buffer.concat([Buffer.alloc(IFINFOMSG_LEN), encodeAttr(3, Buffer.from('eth0\0'))]))).toBeUndefined();
  });

  it('keeps a PF whose list is empty (IFLA_NUM_VF 0)', () => {
    expect(parsePfVfInfo(encodePfMessage({ ifindex: 4, name: 'ens2f1' }, []))).toEqual({ numVfs: 0, vfs: [] });
  });

  it('reports IFLA_NUM_VF above the entries it got when the kernel skipped a VF', () => {
    const msg = encodePfMessage({ ifindex: 3, name: 'ens1f0', numVfs: 4 }, [E810_VFS[0] as VfSpec, E810_VFS[2] as VfSpec]);
    const info = parsePfVfInfo(msg);
    expect(info?.numVfs).toBe(4);
    expect(info?.vfs.map((v) => v.index)).toEqual([0, 2]);
  });

  it('leaves fields of too-short structs undefined and skips entries that name no VF', () => {
    const shortMac = encodeAttr(IFLA_VF.MAC, Buffer.alloc(10));
    const shortVlan = encodeAttr(IFLA_VF.VLAN, Buffer.from([7, 0, 0, 0, 100, 0]));
    const oddStat = encodeAttr(IFLA_VF.STATS, encodeAttr(0, Buffer.alloc(4)));
    const entry = encodeAttr(IFLA_VF_INFO, Buffer.concat([shortMac, shortVlan, oddStat]));
    const nameless = encodeAttr(IFLA_VF_INFO, encodeAttr(IFLA_VF.BROADCAST, Buffer.alloc(32)));
    const foreign = encodeAttr(9, Buffer.alloc(8));
    const vfs = parseVfInfoList(...listArgs(encodeAttr(IFLA_VFINFO_LIST, Buffer.concat([entry, nameless, foreign]))));
    expect(vfs).toHaveLength(1);
    expect(vfs[0]).toMatchObject({ index: 0, mac: undefined, vlan: undefined, qos: undefined, stats: NO_VF_COUNTERS });
  });

  it('reads the VF index from the structs, not from the position in the list', () => {
    const vfs = parseVfInfoList(...listArgs(encodeVfInfoList([{ vf: 7 }, { vf: 3 }])));
    expect(vfs.map((v) => v.index)).toEqual([7, 3]);
  });
});

describe('vfInfoRequestParts', () => {
  it('is an all-zero ifinfomsg and IFLA_EXT_MASK = RTEXT_FILTER_VF', () => {
    const [hdr, mask] = vfInfoRequestParts();
    expect(hdr).toEqual(Buffer.alloc(IFINFOMSG_LEN));
    expect([...(mask as Buffer)]).toEqual([8, 0, IFLA_EXT_MASK, 0, RTEXT_FILTER_VF, 0, 0, 0]);
  });

  it('names one link and other mask bits on request', () => {
    const [hdr, mask] = vfInfoRequestParts({ ifindex: 42, extMask: RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS });
    expect(hdr?.readInt32LE(4)).toBe(42);
    expect(mask?.readUInt32LE(4)).toBe(9);
  });
});
