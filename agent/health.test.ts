import { describe, expect, it } from 'vitest';
import { joinPodNetns } from './attachments.js';
import { EMPTY_SNAPSHOT, type NetLink, type Snapshot } from './domain.js';
import { findProblems, routeFor, type NetnsNetworking } from './health.js';
import type { PodInfo } from './pods.js';
import { joinHostLinks } from './snapshot.js';
import { netLink } from '../test/support/links.js';
import { macvlanNad, netnsRef, pod, podMacvlan } from '../test/support/pods.js';

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
      ['subnet-not-routed', 'net2'],
      ['no-address', 'net2'],
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
