/** fast-check generators of hostile outside input: pod and NAD objects, annotations, link attributes. */
import fc from 'fast-check';
import { encodeAttr, encodeU32Attr } from '../../collectors/netlink/attrs.js';
import { IFINFOMSG_LEN, IFLA } from '../../collectors/netlink/parse-link.js';

/** Characters parsers split on or must escape, and ones that look like whitespace but are not (to Kubernetes). */
const SPECIALS = ['', ',', '/', '@', '=', '!', '(', ')', '<', '>', '"', '\\', '{', '}', '[', ']', ':', '.', '-', '_', ' ', '\t', '\n', '\r', '\x1b', '\0', '\u00a0', '\u2028', '\ufeff', 'é', '\ud800', '😀', 'in', 'notin'];

/** One unit of hostile text: a special, a plain name character, or any code point (lone surrogates included). */
const unit = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SPECIALS) },
  { weight: 5, arbitrary: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);

/** Text built from hostile units. */
export const hostileText = (maxLength = 40): fc.Arbitrary<string> => fc.string({ unit, maxLength });

/** A DNS-1123 label, mostly; sometimes hostile text. */
export const dnsName: fc.Arbitrary<string> = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('a', 'b', 'data-network', 'nad-d', 'other', 'default', 'x1') }, { weight: 1, arbitrary: hostileText(12) });

/** An interface name: plain, a pod's netN, or hostile (what a pod author can set). */
export const ifName: fc.Arbitrary<string> = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('eth0', 'eth1', 'net1', 'net2', 'eth4', 'é1') }, { weight: 1, arbitrary: hostileText(15) });

/** The `k8s.v1.cni.cncf.io/networks` value: the short syntax, the JSON syntax, or junk. */
export const networksAnnotation: fc.Arbitrary<string> = fc.oneof(
  fc.array(fc.tuple(fc.option(dnsName), dnsName, fc.option(ifName)), { maxLength: 6 }).map((items) => items.map(([ns, n, i]) => `${ns !== null ? `${ns}/` : ''}${n}${i !== null ? `@${i}` : ''}`).join(',')),
  fc
    .array(fc.record({ name: fc.oneof(dnsName, fc.jsonValue()), namespace: fc.option(dnsName), interface: fc.option(fc.oneof(ifName, fc.jsonValue())), mac: fc.option(fc.oneof(fc.constantFrom('aa:bb:cc:dd:ee:ff', 'zz'), fc.jsonValue())), ips: fc.option(fc.oneof(fc.array(fc.constantFrom('10.0.0.1/24', '::1', 'x')), fc.jsonValue())) }, { requiredKeys: ['name'] }), { maxLength: 5 })
    .map((l) => JSON.stringify(l)),
  hostileText(60),
  fc.jsonValue().map((v) => JSON.stringify(v)),
);

const deviceInfo = fc.record(
  { type: fc.oneof(fc.constantFrom('pci', 'vdpa'), fc.jsonValue()), version: fc.constant('1.1.0'), pci: fc.oneof(fc.record({ 'pci-address': fc.oneof(fc.constantFrom('0000:3b:02.0', '0000:3b:02.1', 'xyz'), fc.jsonValue()) }), fc.jsonValue()), vdpa: fc.jsonValue() },
  { requiredKeys: [] },
);

/** The network-status value: entries as Multus writes them, with fields of wrong types, or junk. */
export const networkStatusAnnotation: fc.Arbitrary<string> = fc.oneof(
  fc
    .array(
      fc.record(
        {
          name: fc.oneof(fc.tuple(dnsName, dnsName).map(([a, b]) => `${a}/${b}`), fc.jsonValue()),
          interface: fc.oneof(ifName, fc.jsonValue()),
          ips: fc.oneof(fc.array(fc.constantFrom('10.0.0.5', 'fd00::5', 'x')), fc.jsonValue()),
          mac: fc.oneof(fc.constantFrom('aa:bb:cc:dd:ee:ff', ''), fc.jsonValue()),
          mtu: fc.oneof(fc.integer({ min: -1, max: 70000 }), fc.jsonValue()),
          default: fc.oneof(fc.boolean(), fc.jsonValue()),
          'device-info': fc.oneof(deviceInfo, fc.jsonValue()),
        },
        { requiredKeys: [] },
      ),
      { maxLength: 5 },
    )
    .map((l) => JSON.stringify(l)),
  hostileText(60),
  fc.jsonValue().map((v) => JSON.stringify(v)),
);

/** A CNI config for `spec.config`: macvlan/ipvlan/sriov with host-local IPAM, a conflist, fields of wrong types, or junk. */
export const cniConfig: fc.Arbitrary<string> = fc.oneof(
  fc
    .record(
      {
        cniVersion: fc.constantFrom('0.3.1', '1.0.0'),
        name: fc.oneof(dnsName, fc.jsonValue()),
        type: fc.oneof(fc.constantFrom('macvlan', 'ipvlan', 'sriov', 'host-device', 'bridge', ''), fc.jsonValue()),
        master: fc.oneof(ifName, fc.jsonValue()),
        mode: fc.oneof(fc.constantFrom('bridge', 'l2', 'private'), fc.jsonValue()),
        mtu: fc.oneof(fc.integer({ min: -5, max: 70000 }), fc.jsonValue()),
        ipam: fc.oneof(
          fc.record(
            {
              type: fc.constantFrom('host-local', 'whereabouts', 'static'),
              subnet: fc.oneof(fc.constantFrom('10.1.0.0/24', '10.1.0.0/29', 'fd00::/64', '10.1.0.0/33', 'x'), fc.jsonValue()),
              rangeStart: fc.constantFrom('10.1.0.2', '10.1.0.300'),
              dataDir: fc.oneof(fc.constantFrom('/var/lib/cni/networks', '/etc'), hostileText(10)),
              ranges: fc.oneof(fc.array(fc.array(fc.record({ subnet: fc.constantFrom('10.2.0.0/24', 'fd01::/120', 'bad') }))), fc.jsonValue()),
              routes: fc.oneof(fc.array(fc.record({ dst: fc.constantFrom('0.0.0.0/0', '10.9.0.0/16', 'x') })), fc.jsonValue()),
            },
            { requiredKeys: ['type'] },
          ),
          fc.jsonValue(),
        ),
      },
      { requiredKeys: [] },
    )
    .chain((c) => fc.oneof(fc.constant(c), fc.record({ cniVersion: fc.constant('1.0.0'), name: fc.constant('list'), plugins: fc.constant([c, { type: 'tuning', mtu: 1400 }]) })))
    .map((c) => JSON.stringify(c)),
  hostileText(60),
  fc.jsonValue().map((v) => JSON.stringify(v)),
);

/** A label selector: mostly built from selector tokens, sometimes hostile text. */
export const selectorText: fc.Arbitrary<string> = fc.oneof(
  fc
    .array(
      fc.oneof(
        fc.constantFrom('app', 'tier', 'example.com/role', 'a.b/c', 'x', '99', '-bad', 'é'),
        fc.constantFrom('=', '==', '!=', '!', ' in ', ' notin ', '(', ')', ',', '>', '<', ' ', '\u00a0', '\t'),
        fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
        hostileText(6),
      ),
      { maxLength: 12 },
    )
    .map((parts) => parts.join('')),
  hostileText(40),
);

/** Labels a pod author sets. */
export const labelMap: fc.Arbitrary<Record<string, string>> = fc.dictionary(fc.oneof(fc.constantFrom('app', 'tier', 'example.com/role'), hostileText(8)), fc.oneof(fc.constantFrom('web', 'db', '5', '100'), hostileText(8)), { maxKeys: 4 });

/** A Pod object as the API (or a manifest) hands it: fields may be missing or of any type. */
export const podObject: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc
    .record({
      name: dnsName,
      namespace: fc.oneof(dnsName, fc.constant('default')),
      uid: fc.oneof(fc.uuid(), hostileText(10)),
      labels: labelMap,
      networks: fc.option(networksAnnotation),
      status: fc.option(networkStatusAnnotation),
      legacy: fc.option(networkStatusAnnotation),
    })
    .map((p) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: p.name,
        namespace: p.namespace,
        uid: p.uid,
        labels: p.labels,
        annotations: {
          ...(p.networks !== null ? { 'k8s.v1.cni.cncf.io/networks': p.networks } : {}),
          ...(p.status !== null ? { 'k8s.v1.cni.cncf.io/network-status': p.status } : {}),
          ...(p.legacy !== null ? { 'k8s.v1.cni.cncf.io/networks-status': p.legacy } : {}),
        },
      },
      spec: { nodeName: 'node-1' },
    })) },
  { weight: 1, arbitrary: fc.anything() },
);

/** A NetworkAttachmentDefinition object: config, policy, resource name and traffic class from outside. */
export const nadObject: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc
    .record({
      name: dnsName,
      namespace: fc.oneof(dnsName, fc.constant('default')),
      config: fc.oneof({ weight: 5, arbitrary: cniConfig }, { weight: 1, arbitrary: fc.jsonValue() }),
      policy: fc.option(selectorText),
      resource: fc.option(hostileText(20)),
      cls: fc.option(hostileText(10)),
    })
    .map((n) => ({
      apiVersion: 'k8s.cni.cncf.io/v1',
      kind: 'NetworkAttachmentDefinition',
      metadata: {
        name: n.name,
        namespace: n.namespace,
        labels: n.cls !== null ? { 'multinet.io/traffic-class': n.cls } : {},
        annotations: { ...(n.policy !== null ? { 'multinet.io/allowed-pods': n.policy } : {}), ...(n.resource !== null ? { 'k8s.v1.cni.cncf.io/resourceName': n.resource } : {}) },
      },
      spec: { config: n.config },
    })) },
  { weight: 1, arbitrary: fc.anything() },
);

/** Link name bytes as the kernel allows them: 1-15 bytes, no NUL or '/', not "." or ".."; UTF-8 or not. */
export const linkNameBytes: fc.Arbitrary<Uint8Array> = fc
  .oneof(
    fc.constantFrom('eth0', 'eth1', 'net1', 'é1', 'é0', 'ø', 'vf-0').map((s) => new Uint8Array(Buffer.from(s))),
    fc.uint8Array({ minLength: 1, maxLength: 15 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }).map((s) => new Uint8Array(Buffer.from(s).subarray(0, 15))),
  )
  .map((b) => b.map((x) => (x === 0 || x === 0x2f ? 0x61 : x)))
  .filter((b) => b.length > 0 && Buffer.from(b).toString('latin1') !== '.' && Buffer.from(b).toString('latin1') !== '..');

/** One attribute: a known IFLA type with a payload of any length, or any type. */
const attr: fc.Arbitrary<Buffer> = fc
  .tuple(fc.oneof(fc.constantFrom(...Object.values(IFLA)), fc.integer({ min: 0, max: 0xffff })), fc.uint8Array({ maxLength: 48 }))
  .map(([type, payload]) => encodeAttr(type, Buffer.from(payload)));

/** An RTM_NEWLINK payload: ifinfomsg, then attributes — well formed, nested, or with lengths that lie. */
export const linkMessage: fc.Arbitrary<Buffer> = fc
  .record({
    header: fc.uint8Array({ minLength: IFINFOMSG_LEN, maxLength: IFINFOMSG_LEN }),
    name: fc.option(linkNameBytes),
    attrs: fc.array(fc.oneof(attr, fc.array(attr, { maxLength: 4 }).chain((inner) => fc.constantFrom(...Object.values(IFLA)).map((t) => encodeAttr(t, Buffer.concat(inner))))), { maxLength: 10 }),
    cut: fc.option(fc.nat()),
    lie: fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 0xffff }))),
  })
  .map(({ header, name, attrs, cut, lie }) => {
    const parts = [Buffer.from(header), ...(name ? [encodeAttr(IFLA.IFNAME, Buffer.concat([Buffer.from(name), Buffer.from([0])]))] : []), ...attrs, encodeU32Attr(IFLA.MTU, 1500)];
    const buf = Buffer.concat(parts);
    // A length field that lies, somewhere after the header.
    if (lie && buf.length > IFINFOMSG_LEN + 2) buf.writeUInt16LE(lie[1], IFINFOMSG_LEN + (lie[0] % (buf.length - IFINFOMSG_LEN - 1)));
    return cut !== null ? buf.subarray(0, cut % (buf.length + 1)) : buf;
  });
