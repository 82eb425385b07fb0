/** `ip -s -j link` as the root suites read it, and which exported counter each of its fields is. */

/** One link of `ip -s [-d] -j link show`. */
export interface IpLink {
  ifname: string;
  ifindex: number;
  flags: string[];
  mtu: number;
  operstate: string;
  address: string;
  link?: string;
  master?: string;
  linkinfo?: { info_kind?: string };
  stats64: {
    rx: { bytes: number; packets: number; errors: number; dropped: number; multicast: number };
    tx: { bytes: number; packets: number; errors: number; dropped: number };
  };
}

/** `[metric, field]` for every counter the agent exports, for a metric prefix (`multinet_host_interface`, `multinet_pod_interface`). */
export function counterFields(prefix: string): [string, (l: IpLink) => number][] {
  return [
    [`${prefix}_receive_bytes_total`, (l) => l.stats64.rx.bytes],
    [`${prefix}_receive_packets_total`, (l) => l.stats64.rx.packets],
    [`${prefix}_receive_errors_total`, (l) => l.stats64.rx.errors],
    [`${prefix}_receive_dropped_total`, (l) => l.stats64.rx.dropped],
    [`${prefix}_receive_multicast_total`, (l) => l.stats64.rx.multicast],
    [`${prefix}_transmit_bytes_total`, (l) => l.stats64.tx.bytes],
    [`${prefix}_transmit_packets_total`, (l) => l.stats64.tx.packets],
    [`${prefix}_transmit_errors_total`, (l) => l.stats64.tx.errors],
    [`${prefix}_transmit_dropped_total`, (l) => l.stats64.tx.dropped],
  ];
}
