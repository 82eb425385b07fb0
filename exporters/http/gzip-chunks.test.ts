import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ChunkedGzip } from './gzip-chunks.js';

const decode = (pieces: readonly Buffer[]): Buffer => gunzipSync(Buffer.concat(pieces));

describe('ChunkedGzip', () => {
  it('is one gzip stream of the chunks in order, whatever their sizes', async () => {
    const gz = new ChunkedGzip();
    const big = Buffer.from('multinet_pod_interface_receive_bytes_total{namespace="cnf",pod="upf-0",interface="net1"} 123\n'.repeat(40_000));
    const cases: Buffer[][] = [
      [big, Buffer.from('\n# HELP a b\n# TYPE a gauge\na 1\n')],
      [Buffer.from('x')],
      [Buffer.alloc(0), Buffer.from('tail')],
      [Buffer.from('é1 \u202e ✓'), Buffer.alloc(0), Buffer.from([0, 255, 10])],
      [],
    ];
    for (const chunks of cases) expect(decode(await gz.compress(chunks)).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('compresses the first chunk once while that Buffer is served, and the rest every time', async () => {
    const gz = new ChunkedGzip();
    const head = Buffer.from('head\n'.repeat(1000));
    const a = await gz.compress([head, Buffer.from('one\n')]);
    const b = await gz.compress([head, Buffer.from('two\n')]);
    expect(a[1]).toBe(b[1]); // the same segment, not a new compression
    expect(decode(b).toString()).toBe(`${'head\n'.repeat(1000)}two\n`);
    const other = await gz.compress([Buffer.from(head), Buffer.from('two\n')]);
    expect(other[1]).not.toBe(b[1]);
    expect(decode(other).equals(decode(b))).toBe(true);
  });

  it('writes the trailer gunzip checks: CRC-32 and length of the whole body', async () => {
    const pieces = await new ChunkedGzip().compress([Buffer.from('abc'), Buffer.from('def')]);
    const all = Buffer.concat(pieces);
    expect(all.readUInt32LE(all.length - 4)).toBe(6);
    all.writeUInt32LE(all.readUInt32LE(all.length - 8) ^ 1, all.length - 8);
    expect(() => gunzipSync(all)).toThrow();
  });
});
