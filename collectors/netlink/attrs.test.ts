import { describe, expect, it } from 'vitest';
import { attrLength, attrType, firstAttr, forEachAttr, keptMacTexts, nextAttr, readAttrMac, rotateMacTexts } from './attrs.js';

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
    rotateMacTexts();
    rotateMacTexts();
    expect(keptMacTexts()).toBe(0);
    const buf = Buffer.alloc(6);
    const read = (i: number): string => {
      buf.writeUIntBE(0x020000000000 + i, 0, 6);
      return readAttrMac(buf, 0, 6);
    };
    for (let i = 0; i < 100; i++) read(i);
    expect(keptMacTexts()).toBe(100);
    rotateMacTexts();
    // Ten read again (a pass that still sees them): moved to the new generation, same text.
    for (let i = 0; i < 10; i++) expect(read(i)).toBe(`02:00:00:00:00:${i.toString(16).padStart(2, '0')}`);
    expect(keptMacTexts()).toBe(110);
    rotateMacTexts();
    // The 90 not read during the last generation are gone; the ten stay one more.
    expect(keptMacTexts()).toBe(10);
    rotateMacTexts();
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
