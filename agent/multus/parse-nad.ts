/**
 * A NetworkAttachmentDefinition reduced to the {@link NetworkDefinition} the agent needs. The CNI
 * config in `spec.config` is judged as Multus and libcni judge it: multus-cni `pkg/types/conf.go`
 * `LoadDelegateNetConf` (a config with a non-empty `type` is one plugin, else it must be a
 * conflist whose `plugins[0]` has a `type`), net-attach-def client `pkg/utils/cniconfig.go`
 * `GetCNIConfig` (an empty spec means the config is read from a file on the node); the fields
 * are those of the reference plugins (containernetworking/plugins `macvlan`, `ipvlan`,
 * `host-device`, `tuning`, `host-local`).
 */
import { nameFromText } from '../rules/names.js';
import { parseLabelSelector } from '../rules/label-selector.js';
import type { AttachmentPolicy, IpamConfig, IpamRange, NetworkDefinition, Parsed } from '../model/pods.js';
import { FieldReader, isJsonObject, parseJson, type JsonObject } from './go-json.js';
import { readObjectMeta } from './object-meta.js';
import { parsePciAddress } from './parse-network-status.js';

/** NAD annotation naming the device-plugin resource (SR-IOV) the network draws from. */
export const RESOURCE_NAME_ANNOTATION = 'k8s.v1.cni.cncf.io/resourceName';
/** Label or annotation (the label wins) giving the network's traffic class. */
export const TRAFFIC_CLASS_KEY = 'multinet.io/traffic-class';
/** NAD annotation: a label selector (string form) of the pods that may attach to the network. */
export const ALLOWED_PODS_ANNOTATION = 'multinet.io/allowed-pods';

/** What the CNI config says, the part of {@link NetworkDefinition} that comes from `spec.config`. */
export type CniSummary = Pick<NetworkDefinition, 'type' | 'master' | 'device' | 'mode' | 'ipam' | 'mtu' | 'invalid'> & {
  /** The config's `name`, when it has one. */
  readonly cniName?: string | undefined;
};

const NOTHING: Omit<CniSummary, 'type' | 'invalid'> = {
  master: undefined,
  device: undefined,
  mode: undefined,
  ipam: undefined,
  mtu: undefined,
};

/**
 * Reads a NetworkAttachmentDefinition object. An error means it is not a usable object (no
 * `metadata.name`, ...); a bad CNI config is not an error but a definition with `invalid` set,
 * so the NAD is still known and can be reported.
 */
export function networkDefinitionFromObject(obj: unknown): Parsed<NetworkDefinition> {
  const meta = readObjectMeta(obj);
  if (!meta.ok) return meta;
  const { namespace, name, labels, annotations } = meta.value;
  const spec = isJsonObject(obj) ? obj['spec'] : undefined;
  const config = isJsonObject(spec) ? spec['config'] : undefined;
  const summary =
    config === undefined || config === null || typeof config === 'string'
      ? parseCniConfig(config ?? undefined)
      : { ...NOTHING, type: '', invalid: 'spec.config is not a string' };
  const { cniName, ...rest } = summary;
  return {
    ok: true,
    value: {
      namespace,
      name,
      // Multus names a config without a name after its NAD (multus-cni pkg/k8sclient getNetDelegate).
      cniName: cniName || name,
      ...rest,
      resourceName: annotations[RESOURCE_NAME_ANNOTATION] || undefined,
      trafficClass: labels[TRAFFIC_CLASS_KEY] ?? annotations[TRAFFIC_CLASS_KEY] ?? '',
      policy: readPolicy(annotations[ALLOWED_PODS_ANNOTATION]),
    },
  };
}

/** The `multinet.io/allowed-pods` annotation, parsed; undefined when the NAD has none. */
export function readPolicy(text: string | undefined): AttachmentPolicy | undefined {
  if (text === undefined) return undefined;
  const parsed = parseLabelSelector(text);
  return parsed.ok ? { text, selector: parsed.value, error: undefined } : { text, selector: undefined, error: parsed.error };
}

/**
 * Parses `spec.config`. Empty or absent is valid with type '' (Multus then loads the CNI config
 * named after the NAD from its conf dir on the node, which the agent cannot see). In a conflist
 * the interface is made by `plugins[0]`, which gives type, master, device and IPAM; the plugins
 * chained after it (tuning, portmap, bandwidth, sbr, ...) only adjust it, and a chained
 * `tuning` with an `mtu` sets the final MTU.
 *
 * A macvlan or ipvlan config without `master` is valid: the plugins use the interface of the
 * node's default route (macvlan since CNI plugins v0.8.0, containernetworking/plugins#298;
 * ipvlan later), so `master` is undefined there, not an error.
 */
export function parseCniConfig(config: string | undefined): CniSummary {
  if (config === undefined || config === '') return { ...NOTHING, type: '', invalid: undefined };
  const json = parseJson(config, 'spec.config');
  if (!json.ok) return invalid(json.error);
  if (!isJsonObject(json.value)) return invalid('spec.config is not a JSON object');
  const top = new FieldReader(json.value, '');
  const cniName = top.string('name') || undefined;
  top.string('cniVersion');
  const type = top.string('type');
  if (top.problem !== undefined) return invalid(top.problem);

  let plugin: FieldReader = top;
  let chained: readonly JsonObject[] = [];
  if (type === undefined || type === '') {
    const plugins = top.raw('plugins');
    if (plugins === undefined) return invalid('spec.config has neither "type" nor "plugins"');
    if (!Array.isArray(plugins)) return invalid('"plugins" is not a list');
    if (plugins.length === 0) return invalid('"plugins" is empty');
    // libcni refuses a conflist in which any plugin is not an object with a type.
    for (const [i, p] of (plugins as readonly unknown[]).entries()) {
      if (!isJsonObject(p)) return invalid(`plugins[${i}] is not an object`);
      const t = top.at(p, `plugins[${i}]`).string('type');
      if (top.problem !== undefined) return invalid(top.problem);
      if (t === undefined || t === '') return invalid(`plugins[${i}] has no "type"`);
    }
    const [first, ...rest] = plugins as readonly JsonObject[];
    if (first === undefined) return invalid('"plugins" is empty');
    plugin = top.at(first, 'plugins[0]');
    chained = rest;
  }
  return { ...readPlugin(top, plugin, chained), cniName };
}

/** The interface-making plugin's fields, and the MTU a chained `tuning` sets. */
function readPlugin(top: FieldReader, p: FieldReader, chained: readonly JsonObject[]): CniSummary {
  const type = p.string('type') ?? '';
  const master = p.string('master');
  const device = p.string('device');
  const pciBusId = p.string('pciBusID');
  const mode = p.string('mode');
  let mtu = p.int('mtu');
  const ipamObject = p.object('ipam');
  const ipam = ipamObject === undefined ? undefined : readIpam(p.at(ipamObject, 'ipam'));
  for (const [i, c] of chained.entries()) {
    const r = top.at(c, `plugins[${i + 1}]`);
    const tuned = r.string('type') === 'tuning' ? r.int('mtu') : undefined;
    if (tuned) mtu = tuned;
  }
  if (p.problem !== undefined) return invalid(p.problem, type);
  return {
    type,
    // Compared with kernel link names, which are mapped bytes (agent/rules/names.ts).
    master: master ? nameFromText(master) : undefined,
    // host-device names its device by `device`, or by `pciBusID`; the type has one field for both.
    device: device ? nameFromText(device) : pciBusId ? (parsePciAddress(pciBusId) ?? pciBusId) : undefined,
    mode: mode || undefined,
    ipam,
    // 0 is the plugins' "leave the kernel's default".
    mtu: mtu || undefined,
    invalid: undefined,
  };
}

/**
 * The IPAM block. host-local's flat `subnet`/`rangeStart`/`rangeEnd`/`gateway` come first, then
 * each range of each `ranges` set, as host-local orders them; whereabouts' `range` /
 * `range_start` / `range_end` and `ipRanges` are read the same way (the range as written).
 */
function readIpam(r: FieldReader): IpamConfig {
  const ranges: IpamRange[] = [];
  const flat = readRange(r, 'subnet', 'rangeStart', 'rangeEnd');
  if (flat !== undefined) ranges.push(flat);
  for (const [i, set] of (r.array('ranges') ?? []).entries()) {
    if (!Array.isArray(set)) {
      r.fail(`ranges[${i}] is not a list`);
      continue;
    }
    for (const [j, range] of (set as readonly unknown[]).entries()) {
      if (!isJsonObject(range)) {
        r.fail(`ranges[${i}][${j}] is not an object`);
        continue;
      }
      const one = readRange(r.at(range, `ranges[${i}][${j}]`), 'subnet', 'rangeStart', 'rangeEnd');
      if (one !== undefined) ranges.push(one);
    }
  }
  const whereabouts = readRange(r, 'range', 'range_start', 'range_end');
  if (whereabouts !== undefined) ranges.push(whereabouts);
  for (const [i, range] of (r.array('ipRanges') ?? []).entries()) {
    if (!isJsonObject(range)) {
      r.fail(`ipRanges[${i}] is not an object`);
      continue;
    }
    const one = readRange(r.at(range, `ipRanges[${i}]`), 'range', 'range_start', 'range_end');
    if (one !== undefined) ranges.push(one);
  }
  const routes: string[] = [];
  for (const [i, route] of (r.array('routes') ?? []).entries()) {
    if (!isJsonObject(route)) {
      r.fail(`routes[${i}] is not an object`);
      continue;
    }
    const dst = r.at(route, `routes[${i}]`).string('dst');
    if (dst !== undefined && dst !== '') routes.push(dst);
  }
  return { type: r.string('type') ?? '', ranges, routes, dataDir: r.string('dataDir') || undefined };
}

/** One range, present when its subnet key is set. */
function readRange(r: FieldReader, subnetKey: string, startKey: string, endKey: string): IpamRange | undefined {
  const subnet = r.string(subnetKey);
  const rangeStart = r.string(startKey);
  const rangeEnd = r.string(endKey);
  const gateway = r.string('gateway');
  if (subnet === undefined || subnet === '') return undefined;
  return { subnet, rangeStart: rangeStart || undefined, rangeEnd: rangeEnd || undefined, gateway: gateway || undefined };
}

/** An unusable config: the reason, and the plugin type when it was readable. */
function invalid(reason: string, type = ''): CniSummary {
  return { ...NOTHING, type, invalid: reason };
}
