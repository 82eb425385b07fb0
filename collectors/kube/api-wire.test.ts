/**
 * The test apiserver as the real @kubernetes/client-node sees it: the wire behaviours the kube
 * adapter relies on, checked call by call (410 on a list and inside a watch stream, selectors
 * on watches, patch content types, authentication), so the adapter tests stand on a server that
 * answers as a kube-apiserver does.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, Watch, type KubeConfig } from '@kubernetes/client-node';
import { KubeApiServer } from '../../test/support/kube-api-server.js';
import { nadObject, podObject } from '../../test/support/kube-api/objects.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<{ server: KubeApiServer; kc: KubeConfig }> {
  const server = await KubeApiServer.start({ bookmarkIntervalMs: 50 });
  cleanups.push(() => server.close());
  return { server, kc: server.clientNodeConfig() };
}

interface Seen {
  readonly events: { type: string; object: { metadata?: { name?: string; resourceVersion?: string }; code?: number; reason?: string } }[];
  readonly done: Promise<unknown>;
  readonly controller: AbortController;
}

/** Runs a watch with client-node's Watch, collecting events until it ends (or the test aborts it). */
async function watch(kc: KubeConfig, path: string, query: Record<string, string | number | boolean>): Promise<Seen> {
  const events: Seen['events'] = [];
  let finished: (err: unknown) => void = () => undefined;
  const done = new Promise<unknown>((resolve) => (finished = resolve));
  const controller = await new Watch(kc).watch(path, query, (type, object: Seen['events'][number]['object']) => events.push({ type, object }), (err: unknown) => finished(err));
  cleanups.push(async () => controller.abort());
  return { events, done, controller };
}

async function settle(ms = 100): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

describe('test apiserver through client-node', () => {
  test('a list from a resourceVersion older than the history is 410 Expired; a newer one 504', async () => {
    const { server, kc } = await setup();
    server.create('pods', podObject({ name: 'a', node: 'n1' }));
    const old = server.resourceVersion;
    server.expireHistory();
    const api = kc.makeApiClient(CoreV1Api);
    await expect(api.listPodForAllNamespaces({ resourceVersion: old })).rejects.toMatchObject({ code: 410 });
    await expect(api.listPodForAllNamespaces({ resourceVersion: String(Number(server.resourceVersion) + 5) })).rejects.toMatchObject({ code: 504 });
    const list = await api.listPodForAllNamespaces({ resourceVersion: server.resourceVersion });
    expect(list.items.map((p) => p.metadata?.name)).toEqual(['a']);
  });

  test('a watch from a too-old resourceVersion gets an ERROR 410 Expired inside a 200 stream, which then ends', async () => {
    const { server, kc } = await setup();
    server.create('pods', podObject({ name: 'a', node: 'n1' }));
    const old = server.resourceVersion;
    server.expireHistory();
    const seen = await watch(kc, '/api/v1/pods', { resourceVersion: old });
    expect(await seen.done).toBeNull(); // a clean end of a 200 response, not an HTTP error
    expect(seen.events).toEqual([{ type: 'ERROR', object: expect.objectContaining({ kind: 'Status', status: 'Failure', code: 410, reason: 'Expired' }) as unknown }]);
  });

  test('a watch replays history from its resourceVersion and turns selector moves into ADDED and DELETED', async () => {
    const { server, kc } = await setup();
    server.create('pods', podObject({ name: 'a', node: 'n1' }));
    const from = server.resourceVersion;
    server.create('pods', podObject({ name: 'b', node: 'n1' }));
    server.create('pods', podObject({ name: 'c', node: 'n2' }));
    const seen = await watch(kc, '/api/v1/pods', { resourceVersion: from, fieldSelector: 'spec.nodeName=n1' });
    server.update('pods', podObject({ name: 'c', node: 'n1' }));
    server.update('pods', podObject({ name: 'a', node: 'n2' }));
    server.delete('pods', 'default', 'b');
    await settle();
    expect(seen.events.map((e) => `${e.type} ${e.object.metadata?.name ?? ''}`)).toEqual(['ADDED b', 'ADDED c', 'DELETED a', 'DELETED b']);
    const rvs = seen.events.map((e) => Number(e.object.metadata?.resourceVersion));
    expect([...rvs].sort((x, y) => x - y)).toEqual(rvs);
  });

  test('a watch without a resourceVersion starts with ADDED for what exists; bookmarks only when asked; per-namespace and label selectors', async () => {
    const { server, kc } = await setup();
    server.create('pods', podObject({ name: 'a', node: 'n1', labels: { app: 'web' } }));
    server.create('pods', podObject({ name: 'b', namespace: 'other', node: 'n1', labels: { app: 'web' } }));
    server.create('pods', podObject({ name: 'c', node: 'n1', labels: { app: 'db' } }));
    const plain = await watch(kc, '/api/v1/namespaces/default/pods', { labelSelector: 'app in (web,cache)' });
    const marked = await watch(kc, '/api/v1/pods', { allowWatchBookmarks: true, labelSelector: 'app!=db' });
    await settle(200);
    expect(plain.events.map((e) => `${e.type} ${e.object.metadata?.name ?? ''}`)).toEqual(['ADDED a']);
    expect(marked.events.slice(0, 2).map((e) => `${e.type} ${e.object.metadata?.name ?? ''}`)).toEqual(['ADDED a', 'ADDED b']);
    const bookmarks = marked.events.filter((e) => e.type === 'BOOKMARK');
    expect(bookmarks.length).toBeGreaterThan(1);
    expect(bookmarks[0]?.object).toMatchObject({ kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: server.resourceVersion } });
  });

  test('timeoutSeconds ends a watch cleanly, with a last bookmark', async () => {
    const { kc } = await setup();
    const started = Date.now();
    const seen = await watch(kc, '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions', { timeoutSeconds: 1, allowWatchBookmarks: true });
    expect(await seen.done).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(seen.events.at(-1)?.type).toBe('BOOKMARK');
  });

  test('a chunked list is one snapshot: a change between pages is not in it', async () => {
    const { server, kc } = await setup();
    for (const n of ['a', 'b', 'c', 'd']) server.create('pods', podObject({ name: n, node: 'n1' }));
    const api = kc.makeApiClient(CoreV1Api);
    const first = await api.listPodForAllNamespaces({ limit: 2 });
    server.delete('pods', 'default', 'd');
    server.create('pods', podObject({ name: 'e', node: 'n1' }));
    const second = await api.listPodForAllNamespaces({ limit: 2, _continue: first.metadata?._continue });
    expect([...first.items, ...second.items].map((p) => p.metadata?.name)).toEqual(['a', 'b', 'c', 'd']);
    expect(second.metadata?._continue).toBeUndefined();
    expect(second.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
  });

  test('a wrong token is 401; an unknown field label is 400', async () => {
    const { server } = await setup();
    await expect(server.clientNodeConfig('wrong').makeApiClient(CoreV1Api).listPodForAllNamespaces()).rejects.toMatchObject({ code: 401 });
    await expect(server.clientNodeConfig().makeApiClient(CoreV1Api).listPodForAllNamespaces({ fieldSelector: 'spec.nodeNam=x' })).rejects.toMatchObject({ code: 400 });
  });

  test('patch content types: client-node sends json-patch unless told; a NAD refuses strategic merge (415)', async () => {
    const { server, kc } = await setup();
    server.create('events', { metadata: { name: 'e', namespace: 'default' }, count: 1, message: 'm' });
    const core = kc.makeApiClient(CoreV1Api);
    // Without a Content-Type option the generated client picks application/json-patch+json.
    await core.patchNamespacedEvent({ name: 'e', namespace: 'default', body: [{ op: 'replace', path: '/count', value: 2 }] });
    expect(server.get('events', 'default', 'e')?.['count']).toBe(2);
    expect(server.eventWrites().at(-1)?.contentType).toBe('application/json-patch+json');
    await core.patchNamespacedEvent({ name: 'e', namespace: 'default', body: { count: 3, message: null } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    expect(server.get('events', 'default', 'e')).toMatchObject({ count: 3 });
    expect(server.get('events', 'default', 'e')?.['message']).toBeUndefined();

    server.create('network-attachment-definitions', nadObject({ name: 'n' }));
    const custom = kc.makeApiClient(CustomObjectsApi);
    const target = { group: 'k8s.cni.cncf.io', version: 'v1', namespace: 'default', plural: 'network-attachment-definitions', name: 'n' };
    await expect(custom.patchNamespacedCustomObject({ ...target, body: { metadata: { labels: { a: 'b' } } } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch))).rejects.toMatchObject({ code: 415 });
    await custom.patchNamespacedCustomObject({ ...target, body: { metadata: { labels: { a: 'b' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    expect(server.get('network-attachment-definitions', 'default', 'n')?.metadata['labels']).toEqual({ a: 'b' });
  });

  test('nodes/status takes a strategic merge patch of conditions, merged by type', async () => {
    const { server, kc } = await setup();
    server.create('nodes', { metadata: { name: 'node-1' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
    const core = kc.makeApiClient(CoreV1Api);
    const condition = { type: 'MultinetHostInterfacesReady', status: 'False', reason: 'HostInterfaceNotReady', message: 'eth1 down' };
    await core.patchNodeStatus({ name: 'node-1', body: { status: { conditions: [condition] } } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    await core.patchNodeStatus({ name: 'node-1', body: { status: { conditions: [{ ...condition, status: 'True', message: 'ok' }] } } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    expect(server.get('nodes', '', 'node-1')?.['status']).toEqual({
      conditions: [
        { type: 'Ready', status: 'True' },
        { ...condition, status: 'True', message: 'ok' },
      ],
    });
    await expect(core.patchNodeStatus({ name: 'node-2', body: {} }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch))).rejects.toMatchObject({ code: 404 });
  });

  test('events list with a field selector; close() ends open watches', async () => {
    const { server, kc } = await setup();
    server.create('events', { metadata: { name: 'e1', namespace: 'default' }, involvedObject: { kind: 'Node', name: 'node-1' }, reason: 'R' });
    server.create('events', { metadata: { name: 'e2', namespace: 'default' }, involvedObject: { kind: 'Pod', name: 'p' }, reason: 'R' });
    const list = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.kind=Node' });
    expect(list.items.map((e) => e.metadata.name)).toEqual(['e1']);

    const seen = await watch(kc, '/api/v1/pods', {});
    expect(server.openWatches()).toBe(1);
    await server.close();
    expect(await seen.done).toBeNull();
    expect(server.openWatches()).toBe(0);
  });
});
