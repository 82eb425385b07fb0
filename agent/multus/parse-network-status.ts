/**
 * The pod annotation `k8s.v1.cni.cncf.io/network-status` that Multus writes after attaching
 * networks (and its legacy twin `networks-status`, which Multus still writes with the same
 * value): a JSON list of the net-attach-def client's `NetworkStatus`
 * (network-attachment-definition-client `pkg/apis/k8s.cni.cncf.io/v1/types.go`, v1.7), the
 * status annotation of the NPWG "Kubernetes Network Custom Resource Definition De-facto
 * Standard" v1.2, with `device-info` as the NPWG Device Information Specification 1.1 defines it.
 */
import { type PciAddress } from '../model/ids.js';
import type { NetworkStatusEntry, Parsed, PodInfo } from '../model/pods.js';
import { FieldReader, goField, isJsonObject, parseJson, type JsonObject } from './go-json.js';

/** The annotation key. */
export const NETWORK_STATUS_ANNOTATION = 'k8s.v1.cni.cncf.io/network-status';
/** The legacy key, read only when the current one is absent. */
export const LEGACY_NETWORK_STATUS_ANNOTATION = 'k8s.v1.cni.cncf.io/networks-status';

/** Standard BDF form `dddd:bb:dd.f`; domains above ffff (Intel VMD) print with more digits. */
const PCI_ADDRESS = /^[0-9a-f]{4,8}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;

/** A PCI address in sysfs form, lowercased; undefined when the text is not one. */
export function parsePciAddress(text: string): PciAddress | undefined {
  const lower = text.toLowerCase();
  return PCI_ADDRESS.test(lower) ? (lower as PciAddress) : undefined;
}

/**
 * Reads the status from a pod's annotations: the current key, or the legacy key when the
 * current one is absent. Neither present: no networks attached (yet), `statusKey` undefined.
 */
export function readNetworkStatus(
  annotations: Readonly<Record<string, string>>,
): Pick<PodInfo, 'status' | 'statusKey'> {
  const current = annotations[NETWORK_STATUS_ANNOTATION];
  if (current !== undefined) return { status: parseNetworkStatus(current), statusKey: 'network-status' };
  const legacy = annotations[LEGACY_NETWORK_STATUS_ANNOTATION];
  if (legacy !== undefined) return { status: parseNetworkStatus(legacy), statusKey: 'networks-status' };
  return { status: { ok: true, value: [] }, statusKey: undefined };
}

/**
 * Parses one annotation value. Undefined (absent) is an empty list; so is JSON `null`, which Go
 * decodes to a nil slice. Malformed JSON, a value that is not a list, an entry that is not an
 * object, an entry without `name`, or a known field of the wrong JSON type is an error (the
 * net-attach-def client's `GetNetworkStatus` fails the same way on a type mismatch).
 *
 * `pciAddress` is `device-info.pci.pci-address`, else `device-info.vdpa.pci-address` (a vDPA
 * device backed by a VF); an address not in BDF form is left out rather than failing the entry,
 * since Go readers take any string there (the device-info spec's own vDPA example has one).
 */
export function parseNetworkStatus(value: string | undefined): Parsed<readonly NetworkStatusEntry[]> {
  if (value === undefined) return { ok: true, value: [] };
  const json = parseJson(value, 'annotation');
  if (!json.ok) return json;
  if (json.value === null) return { ok: true, value: [] };
  if (!Array.isArray(json.value)) return { ok: false, error: 'annotation is not a JSON list' };
  const out: NetworkStatusEntry[] = [];
  for (const [i, element] of (json.value as readonly unknown[]).entries()) {
    const where = `entry ${i + 1}`;
    if (!isJsonObject(element)) return { ok: false, error: `${where} is not an object` };
    const parsed = parseEntry(new FieldReader(element, where));
    if (!parsed.ok) return parsed;
    out.push(parsed.value);
  }
  return { ok: true, value: out };
}

function parseEntry(r: FieldReader): Parsed<NetworkStatusEntry> {
  const name = r.string('name');
  const iface = r.string('interface');
  const ips = r.strings('ips');
  const mac = r.string('mac');
  const mtu = r.int('mtu');
  const isDefault = r.bool('default');
  r.strings('gateway');
  const dns = r.object('dns');
  if (dns !== undefined) {
    const d = r.at(dns, '"dns"');
    d.strings('nameservers');
    d.string('domain');
    d.strings('search');
    d.strings('options');
  }
  const info = r.object('device-info');
  const device = info === undefined ? undefined : readDeviceInfo(r.at(info, '"device-info"'));
  if (r.problem !== undefined) return { ok: false, error: r.problem };
  if (name === undefined || name === '') return { ok: false, error: r.describe('no "name"') };
  return {
    ok: true,
    value: {
      name,
      interface: iface || undefined,
      ips: ips ?? [],
      mac: mac || undefined,
      mtu,
      default: isDefault ?? false,
      pciAddress: device?.pciAddress,
      deviceType: device?.type || undefined,
    },
  };
}

/** `device-info`: every sub-map type-checked, the PCI address picked out. */
function readDeviceInfo(r: FieldReader): { type: string | undefined; pciAddress: PciAddress | undefined } {
  const type = r.string('type');
  r.string('version');
  const sub = (key: string, fields: readonly string[]): JsonObject | undefined => {
    const obj = r.object(key);
    if (obj !== undefined) {
      const s = r.at(obj, `"${key}"`);
      for (const f of fields) s.string(f);
    }
    return obj;
  };
  const pci = sub('pci', ['pci-address', 'vhost-net', 'rdma-device', 'pf-pci-address', 'representor-device']);
  const vdpa = sub('vdpa', ['parent-device', 'driver', 'path', 'pci-address', 'pf-pci-address', 'representor-device']);
  sub('vhost-user', ['mode', 'path']);
  sub('memif', ['role', 'path', 'mode']);
  const address = [pci, vdpa]
    .map((o) => (o === undefined ? undefined : goField(o, 'pci-address')))
    .find((a): a is string => typeof a === 'string' && a !== '');
  return { type, pciAddress: address === undefined ? undefined : parsePciAddress(address) };
}
