/**
 * The kube side under pod churn (issue 9): 1,000 pod add/update/delete events with annotation
 * changes through the test apiserver and the real client library into KubeMetadataSource; the
 * pod index ends with exactly the live pods of this node, each with its last annotations. And
 * the event recorder, writing through the real KubeEventSink, keeps its correlation caches
 * bounded however many distinct objects it hears of.
 */
import { describe, expect, test } from 'vitest';
import type { KubeEvent } from '../../agent/model/ports.js';
import { EventRecorder } from '../../exporters/kube/recorder.js';
import { KubeApiServer } from '../../test/support/kube-api-server.js';
import { nadObject, podObject, until } from '../../test/support/kube-api/objects.js';
import { closeAfterEach, NODE, setup, started } from '../../test/support/kube-api/source-harness.js';
import { recordingLogger } from '../../test/support/links.js';
import { KubeEventSink } from '../../exporters/kube/event-sink.js';

closeAfterEach();

const NETWORKS = ['mgmt@net1', 'data@net2', 'mgmt@net1, data@net2', 'storage@net3'];

describe('pod churn through the reflector', () => {
  test('1,000 add/update/delete events: the index holds exactly the live pods of this node, with their last annotations', async () => {
    const h = await setup({
      seed: (s) => {
        for (const n of ['mgmt', 'data', 'storage']) s.create('network-attachment-definitions', nadObject({ name: n, master: `eth-${n}` }));
      },
    });
    await started(h);
    await until('watches open', () => h.server.openWatches() === 2);

    // The model: what the API holds, by name → [node, networks annotation].
    const model = new Map<string, { node: string; networks: string }>();
    let events = 0;
    const put = (name: string, node: string, networks: string, create: boolean): void => {
      const obj = podObject({ name, namespace: `ns-${name.length % 3}`, node, networks });
      if (create) h.server.create('pods', obj);
      else h.server.update('pods', obj);
      model.set(name, { node, networks });
      events++;
    };
    for (let i = 0; events < 1000; i++) {
      const name = `p${i}`;
      // Every seventh pod is scheduled elsewhere; some move here, or away, on update.
      const node = i % 7 === 0 ? 'node-2' : NODE;
      put(name, node, NETWORKS[i % NETWORKS.length] as string, true);
      if (events >= 1000) break;
      if (i % 2 === 0) {
        put(name, i % 11 === 0 ? (node === NODE ? 'node-3' : NODE) : node, NETWORKS[(i + 1) % NETWORKS.length] as string, false);
        if (events >= 1000) break;
      }
      if (i % 3 === 1) {
        const victim = `p${i - 1}`;
        const m = model.get(victim);
        if (m) {
          h.server.delete('pods', `ns-${victim.length % 3}`, victim);
          model.delete(victim);
          events++;
        }
      }
      // Let the watch stream drain now and then, as a real apiserver's would.
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(events).toBe(1000);

    const expected = [...model].filter(([, m]) => m.node === NODE).map(([name]) => `ns-${name.length % 3}/${name}`).sort();
    await until('the index matches the API', () => h.podNames().join() === expected.join(), 20_000);
    expect(h.podNames()).toEqual(expected);
    expect(expected.length).toBeGreaterThan(100);
    for (const p of h.source.pods()) {
      const want = model.get(p.name)?.networks ?? '';
      const got = p.requested.ok ? p.requested.value.map((r) => `${r.name}@${r.interface}`).join(', ') : 'invalid';
      expect(got, p.name).toBe(want);
    }
    const pods = h.source.cacheStatus().find((s) => s.resource === 'pods');
    expect([pods?.objects, pods?.skipped, pods?.restarts]).toEqual([expected.length, 0, 0]);
    expect(h.warns()).toEqual([]);
  }, 60_000);
});

describe('event recorder under many distinct objects', () => {
  const event = (i: number, message = 'master eth2 has no carrier'): KubeEvent => ({
    involvedObject: { kind: 'Pod', namespace: 'churn', name: `pod-${i}`, uid: `uid-${i}`, apiVersion: 'v1' },
    reason: 'SecondaryInterfaceDown',
    type: 'Warning',
    message,
  });

  test('2,000 pods, each with events: caches stay at the cap, then windows empty them', async () => {
    const server = await KubeApiServer.start();
    let now = 1_000_000;
    const { log } = recordingLogger();
    const recorder = new EventRecorder({ sink: new KubeEventSink({ kubeConfig: server.kubeConfig(), nodeName: NODE }), log, instance: NODE, maxCacheEntries: 500, now: () => now });
    try {
      let max = { written: 0, similar: 0, buckets: 0, pendingRepeats: 0, queued: 0 };
      for (let i = 0; i < 2000; i++) {
        // Twelve different messages for some: the similar-event aggregation makes its own key.
        const messages = i % 100 === 0 ? 12 : 1;
        for (let m = 0; m < messages; m++) recorder.record(event(i, `message ${m}`));
        now += 10;
        const s = recorder.cacheSizes();
        max = { written: Math.max(max.written, s.written), similar: Math.max(max.similar, s.similar), buckets: Math.max(max.buckets, s.buckets), pendingRepeats: Math.max(max.pendingRepeats, s.pendingRepeats), queued: Math.max(max.queued, s.queued) };
        if (i % 250 === 0) await recorder.flush(20_000);
      }
      await recorder.flush(30_000);
      expect(max.similar).toBeLessThanOrEqual(500);
      expect(max.buckets).toBeLessThanOrEqual(500);
      expect(max.written).toBeLessThanOrEqual(500);
      expect(max.queued).toBeLessThanOrEqual(1000);
      expect(recorder.cacheSizes()).toMatchObject({ queued: 0, pendingRepeats: 0 });
      // Every event reached the API or was counted as dropped; the twelfth message of a pod folds
      // into its queued "(combined from similar events)" one.
      const st = recorder.stats();
      const written = [...st.written.values()].reduce((a, b) => a + b, 0);
      expect(written + st.dropped.queueFull + st.dropped.rateLimited + st.dropped.retriesExhausted).toBe(2000 + 20 * 10);
      // Past every window (dedupe, similar: 10 min; a full bucket refills in 25 × 5 min), one more event prunes the rest.
      now += 25 * 300_000 + 1;
      recorder.record(event(99_999));
      await recorder.flush(5000);
      expect(recorder.cacheSizes()).toEqual({ written: 1, similar: 1, buckets: 1, pendingRepeats: 0, queued: 0 });
    } finally {
      recorder.close();
      await server.close();
    }
  }, 120_000);

  test('the default cap is client-go\'s 4096', () => {
    const { log } = recordingLogger();
    const recorder = new EventRecorder({ sink: { create: async () => undefined, patch: async () => undefined }, log, instance: NODE, now: () => 0 });
    for (let i = 0; i < 5000; i++) recorder.record(event(i));
    expect(recorder.cacheSizes()).toMatchObject({ similar: 4096, buckets: 4096 });
    recorder.close();
  });
});
