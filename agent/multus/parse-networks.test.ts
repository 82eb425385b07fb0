import { describe, expect, it } from 'vitest';
import type { NetworkSelection, Parsed } from '../model/pods.js';
import { isIpAddress, isMacAddress, parseNetworksAnnotation } from './parse-networks.js';

/** A selection with the defaults of the short syntax. */
function sel(namespace: string, name: string, over: Partial<NetworkSelection> = {}): NetworkSelection {
  return { namespace, name, interface: undefined, mac: undefined, ips: [], ...over };
}

const ok = (...value: NetworkSelection[]): Parsed<readonly NetworkSelection[]> => ({ ok: true, value });
const bad = (error: string): Parsed<readonly NetworkSelection[]> => ({ ok: false, error });
/** The JSON.parse message after the prefix varies with the Node version. */
const BAD_JSON: Parsed<never> = { ok: false, error: expect.stringMatching(/^annotation is not valid JSON: ./) as string };

/** The seed's multi-homed pod annotation, byte for byte as YAML's `|` block scalar delivers it. */
const SEED_POD = `[
  {"name": "mgmt-network", "interface": "net1"},
  {"name": "data-network", "interface": "net2"},
  {"name": "storage-network", "interface": "net3"}
]
`;

describe('parseNetworksAnnotation, short syntax', () => {
  it.each<[string, string | undefined, Parsed<readonly NetworkSelection[]>]>([
    ['absent', undefined, ok()],
    ['empty', '', ok()],
    // multus-cni k8sclient_test.go "gets pod network successfully from annotation values"
    ['network without namespace', 'net1', ok(sel('pod-ns', 'net1'))],
    ['network with namespace', 'default/net1', ok(sel('default', 'net1'))],
    ['network with interface name', 'net1@my_interface', ok(sel('pod-ns', 'net1', { interface: 'my_interface' }))],
    [
      'network with interface name and namespace',
      'default/net1@my_interface',
      ok(sel('default', 'net1', { interface: 'my_interface' })),
    ],
    // multus-cni k8sclient_test.go "retrieves delegates from kubernetes using simple format annotation"
    ['two networks', 'net1,net2', ok(sel('pod-ns', 'net1'), sel('pod-ns', 'net2'))],
    [
      'whitespace around entries and parts',
      '  other/ macvlan-conf @ net1 ,  sriov ',
      ok(sel('other', 'macvlan-conf', { interface: 'net1' }), sel('pod-ns', 'sriov')),
    ],
    ['interface of exactly 15 bytes', 'a@abcdefghijklmno', ok(sel('pod-ns', 'a', { interface: 'abcdefghijklmno' }))],
    // `null` has none of [ { ", so it is a name in the short syntax, as Multus reads it.
    ['the word null', 'null', ok(sel('pod-ns', 'null'))],
  ])('%s', (_, value, expected) => {
    expect(parseNetworksAnnotation(value, 'pod-ns')).toEqual(expected);
  });

  it.each<[string, string, Parsed<readonly NetworkSelection[]>]>([
    // multus-cni k8sclient_test.go "fails to get podnetwork given bad annotation values"
    [
      'more than 2 items separated by "/"',
      'root@someIP/root@someOtherIP/root@thirdIP',
      bad('entry 1 "root@someIP/root@someOtherIP/root@thirdIP": more than one "/"'),
    ],
    [
      'more than 2 items separated by "@"',
      'root@someIP/root@someOtherIP@garbagevalue',
      bad('entry 1 "root@someIP/root@someOtherIP@garbagevalue": more than one "@"'),
    ],
    [
      'not matching comma-delimited format',
      'root@someIP/root@someOtherIP',
      bad('entry 1 "root@someIP/root@someOtherIP": "root@someIP" is not a DNS-1123 label (lowercase letters, digits and "-")'),
    ],
    [
      'space in interface name',
      'default/net1@myIfc Name',
      bad('entry 1 "default/net1@myIfc Name": interface name "myIfc Name" contains whitespace or "/"'),
    ],
    [
      'interface name too long',
      'default/net1@very_long_interface_name',
      bad('entry 1 "default/net1@very_long_interface_name": interface name "very_long_interface_name" is longer than 15 bytes'),
    ],
    ['a/b/c', 'a/b/c', bad('entry 1 "a/b/c": more than one "/"')],
    ['a@b@c', 'a@b@c', bad('entry 1 "a@b@c": more than one "@"')],
    ['empty entry in the middle', 'net1,,net2', bad('entry 2 "": empty network name')],
    ['trailing comma', 'net1,', bad('entry 2 "": empty network name')],
    ['only whitespace', '   ', bad('entry 1 "": empty network name')],
    ['namespace without name', 'default/', bad('entry 1 "default/": empty network name')],
    ['interface without name', '@net1', bad('entry 1 "@net1": empty network name')],
    ['uppercase name', 'Net1', bad('entry 1 "Net1": "Net1" is not a DNS-1123 label (lowercase letters, digits and "-")')],
    ['name ending in "-"', 'net-', bad('entry 1 "net-": "net-" is not a DNS-1123 label (lowercase letters, digits and "-")')],
    [
      'interface of 16 bytes',
      'a@abcdefghijklmnop',
      bad('entry 1 "a@abcdefghijklmnop": interface name "abcdefghijklmnop" is longer than 15 bytes'),
    ],
    // 8 characters, 16 bytes: the kernel limit is in bytes.
    ['multi-byte interface name', 'a@éééééééé', bad('entry 1 "a@éééééééé": interface name "éééééééé" is longer than 15 bytes')],
  ])('refuses %s', (_, value, expected) => {
    expect(parseNetworksAnnotation(value, 'pod-ns')).toEqual(expected);
  });
});

describe('parseNetworksAnnotation, JSON syntax', () => {
  it.each<[string, string, Parsed<readonly NetworkSelection[]>]>([
    [
      'the seed pod (a YAML block scalar with newlines and indentation)',
      SEED_POD,
      ok(
        sel('default', 'mgmt-network', { interface: 'net1' }),
        sel('default', 'data-network', { interface: 'net2' }),
        sel('default', 'storage-network', { interface: 'net3' }),
      ),
    ],
    [
      'the seed order-service deployment template',
      '[\n  {"name": "data-network", "interface": "net1"},\n  {"name": "storage-network", "interface": "net2"}\n]\n',
      ok(sel('default', 'data-network', { interface: 'net1' }), sel('default', 'storage-network', { interface: 'net2' })),
    ],
    [
      'the seed order-db deployment template (one line)',
      '[{"name": "storage-network", "interface": "net1"}]\n',
      ok(sel('default', 'storage-network', { interface: 'net1' })),
    ],
    // multus-cni k8sclient_test.go "retrieves delegates from kubernetes using JSON format annotation":
    // ipRequest/macRequest are not keys of NetworkSelectionElement and are ignored.
    [
      'Multus test: unknown keys ignored, namespace given',
      '[\n{"name":"net1"},\n{\n  "name":"net2",\n  "ipRequest": "1.2.3.4",\n  "macRequest": "aa:bb:cc:dd:ee:ff"\n},\n{\n  "name":"net3",\n  "namespace":"other-ns"\n}\n]',
      ok(sel('default', 'net1'), sel('default', 'net2'), sel('other-ns', 'net3')),
    ],
    // multus-cni k8sclient_test.go "can set the default-gateway on an additional interface"
    [
      'Multus test: default-route',
      '[\n{"name":"net1"},\n{\n  "name":"net2",\n  "default-route": ["192.168.2.2"]\n},\n{\n  "name":"net3",\n  "namespace":"other-ns"\n}\n]',
      ok(sel('default', 'net1'), sel('default', 'net2'), sel('other-ns', 'net3')),
    ],
    [
      'every field',
      JSON.stringify([
        {
          name: 'sriov-a',
          namespace: 'nfv',
          interface: 'net5',
          mac: 'CA:FE:C0:FF:EE:00',
          ips: ['10.1.1.10/24', '2001:db8::10'],
          'infiniband-guid': 'c2:11:22:33:44:55:66:77',
          'default-route': ['10.1.1.1'],
          'cni-args': { foo: 'bar' },
          deviceID: '0000:03:02.3',
          portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
          bandwidth: { ingressRate: 1000, egressRate: 1000 },
        },
      ]),
      ok(sel('nfv', 'sriov-a', { interface: 'net5', mac: 'CA:FE:C0:FF:EE:00', ips: ['10.1.1.10/24', '2001:db8::10'] })),
    ],
    ['empty list', '[]', ok()],
    ['empty strings mean unset', '[{"name":"a","namespace":"","interface":"","mac":""}]', ok(sel('default', 'a'))],
    ['null fields mean unset', '[{"name":"a","namespace":null,"ips":null,"mac":null}]', ok(sel('default', 'a'))],
    [
      'deprecated interfaceRequest',
      '[{"name":"a","interfaceRequest":"net9"}]',
      ok(sel('default', 'a', { interface: 'net9' })),
    ],
    [
      'interface wins over interfaceRequest',
      '[{"name":"a","interface":"net1","interfaceRequest":"net9"}]',
      ok(sel('default', 'a', { interface: 'net1' })),
    ],
    // Go's encoding/json matches keys case-insensitively when no key matches exactly.
    ['keys in another case', '[{"Name":"a","INTERFACE":"net1"}]', ok(sel('default', 'a', { interface: 'net1' }))],
    ['MAC in dash and dot forms', '[{"name":"a","mac":"0a-0b-0c-0d-0e-0f"},{"name":"b","mac":"0a0b.0c0d.0e0f"}]', ok(
      sel('default', 'a', { mac: '0a-0b-0c-0d-0e-0f' }),
      sel('default', 'b', { mac: '0a0b.0c0d.0e0f' }),
    )],
    // Multus checks DNS-1123 only in the short syntax.
    ['names are not checked in JSON', '[{"name":"Net_1"}]', ok(sel('default', 'Net_1'))],
  ])('%s', (_, value, expected) => {
    expect(parseNetworksAnnotation(value, 'default')).toEqual(expected);
  });

  it.each<[string, string, Parsed<readonly NetworkSelection[]>]>([
    ['bad JSON', '[{"name": "a",}]', BAD_JSON],
    // multus-cni k8sclient_test.go "fails when the JSON format annotation is invalid"
    ['Multus test: [adsfasdfasdfasf]', '[adsfasdfasdfasf]', BAD_JSON],
    ['an object, not a list', '{"name": "a"}', bad('annotation is not a JSON list')],
    ['a JSON string', '"net1"', bad('annotation is not a JSON list')],
    ['a short list with a quote', 'net1,"net2"', BAD_JSON],
    ['a null entry', '[null]', bad('entry 1 is not an object')],
    ['a string entry', '[{"name":"a"},"b"]', bad('entry 2 is not an object')],
    ['no name', '[{"interface":"net1"}]', bad('entry 1: no "name"')],
    ['empty name', '[{"name":""}]', bad('entry 1: no "name"')],
    ['name not a string', '[{"name":5}]', bad('entry 1: "name" is not a string')],
    ['ips not a list', '[{"name":"a","ips":"10.0.0.1"}]', bad('entry 1: "ips" is not a list')],
    ['ips with a number', '[{"name":"a","ips":[10]}]', bad('entry 1: "ips" is not a list of strings')],
    ['bad IP', '[{"name":"a","ips":["10.0.0.256"]}]', bad('entry 1: invalid address "10.0.0.256" in "ips"')],
    ['bad CIDR prefix', '[{"name":"a","ips":["10.0.0.1/33"]}]', bad('entry 1: invalid address "10.0.0.1/33" in "ips"')],
    ['IP with leading zero', '[{"name":"a","ips":["10.0.0.01"]}]', bad('entry 1: invalid address "10.0.0.01" in "ips"')],
    ['bad MAC', '[{"name":"a","mac":"aa:bb:cc:dd:ee"}]', bad('entry 1: invalid "mac" "aa:bb:cc:dd:ee"')],
    ['MAC with mixed separators', '[{"name":"a","mac":"aa:bb-cc:dd:ee:ff"}]', bad('entry 1: invalid "mac" "aa:bb-cc:dd:ee:ff"')],
    ['bad infiniband-guid', '[{"name":"a","infiniband-guid":"xyz"}]', bad('entry 1: invalid "infiniband-guid" "xyz"')],
    ['CIDR as default-route', '[{"name":"a","default-route":["10.0.0.1/24"]}]', bad('entry 1: invalid address "10.0.0.1/24" in "default-route"')],
    ['cni-args not an object', '[{"name":"a","cni-args":[1]}]', bad('entry 1: "cni-args" is not an object')],
    ['port not an integer', '[{"name":"a","portMappings":[{"hostPort":"80"}]}]', bad('entry 1: "portMappings" entry 1: "hostPort" is not an integer')],
    ['bandwidth rate a fraction', '[{"name":"a","bandwidth":{"ingressRate":1.5}}]', bad('entry 1: "bandwidth": "ingressRate" is not an integer')],
    ['interface not a string', '[{"name":"a","interface":1}]', bad('entry 1: "interface" is not a string')],
    ['second entry bad', '[{"name":"a"},{"name":"b","mac":"nope"}]', bad('entry 2: invalid "mac" "nope"')],
  ])('refuses %s', (_, value, expected) => {
    expect(parseNetworksAnnotation(value, 'default')).toEqual(expected);
  });
});

describe('address checks as Go does them', () => {
  it.each<[string, boolean]>([
    ['00:00:5e:00:53:01', true],
    ['02:00:5e:10:00:00:00:01', true],
    ['00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01', true],
    ['00-00-5e-00-53-01', true],
    ['0000.5e00.5301', true],
    ['0200.5e10.0000.0001', true],
    ['00:00:5e:00:53', false],
    ['00:00:5e:00:53:01:02', false],
    ['0000:5e00:5301', false],
    ['zz:00:5e:00:53:01', false],
  ])('MAC %s → %s', (text, expected) => {
    expect(isMacAddress(text)).toBe(expected);
  });

  it.each<[string, boolean]>([
    ['192.0.2.1', true],
    ['2001:db8::1', true],
    ['::ffff:192.0.2.1', true],
    ['fe80::1%eth0', false],
    ['192.0.2.01', false],
    ['192.0.2', false],
  ])('IP %s → %s', (text, expected) => {
    expect(isIpAddress(text)).toBe(expected);
  });
});
