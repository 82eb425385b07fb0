import { describe, expect, it } from 'vitest';
import { type PciAddress } from '../model/ids.js';
import type { NetworkStatusEntry, Parsed, PodInfo } from '../model/pods.js';
import {
  LEGACY_NETWORK_STATUS_ANNOTATION,
  NETWORK_STATUS_ANNOTATION,
  parseNetworkStatus,
  parsePciAddress,
  readNetworkStatus,
} from './parse-network-status.js';

/** An entry with nothing but a name; override what the case is about. */
function entry(name: string, over: Partial<NetworkStatusEntry> = {}): NetworkStatusEntry {
  return {
    name,
    interface: undefined,
    ips: [],
    mac: undefined,
    mtu: undefined,
    default: false,
    pciAddress: undefined,
    deviceType: undefined,
    ...over,
  };
}

const ok = (...value: NetworkStatusEntry[]): Parsed<readonly NetworkStatusEntry[]> => ({ ok: true, value });
const bad = (error: string): Parsed<readonly NetworkStatusEntry[]> => ({ ok: false, error });
const BAD_JSON: Parsed<never> = { ok: false, error: expect.stringMatching(/^annotation is not valid JSON: ./) as string };

/**
 * What Multus writes for the seed's hexagonal-app once attached: `json.MarshalIndent` of each
 * NetworkStatus with four spaces, joined with "," inside "[...]" (net-attach-def client
 * `SetNetworkStatus`); the cluster network first with `default: true`.
 */
const SEED_STATUS = `[{
    "name": "cbr0",
    "interface": "eth0",
    "ips": [
        "10.244.1.7"
    ],
    "mac": "92:79:27:01:7c:ce",
    "default": true,
    "dns": {}
},{
    "name": "default/mgmt-network",
    "interface": "net1",
    "ips": [
        "10.10.0.100"
    ],
    "mac": "ea:0e:fa:63:95:f9",
    "mtu": 1500,
    "dns": {}
},{
    "name": "default/data-network",
    "interface": "net2",
    "ips": [
        "10.20.0.100"
    ],
    "mac": "ea:0e:fa:63:95:fa",
    "dns": {}
},{
    "name": "default/storage-network",
    "interface": "net3",
    "ips": [
        "10.30.0.100"
    ],
    "mac": "ea:0e:fa:63:95:fb",
    "dns": {}
}]`;

/** An SR-IOV VF, as the sriov-cni / device-info spec 1.1 example has it. */
const SRIOV_STATUS = JSON.stringify([
  {
    name: 'nfv/sriov-network-a',
    interface: 'net1',
    ips: ['192.0.2.10', '2001:db8::10'],
    mac: '02:11:22:33:44:55',
    mtu: 9000,
    dns: { nameservers: ['192.0.2.53'], domain: 'example.org', search: ['example.org'] },
    gateway: ['192.0.2.1'],
    'device-info': {
      type: 'pci',
      version: '1.1.0',
      pci: { 'pci-address': '0000:18:02.5', 'pf-pci-address': '0000:18:00.0', 'rdma-device': 'mlx5_3' },
    },
  },
]);

describe('parseNetworkStatus', () => {
  it.each<[string, string | undefined, Parsed<readonly NetworkStatusEntry[]>]>([
    ['absent', undefined, ok()],
    ['empty list', '[]', ok()],
    ['JSON null (Go decodes it to an empty slice)', 'null', ok()],
    [
      'the seed pod attached',
      SEED_STATUS,
      ok(
        entry('cbr0', { interface: 'eth0', ips: ['10.244.1.7'], mac: '92:79:27:01:7c:ce', default: true }),
        entry('default/mgmt-network', { interface: 'net1', ips: ['10.10.0.100'], mac: 'ea:0e:fa:63:95:f9', mtu: 1500 }),
        entry('default/data-network', { interface: 'net2', ips: ['10.20.0.100'], mac: 'ea:0e:fa:63:95:fa' }),
        entry('default/storage-network', { interface: 'net3', ips: ['10.30.0.100'], mac: 'ea:0e:fa:63:95:fb' }),
      ),
    ],
    [
      'an SR-IOV VF with device-info',
      SRIOV_STATUS,
      ok(
        entry('nfv/sriov-network-a', {
          interface: 'net1',
          ips: ['192.0.2.10', '2001:db8::10'],
          mac: '02:11:22:33:44:55',
          mtu: 9000,
          pciAddress: '0000:18:02.5' as PciAddress,
          deviceType: 'pci',
        }),
      ),
    ],
    [
      'a vDPA device backed by a VF',
      '[{"name":"vdpa","interface":"net2","device-info":{"type":"vdpa","version":"1.1.0","vdpa":{"parent-device":"vdpa2","driver":"vhost","path":"/dev/vhost-vdpa0","pci-address":"0000:02:01.6"}}}]',
      ok(entry('vdpa', { interface: 'net2', pciAddress: '0000:02:01.6' as PciAddress, deviceType: 'vdpa' })),
    ],
    [
      'vhost-user: no PCI address',
      '[{"name":"userspace","interface":"net3","device-info":{"type":"vhost-user","version":"1.1.0","vhost-user":{"mode":"client","path":"/var/run/net3/vhost.sock"}}}]',
      ok(entry('userspace', { interface: 'net3', deviceType: 'vhost-user' })),
    ],
    // The device-info spec's own vDPA example has "0000:02:01:6": left out, not fatal.
    [
      'a PCI address not in BDF form',
      '[{"name":"v","device-info":{"type":"vdpa","vdpa":{"pci-address":"0000:02:01:6"}}}]',
      ok(entry('v', { deviceType: 'vdpa' })),
    ],
    [
      'an uppercase PCI address is lowercased',
      '[{"name":"s","device-info":{"type":"pci","pci":{"pci-address":"0000:3B:02.1"}}}]',
      ok(entry('s', { pciAddress: '0000:3b:02.1' as PciAddress, deviceType: 'pci' })),
    ],
    ['unknown keys ignored', '[{"name":"n","default-route":["192.0.2.1"],"future":{"x":1}}]', ok(entry('n'))],
    ['keys in another case (Go)', '[{"Name":"n","Interface":"net1","MTU":1400}]', ok(entry('n', { interface: 'net1', mtu: 1400 }))],
    ['null fields mean unset', '[{"name":"n","interface":null,"ips":null,"device-info":null}]', ok(entry('n'))],
  ])('%s', (_, value, expected) => {
    expect(parseNetworkStatus(value)).toEqual(expected);
  });

  it.each<[string, string, Parsed<readonly NetworkStatusEntry[]>]>([
    ['bad JSON', '[{"name":"a"', BAD_JSON],
    ['empty string', '', BAD_JSON],
    ['not JSON at all', 'cbr0', BAD_JSON],
    ['an object, not a list', '{"name":"a"}', bad('annotation is not a JSON list')],
    ['a null entry', '[null]', bad('entry 1 is not an object')],
    ['a string entry', '[{"name":"a"},"b"]', bad('entry 2 is not an object')],
    ['no name', '[{"interface":"net1"}]', bad('entry 1: no "name"')],
    ['ips not a list', '[{"name":"a","ips":"10.0.0.1"}]', bad('entry 1: "ips" is not a list')],
    ['mtu a string', '[{"name":"a","mtu":"1500"}]', bad('entry 1: "mtu" is not an integer')],
    ['mtu a fraction', '[{"name":"a","mtu":1500.5}]', bad('entry 1: "mtu" is not an integer')],
    ['default a string', '[{"name":"a","default":"true"}]', bad('entry 1: "default" is not a boolean')],
    ['dns not an object', '[{"name":"a","dns":[]}]', bad('entry 1: "dns" is not an object')],
    ['dns nameservers a string', '[{"name":"a","dns":{"nameservers":"1.1.1.1"}}]', bad('entry 1: "dns": "nameservers" is not a list')],
    ['device-info a string', '[{"name":"a","device-info":"pci"}]', bad('entry 1: "device-info" is not an object')],
    [
      'pci-address a number',
      '[{"name":"a","device-info":{"type":"pci","pci":{"pci-address":3}}}]',
      bad('entry 1: "device-info": "pci": "pci-address" is not a string'),
    ],
  ])('refuses %s', (_, value, expected) => {
    expect(parseNetworkStatus(value)).toEqual(expected);
  });
});

describe('readNetworkStatus', () => {
  const current = '[{"name":"default/a","interface":"net1"}]';
  const legacy = '[{"name":"default/b","interface":"net2"}]';
  it.each<[string, Record<string, string>, Pick<PodInfo, 'status' | 'statusKey'>]>([
    ['neither key', {}, { status: ok(), statusKey: undefined }],
    [
      'the current key',
      { [NETWORK_STATUS_ANNOTATION]: current },
      { status: ok(entry('default/a', { interface: 'net1' })), statusKey: 'network-status' },
    ],
    [
      'only the legacy key',
      { [LEGACY_NETWORK_STATUS_ANNOTATION]: legacy },
      { status: ok(entry('default/b', { interface: 'net2' })), statusKey: 'networks-status' },
    ],
    [
      'both: the current key wins',
      { [NETWORK_STATUS_ANNOTATION]: current, [LEGACY_NETWORK_STATUS_ANNOTATION]: legacy },
      { status: ok(entry('default/a', { interface: 'net1' })), statusKey: 'network-status' },
    ],
    [
      'a broken current key does not fall back',
      { [NETWORK_STATUS_ANNOTATION]: '[{', [LEGACY_NETWORK_STATUS_ANNOTATION]: legacy },
      { status: BAD_JSON, statusKey: 'network-status' },
    ],
    [
      'a broken legacy key',
      { [LEGACY_NETWORK_STATUS_ANNOTATION]: '{}' },
      { status: bad('annotation is not a JSON list'), statusKey: 'networks-status' },
    ],
  ])('%s', (_, annotations, expected) => {
    expect(readNetworkStatus(annotations)).toEqual(expected);
  });
});

describe('parsePciAddress', () => {
  it.each<[string, string | undefined]>([
    ['0000:03:02.3', '0000:03:02.3'],
    ['0000:3B:00.0', '0000:3b:00.0'],
    ['10000:01:00.0', '10000:01:00.0'],
    ['03:02.3', undefined],
    ['0000:03:02.8', undefined],
    ['0000:03:02:3', undefined],
    ['', undefined],
  ])('%s → %s', (text, expected) => {
    expect(parsePciAddress(text)).toBe(expected);
  });
});
