/**
 * The protobuf wire format (https://protobuf.dev/programming-guides/encoding/), as much of it as
 * the agent's few gRPC messages need: a bounds-checked reader that walks a message's fields and
 * skips the ones it does not know, and a writer for requests. The messages themselves are
 * decoded and encoded by hand beside their services (podresources-proto.ts, cri-proto.ts), field
 * numbers from the vendored .proto files. This replaces @grpc/proto-loader (protobufjs), which
 * parsed the .proto files at start into reflection objects for a handful of messages; the test
 * servers still use protobufjs, so every test checks these codecs against it.
 *
 * Decoding follows what proto-loader gave with `keepCase`, `longs: String`, `enums: String`,
 * `defaults`, `arrays`: scalars default to their zero value, 64-bit integers are decimal strings,
 * enums their names (an unknown number stays a number), repeated fields and maps default to
 * empty. A singular field sent twice keeps its last value (for a message, too: not merged).
 */

/** Wire types. Groups (3, 4) are not proto3 and are refused. */
export const WIRE = { varint: 0, fixed64: 1, len: 2, fixed32: 5 } as const;

/** A malformed or unsupported message; the gRPC client reports it as INTERNAL. */
export class ProtobufError extends Error {
  override readonly name = 'ProtobufError';
}

const TWO_32 = 0x1_0000_0000;

/**
 * Fields one message (nested ones included) may hold. Each decoded field becomes a value or an
 * object, many times its bytes: 16 MiB of empty nested messages would be millions of objects
 * (gigabytes of heap); this bound keeps a hostile answer to tens of MB. The kubelet's List for
 * 500 pods of 5 containers with 4 devices each is about 80,000 fields.
 */
export const MAX_FIELDS = 250_000;

/** Reads one message's fields in order; every read is checked against the message's end. */
export class ProtoReader {
  readonly #buf: Buffer;
  #pos: number;
  readonly #end: number;
  /** Fields left to read in the whole message, shared with its nested readers. */
  readonly #budget: { left: number };

  constructor(buf: Buffer, start = 0, end = buf.length, budget: { left: number } = { left: MAX_FIELDS }) {
    this.#buf = buf;
    this.#pos = start;
    this.#end = end;
    this.#budget = budget;
  }

  /** Whether another field follows. */
  more(): boolean {
    return this.#pos < this.#end;
  }

  /** The next field's tag: its number and wire type. */
  tag(): { field: number; wire: number } {
    if (--this.#budget.left < 0) throw new ProtobufError(`more than ${MAX_FIELDS} fields in one message`);
    const t = this.#varint();
    const field = Math.floor(t / 8);
    if (field === 0) throw new ProtobufError('field number 0');
    return { field, wire: t % 8 };
  }

  /** A varint as a number (exact up to 2^53; int32/uint32/enum/bool take it as is). */
  #varint(): number {
    let result = 0;
    let mult = 1;
    for (let i = 0; i < 10; i++) {
      if (this.#pos >= this.#end) throw new ProtobufError('truncated varint');
      const b = this.#buf[this.#pos++] as number;
      result += (b & 0x7f) * mult;
      if (b < 0x80) return result;
      mult *= 128;
    }
    throw new ProtobufError('varint longer than 10 bytes');
  }

  /** A varint as two 32-bit halves (lo, hi), exact for every 64-bit value. */
  #varint64(): [number, number] {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.#pos >= this.#end) throw new ProtobufError('truncated varint');
      const b = this.#buf[this.#pos++] as number;
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (b < 0x80) return [lo >>> 0, hi >>> 0];
    }
    throw new ProtobufError('varint longer than 10 bytes');
  }

  /** int32 / enum: a varint, its low 32 bits signed (negatives are sent as 10-byte varints). */
  int32(wire: number): number {
    this.#expect(wire, WIRE.varint);
    return this.#varint64()[0] | 0;
  }

  /** uint32: a varint, its low 32 bits. */
  uint32(wire: number): number {
    this.#expect(wire, WIRE.varint);
    return this.#varint64()[0];
  }

  bool(wire: number): boolean {
    this.#expect(wire, WIRE.varint);
    const [lo, hi] = this.#varint64();
    return lo !== 0 || hi !== 0;
  }

  /** int64 as a decimal string. */
  int64(wire: number): string {
    this.#expect(wire, WIRE.varint);
    const [lo, hi] = this.#varint64();
    return decimal64(lo, hi, true);
  }

  /** uint64 as a decimal string. */
  uint64(wire: number): string {
    this.#expect(wire, WIRE.varint);
    const [lo, hi] = this.#varint64();
    return decimal64(lo, hi, false);
  }

  /** repeated int64: packed (one length-delimited run) or not (one varint), both accepted as the spec asks. */
  int64s(wire: number, into: string[]): void {
    if (wire !== WIRE.len) {
      into.push(this.int64(wire));
      return;
    }
    const end = this.#lenEnd();
    const inner = new ProtoReader(this.#buf, this.#pos, end, this.#budget);
    while (inner.more()) {
      if (--this.#budget.left < 0) throw new ProtobufError(`more than ${MAX_FIELDS} fields in one message`);
      into.push(inner.int64(WIRE.varint));
    }
    this.#pos = end;
  }

  string(wire: number): string {
    this.#expect(wire, WIRE.len);
    const end = this.#lenEnd();
    const s = this.#buf.toString('utf8', this.#pos, end);
    this.#pos = end;
    return s;
  }

  /** A nested message: a reader over its bytes (this reader moves past them). */
  message(wire: number): ProtoReader {
    this.#expect(wire, WIRE.len);
    const end = this.#lenEnd();
    const inner = new ProtoReader(this.#buf, this.#pos, end, this.#budget);
    this.#pos = end;
    return inner;
  }

  /** One `map<string, string>` entry (key 1, value 2), added to `into`. */
  mapEntry(wire: number, into: Record<string, string>): void {
    const r = this.message(wire);
    let key = '';
    let value = '';
    while (r.more()) {
      const { field, wire: w } = r.tag();
      if (field === 1) key = r.string(w);
      else if (field === 2) value = r.string(w);
      else r.skip(w);
    }
    // defineProperty, not assignment: a key "__proto__" is an entry like any other, not the prototype.
    Object.defineProperty(into, key, { value, enumerable: true, writable: true, configurable: true });
  }

  /** Skips a field the decoder does not read. */
  skip(wire: number): void {
    switch (wire) {
      case WIRE.varint:
        this.#varint64();
        return;
      case WIRE.fixed64:
        this.#advance(8);
        return;
      case WIRE.len:
        this.#pos = this.#lenEnd();
        return;
      case WIRE.fixed32:
        this.#advance(4);
        return;
      default:
        throw new ProtobufError(`unsupported wire type ${wire}`);
    }
  }

  #advance(n: number): void {
    if (this.#end - this.#pos < n) throw new ProtobufError('truncated field');
    this.#pos += n;
  }

  /** Reads a length prefix; the end of the bytes it announces, checked against this message's end. */
  #lenEnd(): number {
    const len = this.#varint();
    if (len > this.#end - this.#pos) throw new ProtobufError(`length ${len} runs past the message (${this.#end - this.#pos} bytes left)`);
    return this.#pos + len;
  }

  #expect(wire: number, want: number): void {
    if (wire !== want) throw new ProtobufError(`wire type ${wire} where ${want} was expected`);
  }
}

/** A 64-bit integer from its halves, as a decimal string. */
function decimal64(lo: number, hi: number, signed: boolean): string {
  if (hi === 0) return String(lo);
  if (!signed || hi < 0x8000_0000) {
    const v = hi * TWO_32 + lo;
    if (Number.isSafeInteger(v)) return String(v);
  }
  const big = (BigInt(hi) << 32n) | BigInt(lo);
  return (signed ? BigInt.asIntN(64, big) : big).toString();
}

/** Builds one message; nested messages are written with {@link ProtoWriter.message}. */
export class ProtoWriter {
  readonly #parts: Buffer[] = [];

  #tag(field: number, wire: number): void {
    this.#varint(field * 8 + wire);
  }

  #varint(v: number): void {
    const bytes: number[] = [];
    let n = v;
    while (n >= 0x80) {
      bytes.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    bytes.push(n);
    this.#parts.push(Buffer.from(bytes));
  }

  /** A length-delimited field. */
  #bytes(field: number, b: Buffer): this {
    this.#tag(field, WIRE.len);
    this.#varint(b.length);
    this.#parts.push(b);
    return this;
  }

  /** A string field; proto3 leaves out the empty string. */
  string(field: number, value: string | undefined): this {
    if (value === undefined || value === '') return this;
    return this.#bytes(field, Buffer.from(value, 'utf8'));
  }

  /** A bool field; proto3 leaves out false. */
  bool(field: number, value: boolean | undefined): this {
    if (!value) return this;
    this.#tag(field, WIRE.varint);
    this.#varint(1);
    return this;
  }

  /** A non-negative enum or uint32 field; proto3 leaves out 0. */
  uint32(field: number, value: number | undefined): this {
    if (value === undefined || value === 0) return this;
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new ProtobufError(`not a uint32: ${value}`);
    this.#tag(field, WIRE.varint);
    this.#varint(value);
    return this;
  }

  /** A nested message field, written even when empty: its presence is what a filter says. */
  message(field: number, inner: ProtoWriter | undefined): this {
    return inner === undefined ? this : this.#bytes(field, inner.finish());
  }

  /** `map<string, string>` entries. */
  map(field: number, entries: Readonly<Record<string, string>> | undefined): this {
    for (const [k, v] of Object.entries(entries ?? {})) this.message(field, new ProtoWriter().string(1, k).string(2, v));
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

/** An enum's name for its number, or the number when this side does not know it (as proto-loader does). */
export function enumName<N extends string>(names: readonly N[], value: number): N | number {
  return names[value] ?? value;
}

/** An enum's number for its name (or a number given as is). */
export function enumNumber<N extends string>(names: readonly N[], value: N | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return value;
  const i = names.indexOf(value);
  if (i < 0) throw new ProtobufError(`unknown enum value ${value}`);
  return i;
}
