/**
 * The pod annotation `k8s.v1.cni.cncf.io/networks`, read as Multus reads it: multus-cni
 * `pkg/k8sclient/k8sclient.go` `parsePodNetworkAnnotation` / `parsePodNetworkObjectName`
 * (v4), whose NetworkSelectionElement is `pkg/types/types.go`; the two syntaxes are section
 * 4.1.2 of the NPWG "Kubernetes Network Custom Resource Definition De-facto Standard".
 */
import { isIP } from 'node:net';
import type { NetworkSelection, Parsed } from '../model/pods.js';
import { FieldReader, isJsonObject, parseJson } from './go-json.js';

/** The annotation key. */
export const NETWORKS_ANNOTATION = 'k8s.v1.cni.cncf.io/networks';

/** Multus' check for a namespace or network name in the short syntax: a DNS-1123 label (no length limit). */
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** IFNAMSIZ - 1: the kernel's limit on an interface name, in bytes. */
const MAX_IFNAME_BYTES = 15;
/** Multus rejects these in a short-syntax interface name (Go `strings.ContainsAny(" \t\n\v\f\r/")`). */
const IFNAME_FORBIDDEN = /[ \t\n\v\f\r/]/;

/**
 * Parses the annotation value. Absent or empty means no networks. Like Multus, the value is the
 * JSON list syntax when it contains any of `[`, `{` or `"` anywhere (not only a leading `[`),
 * else the comma-separated `[namespace/]name[@interface]` syntax. A missing namespace is the
 * pod's. An entry with an empty name is refused here; Multus parses it and then fails the pod
 * when it finds no NetworkAttachmentDefinition named "".
 */
export function parseNetworksAnnotation(
  value: string | undefined,
  podNamespace: string,
): Parsed<readonly NetworkSelection[]> {
  if (value === undefined || value === '') return { ok: true, value: [] };
  return /[[{"]/.test(value) ? parseJsonList(value, podNamespace) : parseShortList(value, podNamespace);
}

/** The comma-separated syntax. */
function parseShortList(value: string, podNamespace: string): Parsed<readonly NetworkSelection[]> {
  const out: NetworkSelection[] = [];
  for (const [i, raw] of value.split(',').entries()) {
    const item = raw.trim();
    const parsed = parseShortItem(item, podNamespace);
    if (!parsed.ok) return { ok: false, error: `entry ${i + 1} "${item}": ${parsed.error}` };
    out.push(parsed.value);
  }
  return { ok: true, value: out };
}

/** One `[namespace/]name[@interface]`, trimmed around each part as Multus trims. */
function parseShortItem(item: string, podNamespace: string): Parsed<NetworkSelection> {
  const slash = item.split('/');
  if (slash.length > 2) return { ok: false, error: 'more than one "/"' };
  const namespace = slash.length === 2 ? (slash[0] ?? '').trim() : '';
  const at = (slash[slash.length - 1] ?? '').split('@');
  if (at.length > 2) return { ok: false, error: 'more than one "@"' };
  const name = (at[0] ?? '').trim();
  const ifname = (at[1] ?? '').trim();
  for (const part of [namespace, name]) {
    if (part !== '' && !DNS_1123_LABEL.test(part)) {
      return { ok: false, error: `"${part}" is not a DNS-1123 label (lowercase letters, digits and "-")` };
    }
  }
  if (ifname !== '') {
    if (Buffer.byteLength(ifname) > MAX_IFNAME_BYTES) {
      return { ok: false, error: `interface name "${ifname}" is longer than ${MAX_IFNAME_BYTES} bytes` };
    }
    if (IFNAME_FORBIDDEN.test(ifname)) return { ok: false, error: `interface name "${ifname}" contains whitespace or "/"` };
  }
  if (name === '') return { ok: false, error: 'empty network name' };
  return {
    ok: true,
    value: { namespace: namespace || podNamespace, name, interface: ifname || undefined, mac: undefined, ips: [] },
  };
}

/** The JSON list of NetworkSelectionElement. */
function parseJsonList(value: string, podNamespace: string): Parsed<readonly NetworkSelection[]> {
  const json = parseJson(value, 'annotation');
  if (!json.ok) return json;
  if (!Array.isArray(json.value)) return { ok: false, error: 'annotation is not a JSON list' };
  const out: NetworkSelection[] = [];
  for (const [i, element] of (json.value as readonly unknown[]).entries()) {
    const where = `entry ${i + 1}`;
    // A null element decodes to a nil *NetworkSelectionElement, which Multus then dereferences.
    if (!isJsonObject(element)) return { ok: false, error: `${where} is not an object` };
    const parsed = parseElement(new FieldReader(element, where), podNamespace);
    if (!parsed.ok) return parsed;
    out.push(parsed.value);
  }
  return { ok: true, value: out };
}

/** One NetworkSelectionElement: every field Multus decodes is type-checked, the ones it validates are validated. */
function parseElement(r: FieldReader, podNamespace: string): Parsed<NetworkSelection> {
  const name = r.string('name');
  const namespace = r.string('namespace');
  const iface = r.string('interface');
  // `interfaceRequest`: the pre-3.2 key, used when `interface` is empty.
  const legacyIface = r.string('interfaceRequest');
  const mac = r.string('mac');
  const ips = r.strings('ips');
  const guid = r.string('infiniband-guid');
  const gateways = r.strings('default-route');
  r.object('cni-args');
  r.string('deviceID');
  readPortMappings(r);
  readBandwidth(r);
  if (r.problem !== undefined) return { ok: false, error: r.problem };

  if (name === undefined || name === '') return { ok: false, error: r.describe('no "name"') };
  if (mac !== undefined && mac !== '' && !isMacAddress(mac)) return { ok: false, error: r.describe(`invalid "mac" "${mac}"`) };
  if (guid !== undefined && guid !== '' && !isMacAddress(guid)) {
    return { ok: false, error: r.describe(`invalid "infiniband-guid" "${guid}"`) };
  }
  for (const ip of ips ?? []) {
    if (!isIpOrCidr(ip)) return { ok: false, error: r.describe(`invalid address "${ip}" in "ips"`) };
  }
  // Go decodes `default-route` into []net.IP, whose UnmarshalText refuses anything but an IP.
  for (const gw of gateways ?? []) {
    if (!isIpAddress(gw)) return { ok: false, error: r.describe(`invalid address "${gw}" in "default-route"`) };
  }
  return {
    ok: true,
    value: {
      namespace: namespace || podNamespace,
      name,
      interface: iface || legacyIface || undefined,
      mac: mac || undefined,
      ips: ips ?? [],
    },
  };
}

/** `portMappings`: Go `[]*PortMapEntry`. */
function readPortMappings(r: FieldReader): void {
  for (const [i, entry] of (r.array('portMappings') ?? []).entries()) {
    if (entry === null) continue;
    if (!isJsonObject(entry)) {
      r.fail(`"portMappings" entry ${i + 1} is not an object`);
      continue;
    }
    const p = r.at(entry, `"portMappings" entry ${i + 1}`);
    p.int('hostPort');
    p.int('containerPort');
    p.string('protocol');
    p.string('hostIP');
  }
}

/** `bandwidth`: Go `*BandwidthEntry`. */
function readBandwidth(r: FieldReader): void {
  const bw = r.object('bandwidth');
  if (bw === undefined) return;
  const b = r.at(bw, '"bandwidth"');
  for (const key of ['ingressRate', 'ingressBurst', 'egressRate', 'egressBurst']) b.int(key);
}

const MAC_FORMS: readonly RegExp[] = [6, 8, 20].flatMap((n) => [
  new RegExp(`^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(?:\\1[0-9a-fA-F]{2}){${n - 2}}$`),
  new RegExp(`^[0-9a-fA-F]{4}(?:\\.[0-9a-fA-F]{4}){${n / 2 - 1}}$`),
]);

/**
 * What Go's `net.ParseMAC` accepts: 6, 8 or 20 bytes as `aa:bb:..`, `aa-bb-..` or `aabb.ccdd..`
 * (EUI-48, EUI-64, 20-byte IPoIB), hex digits of either case.
 */
export function isMacAddress(text: string): boolean {
  return MAC_FORMS.some((re) => re.test(text));
}

/** What Go's `net.ParseIP` accepts: IPv4 dotted quad without leading zeros, or IPv6 without a zone. */
export function isIpAddress(text: string): boolean {
  return !text.includes('%') && isIP(text) !== 0;
}

/** Multus' check on `ips`: a CIDR (`net.ParseCIDR`) when it has a `/`, else an IP. */
function isIpOrCidr(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash < 0) return isIpAddress(text);
  const addr = text.slice(0, slash);
  const bits = text.slice(slash + 1);
  if (!isIpAddress(addr) || !/^[0-9]{1,3}$/.test(bits)) return false;
  return Number(bits) <= (isIP(addr) === 4 ? 32 : 128);
}
