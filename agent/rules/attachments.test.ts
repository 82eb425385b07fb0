import { describe, expect, it } from 'vitest';
import { expectedAttachments, joinPodNetns, splitNetworkName, vfUsers } from './attachments.js';
import { joinHostLinks } from '../runtime/snapshot.js';
import { netLink } from '../../test/support/links.js';
import type { PodSandbox } from '../model/ports.js';
import { macvlanNad, netnsRef, pod, podMacvlan } from '../../test/support/pods.js';

const SELF = 7;
const host = joinHostLinks([netLink({ ifindex: 2, name: 'eth1' }), netLink({ ifindex: 3, name: 'eth2' }), netLink({ ifindex: 4, name: 'eth3' })], undefined);
const networks = [macvlanNad('mgmt-network', 'eth1', '10.10.0.0/24', 'mgmt'), macvlanNad('data-network', 'eth2', '10.20.0.0/24', 'data')];

const hexagonal = pod({
  name: 'hexagonal-app',
  uid: '11111111-2222-3333-4444-555555555555',
  requested: [
    { name: 'mgmt-network', interface: 'net1' },
    { name: 'data-network', interface: 'net2' },
    { name: 'storage-network', interface: 'net3' },
  ],
  status: [
    { name: 'cbr0', interface: 'eth0', mac: '0a:00:00:00:00:01', default: true },
    { name: 'default/mgmt-network', interface: 'net1', mac: '0a:00:00:00:01:01' },
    { name: 'default/data-network', interface: 'net2', mac: '0a:00:00:00:02:01' },
  ],
});
const db = pod({
  name: 'order-db-0',
  requested: [{ name: 'data-network' }],
  status: [
    { name: 'cbr0', interface: 'eth0', mac: '0a:00:00:00:00:02', default: true },
    { name: 'default/data-network', interface: 'net1', mac: '0a:00:00:00:02:02' },
  ],
});

const hexLinks = [
  netLink({ ifindex: 1, name: 'lo', operstate: 'unknown' }),
  netLink({ ifindex: 2, name: 'eth0', kind: 'veth', mac: '0a:00:00:00:00:01', parentIfindex: 9 as never, parentNetnsid: SELF as never }),
  podMacvlan(3, 'net1', '0a:00:00:00:01:01', 2, SELF),
  podMacvlan(4, 'net2', '0a:00:00:00:02:01', 3, SELF),
];
const dbLinks = [netLink({ ifindex: 2, name: 'eth0', kind: 'veth', mac: '0a:00:00:00:00:02' }), podMacvlan(3, 'net1', '0a:00:00:00:02:02', 3, SELF)];

describe('joinPodNetns', () => {
  const views = joinPodNetns({
    samples: [
      { ref: netnsRef(100, { podUid: hexagonal.uid, pids: [42] }), nsid: 0, links: hexLinks },
      { ref: netnsRef(101), nsid: 1, links: dbLinks },
      { ref: netnsRef(102), nsid: 2, links: [netLink({ ifindex: 2, name: 'eth0', kind: 'veth', mac: '0a:ff:00:00:00:09' })] },
    ],
    selfNsid: SELF,
    hostLinks: host,
    pods: [hexagonal, db],
    networks,
  });
  const [hex, dbView, stranger] = [100, 101, 102].map((i) => views.find((v) => v.netns.inode === i));

  it('joins by cgroup pod UID, by network-status MACs, or not at all', () => {
    expect([hex?.pod?.name, hex?.joinedBy]).toEqual(['hexagonal-app', 'cgroup']);
    expect([dbView?.pod?.name, dbView?.joinedBy]).toEqual(['order-db-0', 'network-status']);
    expect([stranger?.pod, stranger?.joinedBy]).toEqual([undefined, 'none']);
  });

  it('names network, kind, master and traffic class of each interface; loopback is left out', () => {
    expect(hex?.interfaces.map((i) => [i.link.name, i.network, i.kind, i.master, i.trafficClass, i.isDefault])).toEqual([
      ['eth0', 'cbr0', 'veth', '', '', true],
      ['net1', 'mgmt-network', 'macvlan', 'eth1', 'mgmt', false],
      ['net2', 'data-network', 'macvlan', 'eth2', 'data', false],
    ]);
  });

  it('marks the requested storage attachment missing', () => {
    expect(hex?.attachments).toEqual([
      { network: 'mgmt-network', networkNamespace: 'default', interface: 'net1', reason: 'requested', present: true },
      { network: 'data-network', networkNamespace: 'default', interface: 'net2', reason: 'requested', present: true },
      { network: 'storage-network', networkNamespace: 'default', interface: 'net3', reason: 'requested', present: false },
    ]);
  });

  it('does not resolve a parent that lives in a namespace other than the agent\'s', () => {
    const v = joinPodNetns({ samples: [{ ref: netnsRef(5), nsid: 3, links: [podMacvlan(3, 'net1', 'aa:aa:aa:aa:aa:aa', 2, SELF + 1)] }], selfNsid: SELF, hostLinks: host, pods: [], networks });
    expect(v[0]?.interfaces[0]?.master).toBe('');
  });
});

describe('joining through the container runtime (CRI sandboxes by netns inode)', () => {
  const sandbox = (inode: number, p: { namespace: string; name: string; uid?: string | undefined }, id = `sb-${inode}`): PodSandbox => ({
    id,
    namespace: p.namespace,
    name: p.name,
    uid: p.uid ?? '',
    netnsPath: `/var/run/netns/cni-${inode}`,
    pid: undefined,
    netnsInode: inode,
  });
  // An ipvlan L3 pod: network-status carries no MAC, and no process runs in its namespace.
  const l3 = pod({ name: 'l3-app', uid: '33333333-2222-3333-4444-555555555555', status: [{ name: 'default/data-network', interface: 'net1' }] });
  const l3Links = [netLink({ ifindex: 3, name: 'net1', kind: 'ipvlan', mac: '0a:00:00:00:02:02' })];
  const samples = [
    { ref: netnsRef(100, { podUid: hexagonal.uid, pids: [42] }), nsid: 0, links: hexLinks },
    { ref: netnsRef(101), nsid: 1, links: dbLinks },
    { ref: netnsRef(103), nsid: 3, links: l3Links },
  ];
  const join = (sandboxes: readonly PodSandbox[]): Record<number, [string | undefined, string, string | undefined]> =>
    Object.fromEntries(
      joinPodNetns({ samples, selfNsid: SELF, hostLinks: host, pods: [hexagonal, db, l3], networks, sandboxes }).map((v) => [v.netns.inode, [v.pod?.name, v.joinedBy, v.sandboxId]]),
    );

  it('prefers the runtime, then cgroup, then network-status; maps a pod with no process and no MAC', () => {
    expect(join([sandbox(100, hexagonal), sandbox(101, db), sandbox(103, l3)])).toEqual({
      100: ['hexagonal-app', 'cri', 'sb-100'],
      101: ['order-db-0', 'cri', 'sb-101'],
      103: ['l3-app', 'cri', 'sb-103'],
    });
  });

  it('without the runtime falls back in order: cgroup, network-status MACs, none', () => {
    expect(join([])).toEqual({ 100: ['hexagonal-app', 'cgroup', undefined], 101: ['order-db-0', 'network-status', undefined], 103: [undefined, 'none', undefined] });
  });

  it('the runtime is the authority over a MAC match: db\'s MAC in l3\'s namespace does not steal the pod the runtime names', () => {
    // l3's ipvlan shares db's MAC; the runtime says 103 is db's: the MAC-matched namespace 101 must not also take db.
    expect(join([sandbox(103, db)])).toEqual({ 100: ['hexagonal-app', 'cgroup', undefined], 101: [undefined, 'none', undefined], 103: ['order-db-0', 'cri', 'sb-103'] });
  });

  it('a sandbox whose pod the metadata does not know, or of a re-created pod (same name, new UID), falls back', () => {
    expect(join([sandbox(100, { ...hexagonal, uid: 'a-new-uid' }), sandbox(101, { namespace: 'default', name: 'gone', uid: 'other' })])).toEqual({
      100: ['hexagonal-app', 'cgroup', 'sb-100'],
      101: ['order-db-0', 'network-status', 'sb-101'],
      103: [undefined, 'none', undefined],
    });
  });

  it('matches by namespace and name when the pod\'s metadata carries no UID', () => {
    const noUid = pod({ name: 'l3-app' });
    const [v] = joinPodNetns({ samples: [samples[2] as never], selfNsid: SELF, hostLinks: host, pods: [noUid], networks, sandboxes: [sandbox(103, { namespace: 'default', name: 'l3-app', uid: 'u-1' })] });
    expect([v?.pod?.name, v?.joinedBy]).toEqual(['l3-app', 'cri']);
  });
});

describe('joining by network-status when MACs are shared (ipvlan)', () => {
  const shared = '0a:00:00:00:09:09';
  const a = pod({ name: 'a', status: [{ name: 'default/data-network', interface: 'net1', mac: shared }] });
  const b = pod({ name: 'b', status: [{ name: 'default/data-network', interface: 'net1', mac: shared }] });
  const links = [netLink({ ifindex: 3, name: 'net1', kind: 'ipvlan', mac: shared })];

  it('joins nobody on a tie rather than guessing', () => {
    const [v] = joinPodNetns({ samples: [{ ref: netnsRef(9), nsid: 1, links }], selfNsid: SELF, hostLinks: host, pods: [a, b], networks });
    expect(v?.pod).toBeUndefined();
  });

  it('rules out a pod whose listed interface has another MAC', () => {
    const c = pod({ name: 'c', status: [{ name: 'default/data-network', interface: 'net1', mac: '0a:00:00:00:00:0c' }] });
    const [v] = joinPodNetns({ samples: [{ ref: netnsRef(9), nsid: 1, links }], selfNsid: SELF, hostLinks: host, pods: [c, a], networks });
    expect(v?.pod?.name).toBe('a');
  });
});

describe('joining many namespaces by network-status (no process to read a cgroup from: Kata, a lost pause)', () => {
  const mac = (i: number, n: number): string => `0a:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}:0${n}`;
  const pods = Array.from({ length: 300 }, (_, i) =>
    pod({
      name: `p${i}`,
      uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      status: [
        { name: 'cbr0', interface: 'eth0', mac: mac(i, 0), default: true },
        { name: 'default/data-network', interface: 'net1', mac: mac(i, 1) },
      ],
    }),
  );

  it('joins each namespace to the pod whose MACs it holds, whatever the MACs\' case, and leaves out a namespace that matches a pod only in part', () => {
    const samples = pods.map((_, i) => ({
      ref: netnsRef(10_000 + i),
      nsid: i + 1,
      links: [netLink({ ifindex: 2, name: 'eth0', kind: 'veth', mac: mac(i, 0).toUpperCase() }), netLink({ ifindex: 3, name: 'net1', kind: 'macvlan', mac: i === 7 ? mac(8, 1) : mac(i, 1) })],
    }));
    const views = joinPodNetns({ samples, selfNsid: SELF, hostLinks: host, pods, networks });
    const byInode = new Map(views.map((v) => [v.netns.inode, v]));
    for (let i = 0; i < pods.length; i++) {
      const v = byInode.get(10_000 + i);
      // Namespace 7 holds pod 7's eth0 and pod 8's net1: pod 7 is ruled out (its net1 has another
      // MAC), pod 8 too (its eth0); nobody. Pod 8's own namespace still joins pod 8.
      expect([v?.pod?.name, v?.joinedBy], `netns ${i}`).toEqual(i === 7 ? [undefined, 'none'] : [`p${i}`, 'network-status']);
    }
  });

  it('a pod already joined by its cgroup is not joined again by MAC; the first of two equal pods is a tie, not a guess', () => {
    const twin = pod({ name: 'twin', status: [{ name: 'default/data-network', interface: 'net1', mac: mac(5, 1) }] });
    const cgroupFirst = { ref: netnsRef(1, { podUid: pods[5]?.uid as never }), nsid: 1, links: [] };
    const macOnly = { ref: netnsRef(2), nsid: 2, links: [netLink({ ifindex: 3, name: 'net1', kind: 'macvlan', mac: mac(5, 1) })] };
    const [a, b] = joinPodNetns({ samples: [macOnly, cgroupFirst], selfNsid: SELF, hostLinks: host, pods: [...pods, twin], networks }).sort((x, y) => x.netns.inode - y.netns.inode);
    expect([a?.pod?.name, a?.joinedBy]).toEqual(['p5', 'cgroup']);
    // p5 is claimed by its cgroup: twin is the only candidate left, and scores.
    expect([b?.pod?.name, b?.joinedBy]).toEqual(['twin', 'network-status']);
    const [c] = joinPodNetns({ samples: [macOnly], selfNsid: SELF, hostLinks: host, pods: [...pods, twin], networks });
    expect([c?.pod?.name, c?.joinedBy]).toEqual([undefined, 'none']);
  });
});

describe('expectedAttachments', () => {
  it('gives unnamed requests the status interface, else net<N> by position', () => {
    const p = pod({ name: 'p', requested: [{ name: 'mgmt-network' }, { name: 'data-network' }], status: [{ name: 'default/data-network', interface: 'net7' }] });
    expect(expectedAttachments(p, [netLink({ ifindex: 3, name: 'net1' })]).map((a) => [a.network, a.interface, a.present])).toEqual([
      ['mgmt-network', 'net1', true],
      ['data-network', 'net7', false],
    ]);
  });

  it('adds attachments that only network-status lists', () => {
    const p = pod({ name: 'p', status: [{ name: 'cbr0', interface: 'eth0', default: true }, { name: 'other/sriov-net', interface: 'net1' }] });
    expect(expectedAttachments(p, [])).toEqual([{ network: 'sriov-net', networkNamespace: 'other', interface: 'net1', reason: 'listed', present: false }]);
  });

  it('are worked out again when the links or the pod object change, and kept while neither does', () => {
    const p = pod({ name: 'p', uid: '77777777-2222-3333-4444-555555555555', requested: [{ name: 'mgmt-network', interface: 'net1' }, { name: 'data-network', interface: 'net2' }] });
    const eth0 = netLink({ ifindex: 2, name: 'eth0' });
    const net1 = netLink({ ifindex: 3, name: 'net1' });
    const net2 = netLink({ ifindex: 4, name: 'net2' });
    const both = expectedAttachments(p, [eth0, net1, net2]);
    expect(both.map((a) => a.present)).toEqual([true, true]);
    // The same names in fresh link objects (the next dump): the same answer, the same objects.
    expect(expectedAttachments(p, [netLink({ ifindex: 2, name: 'eth0' }), netLink({ ifindex: 3, name: 'net1' }), netLink({ ifindex: 4, name: 'net2' })])).toBe(both);
    // net2 gone, then a link renamed into its place: each time worked out anew.
    expect(expectedAttachments(p, [eth0, net1]).map((a) => a.present)).toEqual([true, false]);
    expect(expectedAttachments(p, [eth0, net1, netLink({ ifindex: 5, name: 'net2' })]).map((a) => a.present)).toEqual([true, true]);
    // An edited pod is a new object (the sources never change one in place): its own answer.
    const edited = { ...p, requested: { ok: true, value: [{ name: 'mgmt-network', namespace: 'default', interface: 'net9', mac: undefined, ips: [] }] } } as typeof p;
    expect(expectedAttachments(edited, [eth0, net1, net2]).map((a) => [a.interface, a.present])).toEqual([['net9', false]]);
    // And through the join, scrape after scrape: the views hold the same attachment objects while nothing changed.
    const ns = netnsRef(4026532001, { podUid: p.uid });
    const sample = (): Parameters<typeof joinPodNetns>[0]['samples'][number] => ({ ref: ns, nsid: 1, links: [netLink({ ifindex: 2, name: 'eth0' }), netLink({ ifindex: 3, name: 'net1' })] });
    const pods = [p];
    const [a] = joinPodNetns({ samples: [sample()], selfNsid: SELF, hostLinks: host, pods, networks });
    const [b] = joinPodNetns({ samples: [sample()], selfNsid: SELF, hostLinks: host, pods, networks });
    expect(a?.pod).toBe(p);
    expect(b?.attachments).toBe(a?.attachments);
    expect(b?.attachments.map((x) => [x.interface, x.present])).toEqual([
      ['net1', true],
      ['net2', false],
    ]);
  });

  it('splits network names', () => {
    expect(splitNetworkName('kube-system/sriov', 'default')).toEqual({ namespace: 'kube-system', name: 'sriov' });
    expect(splitNetworkName('cbr0', 'default')).toEqual({ namespace: 'default', name: 'cbr0' });
  });
});

describe('a VF netdev inside a pod', () => {
  const vf = netLink({ ifindex: 9, name: 'net1', mac: '0a:00:00:00:09:01', pciAddress: '0000:3b:02.1' as never });
  const dpdk = pod({ name: 'dpdk-app', uid: '99999999-2222-3333-4444-555555555555', requested: [{ name: 'sriov-data', interface: 'net1' }] });

  it('is kind sriov with its PCI address, from the kernel alone, and names its user', () => {
    const views = joinPodNetns({
      samples: [{ ref: netnsRef(300, { podUid: dpdk.uid, pids: [7] }), nsid: 4, links: [vf] }],
      selfNsid: SELF,
      hostLinks: host,
      pods: [dpdk],
      networks,
      vfPciAddresses: new Set(['0000:3b:02.1']),
    });
    expect(views[0]?.interfaces.map((i) => [i.link.name, i.kind, i.pciAddress, i.network])).toEqual([['net1', 'sriov', '0000:3b:02.1', 'sriov-data']]);
    expect([...vfUsers({ podNetns: views, pods: [dpdk], allocations: new Map() })]).toEqual([['0000:3b:02.1', { namespace: 'default', pod: 'dpdk-app', interface: 'net1', network: 'sriov-data' }]]);
  });

  it('a PCI netdev that is no VF is a host device', () => {
    const views = joinPodNetns({ samples: [{ ref: netnsRef(301), nsid: 5, links: [vf] }], selfNsid: SELF, hostLinks: host, pods: [], networks });
    expect(views[0]?.interfaces[0]?.kind).toBe('host-device');
  });
});
