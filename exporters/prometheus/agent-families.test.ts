import { describe, expect, it } from 'vitest';
import { eventFamilies, kubeCacheFamilies } from './agent-families.js';
import { writeFamilies } from './exposition.js';
import { expositionComplaints } from '../../test/support/exposition-invariant.js';

describe('agent families', () => {
  const text = writeFamilies([
    ...eventFamilies({ written: new Map([['HostInterfaceNotReady/Warning', 2]]), dropped: { rateLimited: 1, queueFull: 0, retriesExhausted: 0 }, queued: 3 }),
    ...kubeCacheFamilies([{ resource: 'pods', synced: true, lastEventMs: 1_700_000_000_500, objects: 5, restarts: 1 }]),
  ]);

  it('renders events and kube caches', () => {
    expect(text).toContain('multinet_events_total{reason="HostInterfaceNotReady",type="Warning"} 2\n');
    expect(text).toContain('multinet_events_dropped_total{cause="rate_limited"} 1\n');
    expect(text).toContain('multinet_events_queued 3\n');
    expect(text).toContain('multinet_kube_cache_last_event_timestamp_seconds{resource="pods"} 1700000000.5\n');
  });

  it('holds the exposition invariant, promtool check metrics included', () => {
    expect(expositionComplaints(text)).toBe('');
  });
});
