/**
 * Hostile annotations and namespaces that used to give the same series twice (same name and
 * labels): an invalid exposition that `promtool check metrics` does not catch. Every pod family
 * (attachments, pod interfaces, routes, policy) is unique by construction, and a contradictory
 * annotation is reported as a problem.
 */
import { describe, expect, it } from 'vitest';
import { type PodUid } from '../../agent/model/ids.js';
import { type NetnsNetworking } from '../../agent/model/problems.js';
import { EMPTY_SNAPSHOT, type Snapshot } from '../../agent/model/snapshot.js';
import { parseNetworksAnnotation } from '../../agent/multus/parse-networks.js';
import { assess } from '../../agent/rules/assess.js';
import { joinPodNetns } from '../../agent/rules/attachments.js';
import { hostLocalNetworks } from '../../agent/rules/ipam.js';
import { parseLabelSelector } from '../../agent/rules/label-selector.js';
import { joinHostLinks } from '../../agent/runtime/snapshot.js';
import { snapshotFamilies } from '../../exporters/prometheus/families.js';
import { netLink } from '../support/links.js';
import { macvlanNad, netnsRef, pod, podMacvlan } from '../support/pods.js';
import { duplicatesIn } from './series.js';

const SELF = 0;
const hostLinks = joinHostLinks([netLink({ ifindex: 2, name: 'eth1' })], undefined);
const policy = parseLabelSelector('app=x');
const nadD = { ...macvlanNad('nad-d', 'eth1', '10.9.0.0/24'), policy: { text: 'app=x', selector: policy.ok ? policy.value : undefined, error: undefined } };
const otherD = { ...nadD, namespace: 'other' };
const networks = [nadD, otherD];

function snapshotOf(annotation: string, samples: { inode: number; links: ReturnType<typeof netLink>[] }[]): Snapshot {
  const requested = parseNetworksAnnotation(annotation, 'default');
  if (!requested.ok) throw new Error(requested.error);
  const p = { ...pod({ name: 'p', uid: '00000000-0000-0000-0000-000000000001' }), requested };
  const podNetns = joinPodNetns({
    samples: samples.map((s, i) => ({ ref: netnsRef(s.inode, { podUid: p.uid as PodUid, pids: [10 + i] }), nsid: i + 1, links: s.links })),
    selfNsid: SELF,
    hostLinks,
    pods: [p],
    networks,
  });
  const networking = new Map<number, NetnsNetworking>(samples.map((s) => [s.inode, { addresses: [], routes: [{ family: 4, dst: '10.9.0.0/24', gateway: undefined, iface: 'eth0' }] }]));
  return { ...EMPTY_SNAPSHOT, takenAtMs: Date.now(), hostLinks, podNetns, pods: [p], networks, networking };
}

const links = [netLink({ ifindex: 1, name: 'eth0', kind: 'veth' }), podMacvlan(3, 'net1', 'aa:00:00:00:00:01', 2, SELF), podMacvlan(4, 'net9', 'aa:00:00:00:00:09', 2, SELF)];

describe('no series twice', () => {
  it('nad-d@net1,nad-d@net1,other/nad-d@net9,nad-d@net9: one attachment per interface, and the contradiction is a problem', () => {
    const snapshot = snapshotOf('nad-d@net1,nad-d@net1,other/nad-d@net9,nad-d@net9', [{ inode: 100, links }]);
    const assessment = assess(snapshot);
    expect(duplicatesIn(snapshotFamilies(snapshot, assessment))).toEqual([]);
    expect(snapshot.podNetns[0]?.attachments.map((a) => [a.networkNamespace, a.network, a.interface])).toEqual([
      ['default', 'nad-d', 'net1'],
      ['other', 'nad-d', 'net9'],
    ]);
    expect(assessment.problems.filter((p) => p.code === 'attachment-conflict').map((p) => [p.interface, p.message])).toEqual([
      ['net1', 'interface net1 is claimed by network default/nad-d and again by default/nad-d: Multus cannot create it twice; only default/nad-d is checked'],
      ['net9', 'interface net9 is claimed by network other/nad-d and again by default/nad-d: Multus cannot create it twice; only other/nad-d is checked'],
    ]);
  });

  it('a request without a name that lands on another\'s explicit interface (a,b@net1) is one attachment and a conflict', () => {
    const snapshot = snapshotOf('nad-d,other/nad-d@net1', [{ inode: 100, links }]);
    const assessment = assess(snapshot);
    expect(duplicatesIn(snapshotFamilies(snapshot, assessment))).toEqual([]);
    expect(assessment.problems.filter((p) => p.code === 'attachment-conflict')).toHaveLength(1);
  });

  it('two namespaces proven to be one pod\'s (cgroup): the pod is one of them, the other is exported as unknown', () => {
    const snapshot = snapshotOf('nad-d@net1', [
      { inode: 100, links },
      { inode: 200, links },
    ]);
    const assessment = assess(snapshot);
    expect(duplicatesIn(snapshotFamilies(snapshot, assessment))).toEqual([]);
    expect(snapshot.podNetns.map((v) => [v.netns.inode, v.pod?.name])).toEqual([
      [100, 'p'],
      [200, undefined],
    ]);
  });
});

describe('no IPAM series twice', () => {
  it('two NADs of one CNI network name with different dataDirs and one range', () => {
    const ipam = (dataDir: string | undefined) => ({ type: 'host-local', ranges: [{ subnet: '10.9.0.0/24', rangeStart: undefined, rangeEnd: undefined, gateway: undefined }], routes: [], dataDir });
    // Two NADs per directory: the series name no single NAD, so both directories' labels are alike.
    const a = { ...macvlanNad('nad-d', 'eth1', '10.9.0.0/24'), ipam: ipam(undefined) };
    const a2 = { ...a, namespace: 'x' };
    const b = { ...a, namespace: 'other', ipam: ipam('/var/lib/elsewhere') };
    const b2 = { ...b, namespace: 'y' };
    const nets = hostLocalNetworks([a, a2, b, b2], '/var/lib/cni/networks');
    expect(nets).toHaveLength(2);
    const snapshot: Snapshot = { ...EMPTY_SNAPSHOT, takenAtMs: Date.now(), networks: [a, a2, b, b2], ipam: { nets, dirs: [], leaksJudgeable: true, leakGraceMs: 0 } };
    expect(duplicatesIn(snapshotFamilies(snapshot, assess(snapshot)))).toEqual([]);
  });
});
