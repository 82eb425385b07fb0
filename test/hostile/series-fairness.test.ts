/**
 * One pod cannot blind the agent to the others: a `k8s.v1.cni.cncf.io/networks` of 131,072
 * entries (`a,a,…`, 262 KB, the most an annotation can hold) used to give 131k
 * `attachment_missing` series, and the node's series limit then dropped every other pod's
 * interface series. Now a pod's interfaces and attachments are cut at the per-pod object limit,
 * the pod is named by `multinet_pod_series_capped` and a `pod-capped` problem, and the other
 * pods keep their series under the node-wide limit.
 */
import { describe, expect, it } from 'vitest';
import { type PodUid } from '../../agent/model/ids.js';
import { EMPTY_SNAPSHOT, type Snapshot } from '../../agent/model/snapshot.js';
import { parseNetworksAnnotation } from '../../agent/multus/parse-networks.js';
import { assess } from '../../agent/rules/assess.js';
import { joinPodNetns, POD_OBJECT_LIMIT } from '../../agent/rules/attachments.js';
import { joinHostLinks } from '../../agent/runtime/snapshot.js';
import { EXPORT_ALL } from '../../exporters/prometheus/export-filter.js';
import { createMetricsRenderer } from '../../exporters/prometheus/registry.js';
import { parseExposition } from '../support/exposition.js';
import { netLink } from '../support/links.js';
import { macvlanNad, netnsRef, pod, podMacvlan } from '../support/pods.js';
import { duplicateSeries } from './series.js';

const SELF = 0;

function hostileSnapshot(dummies: number): Snapshot {
  const hostLinks = joinHostLinks([netLink({ ifindex: 2, name: 'eth1' })], undefined);
  const networks = [macvlanNad('a', 'eth1', '10.1.0.0/24')];
  const annotation = Array(131_072).fill('a').join(',');
  const requested = parseNetworksAnnotation(annotation, 'default');
  if (!requested.ok) throw new Error(requested.error);
  const big = { ...pod({ name: 'big', uid: '00000000-0000-0000-0000-00000000000b' }), requested };
  const small = pod({ name: 'small', uid: '00000000-0000-0000-0000-00000000000c', requested: [{ name: 'a', interface: 'net1' }] });
  // The big pod also made 'dummies' links in its own namespace.
  const bigLinks = [netLink({ ifindex: 1, name: 'eth0', kind: 'veth' }), ...Array.from({ length: dummies }, (_, i) => netLink({ ifindex: 10 + i, name: `d${i}`, kind: 'dummy' }))];
  const podNetns = joinPodNetns({
    samples: [
      { ref: netnsRef(100, { podUid: big.uid as PodUid, pids: [10] }), nsid: 1, links: bigLinks },
      { ref: netnsRef(200, { podUid: small.uid as PodUid, pids: [20] }), nsid: 2, links: [netLink({ ifindex: 1, name: 'eth0', kind: 'veth' }), podMacvlan(3, 'net1', 'aa:00:00:00:00:01', 2, SELF)] },
    ],
    selfNsid: SELF,
    hostLinks,
    pods: [big, small],
    networks,
  });
  return { ...EMPTY_SNAPSHOT, takenAtMs: Date.now(), hostLinks, podNetns, pods: [big, small], networks };
}

describe('series budget fairness', () => {
  it('a 131,072-entry networks annotation and 20,000 links in one pod: capped, named, and the other pod keeps its series', async () => {
    const started = performance.now();
    const snapshot = hostileSnapshot(20_000);
    const assessment = assess(snapshot);
    const renderer = createMetricsRenderer({ version: 'test', processMetrics: false, assessed: () => Promise.resolve({ snapshot, assessment }), filter: { ...EXPORT_ALL, seriesLimit: 50_000 } });
    const text = await renderer.render();
    console.log(`join + assess + render of the hostile pod: ${(performance.now() - started).toFixed(0)} ms`);
    expect(duplicateSeries(text)).toEqual([]);
    const samples = parseExposition(text);
    const of = (name: string, podName: string) => samples.filter((s) => s.name === name && s.labels.pod === podName);
    expect(of('multinet_pod_network_attachment_missing', 'big').length).toBeLessThanOrEqual(POD_OBJECT_LIMIT);
    expect(of('multinet_pod_interface_up', 'big').length).toBeLessThanOrEqual(POD_OBJECT_LIMIT);
    expect(of('multinet_pod_series_capped', 'big').map((s) => s.value)).toEqual([1]);
    expect(of('multinet_pod_series_capped', 'small')).toEqual([]);
    expect(of('multinet_pod_interface_up', 'small').map((s) => s.labels.interface)).toEqual(['eth0', 'net1']);
    expect(of('multinet_pod_network_attachment_missing', 'small').map((s) => s.value)).toEqual([0]);
    expect(samples.find((s) => s.name === 'multinet_series_limit_reached')?.value).toBe(0);
    expect(assessment.problems.filter((p) => p.code === 'pod-capped').map((p) => p.message)).toEqual([
      `pod default/big has 20001 interfaces and 131072 attachments; only the first ${POD_OBJECT_LIMIT} of each are checked and exported (multinet_pod_series_capped)`,
    ]);
  });

  it('under the node-wide limit, pods share what is left fairly: a pod with 200 interfaces sorted first does not take it all', async () => {
    const hostLinks = joinHostLinks([netLink({ ifindex: 2, name: 'eth1' })], undefined);
    const mk = (name: string, n: number, inode: number) => {
      const p = pod({ name, uid: `00000000-0000-0000-0000-0000000${String(inode).padStart(5, '0')}` });
      const links = Array.from({ length: n }, (_, i) => netLink({ ifindex: 10 + i, name: `v${String(i).padStart(3, '0')}`, kind: 'veth' }));
      return { p, sample: { ref: netnsRef(inode, { podUid: p.uid as PodUid, pids: [inode] }), nsid: inode, links } };
    };
    const pods = [mk('a-hog', 200, 1), mk('b-small', 2, 2), mk('c-small', 2, 3)];
    const podNetns = joinPodNetns({ samples: pods.map((x) => x.sample), selfNsid: SELF, hostLinks, pods: pods.map((x) => x.p), networks: [] });
    const snapshot: Snapshot = { ...EMPTY_SNAPSHOT, takenAtMs: Date.now(), hostLinks, podNetns, pods: pods.map((x) => x.p) };
    const assessment = assess(snapshot);
    const unlimited = createMetricsRenderer({ version: 'test', processMetrics: false, assessed: () => Promise.resolve({ snapshot, assessment }), filter: EXPORT_ALL });
    const full = parseExposition(await unlimited.render());
    const all = full.find((s) => s.name === 'multinet_exported_series')?.value ?? 0;
    // Room for 20 of the 204 pod interfaces.
    const perInterface = full.filter((s) => s.name.startsWith('multinet_pod_interface_')).length / 204;
    const renderer = createMetricsRenderer({ version: 'test', processMetrics: false, assessed: () => Promise.resolve({ snapshot, assessment }), filter: { ...EXPORT_ALL, seriesLimit: all - 184 * perInterface } });
    const text = await renderer.render();
    expect(duplicateSeries(text)).toEqual([]);
    const samples = parseExposition(text);
    const count = (podName: string): number => samples.filter((s) => s.name === 'multinet_pod_interface_info' && s.labels.pod === podName).length;
    expect([count('a-hog'), count('b-small'), count('c-small')]).toEqual([16, 2, 2]);
    expect(samples.find((s) => s.name === 'multinet_series_limit_reached')?.value).toBe(1);
  });
});
