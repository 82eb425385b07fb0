/**
 * Golden end-to-end exposition: rtnetlink messages (laid out per the uapi headers) for a host
 * with a physical NIC, an SR-IOV PF, a virtio NIC, a macvlan, a bridge and a veth, joined with
 * the sysfs fixture tree, rendered by the real registry. Regenerate with UPDATE_GOLDEN=1.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { NetLink } from '../../agent/model/domain.js';
import { assess } from '../../agent/rules/assess.js';
import { FailureLog } from '../../agent/runtime/snapshot.js';
import { snapshotFrom } from '../support/collectors.js';
import { parseLinkMessage } from '../../collectors/netlink/parse-link.js';
import { SysfsDeviceSource } from '../../collectors/sysfs/sysfs-net.js';
import { createMetricsRenderer } from '../../exporters/prometheus/registry.js';
import { encodeLinkMessage, type LinkSpec } from '../support/encode-link.js';
import { fixtureFs, SYSFS_FIXTURE } from '../support/fixture-fs.js';
import { recordingLogger } from '../support/links.js';
import { expositionComplaints } from '../support/exposition-invariant.js';
import { renderChecked } from '../support/scrape.js';

const GOLDEN = new URL('./host-metrics.prom', import.meta.url);

const stats = (n: bigint): bigint[] => [10n * n, 9n * n, 1500n * n, 1400n * n, n / 7n, n / 11n, n / 3n, n / 5n, n / 13n];

const HOST: LinkSpec[] = [
  { ifindex: 1, name: 'lo', up: true, operstate: 0, carrier: true, carrierChanges: 0, mtu: 65536, mac: '00:00:00:00:00:00', stats: stats(1000n) },
  { ifindex: 2, name: 'eno1', up: true, operstate: 6, carrier: true, carrierChanges: 2, mtu: 1500, mac: 'a0:36:9f:00:00:01', stats: stats(123_456_789n) },
  { ifindex: 3, name: 'ens1f0', up: true, operstate: 6, carrier: true, carrierChanges: 4, mtu: 9000, mac: 'b4:96:91:00:00:02', stats: stats(2n ** 40n) },
  { ifindex: 4, name: 'eth0', up: true, operstate: 6, carrier: true, carrierChanges: 1, mtu: 1400, mac: '02:fc:00:00:00:01', stats: stats(77n) },
  { ifindex: 5, name: 'mv-mgmt', up: true, operstate: 6, carrier: true, carrierChanges: 1, mtu: 1500, mac: '3a:11:22:33:44:55', kind: 'macvlan', link: 2, stats: stats(5n) },
  { ifindex: 6, name: 'br0', up: true, operstate: 3, carrier: false, carrierChanges: 1, mtu: 1500, mac: '3a:11:22:33:44:66', kind: 'bridge', stats: stats(0n) },
  { ifindex: 7, name: 'veth0', up: false, operstate: 2, carrier: false, carrierChanges: 0, mtu: 1500, mac: '3a:11:22:33:44:77', kind: 'veth', slaveKind: 'bridge', master: 6, link: 3, linkNetnsid: 0, stats: stats(0n) },
];

/** Renders /metrics for the fixture host, with the timing values masked. */
async function render(): Promise<string> {
  const links: NetLink[] = HOST.map((spec) => parseLinkMessage(encodeLinkMessage(spec))).filter((l) => l !== undefined);
  const { log } = recordingLogger();
  const devices = new SysfsDeviceSource({ root: SYSFS_FIXTURE, log, fs: fixtureFs });
  const snapshot = await snapshotFrom({ links: { listLinks: async () => links, close: () => {} }, devices }, { collectorTimeoutMs: 5000, failures: new FailureLog(log), now: () => 0 });
  const text = await renderChecked(createMetricsRenderer({ version: '0.0.0-golden', nodeVersion: 'v0.0.0', assessed: async () => ({ snapshot, assessment: assess(snapshot) }), processMetrics: false }));
  return text.replace(/^(multinet_scrape_collector_duration_seconds\{[^}]*\}) .*$/gm, '$1 <duration>');
}

describe('golden /metrics of a fixture host', () => {
  it('matches host-metrics.prom', async () => {
    const text = await render();
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, text);
    expect(text).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('holds the exposition invariant, promtool check metrics included', async () => {
    expect(expositionComplaints((await render()).replace(/<duration>/g, '0.001'))).toBe('');
  });
});
