import { describe, expect, it } from 'vitest';
import { attrLength, attrType, firstAttr, forEachAttr, keptMacTexts, keptNameTexts, nextAttr, readAttrMac, readAttrString, rotateKeptTexts } from './attrs.js';
import { nameFromBytes } from '../../agent/rules/names.js';

describe('readAttrString', () => {
  /** `text` as a NUL-terminated attribute payload at offset 3 of a larger buffer. */
  const payload = (bytes: Buffer): Buffer => Buffer.concat([Buffer.from([9, 9, 9]), bytes, Buffer.from([0, 0])]);
  const read = (bytes: Buffer): string => readAttrString(payload(bytes), 3, bytes.length + 1);

  it('reads every name as names.ts decodes it: ASCII as is, UTF-8, bytes that are not, backslashes, controls', () => {
    const names = ['eth0', 'net1', 'macvlan', 'a b', 'x~y', 'dev\\ice', 'ünïcode', '\t\n', '网卡0'].map((n) => Buffer.from(n));
    names.push(Buffer.from([0x65, 0xff, 0x30]), Buffer.from([0xc3]), Buffer.from([0x5c, 0x78, 0x66, 0x66]), Buffer.from([0x7f, 0x41]));
    for (const n of names) {
      // Twice: the first decodes, the second may come from the kept texts; both as names.ts says.
      expect(read(n)).toBe(nameFromBytes(n));
      expect(read(n)).toBe(nameFromBytes(n));
    }
  });

  it('hands out one string per name across reads and dumps, keeps only those read during the last two passes, and never mixes up two names', () => {
    rotateKeptTexts();
    rotateKeptTexts();
    expect(keptNameTexts()).toBe(0);
    const first = read(Buffer.from('net1'));
    expect(read(Buffer.from('net1'))).toBe(first);
    // 20,000 distinct names, more than a generation keeps: each read back as itself.
    for (let i = 0; i < 20_000; i++) expect(read(Buffer.from(`veth${i.toString(36)}`))).toBe(`veth${i.toString(36)}`);
    expect(keptNameTexts()).toBeLessThanOrEqual(2 * 16_384);
    rotateKeptTexts();
    expect(read(Buffer.from('eth0'))).toBe('eth0');
    rotateKeptTexts();
    rotateKeptTexts();
    // Nothing read for two passes: nothing kept.
    expect(keptNameTexts()).toBe(0);
  });
});

describe('readAttrMac', () => {
  it('gives each address its own text, across more addresses than it keeps texts for', () => {
    const buf = Buffer.alloc(8);
    for (let i = 0; i < 40_000; i += 1) {
      // Two reads of each: the second from the kept texts (until they are emptied).
      buf.writeUIntBE(0x0a0000000000 + i * 977, 1, 6);
      const want = [...buf.subarray(1, 7)].map((b) => b.toString(16).padStart(2, '0')).join(':');
      expect(readAttrMac(buf, 1, 6)).toBe(want);
      expect(readAttrMac(buf, 1, 6)).toBe(want);
    }
  });

  it('formats addresses of other lengths (InfiniBand: 20 bytes, none: 0) without keeping them', () => {
    const ib = Buffer.from(Array.from({ length: 20 }, (_, i) => i * 13));
    expect(readAttrMac(ib, 0, 20)).toBe([...ib].map((b) => b.toString(16).padStart(2, '0')).join(':'));
    expect(readAttrMac(ib, 0, 0)).toBe('');
  });

  it('keeps only the texts read during the last two generations', () => {
    rotateKeptTexts();
    rotateKeptTexts();
    expect(keptMacTexts()).toBe(0);
    const buf = Buffer.alloc(6);
    const read = (i: number): string => {
      buf.writeUIntBE(0x020000000000 + i, 0, 6);
      return readAttrMac(buf, 0, 6);
    };
    for (let i = 0; i < 100; i++) read(i);
    expect(keptMacTexts()).toBe(100);
    rotateKeptTexts();
    // Ten read again (a pass that still sees them): moved to the new generation, same text.
    for (let i = 0; i < 10; i++) expect(read(i)).toBe(`02:00:00:00:00:${i.toString(16).padStart(2, '0')}`);
    expect(keptMacTexts()).toBe(110);
    rotateKeptTexts();
    // The 90 not read during the last generation are gone; the ten stay one more.
    expect(keptMacTexts()).toBe(10);
    rotateKeptTexts();
    expect(keptMacTexts()).toBe(0);
  });
});

describe('the attribute walk', () => {
  // A 3-byte payload padded to 4, an empty nested one (flag bit set), then a header claiming 40 bytes of 8.
  const buf = Buffer.from([7, 0, 3, 0, 0x61, 0x62, 0, 0xee, 4, 0, 5, 0x80, 40, 0, 9, 0, 1, 2, 3, 4]);
  const want = [
    [3, 4, 3],
    [5, 12, 0],
  ];

  it('steps over padding, strips the flag bits and stops at a truncated attribute', () => {
    const seen: number[][] = [];
    for (let at = firstAttr(buf, 0, buf.length); at >= 0; at = nextAttr(buf, at, buf.length)) seen.push([attrType(buf, at), at + 4, attrLength(buf, at)]);
    expect(seen).toEqual(want);
    const visited: number[][] = [];
    forEachAttr(buf, 0, buf.length, (type, off, len) => visited.push([type, off, len]));
    expect(visited).toEqual(want);
  });

  it('finds nothing in a range shorter than a header, or whose first header is shorter than itself', () => {
    expect(firstAttr(buf, 0, 3)).toBe(-1);
    expect(firstAttr(Buffer.from([2, 0, 1, 0, 0, 0]), 0, 6)).toBe(-1);
    // The range ends inside the first attribute.
    expect(firstAttr(buf, 0, 6)).toBe(-1);
  });
});
