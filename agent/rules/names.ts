/**
 * Names are bytes. The kernel's interface names (IFLA_IFNAME, `/proc/net/route`, sysfs) and file
 * names (netns bind mounts) are byte strings with no encoding; the labels they become are UTF-8.
 * One reversible mapping, used wherever such a name becomes a string:
 *
 * - a name that is valid UTF-8 and holds no backslash is itself (`é1` stays `é1`);
 * - otherwise each byte that is not part of a valid UTF-8 sequence is written `\xNN` (two
 *   lowercase hex digits) and each backslash `\\`; valid sequences stay as they are.
 *
 * So `\xff` in a label is the byte 0xff and `\\` a backslash, and {@link nameToBytes} gives back
 * the kernel's bytes. Pure.
 */
import { isUtf8 } from 'node:buffer';

const HEX = Array.from({ length: 256 }, (_, i) => `\\x${i.toString(16).padStart(2, '0')}`);

/** Length of the valid UTF-8 sequence at `i` (RFC 3629: no overlongs, surrogates or code points above U+10FFFF), 0 if none. */
function sequenceAt(b: Uint8Array, i: number, end: number): number {
  const c = b[i] as number;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => i + k < end && (b[i + k] as number) >= lo && (b[i + k] as number) <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** The string for the name in `buf[start, end)`, per the mapping above. */
export function nameFromBytes(buf: Buffer, start = 0, end = buf.length): string {
  const slice = start === 0 && end === buf.length ? buf : buf.subarray(start, end);
  // The common case: ASCII or valid UTF-8 without a backslash, decoded as is.
  if (slice.indexOf(0x5c) < 0 && isUtf8(slice)) return slice.toString('utf8');
  let out = '';
  let i = 0;
  let run = 0;
  while (i < slice.length) {
    const c = slice[i] as number;
    const n = c === 0x5c ? 0 : sequenceAt(slice, i, slice.length);
    if (n > 0) {
      i += n;
      continue;
    }
    out += slice.toString('utf8', run, i) + (c === 0x5c ? '\\\\' : HEX[c]);
    i++;
    run = i;
  }
  return out + slice.toString('utf8', run, i);
}

/** A name given as text (a NAD's `master`, a JSON string): the same mapping applied to its UTF-8 bytes. */
export function nameFromText(text: string): string {
  return text.includes('\\') ? nameFromBytes(Buffer.from(text, 'utf8')) : text;
}

/** The kernel's bytes of a mapped name: the inverse of {@link nameFromBytes}. */
export function nameToBytes(name: string): Buffer {
  if (!name.includes('\\')) return Buffer.from(name, 'utf8');
  const parts: Buffer[] = [];
  let run = 0;
  for (let i = 0; i < name.length; i++) {
    if (name[i] !== '\\') continue;
    parts.push(Buffer.from(name.slice(run, i), 'utf8'));
    if (name[i + 1] === '\\') {
      parts.push(Buffer.from([0x5c]));
      i += 1;
    } else if (name[i + 1] === 'x' && /^[0-9a-f]{2}$/.test(name.slice(i + 2, i + 4))) {
      parts.push(Buffer.from([parseInt(name.slice(i + 2, i + 4), 16)]));
      i += 3;
    } else {
      parts.push(Buffer.from([0x5c]));
    }
    run = i + 1;
  }
  parts.push(Buffer.from(name.slice(run), 'utf8'));
  return Buffer.concat(parts);
}
