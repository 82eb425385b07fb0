/**
 * gzip of a body sent in chunks, where the first chunk (the snapshot's exposition, shared by every
 * scrape of one snapshot) is compressed once and the rest per response. One gzip member (RFC
 * 1952) whose deflate stream is the chunks' raw-deflate segments in order: each compressed by its
 * own compressor and ended by a sync flush (byte-aligned, not final), then an empty final block.
 * A deflate stream is any sequence of blocks (RFC 1951 §3.2.3) and no segment refers back past
 * its own start, so the result is one ordinary gzip stream, the way pigz joins the blocks it
 * compresses in parallel. zlib level 1: an exposition is long runs of the same label names and
 * values, so the fastest level already shrinks it about twentyfold; higher levels cost several
 * times the CPU for a few percent fewer bytes (npm run bench prints both figures).
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const deflateRaw = promisify<zlib.InputType, zlib.ZlibOptions, Buffer>(zlib.deflateRaw);
const SEGMENT_OPTIONS: zlib.ZlibOptions = { level: zlib.constants.Z_BEST_SPEED, finishFlush: zlib.constants.Z_SYNC_FLUSH };
/** ID1 ID2, CM=8 (deflate), no flags, no MTIME, XFL=0, OS=255 (unknown), as Go's compress/gzip writes it. */
const HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
/** An empty final block with fixed codes: BFINAL=1, BTYPE=01, end-of-block. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

interface Segment {
  readonly deflated: Buffer;
  /** CRC-32 of the chunk alone. */
  readonly crc: number;
}

/** Compresses bodies given as chunks; the first chunk's segment is kept while that Buffer lives. */
export class ChunkedGzip {
  readonly #first = new WeakMap<Buffer, Promise<Segment>>();

  #segment(chunk: Buffer): Promise<Segment> {
    // One piece: cut into four compressed at once on the thread pool, 2.9 MB took twice as long
    // here (10 ms against 5), each compressor's setup costing more than the parallelism saved.
    return deflateRaw(chunk, SEGMENT_OPTIONS).then((deflated) => ({ deflated, crc: zlib.crc32(chunk) }));
  }

  /** The gzip stream of the chunks' concatenation, as pieces to send in order. */
  async compress(chunks: readonly Buffer[]): Promise<Buffer[]> {
    const [head, ...rest] = chunks;
    if (head === undefined) return [zlib.gzipSync(Buffer.alloc(0))];
    let first = this.#first.get(head);
    if (first === undefined) {
      first = this.#segment(head);
      this.#first.set(head, first);
      // A failed compression is not kept: the next response tries again.
      first.catch(() => this.#first.delete(head));
    }
    const segments = await Promise.all([first, ...rest.map((c) => deflateRaw(c, SEGMENT_OPTIONS))]);
    let crc = (segments[0] as Segment).crc;
    let size = head.length;
    for (const c of rest) {
      // Node 20's zlib.crc32 of an empty buffer is 0 whatever the starting value: skip those.
      if (c.length > 0) crc = zlib.crc32(c, crc);
      size += c.length;
    }
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc >>> 0, 0);
    trailer.writeUInt32LE(size % 2 ** 32, 4);
    return [HEADER, (segments[0] as Segment).deflated, ...(segments.slice(1) as Buffer[]), FINAL_BLOCK, trailer];
  }
}
