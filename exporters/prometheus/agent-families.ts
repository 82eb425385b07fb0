/** Families of the agent's own moving parts that are not in a snapshot: events, kube caches. */
import type { KubeCacheStatus } from '../../agent/model/ports.js';
import type { RecorderStats } from '../kube/recorder.js';
import { type Family } from './family.js';

/** `multinet_events_total{reason,type}` and `multinet_events_dropped_total{cause}`. */
export function eventFamilies(stats: RecorderStats): Family[] {
  return [
    {
      name: 'multinet_events_total',
      help: 'Kubernetes Events written (created, or a repeat counted on an existing one), by reason and type.',
      type: 'counter',
      samples: [...stats.written].map(([k, v]) => {
        const [reason = '', type = ''] = k.split('/');
        return { labels: { reason, type }, value: v };
      }),
    },
    {
      name: 'multinet_events_dropped_total',
      help: 'Kubernetes Events not written: rate_limited (per-object budget), queue_full, retries_exhausted (API unreachable too long).',
      type: 'counter',
      samples: [
        { labels: { cause: 'rate_limited' }, value: stats.dropped.rateLimited },
        { labels: { cause: 'queue_full' }, value: stats.dropped.queueFull },
        { labels: { cause: 'retries_exhausted' }, value: stats.dropped.retriesExhausted },
      ],
    },
    { name: 'multinet_events_queued', help: 'Kubernetes Events waiting to be written.', type: 'gauge', samples: [{ labels: {}, value: stats.queued }] },
  ];
}

/** `multinet_kube_cache_*` per watched resource. */
export function kubeCacheFamilies(caches: readonly KubeCacheStatus[]): Family[] {
  return [
    {
      name: 'multinet_kube_cache_synced',
      help: 'Whether the cache of the resource has been filled by a list (and is kept by its watch).',
      type: 'gauge',
      samples: caches.map((c) => ({ labels: { resource: c.resource }, value: c.synced ? 1 : 0 })),
    },
    {
      name: 'multinet_kube_cache_last_event_timestamp_seconds',
      help: 'When the cache last heard from the API (list, watch event or bookmark); staleness is time() minus this.',
      type: 'gauge',
      samples: caches.flatMap((c) => (c.lastEventMs === undefined ? [] : [{ labels: { resource: c.resource }, value: c.lastEventMs / 1000 }])),
    },
    {
      name: 'multinet_kube_cache_objects',
      help: 'Objects in the cache.',
      type: 'gauge',
      samples: caches.map((c) => ({ labels: { resource: c.resource }, value: c.objects })),
    },
    {
      name: 'multinet_kube_watch_restarts_total',
      help: 'Watch restarts: after an error, a 410 Gone relist, or the watchdog finding it silent.',
      type: 'counter',
      samples: caches.map((c) => ({ labels: { resource: c.resource }, value: c.restarts })),
    },
  ];
}

/** `multinet_netns_discovered` and `multinet_netns_nsids_cached`: what the netns collector remembers, for leak checks. */
export function netnsFamilies(stats: { readonly discovered: number; readonly nsidsCached: number }): Family[] {
  return [
    { name: 'multinet_netns_discovered', help: 'Network namespaces (other than the agent\'s) the last discovery pass found.', type: 'gauge', samples: [{ labels: {}, value: stats.discovered }] },
    {
      name: 'multinet_netns_nsids_cached',
      help: 'Network namespaces whose NSID the agent remembers; at most multinet_netns_discovered (ids of namespaces that are gone are forgotten).',
      type: 'gauge',
      samples: [{ labels: {}, value: stats.nsidsCached }],
    },
  ];
}

/** `multinet_manifest_*`: what the last load of `--manifests` read and skipped. */
export function manifestFamilies(stats: { readonly files: number; readonly bytes: number; readonly skipped: ReadonlyMap<string, number> }): Family[] {
  return [
    { name: 'multinet_manifest_files', help: 'Manifest files the last load took pods and NADs from.', type: 'gauge', samples: [{ labels: {}, value: stats.files }] },
    { name: 'multinet_manifest_bytes', help: 'Bytes of the manifest files the last load took (bounded by --manifests.max-total-bytes).', type: 'gauge', samples: [{ labels: {}, value: stats.bytes }] },
    {
      name: 'multinet_manifest_files_skipped',
      help: 'Manifest files the last load did not take, by reason: not_regular_file (FIFO, device, socket), too_large, total_bytes_limit, file_count_limit, unreadable, parse_error; each is named once in the log.',
      type: 'gauge',
      samples: [...stats.skipped].map(([reason, value]) => ({ labels: { reason }, value })),
    },
  ];
}
