import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteWriter, formatLabels, formatValue, TextBytes, writeLabels } from './exposition.js';

const bytesOf = (write: (out: ByteWriter) => void, capacity?: number): Buffer => {
  const out = new ByteWriter(capacity);
  write(out);
  return out.toBuffer();
};

describe('TextBytes', () => {
  it('hands out the same bytes for a text while renders use it, and forgets one a whole render did not', () => {
    const t = new TextBytes();
    const a = t.get('{a="1"}');
    expect(a.toString()).toBe('{a="1"}');
    expect(t.get('{a="1"}')).toBe(a);
    t.get('{b="ü"}');
    t.rotate();
    // Render 2 uses only b: a is forgotten at its end.
    expect(t.get('{b="ü"}').toString()).toBe('{b="ü"}');
    t.rotate();
    expect(t.size).toBe(1);
    expect(t.get('{a="1"}')).not.toBe(a);
    expect(t.get('{a="1"}').equals(a)).toBe(true);
    t.rotate();
    t.rotate();
    expect(t.size).toBe(0);
  });
});

describe('ByteWriter', () => {
  it('writes label sets byte for byte as formatLabels formats them, whatever the values', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('namespace', 'pod', 'interface', 'network', 'label_app'), fc.string({ unit: 'binary' })), (labels) => {
        expect(bytesOf((out) => writeLabels(out, labels), 1).equals(Buffer.from(formatLabels(labels)))).toBe(true);
      }),
    );
  });

  it('writes values as Prometheus does: integers digit by digit, the rest as formatValue', () => {
    const values = [0, -0, 1, 9, 10, 123456789, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 2 ** 64, -1, 0.5, 1e-7, 1e21, NaN, Infinity, -Infinity];
    for (const v of values) expect(bytesOf((out) => out.value(v)).toString()).toBe(formatValue(v));
    fc.assert(fc.property(fc.double(), (v) => bytesOf((out) => out.value(v), 1).toString() === formatValue(v)));
  });

  it('grows past its first capacity without losing bytes', () => {
    const text = 'é✓x'.repeat(10_000);
    expect(bytesOf((out) => {
      out.string(text);
      out.bytes(Buffer.from('tail'));
    }, 1).toString()).toBe(`${text}tail`);
  });
});
