/**
 * One node with every kind of fault the lab injects — an attachment missing, an interface down, a
 * route that leaves by eth0, a policy violation, a host-local range full with a leaked lease, a
 * NAD that does not parse — seen through the three outputs: the problem series on /metrics,
 * doctor's JSON and the Events of the problem reporter. Made from one assessment per snapshot,
 * they must name the same set of (code, namespace, pod, interface, network).
 */
import { describe, expect, it } from 'vitest';
import { type KubeEvent } from '../../agent/model/ports.js';
import { type NetnsNetworking } from '../../agent/model/problems.js';
import { EMPTY_SNAPSHOT, type Snapshot } from '../../agent/model/snapshot.js';
import { type PodUid } from '../../agent/model/ids.js';
import { readPolicy } from '../../agent/multus/parse-nad.js';
import { assess } from '../../agent/rules/assess.js';
import { joinPodNetns } from '../../agent/rules/attachments.js';
import { hostLocalNetworks } from '../../agent/rules/ipam.js';
import { PROBLEM_REASON, ProblemReporter } from '../../agent/runtime/readiness-monitor.js';
import { SnapshotCache } from '../../agent/runtime/snapshot-cache.js';
import { joinHostLinks } from '../../agent/runtime/snapshot.js';
import { runDoctor } from '../../exporters/doctor/doctor.js';
import { createMetricsRenderer } from '../../exporters/prometheus/registry.js';
import { parseExposition } from '../support/exposition.js';
import { netLink } from '../support/links.js';
import { macvlanNad, netnsRef, networkDefinition, pod, podMacvlan } from '../support/pods.js';
import { problemKey as key, problemSeries } from '../support/problem-series.js';
import { renderChecked } from '../support/scrape.js';

const SELF = 0;
const LIVE_SANDBOX = 'c0ffee0000000000000000000000000000000000000000000000000000000001';

/** The faulty node; `networking` is what the route refresh read (web's routes send its subnet via eth0). */
function faultyNode(): { snapshot: Snapshot; networking: ReadonlyMap<number, NetnsNetworking> } {
  const networks = [
    macvlanNad('data-network', 'eth2', '10.20.0.0/24'),
    macvlanNad('mgmt-network', 'eth1', '10.10.0.0/24'),
    { ...macvlanNad('storage-network', 'eth3', '10.30.0.0/24'), policy: readPolicy('app=db') },
    networkDefinition('default', 'broken', { invalid: 'spec.config does not parse' }),
    // Two addresses, both taken: one by a live sandbox, one by a container long gone.
    networkDefinition('default', 'tiny', { type: 'macvlan', master: 'eth3', ipam: { type: 'host-local', ranges: [{ subnet: '10.60.0.0/24', rangeStart: '10.60.0.10', rangeEnd: '10.60.0.11', gateway: undefined }], routes: [], dataDir: undefined } }),
  ];
  const hostLinks = joinHostLinks([netLink({ ifindex: 2, name: 'eth1' }), netLink({ ifindex: 3, name: 'eth2' }), netLink({ ifindex: 4, name: 'eth3' })], undefined);
  const web = pod({ name: 'web-0', uid: 'uid-web', labels: { app: 'web' }, requested: [{ name: 'data-network', interface: 'net1' }, { name: 'mgmt-network', interface: 'net2' }] });
  const rogue = pod({ name: 'rogue', namespace: 'team-b', uid: 'uid-rogue', labels: { app: 'rogue' }, requested: [{ namespace: 'default', name: 'storage-network', interface: 'net1' }] });
  const podNetns = joinPodNetns({
    samples: [
      // net2 never came: attachment missing; net1 is down and its subnet is routed via eth0.
      { ref: netnsRef(100, { podUid: web.uid as PodUid, pids: [10], containerId: LIVE_SANDBOX }), nsid: 1, links: [podMacvlan(3, 'net1', 'aa:00:00:00:00:01', 3, SELF, { operstate: 'down' })] },
      // On storage-network, whose policy allows app=db only.
      { ref: netnsRef(200, { podUid: rogue.uid as PodUid, pids: [20] }), nsid: 2, links: [podMacvlan(3, 'net1', 'aa:00:00:00:00:02', 4, SELF)] },
    ],
    selfNsid: SELF,
    hostLinks,
    pods: [web, rogue],
    networks,
  });
  const networking = new Map<number, NetnsNetworking>([
    [100, { addresses: [{ iface: 'net1', family: 4, address: '10.20.0.5', prefixLen: 24 }], routes: [{ family: 4, dst: '10.20.0.0/24', gateway: undefined, iface: 'eth0' }] }],
  ]);
  const nets = hostLocalNetworks(networks.filter((n) => n.name === 'tiny'), '/var/lib/cni/networks');
  const dirs = [{ network: 'tiny', dir: '/var/lib/cni/networks/tiny', exists: true, allocations: [
    { ip: '10.60.0.10', containerId: LIVE_SANDBOX, ifname: 'net1', mtimeMs: 0 },
    { ip: '10.60.0.11', containerId: 'gone', ifname: 'net1', mtimeMs: 0 },
  ] }];
  const snapshot: Snapshot = { ...EMPTY_SNAPSHOT, takenAtMs: 60_000, hostLinks, podNetns, pods: [web, rogue], networks, networking, ipam: { nets, dirs, leaksJudgeable: true, leakGraceMs: 1000 } };
  return { snapshot, networking };
}

describe('doctor, /metrics and Events name the same problems', () => {
  it('on a node with every lab fault, from one assessment per snapshot', async () => {
    const { snapshot, networking } = faultyNode();
    const cache = new SnapshotCache(async () => snapshot, { maxAgeMs: 1000 });

    const metrics = problemSeries(parseExposition(await renderChecked(createMetricsRenderer({ version: 't', assessed: () => cache.get(), processMetrics: false }))));

    let json = '';
    const status = await runDoctor({ snapshot: async () => snapshot, networking: async () => networking, assess, sleep: async () => undefined, write: (t) => void (json += t), output: 'json' });
    const problems = (JSON.parse(json) as { problems: { code: string; namespace: string; pod: string; interface: string; network: string; message: string }[] }).problems;
    const doctor = new Set(problems.map((p) => key(p.code, p.namespace, p.pod, p.interface, p.network)));

    const events: KubeEvent[] = [];
    new ProblemReporter({ record: (e) => events.push(e) }, () => undefined).report((await cache.get()).assessment.problems);

    expect([...doctor].sort()).toEqual([
      key('attachment-missing', 'default', 'web-0', 'net2', 'mgmt-network'),
      key('interface-down', 'default', 'web-0', 'net1', 'data-network'),
      key('ipam-exhausted', 'default', '', '', 'tiny'),
      key('ipam-leaked', 'default', '', '', 'tiny'),
      key('nad-invalid', 'default', '', '', 'broken'),
      key('policy-violation', 'team-b', 'rogue', 'net1', 'storage-network'),
      key('route-mismatch', 'default', 'web-0', 'net1', 'data-network'),
    ]);
    expect(status).toBe(1);
    expect([...metrics].sort()).toEqual([...doctor].sort());

    // An Event names its problem by reason (the code), object (pod, or NAD = network) and message
    // (which names the pod's interface); one Event per problem.
    const reasonCode = new Map(Object.entries(PROBLEM_REASON).map(([code, reason]) => [reason, code]));
    const told = events.map((e) => {
      const { kind, namespace, name } = e.involvedObject;
      const p = problems.find((x) => x.message === e.message && x.namespace === namespace && (kind === 'Pod' ? x.pod === name : x.pod === '' && x.network === name));
      expect(p, `${e.reason} ${kind} ${namespace}/${name}: ${e.message}`).toBeDefined();
      if (p?.pod) expect(e.message).toContain(p.interface);
      return key(reasonCode.get(e.reason) ?? e.reason, p?.namespace ?? '', p?.pod ?? '', p?.interface ?? '', p?.network ?? '');
    });
    expect(told.sort()).toEqual([...doctor].sort());
  });
});
