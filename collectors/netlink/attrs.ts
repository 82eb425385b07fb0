/**
 * Netlink attribute (TLV) reading, per include/uapi/linux/netlink.h: `struct nlattr`
 * { u16 nla_len; u16 nla_type; } followed by the payload, each attribute padded to 4 bytes.
 * Kept minimal and allocation-free: the scrape path walks about 1.5 KB of attributes per link.
 */

import { nameFromBytes } from '../../agent/rules/names.js';

/** Size of an attribute header; an attribute's payload starts this far after it. */
export const NLA_HDRLEN = 4;
/** nla_type carries two flag bits (NLA_F_NESTED, NLA_F_NET_BYTEORDER) above the type. */
const NLA_TYPE_MASK = 0x3fff;

/** Visitor called for each attribute: type without flag bits, payload start offset and length. */
export type AttrVisitor = (type: number, offset: number, length: number) => void;

/** Calls `visit` for each attribute in `buf[start, end)`. Stops at a truncated attribute. */
export function forEachAttr(buf: Buffer, start: number, end: number, visit: AttrVisitor): void {
  for (let at = firstAttr(buf, start, end); at >= 0; at = nextAttr(buf, at, end)) visit(attrType(buf, at), at + NLA_HDRLEN, attrLength(buf, at));
}

/** Whether a whole attribute (header and payload) starts at `at` and ends by `end`. */
function wholeAttrAt(buf: Buffer, at: number, end: number): boolean {
  if (at + NLA_HDRLEN > end) return false;
  const len = buf.readUInt16LE(at);
  return len >= NLA_HDRLEN && at + len <= end;
}

/**
 * Offset of the first attribute in `buf[start, end)`, or -1 when there is none whole. With
 * {@link nextAttr}, the walk of {@link forEachAttr} without a visitor, for the parsers that run per
 * message on the scrape path: `for (let at = firstAttr(b, s, e); at >= 0; at = nextAttr(b, at, e))`,
 * the payload at `at + NLA_HDRLEN` (a visitor made per message is recompiled every other scrape:
 * docs/architecture.md, "Code on the scrape path").
 */
export function firstAttr(buf: Buffer, start: number, end: number): number {
  return wholeAttrAt(buf, start, end) ? start : -1;
}

/** Offset of the attribute after the one at `at`, or -1 when there is none whole before `end`. */
export function nextAttr(buf: Buffer, at: number, end: number): number {
  const next = at + ((buf.readUInt16LE(at) + 3) & ~3);
  return wholeAttrAt(buf, next, end) ? next : -1;
}

/** Type of the attribute at `at`, without the flag bits. */
export function attrType(buf: Buffer, at: number): number {
  return buf.readUInt16LE(at + 2) & NLA_TYPE_MASK;
}

/** Payload length of the attribute at `at`; the payload starts at `at + 4`. */
export function attrLength(buf: Buffer, at: number): number {
  return buf.readUInt16LE(at) - NLA_HDRLEN;
}

/**
 * Names and kinds already read, by a hash of their bytes, in two generations as the MAC texts
 * below ({@link rotateKeptTexts}). A dump repeats them scrape after scrape (`eth0`, `net1`,
 * `macvlan`), so the same string is handed out again instead of a Buffer view, a UTF-8 check and a
 * new string per attribute (3% of a 250-pod scrape's allocation), and maps keyed by name find its
 * hash already computed.
 */
let nameTexts = new Map<number, string>();
let nameTextsBefore = new Map<number, string>();
const NAME_TEXTS_MAX = 16_384;

/** Whether `s` (printable ASCII) is the bytes `buf[start..end)`. */
function sameAscii(s: string, buf: Buffer, start: number, end: number): boolean {
  if (s.length !== end - start) return false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}

/**
 * A NUL-terminated string attribute: an interface name (IFLA_IFNAME, IFLA_ALT_IFNAME) or a kind.
 * Bytes, not text: decoded as UTF-8 where valid, invalid bytes escaped (agent/rules/names.ts).
 */
export function readAttrString(buf: Buffer, offset: number, length: number): string {
  let end = offset + length;
  while (end > offset && buf[end - 1] === 0) end--;
  // Printable ASCII but the backslash reads the same as bytes and as text (nameFromBytes would
  // return it as is): those are looked up; anything else is decoded by the rules of names.ts.
  let hash = 0x811c9dc5;
  for (let i = offset; i < end; i++) {
    const c = buf[i] as number;
    if (c < 0x20 || c > 0x7e || c === 0x5c) return nameFromBytes(buf, offset, end);
    hash = Math.imul(hash ^ c, 0x01000193);
  }
  const known = nameTexts.get(hash);
  if (known !== undefined && sameAscii(known, buf, offset, end)) return known;
  const before = known === undefined ? nameTextsBefore.get(hash) : undefined;
  const text = before !== undefined && sameAscii(before, buf, offset, end) ? before : buf.toString('latin1', offset, end);
  // A name whose hash another name holds in this generation is decoded afresh each time.
  if (known === undefined && nameTexts.size < NAME_TEXTS_MAX) nameTexts.set(hash, text);
  return text;
}

/** A u32 attribute (host byte order, little-endian on the platforms this runs on). */
export function readAttrU32(buf: Buffer, offset: number, length: number): number | undefined {
  return length >= 4 ? buf.readUInt32LE(offset) : undefined;
}

/** A s32 attribute. */
export function readAttrS32(buf: Buffer, offset: number, length: number): number | undefined {
  return length >= 4 ? buf.readInt32LE(offset) : undefined;
}

/** A u8 attribute. */
export function readAttrU8(buf: Buffer, offset: number, length: number): number | undefined {
  return length >= 1 ? buf.readUInt8(offset) : undefined;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * The texts of 6-byte hardware addresses, by value, in two generations: every scrape reads the
 * same addresses again (about 1,000 at 250 pods), and their text was a tenth of what parsing a
 * dump allocated. {@link rotateKeptTexts} starts a new generation once per pass over the node's
 * namespaces; a text not read during two passes is dropped, so pods that come and go leave
 * nothing behind. A generation holds at most {@link MAC_TEXTS_MAX} (if nothing rotates).
 */
let macTexts = new Map<number, string>();
let macTextsBefore = new Map<number, string>();
const MAC_TEXTS_MAX = 16_384;

/** A hardware address as lowercase colon-separated hex (`aa:bb:cc:dd:ee:ff`). */
export function readAttrMac(buf: Buffer, offset: number, length: number): string {
  if (length !== 6) return formatMac(buf, offset, length);
  const key = buf.readUIntBE(offset, 6);
  let text = macTexts.get(key);
  if (text === undefined) {
    text = macTextsBefore.get(key) ?? formatMac(buf, offset, length);
    if (macTexts.size < MAC_TEXTS_MAX) macTexts.set(key, text);
  }
  return text;
}

/** Starts a new generation of kept MAC and name texts: those not read since the last call go at the next. */
export function rotateKeptTexts(): void {
  macTextsBefore = macTexts;
  macTexts = new Map();
  nameTextsBefore = nameTexts;
  nameTexts = new Map();
}

/** How many MAC texts are kept (both generations). */
export function keptMacTexts(): number {
  return macTexts.size + macTextsBefore.size;
}

/** How many name texts are kept (both generations). */
export function keptNameTexts(): number {
  return nameTexts.size + nameTextsBefore.size;
}

function formatMac(buf: Buffer, offset: number, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) {
    if (i > 0) s += ':';
    s += HEX[buf[offset + i] as number];
  }
  return s;
}

/** Appends one attribute (header, payload, padding) to `parts`; for building requests. */
export function encodeAttr(type: number, payload: Buffer): Buffer {
  const len = NLA_HDRLEN + payload.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, NLA_HDRLEN);
  return out;
}

/** A u32 attribute, encoded. */
export function encodeU32Attr(type: number, value: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32LE(value >>> 0, 0);
  return encodeAttr(type, payload);
}
