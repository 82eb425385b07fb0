/**
 * Metric families as a pure function of a snapshot (kube-state-metrics style): no state, no
 * increments. Kernel counters are copied as the kernel reports them.
 */
import { Family, columnOf } from './family.js';
import type { HostLink, LinkCounters } from '../../agent/model/domain.js';
import { type Snapshot } from '../../agent/model/snapshot.js';
import { formatLabels } from './exposition.js';
import { LabelTextCache, type LabelTexts } from './label-cache.js';

/** A family's name, type and help, and how it reads one host link (undefined: no sample). */
interface HostLinkSpec {
  readonly name: string;
  readonly type: 'gauge' | 'counter';
  readonly help: string;
  readonly value: (l: HostLink) => number | bigint | boolean | undefined;
}

const counter = (
  name: string,
  help: string,
  pick: (c: LinkCounters) => bigint,
): HostLinkSpec => ({
  name,
  type: 'counter',
  help,
  value: (l) => (l.counters ? pick(l.counters) : undefined),
});

/** Per-interface families, all labelled by `interface` alone; descriptive labels live in _info. */
const HOST_LINK_SPECS: readonly HostLinkSpec[] = [
  { name: 'multinet_host_interface_admin_up', type: 'gauge', help: 'Whether the interface is administratively up (IFF_UP).', value: (l) => l.adminUp },
  { name: 'multinet_host_interface_up', type: 'gauge', help: 'Whether the operational state (RFC 2863) of the interface is up.', value: (l) => l.operstate === 'up' },
  { name: 'multinet_host_interface_carrier', type: 'gauge', help: 'Whether the interface has carrier (IFLA_CARRIER).', value: (l) => l.carrier },
  { name: 'multinet_host_interface_carrier_changes_total', type: 'counter', help: 'Carrier up/down transitions of the interface since it was created (IFLA_CARRIER_CHANGES).', value: (l) => l.carrierChanges },
  { name: 'multinet_host_interface_mtu_bytes', type: 'gauge', help: 'MTU of the interface in bytes.', value: (l) => l.mtu },
  { name: 'multinet_host_interface_speed_bytes', type: 'gauge', help: 'Link speed in bytes per second, from sysfs; absent when the kernel does not know it.', value: (l) => l.device.speedBytesPerSecond },
  counter('multinet_host_interface_receive_bytes_total', 'Bytes received (rtnl_link_stats64.rx_bytes).', (c) => c.rxBytes),
  counter('multinet_host_interface_receive_packets_total', 'Packets received (rtnl_link_stats64.rx_packets).', (c) => c.rxPackets),
  counter('multinet_host_interface_receive_errors_total', 'Receive errors (rtnl_link_stats64.rx_errors).', (c) => c.rxErrors),
  counter('multinet_host_interface_receive_dropped_total', 'Received packets dropped (rtnl_link_stats64.rx_dropped).', (c) => c.rxDropped),
  counter('multinet_host_interface_receive_multicast_total', 'Multicast packets received (rtnl_link_stats64.multicast).', (c) => c.rxMulticast),
  counter('multinet_host_interface_transmit_bytes_total', 'Bytes transmitted (rtnl_link_stats64.tx_bytes).', (c) => c.txBytes),
  counter('multinet_host_interface_transmit_packets_total', 'Packets transmitted (rtnl_link_stats64.tx_packets).', (c) => c.txPackets),
  counter('multinet_host_interface_transmit_errors_total', 'Transmit errors (rtnl_link_stats64.tx_errors).', (c) => c.txErrors),
  counter('multinet_host_interface_transmit_dropped_total', 'Transmitted packets dropped (rtnl_link_stats64.tx_dropped).', (c) => c.txDropped),
];

const INFO_HELP =
  'Descriptive labels of a host interface (value 1): kind is IFLA_INFO_KIND, empty for a physical device; parent and master are resolved from IFLA_LINK and IFLA_MASTER.';

function renderLabels(l: HostLink): LabelTexts {
  return {
    labels: formatLabels({ interface: l.name }),
    info: formatLabels({
      interface: l.name,
      ifindex: String(l.ifindex),
      kind: l.kind,
      parent: l.parentName,
      master: l.masterName,
      mac: l.mac ?? '',
      operstate: l.operstate,
      duplex: l.device.duplex ?? '',
      driver: l.device.driver ?? '',
      pci_address: l.device.pciAddress ?? '',
    }),
  };
}

/** What a host link's label texts are made of, besides its name (the cache key). */
const labelValues = (l: HostLink): unknown[] => [l.ifindex, l.kind, l.parentName, l.masterName, l.mac, l.operstate, l.device.duplex, l.device.driver, l.device.pciAddress];

/** The host-interface families of the links to export (every link of the snapshot by default); `cache` keeps their label texts across renders. */
export function hostFamilies(snapshot: Snapshot, links: readonly HostLink[] = snapshot.hostLinks, cache = new LabelTextCache()): Family[] {
  const infoTexts = new Array<string>(links.length);
  const labelTexts = new Array<string>(links.length);
  cache.begin();
  for (let i = 0; i < links.length; i++) {
    const l = links[i] as HostLink;
    const e = cache.texts(l.name, labelValues(l), renderLabels, l, undefined);
    infoTexts[i] = e.info;
    labelTexts[i] = e.labels;
  }
  cache.end();
  const families: Family[] = [{ name: 'multinet_host_interface_info', help: INFO_HELP, type: 'gauge', samples: [], rows: { labelTexts: infoTexts, values: infoTexts.map(() => 1) }, group: 'host' }];
  for (const spec of HOST_LINK_SPECS) {
    families.push({ name: spec.name, help: spec.help, type: spec.type, samples: [], rows: { labelTexts, values: columnOf(links, spec.value) }, group: 'host' });
  }
  return families;
}

/** The agent's own per-collector families of a snapshot. */
export function collectorFamilies(snapshot: Snapshot): Family[] {
  return [
    {
      name: 'multinet_scrape_collector_success',
      help: 'Whether the collector succeeded in the snapshot behind this scrape.',
      type: 'gauge',
      samples: snapshot.collectors.map((c) => ({ labels: { collector: c.name }, value: c.success ? 1 : 0 })),
    },
    {
      name: 'multinet_scrape_collector_duration_seconds',
      help: 'How long the collector took in the snapshot behind this scrape.',
      type: 'gauge',
      samples: snapshot.collectors.map((c) => ({ labels: { collector: c.name }, value: c.durationSeconds })),
    },
  ];
}
