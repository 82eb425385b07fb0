/**
 * The Prometheus text format (0.0.4) for the snapshot families, written directly into one
 * Buffer. prom-client's registry formats every sample through generic label objects; at 21,000
 * series (250 pods × 3 networks) that cost about 60 ms per scrape here, more than the whole
 * scrape budget. Here each interface's label set is rendered once and shared by its families,
 * and the body is written byte by byte into a growing Buffer: building it as a JavaScript
 * string cost one string per series, the flattening of the result and a UTF-8 copy on send,
 * about 20 MB of garbage per scrape at 20,000 series (measured with V8's sampling heap profiler).
 */
import { type Family, type Labels } from './family.js';

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

/** `{a="x",b="y"}`, or '' for no labels. */
export function formatLabels(labels: Labels): string {
  let out = '';
  for (const k in labels) out += `${out ? ',' : '{'}${k}="${escapeLabelValue(labels[k] as string)}"`;
  return out ? `${out}}` : '';
}

/** A sample value as Prometheus writes it. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

const NL = 0x0a;
const SPACE = 0x20;
const ZERO = 0x30;
const QUOTE = 0x22;
const CLOSE = 0x7d;

/** An append-only byte buffer that grows by doubling; strings are written as UTF-8. */
export class ByteWriter {
  #buf: Buffer;
  #len = 0;

  constructor(capacity = 64 * 1024) {
    this.#buf = Buffer.allocUnsafe(Math.max(capacity, 256));
  }

  get length(): number {
    return this.#len;
  }

  #ensure(more: number): void {
    if (this.#len + more <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + more) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  byte(b: number): void {
    this.#ensure(1);
    this.#buf[this.#len++] = b;
  }

  /** Appends `s` as UTF-8. */
  string(s: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    this.#ensure(s.length * 3);
    this.#len += this.#buf.write(s, this.#len);
  }

  /** Appends bytes. */
  bytes(b: Uint8Array): void {
    this.#ensure(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  /** Appends a sample value as Prometheus writes it; integers without a temporary string. */
  value(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) {
      this.string(formatValue(v));
      return;
    }
    this.#ensure(16);
    if (v === 0) {
      this.#buf[this.#len++] = ZERO;
      return;
    }
    let digits = 0;
    for (let n = v; n > 0; n = Math.floor(n / 10)) digits++;
    let at = this.#len + digits;
    this.#len = at;
    for (let n = v; n > 0; n = Math.floor(n / 10)) this.#buf[--at] = ZERO + (n % 10);
  }

  /** The bytes written: a view when they fill most of the buffer, else a copy (so spare room is freed). */
  toBuffer(): Buffer {
    const view = this.#buf.subarray(0, this.#len);
    return this.#len >= this.#buf.length * 0.9 ? view : Buffer.from(view);
  }
}

/** `{name="` and `,name="` of label names seen, as bytes; names come from the code, a handful. */
const NAME_BYTES = new Map<string, readonly [Buffer, Buffer]>();
const MAX_NAME_BYTES = 256;

/** Writes `{a="x",b="y"}` (nothing for no labels) straight into `out`: the same bytes as formatLabels, no string built. */
export function writeLabels(out: ByteWriter, labels: Labels): void {
  let first = true;
  for (const k in labels) {
    let names = NAME_BYTES.get(k);
    if (names === undefined) {
      names = [Buffer.from(`{${k}="`), Buffer.from(`,${k}="`)] as const;
      if (NAME_BYTES.size < MAX_NAME_BYTES) NAME_BYTES.set(k, names);
    }
    out.bytes(first ? names[0] : names[1]);
    first = false;
    out.string(escapeLabelValue(labels[k] as string));
    out.byte(QUOTE);
  }
  if (!first) out.byte(CLOSE);
}

/**
 * UTF-8 bytes of the label texts of shared rows, kept from one render to the next while a text
 * is in use: rows whose label strings are the same objects as last time (pod-families keeps them)
 * are copied, not encoded again. A text unused for a whole render is dropped.
 */
export class TextBytes {
  /** Each text's bytes and the render that last used it: one map, swept, not one new map per render (its growth was 3% of a scrape's allocation). */
  readonly #entries = new Map<string, { readonly bytes: Buffer; used: number }>();
  #render = 0;

  get(text: string): Buffer {
    let e = this.#entries.get(text);
    if (e === undefined) {
      e = { bytes: Buffer.from(text), used: this.#render };
      this.#entries.set(text, e);
    } else e.used = this.#render;
    return e.bytes;
  }

  /** Ends a render: a text it did not use is forgotten. */
  rotate(): void {
    // forEach, not for-of: the entries iterator made a [text, entry] array per text.
    const render = this.#render;
    this.#entries.forEach((e, text, entries) => {
      if (e.used < render) entries.delete(text);
    });
    this.#render++;
  }

  /** Texts kept (a leak check). */
  get size(): number {
    return this.#entries.size;
  }
}

/**
 * Writes families, each with HELP and TYPE, separated by blank lines as prom-client does.
 * `separate`: start with the blank line that separates these families from ones written before.
 * `texts`: the renderer's cache of label-text bytes, for rows (one is made for this call when absent).
 */
export function writeFamiliesTo(out: ByteWriter, families: readonly Family[], separate = false, texts = new TextBytes()): void {
  let first = !separate;
  // The families of a group share one labelTexts array: its bytes are looked up once.
  const encoded = new Map<readonly string[], Buffer[]>();
  for (const f of families) {
    if (!first) out.byte(NL);
    first = false;
    out.string(`# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`);
    const name = Buffer.from(f.name);
    for (const s of f.samples) {
      out.bytes(name);
      if (s.suffix !== undefined) out.string(s.suffix);
      if (s.labelText !== undefined) out.string(s.labelText);
      else writeLabels(out, s.labels);
      out.byte(SPACE);
      out.value(s.value);
      out.byte(NL);
    }
    if (f.rows) {
      const { labelTexts, values } = f.rows;
      let labels = encoded.get(labelTexts);
      if (labels === undefined) encoded.set(labelTexts, (labels = labelTexts.map((t) => texts.get(t))));
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (v === undefined) continue;
        out.bytes(name);
        out.bytes(labels[i] as Buffer);
        out.byte(SPACE);
        out.value(v);
        out.byte(NL);
      }
    }
  }
}

/** Renders families, each with HELP and TYPE, separated by blank lines as prom-client does. */
export function writeFamilies(families: readonly Family[]): string {
  const out = new ByteWriter();
  writeFamiliesTo(out, families);
  return out.toBuffer().toString('utf8');
}
