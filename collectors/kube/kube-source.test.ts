/**
 * KubeMetadataSource driven by the real @kubernetes/client-node against the protocol-faithful
 * test apiserver: sync, watch events, chunked lists, bookmarks, 410 Gone, ERROR events, invalid
 * objects, a missing CRD. Faults of the connection are in kube-source-faults.test.ts.
 */
import { describe, expect, test } from 'vitest';
import { nadObject, podObject, until } from '../../test/support/kube-api/objects.js';
import { closeAfterEach, NODE, seedCluster, setup, started } from '../../test/support/kube-api/source-harness.js';

closeAfterEach();

describe('KubeMetadataSource', () => {
  test('initial sync maps the pods of this node only, and every NAD', async () => {
    const h = await setup({ seed: seedCluster });
    expect(h.source.synced()).toBe(false);
    await started(h);

    expect(h.podNames()).toEqual(['apps/b', 'default/a']);
    const a = h.source.pods().find((p) => p.name === 'a');
    expect(a?.nodeName).toBe(NODE);
    expect(a?.requested).toEqual({ ok: true, value: [{ namespace: 'default', name: 'mgmt', interface: 'net1', mac: undefined, ips: [] }] });
    expect(h.nadNames()).toEqual(['apps/data', 'default/mgmt']);
    expect(h.source.networks().find((n) => n.name === 'mgmt')).toMatchObject({ type: 'macvlan', master: 'eth1', trafficClass: 'mgmt', invalid: undefined });

    const status = h.source.cacheStatus();
    expect(status.map((s) => [s.resource, s.synced, s.objects, s.restarts, s.skipped])).toEqual([
      ['pods', true, 2, 0, 0],
      ['network-attachment-definitions', true, 2, 0, 0],
    ]);
    expect(status.every((s) => s.lastEventMs !== undefined)).toBe(true);

    // The list and the watch carry the node's field selector; the watch asks for bookmarks and a server-side timeout.
    const [list] = h.server.requests({ path: '/api/v1/pods', watch: false });
    expect(list?.query).toMatchObject({ fieldSelector: `spec.nodeName=${NODE}`, limit: '500' });
    await until('pod watch', () => h.podWatches().length > 0);
    const watch = h.podWatches()[0];
    expect(watch?.query).toMatchObject({ fieldSelector: `spec.nodeName=${NODE}`, allowWatchBookmarks: 'true', resourceVersion: expect.stringMatching(/^\d+$/) as unknown });
    expect(Number(watch?.query['timeoutSeconds'])).toBeGreaterThanOrEqual(60);
    expect(Number(watch?.query['timeoutSeconds'])).toBeLessThan(120);
    await until('nad watch', () => h.server.requests({ path: '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions', watch: true }).length > 0);
    expect(h.warns()).toEqual([]);
  });

  test('ADDED, MODIFIED and DELETED reach the cache and fire onChange', async () => {
    const h = await setup({ seed: seedCluster });
    await started(h);
    await until('watches open', () => h.server.openWatches() === 2);
    const before = h.changes();

    h.server.create('pods', podObject({ name: 'c', node: NODE, networks: 'data@net2' }));
    await until('pod c added', () => h.podNames().includes('default/c'));
    await until('onChange after add', () => h.changes() > before);

    h.server.update('pods', podObject({ name: 'a', node: NODE, networks: 'mgmt@net1, data@net2' }));
    await until('pod a modified', () => {
      const a = h.source.pods().find((p) => p.name === 'a');
      return a?.requested.ok === true && a.requested.value.length === 2;
    });

    h.server.delete('pods', 'apps', 'b');
    await until('pod b deleted', () => !h.podNames().includes('apps/b'));

    // A pod of another node never shows; one that moves here arrives as ADDED, and leaves as DELETED.
    h.server.create('pods', podObject({ name: 'x', node: 'node-2' }));
    h.server.update('pods', podObject({ name: 'elsewhere', node: NODE }));
    await until('pod moved here', () => h.podNames().includes('default/elsewhere'));
    expect(h.podNames()).toEqual(['default/a', 'default/c', 'default/elsewhere']);
    h.server.update('pods', podObject({ name: 'elsewhere', node: 'node-3' }));
    await until('pod moved away', () => !h.podNames().includes('default/elsewhere'));

    const changesBeforeNad = h.changes();
    h.server.update('network-attachment-definitions', nadObject({ name: 'mgmt', master: 'bond0' }));
    h.server.create('network-attachment-definitions', nadObject({ name: 'storage', master: 'eth3' }));
    h.server.delete('network-attachment-definitions', 'apps', 'data');
    await until('nads changed', () => h.nadNames().join() === 'default/mgmt,default/storage');
    expect(h.source.networks().find((n) => n.name === 'mgmt')?.master).toBe('bond0');
    await until('onChange after nad changes', () => h.changes() > changesBeforeNad);

    expect(h.podLists()).toBe(1);
    expect(h.source.cacheStatus().map((s) => s.restarts)).toEqual([0, 0]);
  });

  test('a burst of changes makes one debounced onChange call', async () => {
    const h = await setup({ seed: seedCluster });
    await started(h);
    await until('watches open', () => h.server.openWatches() === 2);
    await new Promise((r) => setTimeout(r, 50));
    const before = h.changes();
    for (let i = 0; i < 20; i++) h.server.create('pods', podObject({ name: `burst-${i}`, node: NODE }));
    await until('burst applied', () => h.source.pods().length === 22);
    await new Promise((r) => setTimeout(r, 50));
    expect(h.changes() - before).toBeGreaterThanOrEqual(1);
    expect(h.changes() - before).toBeLessThanOrEqual(3);
  });

  test('the initial list comes in chunks of listPageSize, one consistent snapshot', async () => {
    const h = await setup({
      timing: { listPageSize: 2 },
      seed: (s) => {
        for (let i = 0; i < 7; i++) s.create('pods', podObject({ name: `p${i}`, node: NODE }));
        s.create('pods', podObject({ name: 'other', node: 'node-2' }));
        for (let i = 0; i < 3; i++) s.create('network-attachment-definitions', nadObject({ name: `n${i}` }));
      },
    });
    await started(h);
    expect(h.source.pods()).toHaveLength(7);
    expect(h.nadNames()).toEqual(['default/n0', 'default/n1', 'default/n2']);

    const lists = h.server.requests({ path: '/api/v1/pods', watch: false });
    expect(lists.map((r) => [r.query['limit'], r.query['continue'] !== undefined])).toEqual([
      ['2', false],
      ['2', true],
      ['2', true],
      ['2', true],
    ]);
    expect(h.server.requests({ path: '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions', watch: false })).toHaveLength(2);
  });

  test('an expired continue token restarts the list from the first page', async () => {
    const h = await setup({
      timing: { listPageSize: 2 },
      seed: (s) => {
        for (let i = 0; i < 4; i++) s.create('pods', podObject({ name: `p${i}`, node: NODE }));
      },
    });
    // Each list page waits 150 ms; the history is compacted while the first page is in flight.
    h.server.setLatency(150);
    await h.source.start();
    // Page 2 is in flight (its snapshot is read after the latency) when the history is compacted.
    await until('second page requested', () => h.podLists() === 2);
    h.server.expireHistory();
    h.server.delete('pods', 'default', 'p3');
    expect(await h.source.waitForSync(5000)).toBe(true);
    expect(h.podNames()).toEqual(['default/p0', 'default/p1', 'default/p2']);
    const lists = h.server.requests({ path: '/api/v1/pods', watch: false });
    // page 1, page 2 (410: token too old), then a fresh list of two pages.
    expect(lists.map((r) => r.query['continue'] !== undefined)).toEqual([false, true, false, true]);
  });

  test('bookmarks move the resourceVersion a resumed watch starts from', async () => {
    const h = await setup({ seed: seedCluster });
    await started(h);
    await until('watches open', () => h.server.openWatches() === 2);
    const listRv = Number(h.podWatches()[0]?.query['resourceVersion']);

    // Other objects move the cluster's resourceVersion; this node's pods see only bookmarks.
    for (let i = 0; i < 5; i++) h.server.create('pods', podObject({ name: `far-${i}`, node: 'node-9' }));
    const moved = Date.now();
    const rv = h.server.resourceVersion;
    await until('a bookmark after the move', () => (h.source.cacheStatus()[0]?.lastEventMs ?? 0) > moved + 5);

    h.server.dropWatches('pods');
    await until('pod watch resumed', () => h.podWatches().length === 2);
    const resumed = h.podWatches()[1];
    expect(Number(resumed?.query['resourceVersion'])).toBeGreaterThan(listRv);
    expect(resumed?.query['resourceVersion']).toBe(rv);
    expect(h.podLists()).toBe(1);
    expect(h.podNames()).toEqual(['apps/b', 'default/a']);
  });

  test('410 Gone as an ERROR event in the 200 watch stream relists, and the relist drops what vanished in the gap', async () => {
    const h = await setup({ seed: seedCluster });
    await started(h);
    await until('watches open', () => h.server.openWatches() === 2);

    // The watch breaks; while it is down the history is compacted and pods change.
    h.server.expireHistory();
    h.server.dropWatches('pods');
    h.server.delete('pods', 'default', 'a');
    h.server.create('pods', podObject({ name: 'c', node: NODE }));
    h.server.update('pods', podObject({ name: 'b', namespace: 'apps', node: NODE, networks: 'data' }));

    await until('relisted', () => h.podLists() === 2);
    await until('cache right after the relist', () => h.podNames().join() === 'apps/b,default/c');
    expect(h.source.pods().find((p) => p.name === 'b')?.requested).toMatchObject({ ok: true, value: [{ name: 'data' }] });

    // The resumption got the ERROR event (a 200 stream), and the watch after the relist starts from the new list.
    await until('watch after the relist', () => h.podWatches().length >= 3);
    const watches = h.podWatches();
    expect(Number(watches[2]?.query['resourceVersion'])).toBeGreaterThan(Number(watches[1]?.query['resourceVersion']));
    expect(h.source.cacheStatus()[0]?.restarts).toBeGreaterThanOrEqual(2);
    expect(h.source.synced()).toBe(true);
    expect(h.lines.some((l) => l.level === 'info' && l.msg === 'kube watch expired, relisting')).toBe(true);

    // It keeps watching after the relist.
    h.server.create('pods', podObject({ name: 'd', node: NODE }));
    await until('pod d', () => h.podNames().includes('default/d'));
    expect(h.podLists()).toBe(2);
  });

  test('an injected ERROR 410 in an open watch relists at once', async () => {
    const h = await setup({ seed: seedCluster });
    await started(h);
    await until('watches open', () => h.server.openWatches() === 2);
    expect(h.server.injectErrorEvent('network-attachment-definitions', { code: 410, reason: 'Expired', message: 'too old resource version: 1 (2)' })).toBe(1);
    await until('nads relisted', () => h.server.requests({ path: '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions', watch: false }).length === 2);
    expect(h.podLists()).toBe(1);
    expect(h.nadNames()).toEqual(['apps/data', 'default/mgmt']);
    expect(h.warns()).toEqual([]);
  });

  test('an ERROR event of another kind restarts the watch from the last resourceVersion, logged once', async () => {
    const h = await setup({ seed: seedCluster });
    await started(h);
    await until('watches open', () => h.server.openWatches() === 2);

    expect(h.server.injectErrorEvent('pods', { code: 500, reason: 'InternalError' })).toBe(1);
    h.server.create('pods', podObject({ name: 'c', node: NODE }));
    await until('pod c after the restart', () => h.podNames().includes('default/c'));
    await until('pod watch reopened', () => h.server.openWatches('pods') === 1);

    expect(h.podLists()).toBe(1);
    expect(h.podWatches().length).toBe(2);
    expect(h.source.cacheStatus()[0]?.restarts).toBe(1);
    const warns = h.warns();
    expect(warns).toHaveLength(1);
    expect(warns[0]?.obj).toMatchObject({ resource: 'pods', why: 'error event', status: 500, reason: 'InternalError' });
  });

  test('invalid objects: bad annotations and bad NAD configs are data; an object that does not convert is skipped and counted', async () => {
    const h = await setup({
      seed: (s) => {
        s.create('pods', podObject({ name: 'good', node: NODE, networks: 'mgmt' }));
        s.create('pods', podObject({ name: 'bad-status', node: NODE, networkStatus: '[{"name": ' }));
        s.create('pods', podObject({ name: 'bad-request', node: NODE, networks: '[{"name": 1}]' }));
        s.create('pods', podObject({ name: 'bad-labels', node: NODE, labels: { app: 7 } }));
        s.create('network-attachment-definitions', nadObject({ name: 'good' }));
        s.create('network-attachment-definitions', nadObject({ name: 'broken', config: '{"type": "macvlan", ' }));
      },
    });
    await started(h);

    expect(h.podNames()).toEqual(['default/bad-request', 'default/bad-status', 'default/good']);
    const byName = new Map(h.source.pods().map((p) => [p.name, p]));
    expect(byName.get('bad-status')?.status.ok).toBe(false);
    expect(byName.get('bad-request')?.requested.ok).toBe(false);
    expect(byName.get('good')?.requested.ok).toBe(true);
    expect(h.source.networks().find((n) => n.name === 'broken')?.invalid).toEqual(expect.any(String));
    expect(h.source.networks().find((n) => n.name === 'good')?.invalid).toBeUndefined();
    expect(h.source.cacheStatus().map((s) => s.skipped)).toEqual([1, 0]);
    expect(h.warns().map((w) => [w.msg, (w.obj as { object?: string }).object])).toEqual([['kube object skipped', 'default/bad-labels']]);

    // Through the watch: a good pod turning bad leaves the cache; the skipped one fixed joins it.
    await until('watches open', () => h.server.openWatches() === 2);
    h.server.update('pods', podObject({ name: 'good', node: NODE, labels: { app: ['x'] } }));
    h.server.update('pods', podObject({ name: 'bad-labels', node: NODE }));
    h.server.create('network-attachment-definitions', nadObject({ name: 'conflist-empty', config: '{"plugins": []}' }));
    await until('watch applied', () => h.podNames().join() === 'default/bad-labels,default/bad-request,default/bad-status');
    await until('nad via watch', () => h.nadNames().includes('default/conflist-empty'));
    expect(h.source.networks().find((n) => n.name === 'conflist-empty')?.invalid).toBe('"plugins" is empty');
    expect(h.source.cacheStatus().map((s) => s.skipped)).toEqual([1, 0]);
    expect(h.warns()).toHaveLength(2);
    expect(h.source.synced()).toBe(true);
  });

  test('NADs not served (no Multus CRD): synced with no NADs, said once, picked up when the CRD appears', async () => {
    const h = await setup({ seed: seedCluster });
    h.server.setServed('network-attachment-definitions', false);
    await started(h);
    expect(h.podNames()).toEqual(['apps/b', 'default/a']);
    expect(h.source.networks()).toEqual([]);
    await until('retried', () => h.server.requests({ path: '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions' }).length >= 3);
    expect(h.warns().map((w) => w.msg)).toEqual(['kube resource not served, treating as empty']);

    h.server.setServed('network-attachment-definitions', true);
    await until('nads listed', () => h.nadNames().join() === 'apps/data,default/mgmt');
    await until('nad watch open', () => h.server.openWatches('network-attachment-definitions') === 1);
    h.server.create('network-attachment-definitions', nadObject({ name: 'storage' }));
    await until('nad via watch', () => h.nadNames().includes('default/storage'));
    expect(h.warns()).toHaveLength(1);

    // The CRD removed: its watch ends, the relist finds nothing served, the NADs are gone.
    h.server.setServed('network-attachment-definitions', false);
    await until('nads gone', () => h.source.networks().length === 0);
    expect(h.source.synced()).toBe(true);
    expect(h.warns().map((w) => w.msg)).toEqual(['kube resource not served, treating as empty', 'kube resource not served, treating as empty']);
  });

  test('stop closes the watches and nothing is requested afterwards; the cache stays readable', async () => {
    const h = await setup({ seed: seedCluster });
    await started(h);
    await until('watches open', () => h.server.openWatches() === 2);
    await h.source.stop();
    await until('server sees the watches closed', () => h.server.openWatches() === 0);
    const requests = h.server.requests().length;
    await new Promise((r) => setTimeout(r, 300));
    expect(h.server.requests().length).toBe(requests);
    expect(h.podNames()).toEqual(['apps/b', 'default/a']);
  });
});
