import { describe, expect, it } from 'vitest';
import type { NetworkDefinition, Parsed } from '../model/pods.js';
import { networkDefinitionFromObject, parseCniConfig, type CniSummary } from './parse-nad.js';
import { networkDefinition } from '../../test/support/pods.js';

/** A summary with nothing set; override what the case is about. */
function cni(over: Partial<CniSummary>): CniSummary {
  return { type: '', master: undefined, device: undefined, mode: undefined, ipam: undefined, mtu: undefined, invalid: undefined, ...over };
}

const invalid = (reason: string, type = ''): CniSummary => cni({ type, invalid: reason });
const BAD_JSON = expect.stringMatching(/^spec\.config is not valid JSON: ./) as string;

/** The seed's mgmt-network config, as its `config: |` block scalar delivers it. */
const SEED_MGMT = `{
  "cniVersion": "0.3.1",
  "type": "macvlan",
  "master": "eth1",
  "mode": "bridge",
  "ipam": {
    "type": "host-local",
    "subnet": "10.10.0.0/24",
    "rangeStart": "10.10.0.100",
    "rangeEnd": "10.10.0.200",
    "routes": [{"dst": "0.0.0.0/0"}],
    "gateway": "10.10.0.1"
  }
}
`;

describe('parseCniConfig', () => {
  it.each<[string, string | undefined, CniSummary]>([
    [
      'the seed mgmt-network (flat host-local)',
      SEED_MGMT,
      cni({
        type: 'macvlan',
        master: 'eth1',
        mode: 'bridge',
        ipam: {
          type: 'host-local',
          ranges: [{ subnet: '10.10.0.0/24', rangeStart: '10.10.0.100', rangeEnd: '10.10.0.200', gateway: '10.10.0.1' }],
          routes: ['0.0.0.0/0'],
          dataDir: undefined,
        },
      }),
    ],
    // Multus reads the config from a file on the node named after the NAD.
    ['absent', undefined, cni({})],
    ['empty', '', cni({})],
    // multus-cni k8sclient_test.go "injects network name into minimal thick plugin CNI config"
    ['Multus test: minimal {"type": "mynet"}', '{"type": "mynet"}', cni({ type: 'mynet' })],
    // containernetworking/plugins#298: macvlan falls back to the default-route interface.
    ['macvlan without master is valid', '{"type":"macvlan","mode":"bridge","ipam":{}}', cni({ type: 'macvlan', mode: 'bridge', ipam: { type: '', ranges: [], routes: [], dataDir: undefined } })],
    ['ipvlan without master is valid', '{"type":"ipvlan","mode":"l3"}', cni({ type: 'ipvlan', mode: 'l3' })],
    [
      'host-local ranges form (issue containernetworking/plugins#432)',
      JSON.stringify({
        cniVersion: '0.3.0',
        type: 'macvlan',
        mode: 'bridge',
        ipam: {
          type: 'host-local',
          ranges: [
            [{ subnet: '192.168.2.0/24', rangeStart: '192.168.2.82', rangeEnd: '192.168.2.86', gateway: '192.168.2.4' }],
            [{ subnet: '2001:db8::/64' }, { subnet: '2001:db8:1::/64', gateway: '2001:db8:1::1' }],
          ],
          routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0', gw: '2001:db8::1' }],
          dataDir: '/run/my-ipam',
        },
      }),
      cni({
        type: 'macvlan',
        mode: 'bridge',
        ipam: {
          type: 'host-local',
          ranges: [
            { subnet: '192.168.2.0/24', rangeStart: '192.168.2.82', rangeEnd: '192.168.2.86', gateway: '192.168.2.4' },
            { subnet: '2001:db8::/64', rangeStart: undefined, rangeEnd: undefined, gateway: undefined },
            { subnet: '2001:db8:1::/64', rangeStart: undefined, rangeEnd: undefined, gateway: '2001:db8:1::1' },
          ],
          routes: ['0.0.0.0/0', '::/0'],
          dataDir: '/run/my-ipam',
        },
      }),
    ],
    [
      'whereabouts range',
      '{"type":"ipvlan","master":"bond0","ipam":{"type":"whereabouts","range":"192.168.2.225/28","range_start":"192.168.2.226","gateway":"192.168.2.238"}}',
      cni({
        type: 'ipvlan',
        master: 'bond0',
        ipam: {
          type: 'whereabouts',
          ranges: [{ subnet: '192.168.2.225/28', rangeStart: '192.168.2.226', rangeEnd: undefined, gateway: '192.168.2.238' }],
          routes: [],
          dataDir: undefined,
        },
      }),
    ],
    [
      'whereabouts ipRanges',
      '{"type":"macvlan","master":"eth1","ipam":{"type":"whereabouts","ipRanges":[{"range":"10.0.0.0/24"},{"range":"fd00::/64","range_end":"fd00::ff"}]}}',
      cni({
        type: 'macvlan',
        master: 'eth1',
        ipam: {
          type: 'whereabouts',
          ranges: [
            { subnet: '10.0.0.0/24', rangeStart: undefined, rangeEnd: undefined, gateway: undefined },
            { subnet: 'fd00::/64', rangeStart: undefined, rangeEnd: 'fd00::ff', gateway: undefined },
          ],
          routes: [],
          dataDir: undefined,
        },
      }),
    ],
    ['host-device by name', '{"cniVersion":"0.3.1","type":"host-device","device":"ens2f1"}', cni({ type: 'host-device', device: 'ens2f1' })],
    ['host-device by pciBusID', '{"type":"host-device","pciBusID":"0000:AF:00.1"}', cni({ type: 'host-device', device: '0000:af:00.1' })],
    ['host-device: device wins over pciBusID', '{"type":"host-device","device":"eth5","pciBusID":"0000:af:00.1"}', cni({ type: 'host-device', device: 'eth5' })],
    ['sriov with mtu', '{"type":"sriov","vlan":100,"mtu":9000,"ipam":{"type":"static"}}', cni({ type: 'sriov', mtu: 9000, ipam: { type: 'static', ranges: [], routes: [], dataDir: undefined } })],
    ['mtu 0 is the kernel default', '{"type":"macvlan","master":"eth1","mtu":0}', cni({ type: 'macvlan', master: 'eth1' })],
    [
      'conflist: plugins[0] makes the interface, tuning sets the MTU',
      JSON.stringify({
        cniVersion: '0.4.0',
        name: 'mv-tuned',
        plugins: [
          { type: 'macvlan', master: 'eth1', mode: 'vepa', mtu: 1500, ipam: { type: 'host-local', subnet: '10.40.0.0/24' } },
          { type: 'tuning', mtu: 1400, sysctl: { 'net.core.somaxconn': '500' } },
          { type: 'portmap', capabilities: { portMappings: true } },
        ],
      }),
      cni({
        cniName: 'mv-tuned',
        type: 'macvlan',
        master: 'eth1',
        mode: 'vepa',
        mtu: 1400,
        ipam: {
          type: 'host-local',
          ranges: [{ subnet: '10.40.0.0/24', rangeStart: undefined, rangeEnd: undefined, gateway: undefined }],
          routes: [],
          dataDir: undefined,
        },
      }),
    ],
    [
      'conflist: a tuning without mtu keeps the plugin MTU',
      '{"plugins":[{"type":"ipvlan","master":"eth2","mtu":1450},{"type":"tuning","mac":"c2:11:22:33:44:55"}]}',
      cni({ type: 'ipvlan', master: 'eth2', mtu: 1450 }),
    ],
    ['single config with an empty plugins list is still a single config', '{"type":"bridge","plugins":[]}', cni({ type: 'bridge' })],
    ['keys in another case (Go)', '{"Type":"macvlan","Master":"eth1"}', cni({ type: 'macvlan', master: 'eth1' })],
  ])('%s', (_, config, expected) => {
    expect(parseCniConfig(config)).toEqual(expected);
  });

  it.each<[string, string, CniSummary]>([
    ['bad JSON', '{"type": "macvlan",', cni({ invalid: BAD_JSON })],
    ['only whitespace', '  ', cni({ invalid: BAD_JSON })],
    // multus-cni k8sclient_test.go "fails when on-disk config file is not valid"
    ['Multus test: asdfasdfasfdasfd', 'asdfasdfasfdasfd', cni({ invalid: BAD_JSON })],
    ['a list', '[{"type":"macvlan"}]', invalid('spec.config is not a JSON object')],
    ['a string', '"macvlan"', invalid('spec.config is not a JSON object')],
    ['neither type nor plugins', '{"cniVersion":"0.3.1","name":"x"}', invalid('spec.config has neither "type" nor "plugins"')],
    ['empty type and no plugins', '{"type":""}', invalid('spec.config has neither "type" nor "plugins"')],
    ['type not a string', '{"type":5}', invalid('"type" is not a string')],
    ['plugins not a list', '{"plugins":{"type":"macvlan"}}', invalid('"plugins" is not a list')],
    ['empty plugins', '{"plugins":[]}', invalid('"plugins" is empty')],
    ['plugins[0] without type', '{"plugins":[{"master":"eth1"}]}', invalid('plugins[0] has no "type"')],
    ['a chained plugin without type', '{"plugins":[{"type":"macvlan"},{"mtu":1400}]}', invalid('plugins[1] has no "type"')],
    ['a plugin that is not an object', '{"plugins":[{"type":"macvlan"},"tuning"]}', invalid('plugins[1] is not an object')],
    ['mtu a string', '{"type":"macvlan","mtu":"1500"}', invalid('"mtu" is not an integer', 'macvlan')],
    ['master a number', '{"type":"macvlan","master":1}', invalid('"master" is not a string', 'macvlan')],
    ['ipam a string', '{"type":"macvlan","ipam":"dhcp"}', invalid('"ipam" is not an object', 'macvlan')],
    ['a range set that is not a list', '{"type":"macvlan","ipam":{"ranges":[{"subnet":"10.0.0.0/24"}]}}', invalid('ipam: ranges[0] is not a list', 'macvlan')],
    ['a route without a string dst', '{"type":"macvlan","ipam":{"routes":[{"dst":0}]}}', invalid('ipam: routes[0]: "dst" is not a string', 'macvlan')],
    ['in a conflist, errors name the plugin', '{"plugins":[{"type":"macvlan","mode":2}]}', invalid('plugins[0]: "mode" is not a string', 'macvlan')],
    ['a tuning mtu that is not an integer', '{"plugins":[{"type":"macvlan"},{"type":"tuning","mtu":"9000"}]}', invalid('plugins[1]: "mtu" is not an integer', 'macvlan')],
  ])('refuses %s', (_, config, expected) => {
    expect(parseCniConfig(config)).toEqual(expected);
  });
});

describe('networkDefinitionFromObject', () => {
  const macvlan = '{"type":"macvlan","master":"eth1"}';
  const nad = (metadata: Record<string, unknown>, spec: unknown = { config: macvlan }): unknown => ({
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata,
    spec,
  });
  const def = (over: Partial<NetworkDefinition>): Parsed<NetworkDefinition> => ({
    ok: true,
    value: networkDefinition('default', 'net', { type: 'macvlan', master: 'eth1', ...over }),
  });

  it.each<[string, unknown, Parsed<NetworkDefinition>]>([
    ['namespace defaults to default', nad({ name: 'net' }), def({})],
    ['namespace as given', nad({ name: 'net', namespace: 'nfv' }), def({ namespace: 'nfv' })],
    [
      'SR-IOV resourceName annotation',
      nad({ name: 'sriov-a', annotations: { 'k8s.v1.cni.cncf.io/resourceName': 'intel.com/intel_sriov_netdevice' } }, { config: '{"type":"sriov","vlan":100}' }),
      def({ name: 'sriov-a', cniName: 'sriov-a', type: 'sriov', master: undefined, resourceName: 'intel.com/intel_sriov_netdevice' }),
    ],
    ['traffic class from a label', nad({ name: 'net', labels: { 'multinet.io/traffic-class': 'storage' } }), def({ trafficClass: 'storage' })],
    ['traffic class from an annotation', nad({ name: 'net', annotations: { 'multinet.io/traffic-class': 'mgmt' } }), def({ trafficClass: 'mgmt' })],
    [
      'the label wins over the annotation',
      nad({ name: 'net', labels: { 'multinet.io/traffic-class': 'data' }, annotations: { 'multinet.io/traffic-class': 'mgmt' } }),
      def({ trafficClass: 'data' }),
    ],
    ['the CNI network name from the config', nad({ name: 'net' }, { config: '{"name":"storage","type":"macvlan","master":"eth1"}' }), def({ cniName: 'storage' })],
    [
      'an attachment policy',
      nad({ name: 'net', annotations: { 'multinet.io/allowed-pods': 'hexagonal.io/adapter in (database)' } }),
      def({ policy: { text: 'hexagonal.io/adapter in (database)', selector: { text: 'hexagonal.io/adapter in (database)', requirements: [{ key: 'hexagonal.io/adapter', op: 'in', values: ['database'] }] }, error: undefined } }),
    ],
    [
      'an attachment policy that does not parse allows nobody and says why',
      nad({ name: 'net', annotations: { 'multinet.io/allowed-pods': 'app in (a b)' } }),
      def({ policy: { text: 'app in (a b)', selector: undefined, error: 'selector "app in (a b)": expected "," or ")" in "app in (...)", found "b"' } }),
    ],
    ['no spec: config from the node', { kind: 'NetworkAttachmentDefinition', metadata: { name: 'net' } }, def({ type: '', master: undefined })],
    ['spec without config', nad({ name: 'net' }, {}), def({ type: '', master: undefined })],
    ['an invalid config keeps the NAD', nad({ name: 'net' }, { config: '{"plugins":[]}' }), def({ type: '', master: undefined, invalid: '"plugins" is empty' })],
    // A YAML mapping where the JSON string should be: the API server would refuse it.
    ['config written as a YAML mapping', nad({ name: 'net' }, { config: { type: 'macvlan' } }), def({ type: '', master: undefined, invalid: 'spec.config is not a string' })],
  ])('%s', (_, obj, expected) => {
    expect(networkDefinitionFromObject(obj)).toEqual(expected);
  });

  it.each<[string, unknown, Parsed<NetworkDefinition>]>([
    ['not an object', 'nad', { ok: false, error: 'not an object' }],
    ['no metadata', { kind: 'NetworkAttachmentDefinition' }, { ok: false, error: 'no metadata' }],
    ['no name', nad({ namespace: 'x' }), { ok: false, error: 'no metadata.name' }],
    ['a label that is not a string', nad({ name: 'n', labels: { 'multinet.io/traffic-class': 1 } }), { ok: false, error: 'metadata.labels["multinet.io/traffic-class"] is not a string' }],
  ])('refuses %s', (_, obj, expected) => {
    expect(networkDefinitionFromObject(obj)).toEqual(expected);
  });
});
