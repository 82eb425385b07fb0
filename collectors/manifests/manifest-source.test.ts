import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { NetworkDefinition, PodInfo } from '../../agent/model/pods.js';
import { type PodUid } from '../../agent/model/ids.js';
import { readPolicy } from '../../agent/multus/parse-nad.js';
import { recordingLogger } from '../../test/support/links.js';
import { networkDefinition, selection } from '../../test/support/pods.js';
import { ManifestSource, parseManifest } from './manifest-source.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TESTDATA = path.join(HERE, 'testdata');
const CLUSTER = path.join(TESTDATA, 'cluster');
const SEED = path.join(HERE, '../../lab/manifests/seed');

const sel = selection;
const nad = networkDefinition;

const FRONTEND: PodInfo = {
  namespace: 'apps',
  name: 'frontend-0',
  uid: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' as PodUid,
  nodeName: 'worker-2',
  labels: { app: 'frontend' },
  requested: { ok: true, value: [sel('apps', 'storage-net', 'stor0'), sel('default', 'mgmt-network', undefined)] },
  status: {
    ok: true,
    value: [
      { name: 'cbr0', interface: 'eth0', ips: ['10.244.2.15'], mac: '0a:58:0a:f4:02:0f', mtu: undefined, default: true, pciAddress: undefined, deviceType: undefined },
      { name: 'apps/storage-net', interface: 'stor0', ips: ['10.30.0.17'], mac: '0a:58:0a:1e:00:11', mtu: 9000, default: false, pciAddress: undefined, deviceType: undefined },
    ],
  },
  statusKey: 'network-status',
};

const BATCH: PodInfo = {
  namespace: 'apps',
  name: 'batch-1',
  uid: undefined,
  nodeName: undefined,
  labels: {},
  requested: { ok: false, error: 'entry 1 "a/b/c": more than one "/"' },
  status: { ok: true, value: [] },
  statusKey: undefined,
};

const STORAGE_NET = nad('apps', 'storage-net', {
  type: 'ipvlan',
  master: 'bond0.30',
  mode: 'l2',
  mtu: 9000,
  ipam: {
    type: 'host-local',
    ranges: [{ subnet: '10.30.0.0/24', rangeStart: undefined, rangeEnd: undefined, gateway: '10.30.0.1' }],
    routes: [],
    dataDir: undefined,
  },
  trafficClass: 'storage',
});
const BROKEN_NET = nad('apps', 'broken-net', { invalid: '"plugins" is empty' });
const SRIOV_DATA = nad('apps', 'sriov-data', {
  type: 'sriov',
  resourceName: 'intel.com/intel_sriov_netdevice',
  ipam: {
    type: 'whereabouts',
    ranges: [{ subnet: '10.20.0.0/24', rangeStart: undefined, rangeEnd: undefined, gateway: undefined }],
    routes: [],
    dataDir: undefined,
  },
  trafficClass: 'data',
});

/** The warnings the cluster/ directory gives, in file order. */
const CLUSTER_WARNINGS = [
  {
    level: 'warn',
    msg: 'manifest file does not parse',
    obj: { file: path.join(CLUSTER, '40-broken.yaml'), reason: 'Nested mappings are not allowed in compact mappings at line 4, column 9' },
  },
  {
    level: 'warn',
    msg: 'manifest object skipped',
    obj: { file: path.join(CLUSTER, '50-no-name.yml'), kind: 'Pod', reason: 'no metadata.name' },
  },
  { level: 'warn', msg: 'manifest object skipped', obj: { file: path.join(CLUSTER, '50-no-name.yml'), reason: 'no kind' } },
];

describe('ManifestSource on testdata/cluster', () => {
  it('is empty before the first reload', () => {
    const { log } = recordingLogger();
    const source = new ManifestSource({ paths: [CLUSTER], log });
    expect(source.pods()).toEqual([]);
    expect(source.networks()).toEqual([]);
  });

  it('reads Pods and NADs from multi-document YAML, a List and JSON; skips the rest', async () => {
    const { log, lines } = recordingLogger();
    const source = new ManifestSource({ paths: [CLUSTER], log });
    await source.reload();
    expect(source.pods()).toEqual([FRONTEND, BATCH]);
    expect(source.networks()).toEqual([STORAGE_NET, BROKEN_NET, SRIOV_DATA]);
    expect(lines.filter((l) => l.level === 'warn')).toEqual(CLUSTER_WARNINGS);
    expect(lines.filter((l) => l.msg === 'manifest object ignored')).toEqual([
      { level: 'debug', msg: 'manifest object ignored', obj: { file: path.join(CLUSTER, '10-networks.yaml'), kind: 'Service', name: 'frontend' } },
      { level: 'debug', msg: 'manifest object ignored', obj: { file: path.join(CLUSTER, '20-pods.yaml'), kind: 'ConfigMap', name: 'frontend-config' } },
    ]);
  });

  it('warns about a lasting problem once, not on every reload', async () => {
    const { log, lines } = recordingLogger();
    const source = new ManifestSource({ paths: [CLUSTER], log });
    await source.reload();
    await source.reload();
    await source.reload();
    expect(lines.filter((l) => l.level === 'warn')).toEqual(CLUSTER_WARNINGS);
    expect(source.pods()).toEqual([FRONTEND, BATCH]);
  });

  it('reports a change only when a file is added, rewritten or removed, and keeps the same objects otherwise', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'mna-manifests-'));
    try {
      const pod = (name: string): string => `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: apps, uid: u-${name}}\nspec: {nodeName: n1}\n`;
      await writeFile(path.join(dir, 'a.yaml'), pod('a'));
      const { log } = recordingLogger();
      const source = new ManifestSource({ paths: [dir], log });
      expect(await source.reload()).toBe(true);
      const first = source.pods();
      expect(first.map((p) => p.name)).toEqual(['a']);
      expect(await source.reload()).toBe(false);
      expect(source.pods()).toBe(first);
      await writeFile(path.join(dir, 'b.yaml'), pod('b'));
      expect(await source.reload()).toBe(true);
      expect(source.pods().map((p) => p.name)).toEqual(['a', 'b']);
      await writeFile(path.join(dir, 'a.yaml'), pod('c'));
      expect(await source.reload()).toBe(true);
      expect(source.pods().map((p) => p.name)).toEqual(['c', 'b']);
      await rm(path.join(dir, 'b.yaml'));
      expect(await source.reload()).toBe(true);
      expect(source.pods().map((p) => p.name)).toEqual(['c']);
      expect(await source.reload()).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('takes repeated paths in order, files and directories; a later definition wins', async () => {
    const { log } = recordingLogger();
    const source = new ManifestSource({ paths: [CLUSTER, path.join(TESTDATA, 'override.yaml')], log });
    await source.reload();
    expect(source.networks()).toEqual([STORAGE_NET, nad('apps', 'broken-net', { type: 'macvlan', master: 'eth4' }), SRIOV_DATA]);
  });

  it('warns about a path that does not exist and loads the others', async () => {
    const { log, lines } = recordingLogger();
    const missing = path.join(TESTDATA, 'no-such-dir');
    const source = new ManifestSource({ paths: [missing, path.join(TESTDATA, 'override.yaml')], log });
    await source.reload();
    expect(source.networks()).toEqual([nad('apps', 'broken-net', { type: 'macvlan', master: 'eth4' })]);
    expect(lines.filter((l) => l.level === 'warn')).toEqual([
      { level: 'warn', msg: 'manifest path unreadable', obj: { path: missing, reason: 'ENOENT' } },
    ]);
  });

  it('stops when aborted', async () => {
    const { log } = recordingLogger();
    const source = new ManifestSource({ paths: [CLUSTER], log });
    await expect(source.reload(AbortSignal.abort())).rejects.toThrow();
    expect(source.pods()).toEqual([]);
  });
});

describe('ManifestSource.reload on files that change', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('sees edits, a file breaking (one warning, old content gone) and mending', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'multinet-manifests-'));
    const file = path.join(dir, 'pod.yaml');
    const podYaml = (networks: string): string =>
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    k8s.v1.cni.cncf.io/networks: ${networks}\n`;
    const { log, lines } = recordingLogger();
    const source = new ManifestSource({ paths: [dir], log });
    const requested = (): PodInfo['requested'] | undefined => source.pods()[0]?.requested;

    await writeFile(file, podYaml('net1'));
    await source.reload();
    expect(requested()).toEqual({ ok: true, value: [sel('default', 'net1', undefined)] });

    await writeFile(file, podYaml('net1@eth9, net2'));
    await source.reload();
    expect(requested()).toEqual({ ok: true, value: [sel('default', 'net1', 'eth9'), sel('default', 'net2', undefined)] });

    await writeFile(file, 'kind: Pod\nmetadata: [unclosed\n');
    await source.reload();
    await source.reload();
    expect(source.pods()).toEqual([]);
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual(['manifest file does not parse']);

    await writeFile(file, podYaml('net3'));
    await source.reload();
    expect(requested()).toEqual({ ok: true, value: [sel('default', 'net3', undefined)] });

    await writeFile(file, 'kind: Pod\nmetadata: [unclosed\n');
    await source.reload();
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual(['manifest file does not parse', 'manifest file does not parse']);
  });
});

describe('ManifestSource on the seed manifests (lab/manifests/seed)', () => {
  it('finds 3 NADs and 1 Pod; the Deployments are ignored', async () => {
    const { log, lines } = recordingLogger();
    const source = new ManifestSource({ paths: [SEED], log });
    await source.reload();
    const hostLocal = (net: string, gateway: string | undefined, routes: string[]): NetworkDefinition['ipam'] => ({
      type: 'host-local',
      ranges: [{ subnet: `10.${net}.0.0/24`, rangeStart: `10.${net}.0.100`, rangeEnd: `10.${net}.0.200`, gateway }],
      routes,
      dataDir: undefined,
    });
    expect(source.networks()).toEqual([
      nad('default', 'mgmt-network', { type: 'macvlan', master: 'eth1', mode: 'bridge', ipam: hostLocal('10', '10.10.0.1', ['0.0.0.0/0']) }),
      nad('default', 'data-network', { type: 'macvlan', master: 'eth2', mode: 'bridge', ipam: hostLocal('20', undefined, []) }),
      nad('default', 'storage-network', { type: 'macvlan', master: 'eth3', mode: 'bridge', ipam: hostLocal('30', undefined, []), policy: readPolicy('hexagonal.io/adapter in (database)') }),
    ]);
    expect(source.pods()).toEqual([
      {
        namespace: 'default',
        name: 'hexagonal-app',
        uid: undefined,
        nodeName: undefined,
        labels: { 'hexagonal.io/adapter': 'database' },
        requested: {
          ok: true,
          value: [sel('default', 'mgmt-network', 'net1'), sel('default', 'data-network', 'net2'), sel('default', 'storage-network', 'net3')],
        },
        status: { ok: true, value: [] },
        statusKey: undefined,
      },
    ]);
    expect(lines.filter((l) => l.level !== 'debug')).toEqual([]);
    expect(lines.filter((l) => l.msg === 'manifest object ignored').map((l) => l.obj)).toEqual([
      { file: path.join(SEED, 'hexagonal-deployment.yaml'), kind: 'Deployment', name: 'order-service' },
      { file: path.join(SEED, 'hexagonal-deployment.yaml'), kind: 'Deployment', name: 'order-db' },
    ]);
  });
});

describe('parseManifest', () => {
  it.each<[string, string, ReturnType<typeof parseManifest>]>([
    ['empty file', '', { ok: true, value: [] }],
    ['documents and an empty one', 'a: 1\n---\n---\nb: 2\n', { ok: true, value: [{ a: 1 }, null, { b: 2 }] }],
    ['JSON', '{"kind": "Pod", "metadata": {"name": "p"}}', { ok: true, value: [{ kind: 'Pod', metadata: { name: 'p' } }] }],
    ['a duplicate key', 'a: 1\na: 2\n', { ok: false, error: 'Map keys must be unique at line 2, column 1' }],
    ['an alias bomb', `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n`, { ok: false, error: 'Excessive alias count indicates a resource exhaustion attack' }],
  ])('%s', (_, text, expected) => {
    expect(parseManifest(text)).toEqual(expected);
  });
});
