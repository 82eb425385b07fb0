/**
 * Property-based tests of the parsers that take outside input (issue 14 item 3): Multus
 * annotations, NAD configs, label selectors, manifests, rtnetlink attributes, sysfs values,
 * lease files, flags. For any input: no throw escapes (or only the documented error type), and
 * the output is bounded by the input (counted, not timed). Where a specification says what must
 * be accepted or refused (Kubernetes label selectors, interface names as bytes, timer ranges),
 * the property states it. Seed and count: fuzz-config.ts.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AgentError } from '../../agent/model/errors.js';
import { parseArgs, parseDuration, FLAGS } from '../../agent/app/cli.js';
import { goField, parseJson } from '../../agent/multus/go-json.js';
import { networkDefinitionFromObject, parseCniConfig } from '../../agent/multus/parse-nad.js';
import { parseNetworkStatus, parsePciAddress } from '../../agent/multus/parse-network-status.js';
import { parseNetworksAnnotation } from '../../agent/multus/parse-networks.js';
import { podInfoFromObject } from '../../agent/multus/pod-info.js';
import { parseLabelSelector, selectorMatches } from '../../agent/rules/label-selector.js';
import { HostLocalIpamSource, parseLease } from '../../collectors/ipam/host-local.js';
import { parseManifest } from '../../collectors/manifests/manifest-source.js';
import { encodeAttr } from '../../collectors/netlink/attrs.js';
import { IFINFOMSG_LEN, IFLA, parseLinkMessage } from '../../collectors/netlink/parse-link.js';
import { IFLA_NUM_VF, IFLA_VF, IFLA_VF_INFO, IFLA_VFINFO_LIST, parsePfVfInfo } from '../../collectors/netlink/parse-vfinfo.js';
import { SysfsDeviceSource, type SysfsFs } from '../../collectors/sysfs/sysfs-net.js';
import { netLink } from '../support/links.js';
import { cniConfig, hostileText, labelMap, linkMessage, linkNameBytes, nadObject, networksAnnotation, networkStatusAnnotation, podObject, selectorText } from './arbitraries.js';
import { holds, TIMEOUT } from './fuzz-config.js';

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

describe('Multus annotations and NAD configs', { timeout: TIMEOUT }, () => {
  it('networks: never throws; no more selections than entries', async () => {
    await holds('networks annotation', [networksAnnotation, fc.constantFrom('default', 'team-b')], (value, ns) => {
      const r = parseNetworksAnnotation(value, ns);
      if (!r.ok) return void expect(typeof r.error).toBe('string');
      // The short syntax has one entry per comma; a JSON list one per element.
      expect(r.value.length).toBeLessThanOrEqual(value.split(',').length + value.length);
      for (const s of r.value) expect(s.name).not.toBe('');
    });
  });

  it('network-status: never throws; no more entries than the JSON list; a PCI address only in BDF form', async () => {
    await holds('network-status annotation', [networkStatusAnnotation], (value) => {
      const r = parseNetworkStatus(value);
      if (!r.ok) return void expect(typeof r.error).toBe('string');
      const json = parseJson(value, 'x');
      expect(json.ok && (json.value === null || Array.isArray(json.value))).toBe(true);
      expect(r.value.length).toBeLessThanOrEqual(json.ok && Array.isArray(json.value) ? json.value.length : 0);
      for (const e of r.value) if (e.pciAddress !== undefined) expect(parsePciAddress(e.pciAddress)).toBe(e.pciAddress);
    });
  });

  it('NAD spec.config: never throws; a summary names its problem or none', async () => {
    await holds('cni config', [fc.oneof(cniConfig, hostileText(80))], (config) => {
      const s = parseCniConfig(config);
      expect(s.invalid === undefined || typeof s.invalid === 'string').toBe(true);
      expect(s.mtu === undefined || Number.isFinite(s.mtu)).toBe(true);
    });
  });

  it('go-json: parseJson never throws; goField gives one of the object\'s values (a key equal ignoring case) or undefined', async () => {
    const key = fc.oneof(fc.constantFrom('master', 'Master', 'MASTER', 'maſter', '\u212aind', 'kind', '__proto__', 'constructor'), hostileText(8));
    await holds('go-json fields', [fc.oneof(fc.dictionary(key, fc.jsonValue(), { maxKeys: 5 }).map((o) => JSON.stringify(o)), hostileText(40)), key], (text, name) => {
      const r = parseJson(text, 'x');
      if (!r.ok) return void expect(r.error).toMatch(/^x is not valid JSON/);
      if (typeof r.value !== 'object' || r.value === null || Array.isArray(r.value)) return;
      const obj = r.value as Record<string, unknown>;
      const v = goField(obj, name);
      if (v !== undefined) expect(Object.entries(obj).some(([k, x]) => x === v && k.toLowerCase() === name.toLowerCase())).toBe(true);
    });
  });

  it('Pod and NAD objects of any shape: never throw; a bad annotation is kept as an error, the object still known', async () => {
    await holds('pod and NAD objects', [podObject, nadObject], (p, n) => {
      const pod = podInfoFromObject(p);
      if (pod.ok) {
        expect(pod.value.requested.ok || typeof pod.value.requested.error === 'string').toBe(true);
        expect(pod.value.status.ok || typeof pod.value.status.error === 'string').toBe(true);
      }
      const nad = networkDefinitionFromObject(n);
      if (nad.ok && nad.value.policy) expect((nad.value.policy.selector === undefined) !== (nad.value.policy.error === undefined)).toBe(true);
    });
  });
});

/** Kubernetes' selector lexer (apimachinery labels/selector.go): whitespace is these four only. */
const K8S_WHITESPACE = /[ \t\r\n]/g;
/** Characters a Kubernetes selector may hold outside whitespace: label keys and values, and the operators. */
const K8S_SELECTOR_CHARS = /^[A-Za-z0-9\-_./=!(),<>]*$/;

describe('label selectors, against the Kubernetes grammar', { timeout: TIMEOUT }, () => {
  it('never throws; what it accepts, Kubernetes accepts: no character outside its grammar (NBSP is not whitespace there)', async () => {
    await holds('label selector grammar', [selectorText], (text) => {
      const r = parseLabelSelector(text);
      if (!r.ok) return void expect(typeof r.error).toBe('string');
      expect(text.replace(K8S_WHITESPACE, '')).toMatch(K8S_SELECTOR_CHARS);
    });
  });

  // apimachinery NewRequirement: strconv.ParseInt(v, 10, 64), and then, as for every operator,
  // validateLabelValue: a leading "-" is no label value, so a negative bound is refused too.
  it('gt/lt take a 64-bit integer that is also a label value: accepted exactly when 0 <= n < 2^63', async () => {
    await holds('label selector gt/lt', [fc.constantFrom('>', '<'), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n })], (op, n) => {
      const r = parseLabelSelector(`app${op}${n}`);
      const fits = n >= 0n && n < 2n ** 63n;
      expect(r.ok).toBe(fits);
    });
  });

  it('matching any label set never throws', async () => {
    await holds('label selector matching', [selectorText, labelMap], (text, labels) => {
      const r = parseLabelSelector(text);
      if (r.ok) expect(typeof selectorMatches(r.value, labels)).toBe('boolean');
    });
  });
});

describe('manifests', { timeout: TIMEOUT }, () => {
  const yamlish = fc.oneof(
    fc.array(fc.oneof(podObject, nadObject), { maxLength: 4 }).map((docs) => docs.map((d) => JSON.stringify(d)).join('\n---\n')),
    fc.array(fc.constantFrom('a: &x [1]\n', 'b: *x\n', '---\n', '- ', '  ', '{', '}', '[', ']', ': ', '"', "'", '!!binary ', '%YAML 1.2\n', '\t', '#', '\n', 'key', '0x1F', '~', '<<: *x\n'), { maxLength: 30 }).map((p) => p.join('')),
    hostileText(200),
  );
  it('parseManifest: never throws; no more documents than separators', async () => {
    await holds('manifest text', [yamlish], (text) => {
      const r = parseManifest(text);
      if (!r.ok) return void expect(typeof r.error).toBe('string');
      expect(r.value.length).toBeLessThanOrEqual(text.split(/^---|^\.\.\./m).length + (text.match(/%YAML/g)?.length ?? 0));
    });
  });
});

describe('rtnetlink attributes', { timeout: TIMEOUT }, () => {
  it('parseLinkMessage: never throws on any payload; the name is bounded by the message', async () => {
    await holds('link message', [fc.oneof(linkMessage, fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)))], (msg) => {
      const link = parseLinkMessage(msg);
      // Invalid UTF-8 bytes are escaped (agent/rules/names.ts, at most 4 characters a byte).
      if (link) expect(link.name.length).toBeLessThanOrEqual(4 * (msg.length - IFINFOMSG_LEN));
    });
  });

  it('interface names are bytes: a valid UTF-8 name reads as itself, distinct names stay distinct', async () => {
    await holds('link names', [linkNameBytes, linkNameBytes], (a, b) => {
      const read = (bytes: Uint8Array): string => {
        const msg = Buffer.concat([Buffer.alloc(IFINFOMSG_LEN), encodeAttr(IFLA.IFNAME, Buffer.concat([Buffer.from(bytes), Buffer.from([0])]))]);
        const link = parseLinkMessage(msg);
        if (!link) throw new Error('no link parsed');
        return link.name;
      };
      const valid = (bytes: Uint8Array): boolean => {
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(bytes);
          return true;
        } catch {
          return false;
        }
      };
      if (valid(a)) expect(read(a)).toBe(Buffer.from(a).toString('utf8'));
      if (!Buffer.from(a).equals(Buffer.from(b))) expect(read(a)).not.toBe(read(b));
    });
  });

  const vfAttr = fc.tuple(fc.constantFrom(...Object.values(IFLA_VF), 0, 99), fc.uint8Array({ maxLength: 80 })).map(([t, p]) => encodeAttr(t, Buffer.from(p)));
  const vfInfoMessage = fc
    .record({ header: fc.uint8Array({ minLength: IFINFOMSG_LEN, maxLength: IFINFOMSG_LEN }), num: fc.option(fc.uint8Array({ maxLength: 8 })), vfs: fc.array(fc.array(vfAttr, { maxLength: 6 }), { maxLength: 5 }) })
    .map(({ header, num, vfs }) =>
      Buffer.concat([
        Buffer.from(header),
        ...(num ? [encodeAttr(IFLA_NUM_VF, Buffer.from(num))] : []),
        encodeAttr(IFLA_VFINFO_LIST, Buffer.concat(vfs.map((attrs) => encodeAttr(IFLA_VF_INFO, Buffer.concat(attrs))))),
      ]),
    );
  it('parsePfVfInfo: never throws; no more VFs than IFLA_VF_INFO entries fit in the message', async () => {
    await holds('vf info message', [fc.oneof(vfInfoMessage, fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)))], (msg) => {
      const info = parsePfVfInfo(msg);
      if (info) expect(info.vfs.length).toBeLessThanOrEqual(Math.floor((msg.length - IFINFOMSG_LEN) / 4));
    });
  });
});

describe('sysfs values', { timeout: TIMEOUT }, () => {
  const content = fc.oneof(fc.constantFrom('10000\n', '-1\n', '0\n', 'full\n', 'half\n', 'unknown\n', '', '\n', '99999999999999999999\n', '1e3\n', 'NaN\n', '!EINVAL'), hostileText(20));
  it('SysfsDeviceSource.describe: never throws on any file content; speed finite and not negative, duplex full/half', async () => {
    await holds('sysfs values', [fc.array(fc.tuple(fc.constantFrom('speed', 'duplex', 'driver', 'device'), content), { maxLength: 8 }), fc.array(fc.constantFrom('eth0', 'eth1', 'é1', 'a b'), { minLength: 1, maxLength: 3 })], async (files, names) => {
      const table = new Map(files);
      const fs: SysfsFs = {
        readFile: async (file) => {
          const v = table.get(file.split('/').at(-1) as 'speed');
          if (v === undefined || v === '!EINVAL') throw Object.assign(new Error(`EINVAL: ${file}`), { code: v === undefined ? 'ENOENT' : 'EINVAL' });
          return v;
        },
        realpath: async (file) => {
          const v = table.get(file.split('/').at(-1) as 'device') ?? table.get('device');
          if (v === undefined) throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
          return `/sys/devices/${v}`;
        },
      };
      const src = new SysfsDeviceSource({ root: '/sys', log: quiet, fs });
      const links = names.map((name, i) => netLink({ ifindex: i + 2, name }));
      const out = await src.describe(links, AbortSignal.timeout(10_000));
      expect(out.size).toBeLessThanOrEqual(links.length);
      for (const d of out.values()) {
        if (d.speedBytesPerSecond !== undefined) expect(Number.isFinite(d.speedBytesPerSecond) && d.speedBytesPerSecond >= 0).toBe(true);
        if (d.duplex !== undefined) expect(['full', 'half']).toContain(d.duplex);
      }
    });
  });
});

describe('lease files', { timeout: TIMEOUT }, () => {
  // Real files in a temporary lease directory: any name a directory can hold, any content.
  const leaseName = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('10.1.0.2', 'FD00::2', '::ffff:10.1.0.2', '010.1.0.2', 'last_reserved_ip.0', 'lock', '.hidden'), hostileText(20).map((n) => n.replace(/[/\0]/g, '_')).filter((n) => n !== '' && n !== '.' && n !== '..' && Buffer.byteLength(n) < 200 && !/[\ud800-\udfff]/.test(n)));
  // host-local reserves an address by creating its file with O_EXCL: whatever already sits at an
  // IP-named path (a directory too) keeps that address from it, so it counts as allocated.
  it('HostLocalIpamSource.read: never throws on any lease names and contents; one allocation per IP-named entry', async () => {
    await holds('lease directory', [fc.uniqueArray(fc.tuple(leaseName, fc.uint8Array({ maxLength: 100 }), fc.boolean()), { maxLength: 6, selector: ([n]) => n })], async (files) => {
      const root = await mkdtemp(path.join(tmpdir(), 'mn-prop-ipam-'));
      try {
        const dir = path.join(root, 'net');
        await mkdir(dir);
        for (const [name, content, asDir] of files) {
          if (asDir) await mkdir(path.join(dir, name));
          else await writeFile(path.join(dir, name), content);
        }
        const [state] = await new HostLocalIpamSource({ log: quiet, waitForDetails: true }).read([{ network: 'net', dir }], AbortSignal.timeout(10_000));
        const ips = files.filter(([n]) => isIP(n) !== 0).map(([n]) => n).sort();
        expect(state?.exists).toBe(true);
        // An IP-named directory (issue 14 row 6) must not stop the read of the others.
        expect(state?.allocations.map((a) => a.ip).sort()).toEqual(ips);
        for (const a of state?.allocations ?? []) {
          expect(a.containerId).not.toMatch(/\n/);
          const file = files.find(([n]) => n === a.ip);
          // Container IDs are ASCII (hex); how other bytes decode is not this property's business.
          if (file && !file[2] && file[1].every((b) => b < 0x80)) expect(a.containerId).toBe(parseLease(Buffer.from(file[1]).toString('latin1')).containerId);
        }
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    }, 60);
  });

  it('parseLease: never throws; the container ID is one trimmed line', async () => {
    await holds('lease file', [fc.oneof(hostileText(80), fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b).toString('latin1')))], (text) => {
      const { containerId, ifname } = parseLease(text);
      expect(containerId).not.toMatch(/\n/);
      expect(containerId).toBe(containerId.trim());
      expect(containerId.length + (ifname?.length ?? 0)).toBeLessThanOrEqual(text.length);
    });
  });
});

const VALUE_FLAGS = FLAGS.filter((f) => f.arg !== undefined).map((f) => f.name);
const ALL_FLAGS = FLAGS.map((f) => f.name);
/** Node's timers hold at most 2^31-1 ms; a longer delay fires after 1 ms. */
const TIMER_MAX_MS = 2 ** 31 - 1;

describe('flags', { timeout: TIMEOUT }, () => {
  const argv = fc.array(
    fc.oneof(
      fc.tuple(fc.constantFrom(...ALL_FLAGS), fc.option(hostileText(20))).map(([f, v]) => (v === null ? `--${f}` : `--${f}=${v}`)),
      fc.constantFrom(...ALL_FLAGS).map((f) => `--no-${f}`),
      hostileText(20),
      fc.constantFrom('run', 'doctor', 'lab', '--', '-', '--=', '--collector.timeout=99999999m', '--collector.timeout=0.0001ms'),
    ),
    { maxLength: 6 },
  );

  it('parseArgs: any argv parses or fails with AgentError E_USAGE, nothing else', async () => {
    await holds('argv', [argv], (args) => {
      try {
        parseArgs(args, {});
      } catch (err) {
        expect(err).toBeInstanceOf(AgentError);
        expect((err as AgentError).code).toBe('E_USAGE');
      }
    });
  });

  it('a value-taking flag never swallows the next flag', async () => {
    await holds('flag swallowing', [fc.constantFrom(...VALUE_FLAGS), fc.constantFrom(...ALL_FLAGS), fc.option(hostileText(10))], (flag, next, v) => {
      const following = v === null ? `--${next}` : `--${next}=${v}`;
      let err: unknown;
      try {
        parseArgs([`--${flag}`, following], {});
      } catch (e) {
        err = e;
      }
      expect(err, `--${flag} ${following} was accepted`).toBeInstanceOf(AgentError);
      expect((err as AgentError).message).toContain(`--${flag}`);
    });
  });

  it('parseDuration: a duration a timer can hold, or a usage error', async () => {
    const text = fc.oneof(fc.tuple(fc.oneof(fc.nat().map(String), fc.double({ min: 0, max: 1e12, noNaN: true }).map(String), fc.constantFrom('99999999', '1e3', '00', '.5', '5.')), fc.constantFrom('ms', 's', 'm', 'h', '', 'us')).map(([n, u]) => `${n}${u}`), hostileText(12));
    await holds('durations', [text], (value) => {
      let ms: number | undefined;
      try {
        ms = parseDuration('collector.timeout', value);
      } catch (err) {
        expect(err).toBeInstanceOf(AgentError);
        expect((err as AgentError).code).toBe('E_USAGE');
        return;
      }
      expect(ms > 0 && ms <= TIMER_MAX_MS, `"${value}" gave ${ms} ms`).toBe(true);
    });
  });
});
