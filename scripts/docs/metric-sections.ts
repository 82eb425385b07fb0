/**
 * Hand-written part of docs/metrics.md that is keyed by metric: which section a family belongs
 * to, and notes that say more than its HELP text (label values, where a value comes from). The
 * prose around the tables is in metrics.template.md. A family that matches no section fails the
 * generator: a new family needs a home here.
 */

/** A section of the catalogue: `<!-- catalogue:ID -->` in the template is replaced by its table. */
export interface MetricSection {
  readonly id: string;
  readonly match: RegExp;
}

/** In order; the first section that matches a family's name gets it. */
export const METRIC_SECTIONS: readonly MetricSection[] = [
  { id: 'readiness', match: /^multinet_host_interface_(required|ready|attachments)$/ },
  { id: 'host', match: /^multinet_host_interface_/ },
  { id: 'ipam', match: /^multinet_(ipam_|pod_interface_route_mismatch$|pod_network_policy_violation$)/ },
  { id: 'pod', match: /^multinet_pod_interface_/ },
  { id: 'network', match: /^multinet_network_(receive|transmit|interfaces)/ },
  { id: 'attachments', match: /^multinet_(pod_network_|network_attachment_definition_|pod_series_capped$)/ },
  { id: 'sriov', match: /^multinet_sriov_/ },
  { id: 'web', match: /^multinet_web_/ },
  { id: 'agent', match: /^multinet_(scrape_collector_|build_info$|events_|kube_|exported_series$|series_|netns_|manifest_)/ },
];

/** Notes per family: what its HELP does not say. Single-quoted so that Markdown backticks need no escape. */
export const METRIC_NOTES: Readonly<Record<string, string>> = {
  multinet_host_interface_up: 'operstate is `up`',
  multinet_host_interface_speed_bytes: 'omitted, not 0, where the kernel answers EINVAL or -1',
  multinet_host_interface_attachments: 'pod macvlan/ipvlan/vlan interfaces hanging off it; NAD masters with none show 0',
  multinet_host_interface_required: 'a NAD used by a pod on this node needs it (macvlan/ipvlan `master`, host-device `device`); one series per NAD (`network_namespace`, `network`)',
  multinet_host_interface_ready: 'a required interface exists, is admin up and has carrier; a PF (of a VF a pod holds) also has VFs',
  multinet_sriov_pf_info: '`pf` is the PF\'s netdev name, else its PCI address',
  multinet_sriov_pf_vfs: '`sriov_numvfs`',
  multinet_sriov_pf_max_vfs: '`sriov_totalvfs`',
  multinet_sriov_vf_info: 'the VF\'s configuration (rtnetlink `IFLA_VFINFO_LIST`) and its user: PodResources allocation, interface and network from network-status `device-info`',
  multinet_sriov_vf_receive_bytes_total: 'VF stats: per-VF sysfs stats where the driver has them (mlx5 OFED, i40e out-of-tree), else the PF\'s netlink VF stats — these cover vfio-pci/DPDK VFs too (the same for every VF counter)',
  multinet_sriov_vf_receive_errors_total: 'only where the driver exposes per-VF error counters',
  multinet_sriov_vf_transmit_errors_total: 'only where the driver exposes per-VF error counters',
  multinet_sriov_vf_claim_conflict: 'the kubelet\'s allocation (PodResources) wins over network-status, then the VF\'s netdev in a pod; a `vf-claim-conflict` doctor finding and `VfClaimConflict` Event name the holder',
  multinet_sriov_vf_min_tx_rate_bytes_per_second: 'configured rate limit; absent when unlimited',
  multinet_sriov_vf_max_tx_rate_bytes_per_second: 'configured rate limit; absent when unlimited',
  multinet_pod_interface_info: 'kind: macvlan, ipvlan, veth, ...; a kindless netdev moved into the pod is `sriov` or `host-device` (from the NAD or device-info) or `device`; `default="true"` for the cluster network',
  multinet_pod_interface_receive_bytes_total: 'read inside the pod\'s namespace (as every pod interface counter)',
  multinet_network_receive_bytes_total: 'summed over this node\'s pod interfaces of the network, departed pods included (see [Filters and series budget](filters.md)); the same for every `multinet_network_*_total`',
  multinet_network_interfaces: '`state` is `up` or `down`',
  multinet_pod_network_attachment_missing: 'per network the pod requested or Multus listed: 1 when the interface is absent from its namespace, else 0',
  multinet_pod_network_annotation_invalid: '1 for an annotation that does not parse',
  multinet_pod_series_capped: 'only capped pods have a series; the `pod-capped` doctor finding and `PodObjectsCapped` Event say how many interfaces and attachments it had (see [Limitations](limitations.md))',
  multinet_pod_interface_route_mismatch: 'for secondary interfaces of pods with a process (routes from `/proc/<pid>/net/route`, read every 10 s off the scrape path)',
  multinet_pod_network_policy_violation: 'only networks with a policy',
  multinet_network_attachment_definition_info: '`policy`: the `multinet.io/allowed-pods` selector as written, \'\' for none',
  multinet_network_attachment_definition_invalid: 'config does not parse or lacks what its type needs, or the `multinet.io/allowed-pods` selector does not parse',
  multinet_ipam_addresses_allocated: 'leases (files named by an address) in the range',
  multinet_ipam_addresses_capacity: 'rangeStart..rangeEnd less the gateway; IPv6 as a float (a /64 is 1.8e19)',
  multinet_ipam_directory_error: 'a `dataDir` that is a file (`ENOTDIR`), a symlink loop (`ELOOP`), `EACCES`: only that network is marked (see [Hostile and odd input](hostile-input.md))',
  multinet_manifest_files_skipped: 'only with `--manifests`, as every `multinet_manifest_*`; limits in [Hostile and odd input](hostile-input.md)',
  multinet_web_buffered_bytes: 'limits in [Hostile and odd input](hostile-input.md)',
  multinet_ipam_addresses_leaked: 'leases older than `--collector.ipam.leak-grace` held by no sandbox on this node; absent while the agent cannot see the node\'s sandboxes',
  multinet_scrape_collector_success: '`collector`: `netlink`, `sysfs`, `netns`, `sriov`, `podresources`, `cri`, `ipam`; for `podresources` and `cri`: the kubelet\'s / runtime\'s cache is live',
  multinet_events_total: 'created, or a repeat counted on one',
  multinet_events_dropped_total: '`cause`: `rate_limited`, `queue_full`, `retries_exhausted`',
  multinet_kube_cache_synced: 'the kube API caches; `resource` is `pods` or `network-attachment-definitions`',
  multinet_web_auth_requests_total: '`result`: `allowed`, `unauthenticated`, `forbidden`, `error`; `--web.auth=kube` only (as every `multinet_web_auth_*`)',
  multinet_web_auth_reviews_total: '`review`: `token`, `subject_access`; `result`: `ok`, `error`',
  multinet_web_tls_certificate_expiry_timestamp_seconds: '`--web.tls.*` only',
  multinet_web_tls_reloads_total: '`result`: `success`, `failure`',
  multinet_exported_series: 'after filters and the limit',
  multinet_series_limit_reached: '1 when `--metrics.series-limit` cut this scrape',
  multinet_netns_nsids_cached: 'never more than `multinet_netns_discovered`: a leak check',
};
