import { describe, expect, it } from 'vitest';
import { joinPodNetns } from './attachments.js';
import { type NetLink } from '../model/domain.js';
import { EMPTY_SNAPSHOT, type Snapshot } from '../model/snapshot.js';
import { assess } from './assess.js';
import { routeFor, routeMismatch } from './health.js';
import { type NetnsNetworking } from '../model/problems.js';
import { readPolicy } from '../multus/parse-nad.js';
import type { PodInfo } from '../model/pods.js';
import { joinHostLinks } from '../runtime/snapshot.js';
import { netLink } from '../../test/support/links.js';
import { macvlanNad, netnsRef, pod, podMacvlan } from '../../test/support/pods.js';

const SELF = 0;
const networks = [macvlanNad('mgmt-network', 'eth1', '10.10.0.0/24'), macvlanNad('data-network', 'eth2', '10.20.0.0/24')];
const app = pod({
  name: 'order-service-abc123',
  uid: '11111111-2222-3333-4444-555555555555',
  requested: [
    { name: 'mgmt-network', interface: 'net1' },
    { name: 'data-network', interface: 'net2' },
  ],
});

function snapshot(opts: { host?: NetLink[]; pod?: NetLink[]; pods?: PodInfo[] }): Snapshot {
  const hostLinks = joinHostLinks(opts.host ?? [netLink({ ifindex: 2, name: 'eth1' }), netLink({ ifindex: 3, name: 'eth2' })], undefined);
  const pods = opts.pods ?? [app];
  const podNetns = joinPodNetns({
    samples: [{ ref: netnsRef(100, { podUid: app.uid, pids: [42] }), nsid: 1, links: opts.pod ?? [podMacvlan(3, 'net1', 'aa:00:00:00:00:01', 2, SELF), podMacvlan(4, 'net2', 'aa:00:00:00:00:02', 3, SELF)] }],
    selfNsid: SELF,
    hostLinks,
    pods,
    networks,
  });
  return { ...EMPTY_SNAPSHOT, hostLinks, podNetns, pods, networks };
}

const healthyNet: NetnsNetworking = {
  addresses: [
    { iface: 'net1', family: 4, address: '10.10.0.100', prefixLen: 24 },
    { iface: 'net2', family: 4, address: '10.20.0.100', prefixLen: 24 },
  ],
  routes: [
    { family: 4, dst: '0.0.0.0/0', gateway: '10.244.0.1', iface: 'eth0' },
    { family: 4, dst: '10.10.0.0/24', gateway: undefined, iface: 'net1' },
    { family: 4, dst: '10.20.0.0/24', gateway: undefined, iface: 'net2' },
  ],
};

const findProblems = (s: Snapshot, networking?: ReadonlyMap<number, NetnsNetworking>) => assess(s, networking).problems;
const codes = (s: Snapshot, net?: NetnsNetworking): string[][] => findProblems(s, net ? new Map([[100, net]]) : undefined).map((p) => [p.code, p.interface]);

describe('findProblems', () => {
  it('finds nothing in a healthy pod', () => {
    expect(codes(snapshot({}), healthyNet)).toEqual([]);
  });

  it('pod has no additional interface', () => {
    const problems = findProblems(snapshot({ pod: [podMacvlan(3, 'net1', 'aa:00:00:00:00:01', 2, SELF)] }));
    expect(problems.map((p) => [p.code, p.interface, p.network])).toEqual([['attachment-missing', 'net2', 'data-network']]);
    expect(problems[0]?.hints).toContain('Check host interface exists (master field in NAD config)');
  });

  it('interface down, as on the seed dashboard', () => {
    const p = findProblems(snapshot({ pod: [podMacvlan(3, 'net1', 'aa:00:00:00:00:01', 2, SELF), podMacvlan(4, 'net2', 'aa:00:00:00:00:02', 3, SELF, { operstate: 'down' })] }));
    expect(p.map((x) => x.message)).toEqual(['net2 interface down (operstate down)']);
  });

  it('master missing, and master down', () => {
    expect(codes(snapshot({ host: [netLink({ ifindex: 2, name: 'eth1' })], pod: [podMacvlan(3, 'net1', 'aa:00:00:00:00:01', 2, SELF)] }))).toEqual([
      ['attachment-missing', 'net2'],
      ['master-missing', 'net2'],
    ]);
    expect(codes(snapshot({ host: [netLink({ ifindex: 2, name: 'eth1', adminUp: false, operstate: 'down' }), netLink({ ifindex: 3, name: 'eth2' })] }))).toEqual([['master-down', 'net1']]);
  });

  it('MTU above the master\'s', () => {
    expect(codes(snapshot({ pod: [podMacvlan(3, 'net1', 'aa:00:00:00:00:01', 2, SELF, { mtu: 9000 }), podMacvlan(4, 'net2', 'aa:00:00:00:00:02', 3, SELF)] }))).toEqual([['mtu-above-master', 'net1']]);
  });

  it('the network\'s subnet not routed via its interface, and no address from IPAM', () => {
    const net: NetnsNetworking = {
      addresses: [healthyNet.addresses[0] as never],
      routes: [...healthyNet.routes.filter((r) => r.iface !== 'net2'), { family: 4, dst: '10.20.0.0/16', gateway: '10.244.0.1', iface: 'eth0' }],
    };
    expect(codes(snapshot({}), net)).toEqual([
      ['route-mismatch', 'net2'],
      ['no-address', 'net2'],
    ]);
    expect(findProblems(snapshot({}), new Map([[100, net]]))[0]?.message).toBe('10.20.0.0/24 of network data-network is routed via eth0, not net2');
  });

  it('a destination of the NAD\'s IPAM routes leaving by another interface is a route mismatch too', () => {
    const withRoutes = networks.map((n) => (n.name === 'mgmt-network' && n.ipam ? { ...n, ipam: { ...n.ipam, routes: ['192.168.50.0/24', 'fd00::/64'] } } : n));
    const s: Snapshot = { ...snapshot({}), networks: withRoutes };
    const joined = joinPodNetns({ samples: [{ ref: s.podNetns[0]?.netns as never, nsid: 1, links: s.podNetns[0]?.interfaces.map((i) => i.link) ?? [] }], selfNsid: SELF, hostLinks: s.hostLinks, pods: s.pods, networks: withRoutes });
    const viaEth0 = findProblems({ ...s, podNetns: joined }, new Map([[100, healthyNet]]));
    expect(viaEth0.map((p) => [p.code, p.message])).toEqual([['route-mismatch', '192.168.50.0/24 of network mgmt-network is routed via eth0, not net1']]);
    const viaNet1 = { ...healthyNet, routes: [...healthyNet.routes, { family: 4 as const, dst: '192.168.50.0/24', gateway: '10.10.0.1', iface: 'net1' }] };
    expect(findProblems({ ...s, podNetns: joined }, new Map([[100, viaNet1]]))).toEqual([]);
  });

  it('a default route in the NAD\'s routes is judged by its covering route only: the other interfaces\' subnets are its carve-outs', () => {
    const def = { name: 'mgmt', master: 'eth1', ipam: { type: 'host-local', ranges: [], routes: ['0.0.0.0/0'] } } as never;
    const table = (defaultVia: string) => [
      { family: 4 as const, dst: '0.0.0.0/0', gateway: '10.10.0.1', iface: defaultVia },
      { family: 4 as const, dst: '10.20.0.0/24', gateway: undefined, iface: 'net2' },
      { family: 4 as const, dst: '10.96.0.0/12', gateway: '10.244.0.1', iface: 'eth0' },
    ];
    expect(routeMismatch('net1', def, table('net1'))).toBeUndefined();
    expect(routeMismatch('net1', def, table('eth0'))).toEqual({ dst: '0.0.0.0/0', via: 'eth0', range: '0.0.0.0/0' });
  });

  it('attachment policy: a pod whose labels the NAD\'s selector does not match is a violation; a selector that does not parse allows nobody', () => {
    const guarded = (text: string) => networks.map((n) => (n.name === 'data-network' ? { ...n, policy: readPolicy(text) } : n));
    const run = (text: string, labels: Record<string, string>) => {
      const p = { ...app, labels };
      const nets = guarded(text);
      const base = snapshot({ pods: [p] });
      const podNetns = joinPodNetns({ samples: [{ ref: base.podNetns[0]?.netns as never, nsid: 1, links: base.podNetns[0]?.interfaces.map((i) => i.link) ?? [] }], selfNsid: SELF, hostLinks: base.hostLinks, pods: [p], networks: nets });
      return findProblems({ ...base, networks: nets, podNetns }).map((x) => [x.code, x.interface, x.network, x.message]);
    };
    expect(run('hexagonal.io/adapter in (database)', { app: 'order-service', 'hexagonal.io/adapter': 'database' })).toEqual([]);
    expect(run('hexagonal.io/adapter in (database)', { app: 'order-service' })).toEqual([
      ['policy-violation', 'net2', 'data-network', 'net2 is attached to network default/data-network, which allows only pods matching "hexagonal.io/adapter in (database)" (pod labels: app=order-service)'],
    ]);
    expect(run('app in (a b)', { app: 'order-service' })).toEqual([
      ['policy-violation', 'net2', 'data-network', 'net2 is attached to network default/data-network, whose multinet.io/allowed-pods does not parse: no pod may attach'],
      ['nad-invalid', '', 'data-network', 'NetworkAttachmentDefinition default/data-network: annotation multinet.io/allowed-pods does not parse (selector "app in (a b)": expected "," or ")" in "app in (...)", found "b"); no pod may attach until it does'],
    ]);
  });

  it('an annotation that does not parse, and an invalid NAD', () => {
    const bad: PodInfo = { ...app, requested: { ok: false, error: 'unexpected token' } };
    const s = snapshot({ pods: [bad] });
    const withBadNad: Snapshot = { ...s, networks: [...s.networks, { ...macvlanNad('x', 'eth9', '10.9.0.0/24'), invalid: 'config is not JSON' }] };
    expect(findProblems(withBadNad).map((p) => p.code)).toEqual(['annotation-invalid', 'nad-invalid']);
  });
});

describe('routeFor', () => {
  it('picks the longest prefix', () => {
    expect(routeFor('10.20.0.0/24', healthyNet.routes)?.iface).toBe('net2');
    expect(routeFor('10.99.0.0/24', healthyNet.routes)?.iface).toBe('eth0');
  });
});
