/**
 * Pod secondary-interface, attachment-health and NAD families, a pure function of a snapshot and
 * its assessment. Per-interface series carry {namespace, pod, interface, network}; a namespace the agent cannot
 * tie to a pod is exported with empty pod labels and its `netns` name, so that two such
 * namespaces with an `eth0` each stay apart (`netns` is '' for a known pod).
 */
import { type Assessment } from '../../agent/model/assessment.js';
import { type ExpectedAttachment, type PodInterface, type PodNetnsView } from '../../agent/model/attachments.js';
import { type PodInfo } from '../../agent/model/pods.js';
import type { LinkCounters, NetLink, NetnsRef } from '../../agent/model/domain.js';
import { type Snapshot } from '../../agent/model/snapshot.js';
import { constrains, EXPORT_ALL, networkPasses, passes, type ExportFilter } from './export-filter.js';
import { formatLabels } from './exposition.js';
import { LabelTextCache, SampleCache, type LabelTexts } from './label-cache.js';
import { columnOf, type Family, type Labels, type Sample } from './family.js';
import { NetworkTotals } from './network-families.js';
import { networkLabels } from './network-labels.js';

/** A family over pod interfaces: name, type, help, and how it reads one link (undefined: no sample). */
interface PodLinkSpec {
  readonly name: string;
  readonly type: 'gauge' | 'counter';
  readonly help: string;
  readonly value: (l: NetLink) => number | bigint | boolean | undefined;
}

const counter = (suffix: string, field: keyof LinkCounters, what: string): PodLinkSpec => ({
  name: `multinet_pod_interface_${suffix}`,
  type: 'counter',
  help: `${what} (rtnl_link_stats64, read inside the pod's network namespace).`,
  value: (l) => l.counters?.[field],
});

const POD_LINK_SPECS: readonly PodLinkSpec[] = [
  { name: 'multinet_pod_interface_up', type: 'gauge', help: 'Whether the operational state of the pod interface is up.', value: (l) => l.operstate === 'up' },
  { name: 'multinet_pod_interface_carrier', type: 'gauge', help: 'Whether the pod interface has carrier.', value: (l) => l.carrier },
  { name: 'multinet_pod_interface_mtu_bytes', type: 'gauge', help: 'MTU of the pod interface in bytes.', value: (l) => l.mtu },
  { name: 'multinet_pod_interface_carrier_changes_total', type: 'counter', help: 'Carrier transitions of the pod interface since it was created.', value: (l) => l.carrierChanges },
  counter('receive_bytes_total', 'rxBytes', 'Bytes received'),
  counter('receive_packets_total', 'rxPackets', 'Packets received'),
  counter('receive_errors_total', 'rxErrors', 'Receive errors'),
  counter('receive_dropped_total', 'rxDropped', 'Received packets dropped'),
  counter('receive_multicast_total', 'rxMulticast', 'Multicast packets received'),
  counter('transmit_bytes_total', 'txBytes', 'Bytes transmitted'),
  counter('transmit_packets_total', 'txPackets', 'Packets transmitted'),
  counter('transmit_errors_total', 'txErrors', 'Transmit errors'),
  counter('transmit_dropped_total', 'txDropped', 'Transmitted packets dropped'),
];

/** The name a namespace is known by when its pod is unknown: its bind mount, else its inode. */
export function netnsLabel(ref: NetnsRef): string {
  return ref.bindPath ? (ref.bindPath.split('/').pop() ?? '') : `inode:${ref.inode}`;
}

function podLabels(view: PodNetnsView): { namespace: string; pod: string; netns: string } {
  return view.pod ? { namespace: view.pod.namespace, pod: view.pod.name, netns: '' } : { namespace: '', pod: '', netns: netnsLabel(view.netns) };
}

function seriesLabels(view: PodNetnsView, i: PodInterface): Labels {
  return { ...podLabels(view), interface: i.link.name, network_namespace: i.networkNamespace, network: i.network };
}

/** Whether the namespace filter keeps a view: its pod's namespace, '' when the pod is unknown. */
const namespacePasses = (filter: ExportFilter, view: PodNetnsView): boolean => passes(filter.namespace, view.pod?.namespace ?? '');

/** Orders by `key`. A function of the module, not a comparator made per call (docs/architecture.md, "Code on the scrape path"). */
const byKey = (a: { key: string }, b: { key: string }): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** The pod interfaces the filter keeps, in a stable order (namespace, pod, netns, interface): the series limit cuts it from the end. */
export function exportedPodInterfaces(views: readonly PodNetnsView[], filter: ExportFilter): { view: PodNetnsView; iface: PodInterface }[] {
  const out: { view: PodNetnsView; iface: PodInterface; key: string }[] = [];
  const byNetwork = constrains(filter.network) || constrains(filter.trafficClass);
  for (const view of views) {
    if (!namespacePasses(filter, view)) continue;
    const prefix = view.pod ? `${view.pod.namespace}\0${view.pod.name}\0` : `\uffff\0${netnsLabel(view.netns)}\0`;
    for (const iface of view.interfaces) {
      if (byNetwork && !networkPasses(filter, iface.networkNamespace, iface.network, iface.trafficClass)) continue;
      out.push({ view, iface, key: `${prefix}\0${iface.link.name}` });
    }
  }
  return out.sort(byKey);
}

function renderLabels(view: PodNetnsView, i: PodInterface): LabelTexts {
  const labels = seriesLabels(view, i);
  return {
    labels: formatLabels(labels),
    info: formatLabels({ ...labels, kind: i.kind, master: i.master, mac: i.link.mac ?? '', pci_address: i.pciAddress, traffic_class: i.trafficClass, default: i.isDefault ? 'true' : 'false' }),
  };
}

/** What a pod interface's label texts are made of, besides its pod and name (the cache key). */
const labelValues = (i: PodInterface): unknown[] => [i.networkNamespace, i.network, i.kind, i.master, i.link.mac, i.pciAddress, i.trafficClass, i.isDefault];

/** Pod interface families; `cache` keeps their label texts across renders. */
function podInterfaceFamilies(views: readonly PodNetnsView[], filter: ExportFilter, cache = new LabelTextCache()): Family[] {
  const infoTexts: string[] = [];
  const links: NetLink[] = [];
  const labelTexts: string[] = [];
  cache.begin();
  for (const { view, iface: i } of exportedPodInterfaces(views, filter)) {
    // Keyed by pod (or unknown namespace) and interface name: what the series labels identify.
    const key = view.pod ? `${view.pod.namespace}\0${view.pod.name}\0\0${i.link.name}` : `\0\0${netnsLabel(view.netns)}\0${i.link.name}`;
    const texts = cache.texts(key, labelValues(i), renderLabels, view, i);
    links.push(i.link);
    labelTexts.push(texts.labels);
    infoTexts.push(texts.info);
  }
  cache.end();
  return [
    {
      name: 'multinet_pod_interface_info',
      help: 'Descriptive labels of an interface inside a pod network namespace (value 1): network is the NAD it belongs to, master the host link it hangs off, default="true" for the cluster network.',
      type: 'gauge',
      samples: [],
      rows: { labelTexts: infoTexts, values: infoTexts.map(() => 1) },
      group: 'pod',
    },
    ...POD_LINK_SPECS.map((spec) => ({ name: spec.name, help: spec.help, type: spec.type, samples: [], rows: { labelTexts, values: columnOf(links, spec.value) }, group: 'pod' })),
  ];
}

/** An attachment's `multinet_pod_network_attachment_missing` sample; the join keeps a pod's attachment objects while nothing about them changes. */
const missingSamples = new SampleCache<ExpectedAttachment, PodInfo>((a, pod) => ({
  labels: { namespace: pod.namespace, pod: pod.name, network_namespace: a.networkNamespace, network: a.network, interface: a.interface },
  value: a.present ? 0 : 1,
}));

/** Attachment health: requested/listed vs present, and annotations that do not parse. */
function attachmentFamilies(snapshot: Snapshot, filter: ExportFilter): Family[] {
  const classOf = new Map(snapshot.networks.map((n) => [`${n.namespace}/${n.name}`, n.trafficClass]));
  const byNetwork = constrains(filter.network) || constrains(filter.trafficClass);
  const missing: Sample[] = [];
  for (const view of snapshot.podNetns) {
    if (!view.pod || !namespacePasses(filter, view)) continue;
    for (const a of view.attachments) {
      if (byNetwork && !networkPasses(filter, a.networkNamespace, a.network, classOf.get(`${a.networkNamespace}/${a.network}`) ?? '')) continue;
      missing.push(missingSamples.of(a, view.pod));
    }
  }
  const invalid: Sample[] = [];
  for (const pod of snapshot.pods) {
    if (!passes(filter.namespace, pod.namespace)) continue;
    if (!pod.requested.ok) invalid.push({ labels: { namespace: pod.namespace, pod: pod.name, annotation: 'k8s.v1.cni.cncf.io/networks' }, value: 1 });
    if (!pod.status.ok) invalid.push({ labels: { namespace: pod.namespace, pod: pod.name, annotation: `k8s.v1.cni.cncf.io/${pod.statusKey ?? 'network-status'}` }, value: 1 });
  }
  const capped: Sample[] = [];
  for (const view of snapshot.podNetns) {
    if (view.capped && namespacePasses(filter, view)) capped.push({ labels: podLabels(view), value: 1 });
  }
  return [
    {
      name: 'multinet_pod_series_capped',
      help: 'A pod (or unknown network namespace) holding more interfaces or attachments than the agent checks per pod (value 1): only the first 256 of each are assessed and exported, so one object cannot crowd out the rest.',
      type: 'gauge',
      samples: capped,
    },
    {
      name: 'multinet_pod_network_attachment_missing',
      help: 'For each network a pod on this node requested (k8s.v1.cni.cncf.io/networks) or Multus listed (network-status): 1 when its interface is absent from the pod network namespace, else 0.',
      type: 'gauge',
      samples: missing,
    },
    {
      name: 'multinet_pod_network_annotation_invalid',
      help: 'A Multus annotation of the pod that does not parse (value 1); the pod is joined without it.',
      type: 'gauge',
      samples: invalid,
    },
  ];
}

/** NAD families and, per host link that pods hang off or NADs name, its attachment count. */
function networkFamilies(snapshot: Snapshot, assessment: Assessment, filter: ExportFilter): Family[] {
  const nads = filter === EXPORT_ALL ? snapshot.networks : snapshot.networks.filter((n) => networkPasses(filter, n.namespace, n.name, n.trafficClass));
  const info: Sample[] = nads.map((n) => ({
    labels: {
      network_namespace: n.namespace,
      network: n.name,
      type: n.type,
      master: n.master ?? n.device ?? '',
      resource_name: n.resourceName ?? '',
      ipam_type: n.ipam?.type ?? '',
      traffic_class: n.trafficClass,
      policy: n.policy?.text ?? '',
    },
    value: 1,
  }));
  const invalid: Sample[] = nads.map((n) => ({ labels: { network_namespace: n.namespace, network: n.name }, value: n.invalid || n.policy?.error ? 1 : 0 }));

  const counts = new Map<string, number>();
  for (const n of snapshot.networks) {
    const dev = n.master ?? n.device;
    if (dev && snapshot.hostLinks.some((l) => l.name === dev)) counts.set(dev, 0);
  }
  for (const view of snapshot.podNetns) for (const i of view.interfaces) if (i.master) counts.set(i.master, (counts.get(i.master) ?? 0) + 1);
  const readiness = assessment.hostInterfaces;
  return [
    {
      name: 'multinet_host_interface_required',
      help: 'A NetworkAttachmentDefinition used by a pod on this node needs this host interface (value 1): macvlan/ipvlan master or host-device device.',
      type: 'gauge',
      samples: readiness.flatMap((r) => r.networks.map((network) => ({ labels: { interface: r.interface, ...networkLabels(network) }, value: 1 }))),
    },
    {
      name: 'multinet_host_interface_ready',
      help: 'Whether a required host interface can carry its pods\' traffic: it exists, is admin up and has carrier, and a PF has VFs.',
      type: 'gauge',
      samples: readiness.map((r) => ({ labels: { interface: r.interface }, value: r.ready ? 1 : 0 })),
    },
    {
      name: 'multinet_network_attachment_definition_info',
      help: 'A NetworkAttachmentDefinition known to the agent (value 1); master is the macvlan/ipvlan master or host-device device, policy its multinet.io/allowed-pods selector (empty: any pod may attach).',
      type: 'gauge',
      samples: info,
    },
    {
      name: 'multinet_network_attachment_definition_invalid',
      help: 'Whether the NAD config does not parse or lacks what its type needs, or its multinet.io/allowed-pods selector does not parse.',
      type: 'gauge',
      samples: invalid,
    },
    {
      name: 'multinet_host_interface_attachments',
      help: 'Pod interfaces currently hanging off this host interface (macvlan/ipvlan children in pod namespaces); NAD masters with none show 0.',
      type: 'gauge',
      samples: [...counts].map(([iface, n]) => ({ labels: { interface: iface }, value: n })),
    },
  ];
}

/**
 * Every pod-side family of a snapshot, as the filter asks. With `podSeries: 'per-network'` the
 * per-interface series give way to per-network sums kept by `totals` (one is made when absent,
 * which makes the sums only as monotonic as this one snapshot). `labels` keeps the interfaces'
 * label texts across renders (a renderer holds one).
 */
export function podFamilies(snapshot: Snapshot, assessment: Assessment, filter: ExportFilter = EXPORT_ALL, totals?: NetworkTotals, labels?: LabelTextCache): Family[] {
  const interfaces =
    filter.podSeries === 'per-network' ? (totals ?? new NetworkTotals()).families(snapshot, exportedPodInterfaces(snapshot.podNetns, filter)) : podInterfaceFamilies(snapshot.podNetns, filter, labels);
  return [...interfaces, ...attachmentFamilies(snapshot, filter), ...networkFamilies(snapshot, assessment, filter)];
}
