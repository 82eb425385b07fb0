/** IPv4 and IPv6 addresses as numbers (bigint), for range arithmetic of either family. */

/** An address of either family as an unsigned integer. */
export interface IpNumber {
  readonly family: 4 | 6;
  readonly value: bigint;
}

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseV4(text: string): bigint | undefined {
  const m = V4.exec(text);
  if (!m) return undefined;
  let v = 0n;
  for (const o of m.slice(1)) {
    const n = Number(o);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(text: string): bigint | undefined {
  let s = text;
  // An embedded IPv4 tail (`::ffff:10.0.0.1`) is two groups.
  let tail: bigint[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.')) {
    const v4 = parseV4(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [v4 >> 16n, v4 & 0xffffn];
    s = s.slice(0, lastColon + 1);
    if (!s.endsWith('::')) s = s.slice(0, -1);
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): bigint[] | undefined => {
    if (h === '') return [];
    const out: bigint[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(BigInt(`0x${g}`));
    }
    return out;
  };
  const head = groups(halves[0] as string);
  const rest = halves.length === 2 ? groups(halves[1] as string) : [];
  if (!head || !rest) return undefined;
  const known = head.length + rest.length + tail.length;
  let all: bigint[];
  if (halves.length === 2) {
    if (known > 7) return undefined;
    all = [...head, ...Array<bigint>(8 - known).fill(0n), ...rest, ...tail];
  } else {
    all = [...head, ...tail];
  }
  if (all.length !== 8) return undefined;
  return all.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Parses a dotted quad or an IPv6 address (RFC 4291 text forms); undefined for anything else. */
export function parseIp(text: string): IpNumber | undefined {
  const v4 = parseV4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  if (!text.includes(':')) return undefined;
  const v6 = parseV6(text);
  return v6 === undefined ? undefined : { family: 6, value: v6 };
}

/** `address/len` of either family; undefined when it does not parse or the length is out of range. */
export function parseCidr(text: string): { readonly ip: IpNumber; readonly len: number } | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(lenText)) return undefined;
  const len = Number(lenText);
  return len > (ip.family === 4 ? 32 : 128) ? undefined : { ip, len };
}

/** Bits of the family. */
export const familyBits = (family: 4 | 6): number => (family === 4 ? 32 : 128);

/** The text form: dotted quad, or RFC 5952 (lowercase, longest run of zero groups as `::`). */
export function formatIp(ip: IpNumber): string {
  if (ip.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
