import { describe, expect, it } from 'vitest';
import { type PciAddress } from '../model/ids.js';
import type { NetworkSelection, Parsed, PodInfo } from '../model/pods.js';
import { type PodUid } from '../model/ids.js';
import { parsePodUid, podInfoFromObject } from './pod-info.js';
import { selection } from '../../test/support/pods.js';

const sel = selection;

/** A pod with nothing set but its name; override what the case is about. */
function pod(over: Partial<PodInfo>): Parsed<PodInfo> {
  return {
    ok: true,
    value: {
      namespace: 'default',
      name: 'p',
      uid: undefined,
      nodeName: undefined,
      labels: {},
      requested: { ok: true, value: [] },
      status: { ok: true, value: [] },
      statusKey: undefined,
      ...over,
    },
  };
}

/** The seed's Pod as a YAML parser hands it over (`metadata.annotations` from a `|` block scalar). */
const SEED_POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'hexagonal-app',
    annotations: {
      'k8s.v1.cni.cncf.io/networks':
        '[\n  {"name": "mgmt-network", "interface": "net1"},\n  {"name": "data-network", "interface": "net2"},\n  {"name": "storage-network", "interface": "net3"}\n]\n',
    },
  },
  spec: {
    containers: [
      {
        name: 'app',
        image: 'myregistry/hexagonal-app:latest',
        ports: [{ containerPort: 8080 }],
        env: [
          { name: 'MGMT_INTERFACE', value: 'net1' },
          { name: 'DATA_INTERFACE', value: 'net2' },
          { name: 'STORAGE_INTERFACE', value: 'net3' },
        ],
      },
    ],
  },
};

/** The same pod as the API returns it once scheduled and attached. */
const SEED_POD_RUNNING = {
  ...SEED_POD,
  metadata: {
    ...SEED_POD.metadata,
    namespace: 'default',
    uid: '6f0b7c2e-5d1a-4c3b-9a8e-2f4d6b8c0e1a',
    labels: { app: 'hexagonal-app' },
    annotations: {
      ...SEED_POD.metadata.annotations,
      'k8s.v1.cni.cncf.io/network-status':
        '[{"name":"cbr0","interface":"eth0","ips":["10.244.1.7"],"mac":"92:79:27:01:7c:ce","default":true,"dns":{}},' +
        '{"name":"default/mgmt-network","interface":"net1","ips":["10.10.0.100"],"mac":"ea:0e:fa:63:95:f9","dns":{}}]',
      'k8s.v1.cni.cncf.io/networks-status': '[]',
    },
  },
  spec: { ...SEED_POD.spec, nodeName: 'worker-1' },
};

const SEED_REQUESTED: Parsed<readonly NetworkSelection[]> = {
  ok: true,
  value: [sel('default', 'mgmt-network', 'net1'), sel('default', 'data-network', 'net2'), sel('default', 'storage-network', 'net3')],
};

describe('podInfoFromObject', () => {
  it.each<[string, unknown, Parsed<PodInfo>]>([
    ['the seed pod', SEED_POD, pod({ name: 'hexagonal-app', requested: SEED_REQUESTED })],
    [
      'the seed pod running',
      SEED_POD_RUNNING,
      pod({
        name: 'hexagonal-app',
        uid: '6f0b7c2e-5d1a-4c3b-9a8e-2f4d6b8c0e1a' as PodUid,
        nodeName: 'worker-1',
        labels: { app: 'hexagonal-app' },
        requested: SEED_REQUESTED,
        status: {
          ok: true,
          value: [
            { name: 'cbr0', interface: 'eth0', ips: ['10.244.1.7'], mac: '92:79:27:01:7c:ce', mtu: undefined, default: true, pciAddress: undefined, deviceType: undefined },
            { name: 'default/mgmt-network', interface: 'net1', ips: ['10.10.0.100'], mac: 'ea:0e:fa:63:95:f9', mtu: undefined, default: false, pciAddress: undefined, deviceType: undefined },
          ],
        },
        statusKey: 'network-status',
      }),
    ],
    [
      'a short-syntax request takes the pod namespace',
      { kind: 'Pod', metadata: { name: 'p', namespace: 'nfv', annotations: { 'k8s.v1.cni.cncf.io/networks': 'sriov-a@net1, default/mgmt' } } },
      pod({ namespace: 'nfv', requested: { ok: true, value: [sel('nfv', 'sriov-a', 'net1'), sel('default', 'mgmt', undefined)] } }),
    ],
    [
      'only the legacy status key',
      {
        metadata: {
          name: 'p',
          annotations: { 'k8s.v1.cni.cncf.io/networks-status': '[{"name":"nfv/sriov-a","interface":"net1","device-info":{"type":"pci","pci":{"pci-address":"0000:03:02.3"}}}]' },
        },
      },
      pod({
        status: {
          ok: true,
          value: [{ name: 'nfv/sriov-a', interface: 'net1', ips: [], mac: undefined, mtu: undefined, default: false, pciAddress: '0000:03:02.3' as PciAddress, deviceType: 'pci' }],
        },
        statusKey: 'networks-status',
      }),
    ],
    [
      'bad annotations stay on the pod',
      { metadata: { name: 'p', annotations: { 'k8s.v1.cni.cncf.io/networks': 'a/b/c', 'k8s.v1.cni.cncf.io/network-status': '{}' } } },
      pod({
        requested: { ok: false, error: 'entry 1 "a/b/c": more than one "/"' },
        status: { ok: false, error: 'annotation is not a JSON list' },
        statusKey: 'network-status',
      }),
    ],
    ['a UID that is not one is left out', { metadata: { name: 'p', uid: 'not-a-uid' } }, pod({})],
    ['an empty nodeName is unset', { metadata: { name: 'p' }, spec: { nodeName: '' } }, pod({})],
  ])('%s', (_, obj, expected) => {
    expect(podInfoFromObject(obj)).toEqual(expected);
  });

  it.each<[string, unknown, Parsed<PodInfo>]>([
    ['null', null, { ok: false, error: 'not an object' }],
    ['a list', [SEED_POD], { ok: false, error: 'not an object' }],
    ['metadata a string', { metadata: 'p' }, { ok: false, error: 'no metadata' }],
    ['no name', { metadata: { namespace: 'default' } }, { ok: false, error: 'no metadata.name' }],
    ['name a number', { metadata: { name: 7 } }, { ok: false, error: 'no metadata.name' }],
    ['namespace a number', { metadata: { name: 'p', namespace: 1 } }, { ok: false, error: 'metadata.namespace is not a string' }],
    ['annotations a list', { metadata: { name: 'p', annotations: ['a'] } }, { ok: false, error: 'metadata.annotations is not a map' }],
    [
      'an annotation value that is not a string (unquoted YAML number)',
      { metadata: { name: 'p', annotations: { 'example.com/replicas': 3 } } },
      { ok: false, error: 'metadata.annotations["example.com/replicas"] is not a string' },
    ],
    ['nodeName a number', { metadata: { name: 'p' }, spec: { nodeName: 1 } }, { ok: false, error: 'spec.nodeName is not a string' }],
  ])('refuses %s', (_, obj, expected) => {
    expect(podInfoFromObject(obj)).toEqual(expected);
  });
});

describe('parsePodUid', () => {
  it.each<[string, string | undefined]>([
    ['6f0b7c2e-5d1a-4c3b-9a8e-2f4d6b8c0e1a', '6f0b7c2e-5d1a-4c3b-9a8e-2f4d6b8c0e1a'],
    ['6F0B7C2E-5D1A-4C3B-9A8E-2F4D6B8C0E1A', '6f0b7c2e-5d1a-4c3b-9a8e-2f4d6b8c0e1a'],
    // A static pod's UID: the kubelet's hash of its manifest.
    ['3f1e9d3c2b4a5f6e7d8c9b0a1f2e3d4c', '3f1e9d3c2b4a5f6e7d8c9b0a1f2e3d4c'],
    ['6f0b7c2e5d1a-4c3b-9a8e-2f4d6b8c0e1a', undefined],
    ['testUID', undefined],
    ['', undefined],
  ])('%s → %s', (text, expected) => {
    expect(parsePodUid(text)).toBe(expected);
  });
});
