/**
 * Per-network sums of this node's pod interfaces (`--pod.series=per-network`): a handful of
 * series per network instead of fourteen per pod interface. A plain sum would fall when a pod
 * leaves (its counters leave with it) and rate() would read that as a counter reset; so each
 * network keeps what its departed interfaces had counted, and its sum only grows. Memory: the
 * live interfaces of the last snapshot plus one vector per network; a network's carry-over is
 * forgotten once it has no interface on the node and no NAD defines it.
 */
import { type PodInterface, type PodNetnsView } from '../../agent/model/attachments.js';
import type { LinkCounters } from '../../agent/model/domain.js';
import { COLLECTOR } from '../../agent/model/collector.js';
import { type Snapshot } from '../../agent/model/snapshot.js';
import { formatLabels } from './exposition.js';
import { type Family } from './family.js';

/** The counters summed, in the order of {@link COUNTER_FAMILIES}. */
const FIELDS: readonly (keyof LinkCounters)[] = ['rxBytes', 'rxPackets', 'rxErrors', 'rxDropped', 'txBytes', 'txPackets', 'txErrors', 'txDropped'];
const COUNTER_FAMILIES: readonly { name: string; what: string }[] = [
  { name: 'multinet_network_receive_bytes_total', what: 'Bytes received' },
  { name: 'multinet_network_receive_packets_total', what: 'Packets received' },
  { name: 'multinet_network_receive_errors_total', what: 'Receive errors' },
  { name: 'multinet_network_receive_dropped_total', what: 'Received packets dropped' },
  { name: 'multinet_network_transmit_bytes_total', what: 'Bytes transmitted' },
  { name: 'multinet_network_transmit_packets_total', what: 'Packets transmitted' },
  { name: 'multinet_network_transmit_errors_total', what: 'Transmit errors' },
  { name: 'multinet_network_transmit_dropped_total', what: 'Transmitted packets dropped' },
];

interface Live {
  readonly network: string;
  readonly counters: readonly number[];
}

/** One network's row: its label text, running sums and interface states. */
interface Row {
  readonly networkNamespace: string;
  readonly network: string;
  readonly sums: number[];
  up: number;
  down: number;
}

const networkKey = (i: PodInterface): string => `${i.networkNamespace}/${i.network}`;

function countersOf(i: PodInterface): number[] | undefined {
  const c = i.link.counters;
  return c ? FIELDS.map((f) => Number(c[f])) : undefined;
}

/** Keeps per-network sums monotonic across snapshots; one per renderer. */
export class NetworkTotals {
  /** By `inode/ifname/network`: the counters each live interface had in the last snapshot. */
  #live = new Map<string, Live>();
  /** By network key: what departed (or recreated) interfaces had counted. */
  readonly #departed = new Map<string, number[]>();
  #last: Family[] | undefined;

  /** Interfaces and networks remembered (a leak check for the soak). */
  get size(): { interfaces: number; networks: number } {
    return { interfaces: this.#live.size, networks: this.#departed.size };
  }

  /** The per-network families of a snapshot, given the pod interfaces the filter keeps. */
  families(snapshot: Snapshot, interfaces: readonly { view: PodNetnsView; iface: PodInterface }[]): Family[] {
    // A failed netns collector saw no pods at all: keep the last sums rather than fold every
    // interface into the carry-over and count it twice when it is seen again.
    const netns = snapshot.collectors.find((c) => c.name === COLLECTOR.netns);
    if (netns && !netns.success && this.#last) return this.#last;

    const next = new Map<string, Live>();
    const rows = new Map<string, Row>();
    const row = (key: string, networkNamespace: string, network: string): Row => {
      let r = rows.get(key);
      if (!r) rows.set(key, (r = { networkNamespace, network, sums: [...(this.#departed.get(key) ?? FIELDS.map(() => 0))], up: 0, down: 0 }));
      return r;
    };
    for (const { view, iface } of interfaces) {
      const key = networkKey(iface);
      const r = row(key, iface.networkNamespace, iface.network);
      if (iface.link.operstate === 'up') r.up++;
      else r.down++;
      const counters = countersOf(iface);
      if (!counters) continue;
      const id = `${view.netns.inode}/${iface.link.name}/${key}`;
      const prev = this.#live.get(id);
      // A counter that went down: the interface was recreated under the same name; what the old one counted is kept.
      if (prev && prev.counters.some((v, j) => v > (counters[j] as number))) this.#carry(key, prev.counters, r);
      next.set(id, { network: key, counters });
      for (let j = 0; j < counters.length; j++) r.sums[j] = (r.sums[j] as number) + (counters[j] as number);
    }
    for (const [id, prev] of this.#live) {
      if (next.has(id)) continue;
      const [networkNamespace = '', network = ''] = splitKey(prev.network);
      this.#carry(prev.network, prev.counters, row(prev.network, networkNamespace, network));
    }
    this.#live = next;
    // Carry-overs of networks with neither an interface here nor a NAD are forgotten (their series end).
    const defined = new Set(snapshot.networks.map((n) => `${n.namespace}/${n.name}`));
    for (const r of rows.values()) if (r.up + r.down > 0) defined.add(`${r.networkNamespace}/${r.network}`);
    for (const key of this.#departed.keys()) {
      if (!defined.has(key)) {
        this.#departed.delete(key);
        rows.delete(key);
      }
    }
    for (const [key, sums] of this.#departed) {
      const [networkNamespace = '', network = ''] = splitKey(key);
      if (!rows.has(key)) rows.set(key, { networkNamespace, network, sums: [...sums], up: 0, down: 0 });
    }
    this.#last = render([...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r));
    return this.#last;
  }

  /** Adds what an interface counted to its network's carry-over (and to this snapshot's row). */
  #carry(key: string, counters: readonly number[], r: Row): void {
    const d = this.#departed.get(key) ?? FIELDS.map(() => 0);
    for (let j = 0; j < counters.length; j++) {
      d[j] = (d[j] as number) + (counters[j] as number);
      r.sums[j] = (r.sums[j] as number) + (counters[j] as number);
    }
    this.#departed.set(key, d);
  }
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

function render(rows: readonly Row[]): Family[] {
  const labelTexts = rows.map((r) => formatLabels({ network_namespace: r.networkNamespace, network: r.network }));
  const families: Family[] = COUNTER_FAMILIES.map((f, j) => ({
    name: f.name,
    help: `${f.what} by the pod interfaces of the network on this node, including pods that have left (rtnl_link_stats64).`,
    type: 'counter' as const,
    samples: [],
    rows: { labelTexts, values: rows.map((r) => r.sums[j]) },
  }));
  families.push({
    name: 'multinet_network_interfaces',
    help: 'Pod interfaces of the network on this node, by operational state (up, down: anything but up).',
    type: 'gauge',
    samples: rows.flatMap((r) => [
      { labels: { network_namespace: r.networkNamespace, network: r.network, state: 'up' }, value: r.up },
      { labels: { network_namespace: r.networkNamespace, network: r.network, state: 'down' }, value: r.down },
    ]),
  });
  return families;
}
