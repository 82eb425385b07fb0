/** IPv4 address arithmetic shared by the health rules and the procfs readers. */

/** A dotted quad as an unsigned 32-bit number. */
export function ipv4ToInt(a: string): number {
  return a.split('.').reduce((acc, o) => ((acc << 8) | Number(o)) >>> 0, 0);
}

/** `a.b.c.d/len` as network and prefix length; undefined for anything else (IPv6 included). */
export function parseCidr4(cidr: string): { net: number; len: number } | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr);
  return m ? { net: ipv4ToInt(m[1] as string), len: Number(m[2]) } : undefined;
}

/** Whether an address (as a number) lies in a parsed CIDR. */
export function inCidr4(addr: number, c: { net: number; len: number }): boolean {
  if (c.len === 0) return true;
  const mask = (0xffffffff << (32 - c.len)) >>> 0;
  return ((addr & mask) >>> 0) === ((c.net & mask) >>> 0);
}

/** Whether an IPv4 address lies in `net/len` (a bare address counts as /32). */
export function ipv4InSubnet(address: string, cidr: string): boolean {
  const c = parseCidr4(cidr.includes('/') ? cidr : `${cidr}/32`);
  return c !== undefined && inCidr4(ipv4ToInt(address), c);
}
