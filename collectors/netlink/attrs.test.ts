import { describe, expect, it } from 'vitest';
import { keptMacTexts, readAttrMac, rotateMacTexts } from './attrs.js';

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
