import { createHook } from 'node:async_hooks';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client, credentials, Metadata, status, type MethodDefinition, type ServiceError } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { PodResourcesServer } from '../../test/support/podresources-server.js';
import { recordingLogger } from '../../test/support/links.js';
import { backoffDelayMs } from '../grpc/polled-channel.js';
import { deviceUsersFromList, PodResourcesSource, type DeviceUser, type PodResourcesSourceOptions } from './podresources-client.js';
import { podResourcesGrpc } from '../../test/support/grpc-services.js';
import type { PodResourcesMessage } from './podresources-proto.js';

const SRIOV = 'intel.com/intel_sriov_netdevice';
const DPDK = 'intel.com/intel_sriov_dpdk';

/** Pods as the kubelet lists them: VFs of the SR-IOV device plugin, a GPU, a pod without devices. */
const PODS: readonly PodResourcesMessage[] = [
  {
    name: 'cnf-a',
    namespace: 'telco',
    containers: [
      { name: 'app', devices: [{ resource_name: SRIOV, device_ids: ['0000:3b:02.1', '0000:3b:02.2'], topology: { nodes: [{ ID: '0' }] } }], cpu_ids: ['2', '3'] },
      { name: 'sidecar', devices: [{ resource_name: 'nvidia.com/gpu', device_ids: ['GPU-8f6b2c1e'] }] },
    ],
  },
  { name: 'dpdk-b', namespace: 'telco', containers: [{ name: 'testpmd', devices: [{ resource_name: DPDK, device_ids: ['0000:3b:0a.0'] }] }] },
  { name: 'plain', namespace: 'default', containers: [{ name: 'nginx', devices: [] }] },
];

const EXPECTED: ReadonlyMap<string, DeviceUser> = new Map([
  ['0000:3b:02.1', { namespace: 'telco', pod: 'cnf-a', container: 'app', resourceName: SRIOV }],
  ['0000:3b:02.2', { namespace: 'telco', pod: 'cnf-a', container: 'app', resourceName: SRIOV }],
  ['GPU-8f6b2c1e', { namespace: 'telco', pod: 'cnf-a', container: 'sidecar', resourceName: 'nvidia.com/gpu' }],
  ['0000:3b:0a.0', { namespace: 'telco', pod: 'dpdk-b', container: 'testpmd', resourceName: DPDK }],
]);

/** Short intervals so that every test runs in well under a second. */
const FAST = { refreshIntervalMs: 30, callTimeoutMs: 1_000, backoff: { initialMs: 20, maxMs: 80 } } as const;
const WAIT = { timeout: 3_000, interval: 10 } as const;

let dir: string;
let server: PodResourcesServer | undefined;
let source: PodResourcesSource | undefined;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'podres-'));
});

afterEach(async () => {
  source?.stop();
  source = undefined;
  await server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

function startSource(over: Partial<PodResourcesSourceOptions> = {}): { source: PodResourcesSource; lines: ReturnType<typeof recordingLogger>['lines'] } {
  const { log, lines } = recordingLogger();
  source = new PodResourcesSource({ dir, log, ...FAST, ...over });
  source.start();
  return { source, lines };
}

const sorted = (m: ReadonlyMap<string, DeviceUser>): [string, DeviceUser][] => [...m].sort(([a], [b]) => a.localeCompare(b));
const levels = (lines: readonly { level: string; msg: string }[], level: string): string[] => lines.filter((l) => l.level === level).map((l) => l.msg);

describe('PodResourcesSource against a PodResources server on a unix socket', () => {
  it('maps the device IDs List returns (VF PCI addresses and others) to namespace, pod and container', async () => {
    server = await PodResourcesServer.start(dir);
    server.pods = PODS;
    const before = Date.now();
    const { source: s, lines } = startSource();
    await vi.waitFor(() => expect(s.status().connected).toBe(true), WAIT);
    expect(sorted(s.devices())).toEqual(sorted(EXPECTED));
    const st = s.status();
    expect(st.lastError).toBeUndefined();
    expect(st.lastSuccessMs).toBeGreaterThanOrEqual(before);
    expect(levels(lines, 'info')).toEqual(['kubelet pod resources connected']);
    expect(levels(lines, 'warn')).toEqual([]);
    expect(server.calls.get).toBe(0); // List suffices
  });

  it('connects once the socket appears when started before the kubelet serves', async () => {
    const { source: s, lines } = startSource();
    await vi.waitFor(() => expect(levels(lines, 'debug').length).toBeGreaterThanOrEqual(2), WAIT);
    expect(s.status()).toMatchObject({ connected: false, lastSuccessMs: undefined });
    expect(s.status().lastError).toMatch(/^UNAVAILABLE: .*connect ENOENT .*kubelet\.sock\.?$/);
    expect(s.devices().size).toBe(0);

    server = await PodResourcesServer.start(dir);
    server.pods = PODS;
    await vi.waitFor(() => expect(s.status().connected).toBe(true), WAIT);
    expect(sorted(s.devices())).toEqual(sorted(EXPECTED));
    // One warning for the whole outage, however many retries; retries at debug.
    expect(levels(lines, 'warn')).toEqual(['kubelet pod resources unavailable']);
    expect(lines.find((l) => l.level === 'warn')?.obj).toMatchObject({ socket: path.join(dir, 'kubelet.sock'), cachedDevices: 0 });
    expect(levels(lines, 'info')).toEqual(['kubelet pod resources connected']);
    expect(s.status().lastError).toBeUndefined();
  });

  it('survives kubelet restarts (socket removed, or left stale after a crash): keeps the cache while away, refreshes after', async () => {
    server = await PodResourcesServer.start(dir);
    server.pods = PODS;
    const { source: s, lines } = startSource();
    await vi.waitFor(() => expect(s.status().connected).toBe(true), WAIT);
    const firstSuccess = s.status().lastSuccessMs;

    // A clean restart: the socket goes away, then a new one is created at the same path.
    await server.stop();
    await vi.waitFor(() => expect(s.status().lastError).toMatch(/^UNAVAILABLE: .*ENOENT/), WAIT);
    expect(s.status().connected).toBe(false);
    expect(sorted(s.devices())).toEqual(sorted(EXPECTED)); // kept, marked stale by status
    expect(s.status().lastSuccessMs).toBeGreaterThanOrEqual(firstSuccess ?? 0);

    server.pods = [{ name: 'cnf-c', namespace: 'telco', containers: [{ name: 'app', devices: [{ resource_name: SRIOV, device_ids: ['0000:3b:02.3'] }] }] }];
    await server.restart();
    await vi.waitFor(() => expect([...s.devices().keys()]).toEqual(['0000:3b:02.3']), WAIT);
    expect(s.status()).toMatchObject({ connected: true, lastError: undefined });

    // A crash: the socket file stays behind and refuses connections until the kubelet replaces it.
    await server.stop({ stale: true });
    await vi.waitFor(() => expect(s.status().lastError).toMatch(/^UNAVAILABLE: .*ECONNREFUSED/), WAIT);
    expect([...s.devices().keys()]).toEqual(['0000:3b:02.3']);
    server.pods = PODS;
    await server.restart();
    await vi.waitFor(() => expect(sorted(s.devices())).toEqual(sorted(EXPECTED)), WAIT);
    expect(s.status().connected).toBe(true);

    expect(levels(lines, 'warn')).toEqual(['kubelet pod resources unavailable', 'kubelet pod resources unavailable']);
    expect(lines.filter((l) => l.msg === 'kubelet pod resources connected').map((l) => l.obj)).toMatchObject([{ afterOutage: false }, { afterOutage: true }, { afterOutage: true }]);
  });

  it('does not pile up calls when answers are slower than the refresh interval', async () => {
    server = await PodResourcesServer.start(dir);
    server.pods = PODS;
    server.delayMs = 120; // four refresh intervals
    const { source: s } = startSource();
    await vi.waitFor(() => expect(server?.calls.list).toBeGreaterThanOrEqual(4), WAIT);
    expect(server.calls.maxInFlight).toBe(1);
    expect(s.status().connected).toBe(true);
    expect(sorted(s.devices())).toEqual(sorted(EXPECTED));
  });

  it('marks the cache stale when a call outlives its deadline or fails, and recovers', async () => {
    server = await PodResourcesServer.start(dir);
    server.pods = PODS;
    const { source: s, lines } = startSource({ callTimeoutMs: 60 });
    await vi.waitFor(() => expect(s.status().connected).toBe(true), WAIT);

    server.delayMs = 500;
    await vi.waitFor(() => expect(s.status().lastError).toMatch(/^DEADLINE_EXCEEDED: /), WAIT);
    expect(s.status().connected).toBe(false);
    expect(sorted(s.devices())).toEqual(sorted(EXPECTED));

    // The kubelet's rate limiter answers RESOURCE_EXHAUSTED; the same outage, no second warning.
    server.delayMs = 0;
    server.failWith(status.RESOURCE_EXHAUSTED, 'rejected by rate limit');
    await vi.waitFor(() => expect(s.status().lastError).toBe('RESOURCE_EXHAUSTED: rejected by rate limit'), WAIT);
    server.failWith(undefined);
    await vi.waitFor(() => expect(s.status().connected).toBe(true), WAIT);
    expect(levels(lines, 'warn')).toEqual(['kubelet pod resources unavailable']);
  });

  it('stop() closes the connection, clears the timer, cancels the call in flight and sends no more calls', async () => {
    const timers = sourceTimers();
    const baseline = await settledResources();
    server = await PodResourcesServer.start(dir);
    server.pods = PODS;
    const serving = await settledResources(); // the baseline and the server's listener
    const { source: s } = startSource({ refreshIntervalMs: 60_000 });
    onTestFinished(() => timers.dispose());
    await vi.waitFor(() => expect(s.status().connected).toBe(true), WAIT);

    // Stopped while waiting for the next refresh: its timer and its connection go.
    await vi.waitFor(() => expect(timers.live()).toBe(1), WAIT);
    s.stop();
    await vi.waitFor(() => expect(timers.live()).toBe(0), WAIT);
    expect(s.status().connected).toBe(false);
    expect(sorted(s.devices())).toEqual(sorted(EXPECTED)); // still readable
    expectAtMost(await settledResources(serving), serving);

    // Stopped while a (slow) List is in flight: the server sees the cancel, and no call follows.
    server.delayMs = 10_000; // longer than WAIT: only a cancel ends it in time
    s.start();
    await vi.waitFor(() => expect(server?.calls.inFlight).toBe(1), WAIT);
    s.stop();
    await vi.waitFor(() => expect(timers.live()).toBe(0), WAIT);
    await vi.waitFor(() => expect(server?.calls.inFlight).toBe(0), WAIT);
    const calls = server.calls.list;
    expectAtMost(await settledResources(serving), serving);
    expect(server.calls.list).toBe(calls);
    await vi.waitFor(() => expect(timers.live()).toBe(0), WAIT);

    await server.close();
    server = undefined;
    expectAtMost(await settledResources(baseline), baseline);
  });

  it('start() after stop() dials again', async () => {
    server = await PodResourcesServer.start(dir);
    server.pods = PODS;
    const { source: s } = startSource();
    await vi.waitFor(() => expect(s.status().connected).toBe(true), WAIT);
    s.stop();
    server.pods = [];
    s.start();
    await vi.waitFor(() => expect(s.devices().size).toBe(0), WAIT);
    expect(s.status().connected).toBe(true);
  });
});

describe('the PodResources test server', () => {
  it('answers Get and GetAllocatableResources as the kubelet does', async () => {
    server = await PodResourcesServer.start(dir);
    server.pods = PODS;
    server.allocatable = [{ resource_name: SRIOV, device_ids: ['0000:3b:02.1', '0000:3b:02.2', '0000:3b:02.3'], topology: { nodes: [{ ID: '0' }] } }];
    const { get, getAllocatableResources } = podResourcesGrpc();
    const client = new Client(`unix://${server.socketPath}`, credentials.createInsecure());
    try {
      const call = <Req, Res>(m: MethodDefinition<Req, Res>, req: Req): Promise<Res> =>
        new Promise((resolve, reject) => {
          client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, req, new Metadata(), {}, (err, res) => (err ? reject(err) : resolve(res as Res)));
        });
      const got = await call(get, { pod_name: 'dpdk-b', pod_namespace: 'telco' });
      expect(deviceUsersFromList({ pod_resources: got.pod_resources ? [got.pod_resources] : [] })).toEqual(new Map([['0000:3b:0a.0', EXPECTED.get('0000:3b:0a.0')]]));
      await expect(call(get, { pod_name: 'gone', pod_namespace: 'telco' })).rejects.toMatchObject({ code: status.UNKNOWN, details: 'pod gone in namespace telco not found' } satisfies Partial<ServiceError>);
      server.getEnabled = false;
      await expect(call(get, { pod_name: 'dpdk-b', pod_namespace: 'telco' })).rejects.toMatchObject({ code: status.UNKNOWN, details: 'PodResources API Get method disabled' });
      const alloc = await call(getAllocatableResources, {});
      expect(alloc.devices?.[0]).toEqual({ resource_name: SRIOV, device_ids: ['0000:3b:02.1', '0000:3b:02.2', '0000:3b:02.3'], topology: { nodes: [{ ID: '0' }] } });
      expect(alloc.cpu_ids).toEqual([]);
    } finally {
      client.close();
    }
  });
});

describe('deviceUsersFromList', () => {
  it('credits a device listed under two containers to the last (a sidecar init container listed before the app) and skips empty IDs', () => {
    const users = deviceUsersFromList({
      pod_resources: [
        {
          name: 'p',
          namespace: 'n',
          containers: [
            { name: 'init-sidecar', devices: [{ resource_name: SRIOV, device_ids: ['0000:3b:02.1', ''] }] },
            { name: 'app', devices: [{ resource_name: SRIOV, device_ids: ['0000:3b:02.1'] }] },
          ],
        },
        {},
      ],
    });
    expect(sorted(users)).toEqual([['0000:3b:02.1', { namespace: 'n', pod: 'p', container: 'app', resourceName: SRIOV }]]);
  });
});

describe('backoffDelayMs', () => {
  it('doubles from the initial delay up to the cap, jittered by at most ±20 %', () => {
    const b = { initialMs: 800, maxMs: 30_000 };
    expect([1, 2, 3, 4, 5, 6, 7, 50].map((n) => backoffDelayMs(n, b, () => 0.5))).toEqual([800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
    expect(backoffDelayMs(1, b, () => 0)).toBe(640);
    expect(backoffDelayMs(50, b, () => 1)).toBe(36_000);
  });
});

/** No more handles of any type than `limit` has. */
function expectAtMost(counts: Record<string, number>, limit: Record<string, number>): void {
  for (const [type, n] of Object.entries(counts)) expect({ type, n }).toEqual({ type, n: Math.min(n, limit[type] ?? 0) });
}

/** Timers that podresources-client.ts itself set and that have neither fired nor been cleared (async_hooks). */
function sourceTimers(): { live: () => number; dispose: () => void } {
  const live = new Set<number>();
  const hook = createHook({
    init(id, type) {
      if (type !== 'Timeout') return;
      // The frame that called setTimeout: the source's own timers, not grpc-js's below its calls.
      const frames = (new Error().stack ?? '').split('\n');
      const caller = frames[frames.findIndex((f) => /\bat setTimeout\b/.test(f)) + 1] ?? '';
      if (caller.includes('podresources-client.ts')) live.add(id);
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  return { live: () => live.size, dispose: () => void hook.disable() };
}

/**
 * Sockets and servers that keep this process alive, by type (timers are {@link sourceTimers}'
 * business: the test runner's own come and go), read after a pause; with `atMost`, read again
 * (for up to 3 s) until there are no more than that.
 */
async function settledResources(atMost?: Record<string, number>): Promise<Record<string, number>> {
  const deadline = Date.now() + 3_000;
  for (;;) {
    await new Promise((r) => setTimeout(r, 10));
    const counts: Record<string, number> = {};
    for (const r of process.getActiveResourcesInfo()) {
      if (r === 'PipeWrap' || r === 'TCPWrap' || r === 'TCPServerWrap' || r === 'PipeServerWrap') counts[r] = (counts[r] ?? 0) + 1;
    }
    if (!atMost || Object.entries(counts).every(([type, n]) => n <= (atMost[type] ?? 0)) || Date.now() > deadline) return counts;
  }
}
