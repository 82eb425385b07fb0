import { describe, expect, it } from 'vitest';
import type { EventSink, KubeEvent } from '../../agent/model/ports.js';
import { recordingLogger } from '../../test/support/links.js';
import { EventRecorder } from './recorder.js';

/** An in-memory API: events by namespace/name, able to fail for a while. */
function memorySink() {
  const stored = new Map<string, { count: number; message: string; reason: string; last: Date }>();
  const calls: string[] = [];
  let failing = 0;
  const sink: EventSink = {
    async create(e) {
      calls.push(`create ${e.event.reason}`);
      if (failing > 0) {
        failing--;
        throw new Error('connect ECONNREFUSED');
      }
      stored.set(`${e.namespace}/${e.name}`, { count: e.count, message: e.event.message, reason: e.event.reason, last: e.lastTimestamp });
    },
    async patch(e) {
      calls.push(`patch ${e.count}`);
      const s = stored.get(`${e.namespace}/${e.name}`);
      if (!s) throw Object.assign(new Error('not found'), { code: 404 });
      s.count = e.count;
      s.last = e.lastTimestamp;
      s.message = e.message;
    },
  };
  return { sink, stored, calls, fail: (n: number) => (failing = n) };
}

const nodeEvent = (message: string, reason = 'HostInterfaceNotReady'): KubeEvent => ({
  involvedObject: { kind: 'Node', name: 'node-1', namespace: '', apiVersion: 'v1' },
  type: 'Warning',
  reason,
  message,
});

/** A sink whose writes each wait until released: what is in flight, and the order they went out. */
function gatedSink() {
  const sent: string[] = [];
  const waiting: (() => void)[] = [];
  const write = (what: string): Promise<void> => {
    sent.push(what);
    return new Promise((resolve) => waiting.push(resolve));
  };
  const sink: EventSink = { create: (e) => write(e.event.message), patch: (e) => write(`patch ${e.message}`) };
  /** Lets every write out, the ones that follow included, until none is left waiting. */
  const releaseAll = async (): Promise<void> => {
    for (let idle = 0; idle < 3; ) {
      const next = waiting.shift();
      if (next) {
        next();
        idle = 0;
      } else idle++;
      await new Promise((r) => setImmediate(r));
    }
  };
  return { sink, sent, releaseAll };
}

const podEvent = (pod: string): KubeEvent => ({
  involvedObject: { kind: 'Pod', name: pod, namespace: 'cnf', apiVersion: 'v1' },
  type: 'Warning',
  reason: 'SecondaryInterfaceDown',
  message: `${pod} net2 down`,
});

describe('EventRecorder', () => {
  it('sends urgent events ahead of queued ones, in their order, never ahead of the one being sent', async () => {
    const { sink, sent, releaseAll } = gatedSink();
    const r = new EventRecorder({ sink, log: recordingLogger().log, instance: 'n' });
    for (let i = 0; i < 5; i++) r.record(podEvent(`upf-${i}`));
    r.record(nodeEvent('eth2 ready', 'HostInterfaceReady'), { urgent: true });
    r.record(podEvent('upf-5'));
    r.record(nodeEvent('eth3 down'), { urgent: true });
    await releaseAll();
    await r.flush();
    expect(sent).toEqual(['upf-0 net2 down', 'eth2 ready', 'eth3 down', 'upf-1 net2 down', 'upf-2 net2 down', 'upf-3 net2 down', 'upf-4 net2 down', 'upf-5 net2 down']);
    expect(r.stats().queued).toBe(0);
  });

  it('never drops the event being sent when the queue is full', async () => {
    const { sink, sent, releaseAll } = gatedSink();
    const r = new EventRecorder({ sink, log: recordingLogger().log, instance: 'n', queueLimit: 2 });
    for (const pod of ['a', 'b', 'c']) r.record(podEvent(pod));
    // 'a' is in flight: the oldest waiting one, 'b', made room for 'c'; a repeat of 'a' is folded
    // into the one in flight, not written as a second event.
    r.record(podEvent('a'));
    await releaseAll();
    await r.flush();
    expect(sent).toEqual(['a net2 down', 'c net2 down']);
    expect(r.stats().dropped.queueFull).toBe(1);
    expect(r.stats().written.get('SecondaryInterfaceDown/Warning')).toBe(2);
  });

  it('writes one event and raises its count for exact repeats', async () => {
    const { sink, stored, calls } = memorySink();
    const r = new EventRecorder({ sink, log: recordingLogger().log, instance: 'node-1' });
    r.record(nodeEvent('eth2 down'));
    await r.flush();
    r.record(nodeEvent('eth2 down'));
    await r.flush();
    r.record(nodeEvent('eth2 down'));
    await r.flush();
    expect(calls).toEqual(['create HostInterfaceNotReady', 'patch 2', 'patch 3']);
    expect([...stored.values()].map((s) => [s.reason, s.count])).toEqual([['HostInterfaceNotReady', 3]]);
    expect([...stored.keys()][0]).toMatch(/^default\/node-1\.[0-9a-f]+$/);
  });

  it('folds more than maxSimilar differing messages into a combined event', async () => {
    const { sink, stored } = memorySink();
    const r = new EventRecorder({ sink, log: recordingLogger().log, instance: 'n', maxSimilar: 3 });
    for (let i = 0; i < 6; i++) r.record(nodeEvent(`flap ${i}`));
    await r.flush();
    const messages = [...stored.values()].map((s) => `${s.message} x${s.count}`);
    expect(messages.slice(0, 3)).toEqual(['flap 0 x1', 'flap 1 x1', 'flap 2 x1']);
    expect(messages.slice(3)).toEqual(['(combined from similar events): flap 5 x3']);
  });

  it('rate limits per object and refills over time', async () => {
    let now = 0;
    const { sink, stored } = memorySink();
    const r = new EventRecorder({ sink, log: recordingLogger().log, instance: 'n', burst: 2, refillMs: 1000, maxSimilar: 100, now: () => now });
    for (let i = 0; i < 5; i++) r.record(nodeEvent(`m${i}`));
    r.record({ ...nodeEvent('other object'), involvedObject: { kind: 'Pod', name: 'p', namespace: 'default', apiVersion: 'v1' } });
    await r.flush();
    expect(stored.size).toBe(3);
    expect(r.stats().dropped.rateLimited).toBe(3);
    now = 1000;
    r.record(nodeEvent('after refill'));
    await r.flush();
    expect(stored.size).toBe(4);
  });

  it('keeps events through an API outage and sends them, once, when it is back', async () => {
    const { sink, stored, calls, fail } = memorySink();
    const { log, lines } = recordingLogger();
    const r = new EventRecorder({ sink, log, instance: 'n', retryDelayMs: 5, maxRetryDelayMs: 20 });
    fail(4);
    r.record(nodeEvent('eth2 down'));
    r.record(nodeEvent('eth3 down'));
    await r.flush();
    expect(calls.filter((c) => c.startsWith('create'))).toHaveLength(6);
    expect([...stored.values()].map((s) => s.message)).toEqual(['eth2 down', 'eth3 down']);
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual(['events cannot reach the api; retrying']);
    expect(lines.filter((l) => l.level === 'info').map((l) => l.msg)).toEqual(['events reach the api again']);
  });

  it('drops an event after maxTries and the oldest when the queue is full', async () => {
    const { sink, fail } = memorySink();
    const r = new EventRecorder({ sink, log: recordingLogger().log, instance: 'n', retryDelayMs: 1, maxRetryDelayMs: 2, maxTries: 2, queueLimit: 2, maxSimilar: 100 });
    fail(100);
    for (let i = 0; i < 4; i++) r.record(nodeEvent(`m${i}`));
    await r.flush();
    const s = r.stats();
    expect(s.dropped.queueFull).toBeGreaterThan(0);
    expect(s.dropped.retriesExhausted + s.dropped.queueFull).toBe(4);
    expect(s.queued).toBe(0);
  });

  it('creates the event anew when its patch finds it gone', async () => {
    const { sink, stored, calls } = memorySink();
    const r = new EventRecorder({ sink, log: recordingLogger().log, instance: 'n' });
    r.record(nodeEvent('eth2 down'));
    await r.flush();
    stored.clear();
    r.record(nodeEvent('eth2 down'));
    await r.flush();
    expect(calls).toEqual(['create HostInterfaceNotReady', 'patch 2', 'create HostInterfaceNotReady']);
    expect([...stored.values()][0]?.count).toBe(2);
  });
});
