import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { joinHostLinks } from '../../agent/runtime/snapshot.js';
import { encodeLinkMessage } from '../../test/support/encode-link.js';
import { parseLinkMessage } from './parse-link.js';

interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate: string;
  address?: string;
  link?: string;
  link_netnsid?: number;
  master?: string;
  link_index?: number;
  linkinfo?: { info_kind?: string; info_slave_kind?: string };
  stats64: {
    rx: { bytes: number; packets: number; errors: number; dropped: number; multicast: number };
    tx: { bytes: number; packets: number; errors: number; dropped: number };
  };
}

/** A real RTM_GETLINK dump and `ip -s -d -j link` of the same moment (testdata/capture-link-dump.mjs). */
const capture = JSON.parse(readFileSync(new URL('./testdata/link-dump.json', import.meta.url), 'utf8')) as {
  messages: { type: number; data: string }[];
  iproute: IpLink[];
  carrierChanges: Record<string, number>;
};

describe('parseLinkMessage on a real kernel dump', () => {
  const parsed = capture.messages
    .filter((m) => m.type === 16)
    .map((m) => parseLinkMessage(Buffer.from(m.data, 'base64')))
    .filter((l) => l !== undefined);
  const joined = joinHostLinks(parsed, undefined);

  it('finds every link iproute2 lists', () => {
    expect(joined.map((l) => l.name).sort()).toEqual(capture.iproute.map((l) => l.ifname).sort());
  });

  for (const ip of capture.iproute) {
    it(`decodes ${ip.ifname} as iproute2 does`, () => {
      const l = joined.find((x) => x.name === ip.ifname);
      expect(l).toBeDefined();
      if (!l) return;
      expect(l.ifindex).toBe(ip.ifindex);
      expect(l.kind).toBe(ip.linkinfo?.info_kind ?? '');
      expect(l.slaveKind).toBe(ip.linkinfo?.info_slave_kind ?? '');
      expect(l.mtu).toBe(ip.mtu);
      expect(l.mac).toBe(ip.address);
      expect(l.operstate).toBe(ip.operstate.toLowerCase());
      expect(l.adminUp).toBe(ip.flags.includes('UP'));
      // iproute2 shows NO-CARRIER only on links that are up.
      if (ip.flags.includes('UP')) expect(l.carrier).toBe(!ip.flags.includes('NO-CARRIER'));
      expect(l.carrierChanges).toBe(capture.carrierChanges[ip.ifname]);
      expect(l.masterName).toBe(ip.master ?? '');
      // iproute2 names the parent only when it is in this namespace.
      expect(l.parentName).toBe(ip.link ?? '');
      expect(l.parentNetnsid).toBe(ip.link_netnsid);
      if (ip.link_netnsid !== undefined) expect(l.parentIfindex).toBe(ip.link_index);
      expect(l.counters).toEqual({
        rxBytes: BigInt(ip.stats64.rx.bytes),
        rxPackets: BigInt(ip.stats64.rx.packets),
        rxErrors: BigInt(ip.stats64.rx.errors),
        rxDropped: BigInt(ip.stats64.rx.dropped),
        rxMulticast: BigInt(ip.stats64.rx.multicast),
        txBytes: BigInt(ip.stats64.tx.bytes),
        txPackets: BigInt(ip.stats64.tx.packets),
        txErrors: BigInt(ip.stats64.tx.errors),
        txDropped: BigInt(ip.stats64.tx.dropped),
      });
    });
  }

  it('saw traffic on the macvlan, so the counters are not trivially zero', () => {
    const mv = joined.find((l) => l.name === 'mv0');
    expect(mv?.kind).toBe('macvlan');
    expect(mv?.parentName).toBe('vA');
    expect(mv?.counters?.txPackets).toBeGreaterThanOrEqual(3n);
  });
});

describe('parseLinkMessage on odd input', () => {
  it('rejects a payload shorter than struct ifinfomsg', () => {
    expect(parseLinkMessage(Buffer.alloc(8))).toBeUndefined();
  });

  it('rejects a message without IFLA_IFNAME', () => {
    expect(parseLinkMessage(Buffer.alloc(16))).toBeUndefined();
  });

  it('keeps the attributes before a truncated one', () => {
    const full = encodeLinkMessage({ ifindex: 7, name: 'eno1', up: true, operstate: 6, carrier: true, carrierChanges: 2, mtu: 1500 });
    const broken = Buffer.concat([full, Buffer.from([0x40, 0x00, 0x17, 0x00, 1, 2])]); // IFLA_STATS64 claiming 64 bytes
    const l = parseLinkMessage(broken);
    expect(l?.name).toBe('eno1');
    expect(l?.counters).toBeUndefined();
  });

  it('leaves counters undefined, not zero, for a stats64 shorter than the fields exported', () => {
    const l = parseLinkMessage(
      Buffer.concat([
        encodeLinkMessage({ ifindex: 3, name: 'x', up: false, operstate: 2, carrier: false, carrierChanges: 0, mtu: 1500 }),
        Buffer.from([0x0c, 0x00, 0x17, 0x00, 1, 0, 0, 0, 0, 0, 0, 0]),
      ]),
    );
    expect(l?.counters).toBeUndefined();
  });

  it('takes the PCI address of a device on the PCI bus from IFLA_PARENT_DEV_NAME, and nothing else', () => {
    const base = { ifindex: 3, name: 'net1', up: true, operstate: 6, carrier: true, carrierChanges: 0, mtu: 1500 };
    expect(parseLinkMessage(encodeLinkMessage({ ...base, parentDev: { name: '0000:3b:02.1', bus: 'pci' } }))?.pciAddress).toBe('0000:3b:02.1');
    expect(parseLinkMessage(encodeLinkMessage({ ...base, parentDev: { name: 'virtio2', bus: 'virtio' } }))?.pciAddress).toBeUndefined();
    expect(parseLinkMessage(encodeLinkMessage(base))?.pciAddress).toBeUndefined();
  });

  it('maps an operstate from a newer kernel to unknown', () => {
    const l = parseLinkMessage(encodeLinkMessage({ ifindex: 3, name: 'x', up: true, operstate: 42, carrier: true, carrierChanges: 0, mtu: 1500 }));
    expect(l?.operstate).toBe('unknown');
  });
});
