/** KubeEventSink through the real @kubernetes/client-node against the test apiserver. */
import { afterEach, describe, expect, test } from 'vitest';
import type { KubeEvent } from '../../agent/model/ports.js';
import { KubeApiError } from '../../collectors/kube/api-call.js';
import { KubeEventSink } from './event-sink.js';
import { KubeApiServer } from '../../test/support/kube-api-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<{ server: KubeApiServer; sink: KubeEventSink }> {
  const server = await KubeApiServer.start();
  cleanups.push(() => server.close());
  return { server, sink: new KubeEventSink({ kubeConfig: server.kubeConfig(), nodeName: 'node-1', requestTimeoutMs: 2000 }) };
}

const NODE_EVENT: KubeEvent = {
  involvedObject: { kind: 'Node', name: 'node-1', namespace: '', uid: 'node-1', apiVersion: 'v1' },
  type: 'Warning',
  reason: 'HostInterfaceNotReady',
  message: 'eth1 is down (carrier lost): NetworkAttachmentDefinitions default/mgmt; 2 pod attachments affected',
};

const T0 = new Date('2025-03-01T10:00:00.000Z');
const T1 = new Date('2025-03-01T10:05:30.000Z');

describe('KubeEventSink', () => {
  test('create posts a core/v1 Event with every field client-go would set', async () => {
    const { server, sink } = await setup();
    await sink.create({ name: 'node-1.182a1b3c4d5e6f70', namespace: 'default', event: NODE_EVENT, count: 1, firstTimestamp: T0, lastTimestamp: T0, reportingInstance: 'multinet-agent-node-1' });

    const [write] = server.eventWrites();
    expect(write).toMatchObject({ verb: 'create', namespace: 'default', name: 'node-1.182a1b3c4d5e6f70', status: 201, contentType: 'application/json' });
    expect(write?.body).toEqual({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'node-1.182a1b3c4d5e6f70', namespace: 'default' },
      involvedObject: { kind: 'Node', name: 'node-1', uid: 'node-1', apiVersion: 'v1' },
      reason: 'HostInterfaceNotReady',
      message: NODE_EVENT.message,
      type: 'Warning',
      count: 1,
      firstTimestamp: '2025-03-01T10:00:00.000Z',
      lastTimestamp: '2025-03-01T10:00:00.000Z',
      source: { component: 'multinet-agent', host: 'node-1' },
      reportingComponent: 'multinet-agent',
      reportingInstance: 'multinet-agent-node-1',
    });
    const [stored] = server.events();
    expect(stored?.metadata).toMatchObject({ name: 'node-1.182a1b3c4d5e6f70', namespace: 'default', resourceVersion: expect.any(String) as unknown, uid: expect.any(String) as unknown });
  });

  test('a Pod event names the pod with its namespace and uid', async () => {
    const { server, sink } = await setup();
    const event: KubeEvent = {
      involvedObject: { kind: 'Pod', name: 'web-0', namespace: 'apps', uid: '0f8a5c1e-1111-4222-8333-944445555666', apiVersion: 'v1' },
      type: 'Warning',
      reason: 'NetworkAttachmentMissing',
      message: 'network apps/data requested as net2 has no interface in the pod',
    };
    await sink.create({ name: 'web-0.1', namespace: 'apps', event, count: 1, firstTimestamp: T0, lastTimestamp: T0, reportingInstance: 'multinet-agent-node-1' });
    expect(server.get('events', 'apps', 'web-0.1')?.['involvedObject']).toEqual(event.involvedObject);
  });

  test('patch raises count, lastTimestamp and message with a strategic merge patch', async () => {
    const { server, sink } = await setup();
    await sink.create({ name: 'e1', namespace: 'default', event: NODE_EVENT, count: 1, firstTimestamp: T0, lastTimestamp: T0, reportingInstance: 'i' });
    await sink.patch({ name: 'e1', namespace: 'default', count: 4, lastTimestamp: T1, message: 'eth1 is down (admin down)' });

    const patch = server.eventWrites()[1];
    expect(patch).toMatchObject({ verb: 'patch', name: 'e1', status: 200, contentType: 'application/strategic-merge-patch+json' });
    expect(patch?.body).toEqual({ count: 4, lastTimestamp: '2025-03-01T10:05:30.000Z', message: 'eth1 is down (admin down)' });
    expect(server.get('events', 'default', 'e1')).toMatchObject({
      count: 4,
      firstTimestamp: '2025-03-01T10:00:00.000Z',
      lastTimestamp: '2025-03-01T10:05:30.000Z',
      message: 'eth1 is down (admin down)',
      reason: 'HostInterfaceNotReady',
      source: { component: 'multinet-agent', host: 'node-1' },
    });
  });

  test('errors reach the caller with the HTTP status and reason: 409 on a duplicate create, 404 on a patch of a missing event', async () => {
    const { sink } = await setup();
    const args = { name: 'dup', namespace: 'default', event: NODE_EVENT, count: 1, firstTimestamp: T0, lastTimestamp: T0, reportingInstance: 'i' };
    await sink.create(args);
    const conflict = await sink.create(args).catch((err: unknown) => err);
    expect(conflict).toBeInstanceOf(KubeApiError);
    expect(conflict).toMatchObject({ code: 'E_HTTP', status: 409, reason: 'AlreadyExists' });

    const missing = await sink.patch({ name: 'gone', namespace: 'default', count: 2, lastTimestamp: T1, message: 'm' }).catch((err: unknown) => err);
    expect(missing).toMatchObject({ status: 404, reason: 'NotFound', message: 'event default/gone patch failed: 404 NotFound: events "gone" not found' });
  });

  test('an unreachable API is an error without a status', async () => {
    const { server, sink } = await setup();
    const back = server.outage(300);
    const err = await sink.create({ name: 'e', namespace: 'default', event: NODE_EVENT, count: 1, firstTimestamp: T0, lastTimestamp: T0, reportingInstance: 'i' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: undefined, reason: 'ECONNREFUSED' });
    await back;
    await sink.create({ name: 'e', namespace: 'default', event: NODE_EVENT, count: 1, firstTimestamp: T0, lastTimestamp: T0, reportingInstance: 'i' });
    expect(server.events()).toHaveLength(1);
  });

  test('a request slower than the timeout fails instead of hanging', async () => {
    const { server } = await setup();
    const sink = new KubeEventSink({ kubeConfig: server.kubeConfig(), nodeName: 'node-1', requestTimeoutMs: 200 });
    server.setLatency(1000);
    const started = Date.now();
    const err = await sink.patch({ name: 'e', namespace: 'default', count: 2, lastTimestamp: T1, message: 'm' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(Date.now() - started).toBeLessThan(900);
  });
});
