/**
 * A KubeMetadataSource on a test apiserver, with timings shrunk for tests (backoff 50 ms → 400 ms,
 * watchdog 600 ms, bookmarks every 100 ms), a log that keeps every line with its time, and
 * cleanup after each test.
 */
import { afterEach, expect } from 'vitest';
import type { Logger } from '../../../agent/model/ports.js';
import type { WatchTiming } from '../../../collectors/kube/reflector.js';
import { KubeMetadataSource } from '../../../collectors/kube/kube-source.js';
import { KubeApiServer } from '../kube-api-server.js';
import { nadObject, podObject } from './objects.js';

/** The node the source runs on. */
export const NODE = 'node-1';
/** Test timings. */
export const FAST: Partial<WatchTiming> = {
  backoffInitialMs: 50,
  backoffMaxMs: 400,
  backoffResetMs: 10_000,
  watchTimeoutSeconds: 60,
  watchSilenceMs: 600,
  requestTimeoutMs: 1000,
};

const cleanups: (() => Promise<void>)[] = [];
/** Registers the cleanup of every harness made in a test file. */
export function closeAfterEach(): void {
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
}

/** A server seeded by `seed` and a source on it (not started). */
export async function setup(options: { timing?: Partial<WatchTiming>; seed?: (s: KubeApiServer) => void; historyLimit?: number } = {}) {
  const server = await KubeApiServer.start({ bookmarkIntervalMs: 100, historyLimit: options.historyLimit });
  cleanups.push(() => server.close());
  options.seed?.(server);
  const lines: { level: string; obj: object; msg: string; atMs: number }[] = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, obj, msg, atMs: Date.now() });
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  const source = new KubeMetadataSource({ kubeConfig: server.kubeConfig(), nodeName: NODE, log, timing: { ...FAST, ...options.timing } });
  cleanups.push(() => source.stop());
  let changes = 0;
  source.onChange(() => changes++);
  return {
    server,
    source,
    lines,
    changes: () => changes,
    podNames: () => source.pods().map((p) => `${p.namespace}/${p.name}`).sort(),
    nadNames: () => source.networks().map((n) => `${n.namespace}/${n.name}`).sort(),
    podLists: () => server.requests({ method: 'GET', path: '/api/v1/pods', watch: false }).length,
    podWatches: () => server.requests({ method: 'GET', path: '/api/v1/pods', watch: true }),
    warns: () => lines.filter((l) => l.level === 'warn'),
  };
}

/** Two pods on this node, one elsewhere, two NADs in two namespaces. */
export function seedCluster(s: KubeApiServer): void {
  s.create('pods', podObject({ name: 'a', node: NODE, networks: 'mgmt@net1' }));
  s.create('pods', podObject({ name: 'b', namespace: 'apps', node: NODE }));
  s.create('pods', podObject({ name: 'elsewhere', node: 'node-2' }));
  s.create('network-attachment-definitions', nadObject({ name: 'mgmt', master: 'eth1', trafficClass: 'mgmt' }));
  s.create('network-attachment-definitions', nadObject({ name: 'data', namespace: 'apps', master: 'eth2' }));
}

/** Starts the source and waits for its sync. */
export async function started(h: Harness): Promise<void> {
  await h.source.start();
  expect(await h.source.waitForSync(5000)).toBe(true);
}

/** What {@link setup} returns. */
export type Harness = Awaited<ReturnType<typeof setup>>;
