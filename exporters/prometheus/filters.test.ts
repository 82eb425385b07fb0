/**
 * Filters, per-network sums and the series limit on a fixture node: whole expositions (golden,
 * `UPDATE_GOLDEN=1` regenerates) and the values that matter asserted one by one.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assess } from '../../agent/rules/assess.js';
import { joinPodNetns } from '../../agent/rules/attachments.js';
import { type AssessedSnapshot } from '../../agent/model/assessment.js';
import { type NetnsSample } from '../../agent/model/attachments.js';
import { type LinkCounters } from '../../agent/model/domain.js';
import { type IfIndex } from '../../agent/model/ids.js';
import { EMPTY_SNAPSHOT, type Snapshot } from '../../agent/model/snapshot.js';
import { anchoredRegex, defaultHostInterfaces, EXPORT_ALL, type ExportFilter } from './export-filter.js';
import { joinHostLinks } from '../../agent/runtime/snapshot.js';
import { parseExposition, type ParsedSample } from '../../test/support/exposition.js';
import { netLink, recordingLogger } from '../../test/support/links.js';
import { macvlanNad, netnsRef, pod, podMacvlan } from '../../test/support/pods.js';
import { expositionComplaints } from '../../test/support/exposition-invariant.js';
import { writeFamilies } from './exposition.js';
import { snapshotFamilies } from './families.js';
import { NetworkTotals } from './network-families.js';
import { createMetricsRenderer } from './registry.js';
import { countSeries, limitSeries } from './series-limit.js';
import { renderChecked } from '../../test/support/scrape.js';

const SELF = 7;
const counters = (x: number): LinkCounters => {
  const n = Math.round(x);
  return {
  rxBytes: BigInt(100 * n),
  rxPackets: BigInt(n),
  rxErrors: 0n,
  rxDropped: BigInt(Math.floor(n / 3)),
  rxMulticast: 0n,
  txBytes: BigInt(200 * n),
  txPackets: BigInt(2 * n),
  txErrors: 0n,
  txDropped: 0n,
  };
};

/** A node: physical NICs, NAD masters (a veth, a VLAN on a bond) and the churn of a CNI. */
const HOST = joinHostLinks(
  [
    netLink({ ifindex: 1, name: 'lo', operstate: 'unknown' }),
    netLink({ ifindex: 2, name: 'eno1', counters: counters(1000) }),
    netLink({ ifindex: 3, name: 'eth1', kind: 'veth', counters: counters(10) }),
    netLink({ ifindex: 4, name: 'bond0', kind: 'bond' }),
    netLink({ ifindex: 5, name: 'bond0.100', kind: 'vlan', parentIfindex: 4 as IfIndex }),
    netLink({ ifindex: 6, name: 'cali1234abcd', kind: 'veth' }),
    netLink({ ifindex: 7, name: 'tap0', kind: 'tun' }),
    netLink({ ifindex: 8, name: 'cni0', kind: 'bridge' }),
    netLink({ ifindex: 9, name: 'flannel.1', kind: 'vxlan' }),
    netLink({ ifindex: 10, name: 'eth9', kind: 'veth' }),
  ],
  undefined,
);
const NETWORKS = [macvlanNad('mgmt-network', 'eth1', '10.10.0.0/24', 'mgmt'), macvlanNad('data-network', 'bond0.100', '10.20.0.0/24', 'data')];
const web = pod({ name: 'web-0', namespace: 'default', requested: [{ name: 'mgmt-network', namespace: 'default', interface: 'net1' }, { name: 'data-network', namespace: 'default', interface: 'net2' }] });
const dns = pod({ name: 'dns-0', namespace: 'kube-system', requested: [{ name: 'mgmt-network', namespace: 'default', interface: 'net1' }] });

function sample(inode: number, podUid: string | undefined, links: ReturnType<typeof podMacvlan>[]): NetnsSample {
  return { ref: netnsRef(inode, { podUid: podUid as never, pids: podUid ? [inode] : [] }), nsid: inode, links };
}

/** The fixture snapshot; `webCounters` scales the web pod's counters (to move time on). */
function snapshot(opts: { webCounters?: number; withDns?: boolean; netnsFailed?: boolean } = {}): Snapshot {
  const w = opts.webCounters ?? 1;
  const pods = [{ ...web, uid: 'uid-web' as never }, { ...dns, uid: 'uid-dns' as never }];
  const samples = [
    sample(100, 'uid-web', [podMacvlan(2, 'net1', '0a:00:00:00:01:01', 3, SELF, { counters: counters(5 * w) }), podMacvlan(3, 'net2', '0a:00:00:00:02:01', 5, SELF, { counters: counters(7 * w) })]),
    ...(opts.withDns === false ? [] : [sample(101, 'uid-dns', [podMacvlan(2, 'net1', '0a:00:00:00:01:02', 3, SELF, { counters: counters(11), operstate: 'down' })])]),
    sample(102, undefined, [podMacvlan(2, 'eth0', '0a:00:00:00:09:09', 10, SELF, { kind: 'veth', counters: counters(3) })]),
  ];
  const podNetns = opts.netnsFailed ? [] : joinPodNetns({ samples, selfNsid: SELF, hostLinks: HOST, pods, networks: NETWORKS });
  return {
    ...EMPTY_SNAPSHOT,
    hostLinks: HOST,
    podNetns,
    pods,
    networks: NETWORKS,
    collectors: [{ name: 'netns', success: !opts.netnsFailed, durationSeconds: 0.001 }],
  };
}

const assessed = (snapshot: Snapshot): AssessedSnapshot => ({ snapshot, assessment: assess(snapshot) });
const filter = (over: Partial<ExportFilter>): ExportFilter => ({ ...EXPORT_ALL, hostInterfaces: 'default', ...over });
const re = anchoredRegex;
const names = (samples: readonly ParsedSample[], metric: string, label: string): string[] => [...new Set(samples.filter((s) => s.name === metric).map((s) => s.labels[label] ?? ''))].sort();
const render = (f: ExportFilter, s = snapshot(), totals?: NetworkTotals): ParsedSample[] => parseExposition(writeFamilies(snapshotFamilies(s, assess(s), f, totals)));

function golden(name: string, text: string): void {
  const url = new URL(`./testdata/${name}`, import.meta.url);
  // Every golden body holds the exposition invariant (its masked durations read as a number).
  expect(expositionComplaints(text.replace(/<duration>/g, '0.001'))).toBe('');
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(url, text);
  expect(text).toBe(readFileSync(url, 'utf8'));
}

describe('host interface filter', () => {
  it('default: physical NICs, NAD masters and what they rest on, masters of pod interfaces; no CNI churn', () => {
    // eth9, the host end of a pod's veth, is no master: churn like cali*.
    expect([...defaultHostInterfaces(snapshot(), assess(snapshot()))].sort()).toEqual(['bond0', 'bond0.100', 'eno1', 'eth1']);
  });

  it('all, include (replaces the set), exclude; readiness and required series are never filtered', () => {
    expect(names(render(filter({})), 'multinet_host_interface_up', 'interface')).toEqual(['bond0', 'bond0.100', 'eno1', 'eth1']);
    expect(names(render(filter({ hostInterfaces: 'all' })), 'multinet_host_interface_up', 'interface')).toHaveLength(10);
    expect(names(render(filter({ hostInterface: { include: re('cali.*|tap.*'), exclude: undefined } })), 'multinet_host_interface_up', 'interface')).toEqual(['cali1234abcd', 'tap0']);
    const excluded = render(filter({ hostInterface: { include: undefined, exclude: re('eth1|bond0') } }));
    expect(names(excluded, 'multinet_host_interface_info', 'interface')).toEqual(['bond0.100', 'eno1']);
    expect(names(excluded, 'multinet_host_interface_ready', 'interface')).toEqual(['bond0.100', 'eth1']);
    expect(names(excluded, 'multinet_host_interface_required', 'interface')).toEqual(['bond0.100', 'eth1']);
    // Anchored like Go's: "eth" alone matches no interface.
    expect(names(render(filter({ hostInterface: { include: re('eth'), exclude: undefined } })), 'multinet_host_interface_up', 'interface')).toEqual([]);
  });
});

describe('network and namespace filters', () => {
  it('network include by namespace/name drops the other networks\' pod, attachment and NAD series', () => {
    const s = render(filter({ network: { include: re('default/data-.*'), exclude: undefined } }));
    expect(names(s, 'multinet_pod_interface_up', 'network')).toEqual(['data-network']);
    expect(names(s, 'multinet_pod_network_attachment_missing', 'network')).toEqual(['data-network']);
    expect(names(s, 'multinet_network_attachment_definition_info', 'network')).toEqual(['data-network']);
    expect(names(s, 'multinet_host_interface_required', 'network')).toEqual(['data-network', 'mgmt-network']);
    expect(names(s, 'multinet_host_interface_required', 'network_namespace')).toEqual(['default']);
  });

  it('network exclude keeps interfaces no network claims; traffic class filters by the NAD label', () => {
    expect(names(render(filter({ network: { include: undefined, exclude: re('default/mgmt-network') } })), 'multinet_pod_interface_up', 'network')).toEqual(['', 'data-network']);
    const mgmt = render(filter({ trafficClass: { include: re('mgmt'), exclude: undefined } }));
    expect(names(mgmt, 'multinet_pod_interface_up', 'network')).toEqual(['mgmt-network']);
    expect(mgmt.filter((x) => x.name === 'multinet_pod_interface_up').map((x) => `${x.labels.namespace}/${x.labels.pod}`).sort()).toEqual(['default/web-0', 'kube-system/dns-0']);
  });

  it('namespace include/exclude; a namespace of no known pod matches as ""', () => {
    const pods = (f: ExportFilter): string[] => render(f).filter((x) => x.name === 'multinet_pod_interface_up').map((x) => `${x.labels.namespace}/${x.labels.pod}/${x.labels.netns}/${x.labels.interface}`).sort();
    expect(pods(filter({ namespace: { include: undefined, exclude: re('kube-system') } }))).toEqual(['//cni-102/eth0', 'default/web-0//net1', 'default/web-0//net2']);
    expect(pods(filter({ namespace: { include: re('default'), exclude: undefined } }))).toEqual(['default/web-0//net1', 'default/web-0//net2']);
    expect(pods(filter({ namespace: { include: re('default|'), exclude: undefined } }))).toEqual(['//cni-102/eth0', 'default/web-0//net1', 'default/web-0//net2']);
    expect(names(render(filter({ namespace: { include: re('default'), exclude: undefined } })), 'multinet_pod_network_attachment_missing', 'pod')).toEqual(['web-0']);
  });

  it('golden: default host set, network and namespace filters together', () => {
    const f = filter({ network: { include: undefined, exclude: re('default/data-network') }, namespace: { include: undefined, exclude: re('kube-system') } });
    const text = writeFamilies(snapshotFamilies(snapshot(), assess(snapshot()), f));
    golden('filters-default.prom', text);
    expect(expositionComplaints(text)).toBe('');
  });
});

describe('per-network sums', () => {
  const perNetwork = filter({ podSeries: 'per-network' });
  const value = (s: readonly ParsedSample[], metric: string, network: string, extra: Record<string, string> = {}): number | undefined =>
    s.find((x) => x.name === metric && x.labels.network === network && Object.entries(extra).every(([k, v]) => x.labels[k] === v))?.value;

  it('replace per-interface series with sums and interface counts per network', () => {
    const totals = new NetworkTotals();
    const s = render(perNetwork, snapshot(), totals);
    expect(s.filter((x) => x.name.startsWith('multinet_pod_interface_'))).toEqual([]);
    // mgmt: web-0 net1 (5) + dns-0 net1 (11); data: web-0 net2 (7); '': the unknown namespace's eth0 (3).
    expect(value(s, 'multinet_network_receive_bytes_total', 'mgmt-network')).toBe(100 * (5 + 11));
    expect(value(s, 'multinet_network_transmit_packets_total', 'data-network')).toBe(2 * 7);
    expect(value(s, 'multinet_network_receive_bytes_total', '')).toBe(300);
    expect(value(s, 'multinet_network_interfaces', 'mgmt-network', { state: 'up' })).toBe(1);
    expect(value(s, 'multinet_network_interfaces', 'mgmt-network', { state: 'down' })).toBe(1);
    golden('filters-per-network.prom', writeFamilies(snapshotFamilies(snapshot(), assess(snapshot()), perNetwork, new NetworkTotals())));
  });

  it('stay monotonic when a pod leaves, an interface is recreated, or the netns collector fails', () => {
    const totals = new NetworkTotals();
    render(perNetwork, snapshot(), totals);
    // dns-0 leaves: its 11 stay in mgmt's sum; web-0 counted on to 9.
    const left = render(perNetwork, snapshot({ webCounters: 9 / 5, withDns: false }), totals);
    expect(value(left, 'multinet_network_receive_bytes_total', 'mgmt-network')).toBe(100 * (9 + 11));
    expect(value(left, 'multinet_network_interfaces', 'mgmt-network', { state: 'down' })).toBe(0);
    // A failed netns collector sees no pods: the sums hold instead of counting everything twice later.
    const failed = render(perNetwork, snapshot({ netnsFailed: true, withDns: false }), totals);
    expect(value(failed, 'multinet_network_receive_bytes_total', 'mgmt-network')).toBe(100 * (9 + 11));
    const back = render(perNetwork, snapshot({ webCounters: 10 / 5, withDns: false }), totals);
    expect(value(back, 'multinet_network_receive_bytes_total', 'mgmt-network')).toBe(100 * (10 + 11));
    // web-0's net1 recreated (counters from 0 again): what it had counted is kept.
    const recreated = render(perNetwork, snapshot({ webCounters: 1 / 5, withDns: false }), totals);
    expect(value(recreated, 'multinet_network_receive_bytes_total', 'mgmt-network')).toBe(100 * (10 + 11 + 1));
    // Bounded: live interfaces plus one vector per network.
    expect(totals.size).toEqual({ interfaces: 3, networks: 2 });
  });
});

describe('series limit', () => {
  it('counts what is exported; under the limit nothing changes', () => {
    const families = snapshotFamilies(snapshot(), assess(snapshot()), filter({ hostInterfaces: 'all' }));
    const total = countSeries(families);
    expect(limitSeries(families, total)).toEqual({ families, dropped: 0 });
    expect(limitSeries(families, 0).dropped).toBe(0);
  });

  it('keeps host and readiness first and cuts pod interfaces whole, a fair share per pod (each its first interface, then its second, ...)', () => {
    const families = snapshotFamilies(snapshot(), assess(snapshot()), filter({ hostInterfaces: 'all' }));
    const total = countSeries(families);
    const podSeries = countSeries(families.filter((f) => f.name.startsWith('multinet_pod_interface_')));
    const perInterface = podSeries / 4;
    expect(perInterface).toBe(14);
    // Room for all but one and a half pod interfaces: two go, whole; each pod keeps its first.
    const { families: cut, dropped } = limitSeries(families, total - perInterface - perInterface / 2);
    expect(dropped).toBe(2 * perInterface);
    const s = parseExposition(writeFamilies(cut));
    expect(s.filter((x) => x.name === 'multinet_pod_interface_info').map((x) => `${x.labels.namespace}/${x.labels.pod}/${x.labels.netns}/${x.labels.interface}`)).toEqual([
      'default/web-0//net1',
      'kube-system/dns-0//net1',
    ]);
    expect(s.filter((x) => x.name === 'multinet_pod_interface_receive_bytes_total')).toHaveLength(2);
    expect(names(s, 'multinet_host_interface_up', 'interface')).toHaveLength(10);
  });

  it('a tiny limit keeps the agent\'s own and readiness series before host interfaces', () => {
    const families = snapshotFamilies(snapshot(), assess(snapshot()), filter({}));
    const s = parseExposition(writeFamilies(limitSeries(families, 6).families));
    expect(s.map((x) => x.name).sort()).toEqual([
      'multinet_host_interface_ready',
      'multinet_host_interface_ready',
      'multinet_host_interface_required',
      'multinet_host_interface_required',
      'multinet_scrape_collector_duration_seconds',
      'multinet_scrape_collector_success',
    ]);
  });

  it('in the renderer: multinet_exported_series, _limit_reached, _dropped, one warn and one info', async () => {
    const { log, lines } = recordingLogger();
    let current = snapshot();
    const limit = countSeries(snapshotFamilies({ ...snapshot(), podNetns: [] }, assess({ ...snapshot(), podNetns: [] }), filter({})));
    const renderer = createMetricsRenderer({ version: 't', assessed: async () => ({ snapshot: current, assessment: assess(current) }), processMetrics: false, filter: filter({ seriesLimit: limit }), log });
    const first = parseExposition(await renderChecked(renderer));
    const self = (s: readonly ParsedSample[]): number[] => ['multinet_exported_series', 'multinet_series_limit_reached', 'multinet_series_dropped'].map((n) => s.find((x) => x.name === n)?.value ?? NaN);
    const full = countSeries(snapshotFamilies(current, assess(current), filter({})));
    const [exported, reached, dropped] = self(first);
    expect(reached).toBe(1);
    expect(exported).toBeLessThanOrEqual(limit);
    expect((exported as number) + (dropped as number)).toBe(full);
    expect(first.filter((x) => x.name.startsWith('multinet_') && !['multinet_exported_series', 'multinet_series_limit_reached', 'multinet_series_dropped', 'multinet_build_info'].includes(x.name))).toHaveLength(exported as number);
    current = snapshot({ withDns: true, webCounters: 2 });
    await renderChecked(renderer);
    current = { ...snapshot(), podNetns: [] };
    const cleared = self(parseExposition(await renderChecked(renderer)));
    expect(cleared[1]).toBe(0);
    expect(cleared[2]).toBe(0);
    expect(lines.map((l) => `${l.level} ${l.msg}`)).toEqual(['warn series limit reached; pod series dropped', 'info series back under the limit']);
    golden('filters-limit.prom', (await renderChecked(createMetricsRenderer({ version: 't', nodeVersion: 'v0', assessed: async () => assessed(snapshot()), processMetrics: false, filter: filter({ seriesLimit: 80 }) }))).replace(/^(multinet_scrape_collector_duration_seconds\{[^}]*\}) .*$/gm, '$1 <duration>'));
  });

  it('on an empty snapshot: only the self-metrics', async () => {
    const text = await renderChecked(createMetricsRenderer({ version: 't', nodeVersion: 'v0', assessed: async () => assessed(EMPTY_SNAPSHOT), processMetrics: false, filter: filter({ seriesLimit: 10 }) }));
    golden('filters-empty.prom', text);
  });
});

