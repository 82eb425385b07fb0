/**
 * KubeMetadataSource through connection faults (faults.md): dropped, stalled and timed-out
 * watches, slow responses, outages short and long, an API unreachable at start. The real
 * @kubernetes/client-node talks to the test apiserver; timings are shrunk through the
 * constructor options (backoff 50 ms → 400 ms, watchdog 600 ms).
 */
import { describe, expect, test } from 'vitest';
import { nadObject, podObject, until } from '../../test/support/kube-api/objects.js';
import { closeAfterEach, NODE, seedCluster, setup, started } from '../../test/support/kube-api/source-harness.js';

closeAfterEach();

describe('KubeMetadataSource under faults', () => {
  test('a dropped connection resumes the watch from the last resourceVersion without a relist', async () => {
    const h = await setup({ seed: seedCluster });
    await started(h);
    await until('watches open', () => h.server.openWatches() === 2);
    const rvBefore = Number(h.server.resourceVersion);

    expect(h.server.dropWatches()).toBe(2);
    h.server.delete('pods', 'default', 'a');
    h.server.create('pods', podObject({ name: 'c', node: NODE }));
    h.server.create('network-attachment-definitions', nadObject({ name: 'storage', master: 'eth3' }));

    await until('events of the gap replayed', () => h.podNames().join() === 'apps/b,default/c' && h.nadNames().includes('default/storage'));
    expect(h.podLists()).toBe(1);
    const resumed = h.podWatches()[1];
    expect(Number(resumed?.query['resourceVersion'])).toBeLessThanOrEqual(rvBefore);
    expect(Number(resumed?.query['resourceVersion'])).toBeGreaterThan(0);
    expect(h.source.synced()).toBe(true);
  });

  test('a watch that a server-side timeout ends resumes at once, without a relist or a restart', async () => {
    const h = await setup({ seed: seedCluster, timing: { watchTimeoutSeconds: 1 } });
    await started(h);
    await until('the pod watch renewed twice', () => h.podWatches().length >= 3, 8000);
    h.server.create('pods', podObject({ name: 'c', node: NODE }));
    await until('pod c', () => h.podNames().includes('default/c'));
    expect(h.podLists()).toBe(1);
    expect(h.source.cacheStatus()[0]?.restarts).toBe(0);
    expect(h.warns()).toEqual([]);
  });

  test('a silent stall trips the watchdog, which restarts the watch', async () => {
    const h = await setup({ seed: seedCluster });
    await started(h);
    await until('watches open', () => h.server.openWatches() === 2);
    // A bookmark has come on both watches: this server is known to send them, so silence is a stall.
    const opened = Date.now();
    await until('bookmarks seen', () => h.source.cacheStatus().every((s) => (s.lastEventMs ?? 0) > opened));

    // The pod watch's socket stays open but nothing comes for 10 s; the watchdog gives up after 600 ms.
    expect(h.server.stallWatches(10_000, 'pods')).toBe(1);
    h.server.create('pods', podObject({ name: 'c', node: NODE }));
    await until('pod c via a new watch', () => h.podNames().includes('default/c'), 4000);

    expect(h.podLists()).toBe(1);
    expect(h.podWatches().length).toBe(2);
    expect(h.source.cacheStatus().map((s) => s.restarts)).toEqual([1, 0]);
    const warns = h.warns();
    expect(warns).toHaveLength(1);
    expect(warns[0]?.obj).toMatchObject({ why: 'watchdog', reason: 'silent' });
    await until('recovered', () => h.lines.some((l) => l.msg === 'kube api reachable again'));
  });

  test('slow responses: a slow server syncs; one slower than the request timeout is retried until it answers in time', async () => {
    const h = await setup({ seed: seedCluster });
    h.server.setLatency(1500);
    await h.source.start();
    await until('a list timed out', () => h.warns().length > 0, 3000);
    expect(h.source.synced()).toBe(false);
    expect(h.warns()[0]?.obj).toMatchObject({ why: 'list failed', reason: 'timeout' });
    expect(await h.source.waitForSync(300)).toBe(false);

    h.server.setLatency(300);
    expect(await h.source.waitForSync(5000)).toBe(true);
    expect(h.podNames()).toEqual(['apps/b', 'default/a']);
    expect(h.warns()).toHaveLength(1);

    // A watch whose response headers take longer than the request timeout is given up and retried.
    await until('watches open', () => h.server.openWatches() === 2);
    const lists = h.podLists();
    h.server.setLatency(1500);
    h.server.dropWatches('pods');
    h.server.create('pods', podObject({ name: 'c', node: NODE }));
    // The watchdog (600 ms) or the client's header timeout (1000 ms) gives up on it, whichever is first.
    await until('a watch given up', () => h.lines.some((l) => ['silent', 'request-timeout'].includes((l.obj as { reason?: string }).reason ?? '')), 4000);
    h.server.setLatency(0);
    await until('pod c', () => h.podNames().includes('default/c'), 4000);
    expect(h.podLists()).toBe(lists);
  });

  test('a watch whose response headers do not come within the request timeout is given up', async () => {
    const h = await setup({ seed: seedCluster, timing: { requestTimeoutMs: 300, watchSilenceMs: 5000 } });
    await started(h);
    await until('watches open', () => h.server.openWatches() === 2);
    h.server.setLatency(1000);
    h.server.dropWatches('pods');
    await until('a header timeout', () => h.lines.some((l) => (l.obj as { reason?: string }).reason === 'request-timeout'), 3000);
    h.server.setLatency(0);
    h.server.create('pods', podObject({ name: 'c', node: NODE }));
    await until('pod c', () => h.podNames().includes('default/c'), 3000);
    // The drop began the outage (the one warning); the timed-out retry was a debug line of it.
    expect(h.warns().map((w) => (w.obj as { reason?: string }).reason)).toEqual(['ECONNRESET']);
    expect(h.lines.find((l) => (l.obj as { reason?: string }).reason === 'request-timeout')).toMatchObject({ level: 'debug', msg: 'kube api retry failed', obj: { resource: 'pods', why: 'watch failed' } });
  });

  test('an outage of a few seconds: the cache keeps serving, then catches up; one warning, no storm', async () => {
    const h = await setup({ seed: seedCluster });
    await started(h);
    await until('watches open', () => h.server.openWatches() === 2);
    const changesBefore = h.changes();

    const back = h.server.outage(3000);
    h.server.delete('pods', 'default', 'a');
    h.server.create('pods', podObject({ name: 'c', node: NODE }));
    h.server.delete('network-attachment-definitions', 'apps', 'data');

    await new Promise((r) => setTimeout(r, 1500));
    // Mid-outage: still the last cache, still synced.
    expect(h.podNames()).toEqual(['apps/b', 'default/a']);
    expect(h.nadNames()).toEqual(['apps/data', 'default/mgmt']);
    expect(h.source.synced()).toBe(true);
    expect(h.changes()).toBe(changesBefore);

    await back;
    await until('caught up', () => h.podNames().join() === 'apps/b,default/c' && h.nadNames().join() === 'default/mgmt', 5000);
    expect(h.podLists()).toBe(1); // the history covered the gap: resumed, not relisted
    await until('recovered', () => h.lines.some((l) => l.msg === 'kube api reachable again'));

    const warns = h.warns();
    expect(warns).toHaveLength(1);
    expect(warns[0]?.msg).toBe('kube api request failing, serving cached objects');
    const retries = h.lines.filter((l) => l.msg === 'kube api retry failed').length;
    expect(retries).toBeGreaterThan(4); // the retries happened, at debug
    expect(h.lines.filter((l) => l.level === 'info' && l.msg === 'kube api reachable again')).toHaveLength(1);
    expect(h.source.cacheStatus().every((s) => s.restarts > 1)).toBe(true);
  });

  test('the issue\'s 60 s outage at a tenth of the time: backoff spreads the retries, one warning, bounded retries, then recovery', async () => {
    // Production: backoff 0.8 s → 30 s over a 60 s outage. Here every duration is divided by 10.
    const h = await setup({ seed: seedCluster, timing: { backoffInitialMs: 80, backoffMaxMs: 3000 } });
    await started(h);
    await until('watches open', () => h.server.openWatches() === 2);

    const back = h.server.outage(6000);
    const downAt = Date.now();
    h.server.delete('pods', 'default', 'a');
    h.server.create('pods', podObject({ name: 'c', node: NODE }));
    await back;
    const upAt = Date.now();
    await until('caught up', () => h.podNames().join() === 'apps/b,default/c', 8000);
    expect(h.source.synced()).toBe(true);

    const failures = h.lines.filter((l) => l.atMs >= downAt && l.atMs <= upAt && (l.msg === 'kube api retry failed' || l.level === 'warn'));
    expect(h.warns()).toHaveLength(1);
    // Per resource: 80, 160, 320, 640, 1280, 2560, 3000 ms (±25 %) fit about 7 attempts into 6 s.
    expect(failures.length).toBeGreaterThanOrEqual(8);
    expect(failures.length).toBeLessThanOrEqual(20);
    const podFailures = failures.filter((l) => (l.obj as { resource?: string }).resource === 'pods').map((l) => l.atMs);
    const gaps = podFailures.slice(1).map((t, i) => t - (podFailures[i] ?? t));
    // The retries spread out: the first after about 80 ms, later ones a second and more apart (the ceiling itself: reflector.test.ts).
    expect(gaps[0]).toBeLessThan(300);
    expect(Math.max(...gaps)).toBeGreaterThanOrEqual(900);
    // Both watches back (the NAD watch may still be in its last backoff when the pods have caught up).
    await until('recovered', () => h.lines.some((l) => l.msg === 'kube api reachable again'), 5000);
    expect(h.lines.filter((l) => l.msg === 'kube api reachable again')).toHaveLength(1);
    expect(h.warns()).toHaveLength(1);
  });

  test('an outage that outlives the history relists afterwards, dropping what was deleted meanwhile', async () => {
    const h = await setup({ seed: seedCluster, historyLimit: 3 });
    await started(h);
    await until('watches open', () => h.server.openWatches() === 2);

    const back = h.server.outage(1000);
    h.server.delete('pods', 'default', 'a');
    for (let i = 0; i < 5; i++) h.server.create('pods', podObject({ name: `far-${i}`, node: 'node-9' }));
    h.server.create('pods', podObject({ name: 'c', node: NODE }));
    await back;

    await until('relisted and right', () => h.podNames().join() === 'apps/b,default/c', 5000);
    expect(h.podLists()).toBe(2);
    expect(h.source.synced()).toBe(true);
    expect(h.warns()).toHaveLength(1);
  });

  test('an unreachable API: start resolves, waitForSync answers false, and the first list is retried', async () => {
    const h = await setup({ seed: seedCluster });
    const back = h.server.outage(1200);
    await h.source.start();
    expect(await h.source.waitForSync(500)).toBe(false);
    expect(h.source.synced()).toBe(false);
    expect(h.source.pods()).toEqual([]);
    await back;
    expect(await h.source.waitForSync(5000)).toBe(true);
    expect(h.podNames()).toEqual(['apps/b', 'default/a']);
    expect(h.warns()).toHaveLength(1);
    expect(h.warns()[0]?.obj).toMatchObject({ why: 'list failed', reason: 'ECONNREFUSED' });
  });
});
