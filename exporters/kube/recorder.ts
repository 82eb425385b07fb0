/**
 * Kubernetes Events the way client-go's event recorder writes them (tools/record: EventCorrelator,
 * EventAggregator, EventLogger, spam filter, broadcaster with retries), so that an agent on every
 * node cannot flood the API:
 * - an exact repeat (same object, type, reason, message) within the dedupe window raises `count`
 *   on the event already written (PATCH) instead of creating another;
 * - more than `maxSimilar` events of one object, type and reason with different messages within
 *   `similarWindowMs` are folded into one "(combined from similar events): ..." event;
 * - each object has a token bucket (burst 25, one token per 5 minutes, as client-go); events
 *   beyond it are dropped and counted;
 * - events wait in a bounded queue (oldest dropped first) and are retried through an API outage
 *   with backoff, up to `maxTries`; a PATCH of an event that has gone (404) creates it anew;
 * - an urgent event (a host interface's readiness) goes ahead of every queued event that is not:
 *   when a master goes down, each of its pods gets an Event, and at API latencies of a few ms
 *   per write 250 of them kept the Node's "ready again" waiting for seconds.
 */
import type { EventSink, KubeEvent, Logger } from '../../agent/model/ports.js';

/** Tunables; the defaults are client-go's. */
export interface RecorderOptions {
  readonly sink: EventSink;
  readonly log: Logger;
  /** Written as `reportingInstance` and in the event name's source. */
  readonly instance: string;
  readonly queueLimit?: number;
  readonly burst?: number;
  /** Milliseconds per refilled token. */
  readonly refillMs?: number;
  readonly maxSimilar?: number;
  readonly similarWindowMs?: number;
  readonly dedupeWindowMs?: number;
  readonly maxTries?: number;
  /** First retry delay; doubles up to `maxRetryDelayMs`. */
  readonly retryDelayMs?: number;
  readonly maxRetryDelayMs?: number;
  /** Most entries each correlation cache keeps (client-go's LRU caches: 4096); the oldest go first. */
  readonly maxCacheEntries?: number;
  readonly now?: () => number;
}

/** What the recorder did, for `multinet_events_*`. */
export interface RecorderStats {
  /** Events written (created or patched), by reason and type. */
  readonly written: ReadonlyMap<string, number>;
  /** Dropped by the per-object rate limit, a full queue, or after the last retry. */
  readonly dropped: { readonly rateLimited: number; readonly queueFull: number; readonly retriesExhausted: number };
  readonly queued: number;
}

interface Pending {
  readonly kind: 'create' | 'patch';
  readonly key: string;
  readonly event: KubeEvent;
  readonly tries: number;
  readonly urgent: boolean;
}

interface Written {
  readonly name: string;
  readonly namespace: string;
  count: number;
  readonly first: number;
  last: number;
}

const objectKey = (e: KubeEvent): string => {
  const o = e.involvedObject;
  return `${o.kind}/${o.namespace}/${o.name}/${o.uid ?? ''}`;
};

/** Records events to a sink with client-go's correlation, rate limiting and retries. */
export class EventRecorder {
  readonly #o: Required<Omit<RecorderOptions, 'sink' | 'log' | 'instance' | 'now'>>;
  readonly #sink: EventSink;
  readonly #log: Logger;
  readonly #instance: string;
  readonly #now: () => number;
  readonly #queue: Pending[] = [];
  readonly #written = new Map<string, Written>();
  readonly #similar = new Map<string, { first: number; messages: Set<string> }>();
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #counts = new Map<string, number>();
  /** Repeats of an event whose create is still queued. */
  readonly #pendingRepeats = new Map<string, number>();
  readonly #dropped = { rateLimited: 0, queueFull: 0, retriesExhausted: 0 };
  #draining = false;
  #timer: NodeJS.Timeout | undefined;
  #outage = false;
  #closed = false;
  #seq = 0;

  constructor(opts: RecorderOptions) {
    this.#sink = opts.sink;
    this.#log = opts.log;
    this.#instance = opts.instance;
    this.#now = opts.now ?? Date.now;
    this.#o = {
      queueLimit: opts.queueLimit ?? 1000,
      burst: opts.burst ?? 25,
      refillMs: opts.refillMs ?? 300_000,
      maxSimilar: opts.maxSimilar ?? 10,
      similarWindowMs: opts.similarWindowMs ?? 600_000,
      dedupeWindowMs: opts.dedupeWindowMs ?? 600_000,
      maxTries: opts.maxTries ?? 12,
      retryDelayMs: opts.retryDelayMs ?? 1000,
      maxRetryDelayMs: opts.maxRetryDelayMs ?? 30_000,
      maxCacheEntries: opts.maxCacheEntries ?? 4096,
    };
  }

  /** Counters for metrics. */
  stats(): RecorderStats {
    return { written: this.#counts, dropped: { ...this.#dropped }, queued: this.#queue.length };
  }

  /** Entries of the correlation caches (a boundedness check): each at most `maxCacheEntries`. */
  cacheSizes(): { written: number; similar: number; buckets: number; pendingRepeats: number; queued: number } {
    return { written: this.#written.size, similar: this.#similar.size, buckets: this.#buckets.size, pendingRepeats: this.#pendingRepeats.size, queued: this.#queue.length };
  }

  /** Records an event: correlated, rate limited, queued (an urgent one ahead of the others); never throws, never blocks. */
  record(input: KubeEvent, opts?: { readonly urgent?: boolean }): void {
    if (this.#closed) return;
    const now = this.#now();
    this.#prune(now);
    if (!this.#take(objectKey(input), now)) {
      this.#dropped.rateLimited++;
      this.#log.debug({ reason: input.reason, object: objectKey(input) }, 'event rate limited');
      return;
    }
    const { event, key } = this.#aggregate(input, now);
    const prior = this.#written.get(key);
    if (prior) {
      prior.count++;
      prior.last = now;
    } else if (this.#queue.some((p) => p.key === key)) {
      // Not written yet but queued: the create will carry the repeats.
      this.#pendingRepeats.set(key, (this.#pendingRepeats.get(key) ?? 1) + 1);
    }
    // A repeat still queued is folded into the queued one; its count is read when it is sent.
    const queued = this.#queue.findIndex((p) => p.key === key);
    if (queued >= 0) {
      this.#queue[queued] = { ...(this.#queue[queued] as Pending), event };
      return;
    }
    this.#enqueue({ kind: prior ? 'patch' : 'create', key, event, tries: 0, urgent: opts?.urgent === true });
  }

  /** Stops sending; queued events are dropped. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#queue.length = 0;
    this.#pendingRepeats.clear();
  }

  /** Waits until the queue is empty (tests). */
  async flush(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.#queue.length > 0 || this.#draining) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }

  /**
   * client-go's EventAggregator: past `maxSimilar` messages, events of one object, type and reason
   * share one combined event (one key, whatever the message), whose message is the latest.
   */
  #aggregate(e: KubeEvent, now: number): { event: KubeEvent; key: string } {
    const similar = `${objectKey(e)}/${e.type}/${e.reason}`;
    let s = this.#similar.get(similar);
    if (!s || now - s.first > this.#o.similarWindowMs) this.#similar.set(similar, (s = { first: now, messages: new Set() }));
    s.messages.add(e.message);
    if (s.messages.size > this.#o.maxSimilar) return { event: { ...e, message: `(combined from similar events): ${e.message}` }, key: `${similar}/(combined)` };
    return { event: e, key: `${similar}/${e.message}` };
  }

  #take(object: string, now: number): boolean {
    let b = this.#buckets.get(object);
    if (!b) this.#buckets.set(object, (b = { tokens: this.#o.burst, at: now }));
    const refill = Math.floor((now - b.at) / this.#o.refillMs);
    if (refill > 0) {
      b.tokens = Math.min(this.#o.burst, b.tokens + refill);
      b.at += refill * this.#o.refillMs;
    }
    if (b.tokens <= 0) return false;
    b.tokens--;
    return true;
  }

  /** Forgets what is older than the windows, so memory stays bounded by recent activity. */
  #prune(now: number): void {
    for (const [k, w] of this.#written) if (now - w.last > this.#o.dedupeWindowMs) this.#written.delete(k);
    for (const [k, s] of this.#similar) if (now - s.first > this.#o.similarWindowMs) this.#similar.delete(k);
    // A bucket that would be full again by now is the same as none: forget it (refills are lazy,
    // so an object heard of once would otherwise keep its bucket).
    for (const [k, b] of this.#buckets) if (b.tokens + Math.floor((now - b.at) / this.#o.refillMs) >= this.#o.burst) this.#buckets.delete(k);
    // Many distinct objects within the windows: keep the newest, as client-go's LRU caches do.
    for (const m of [this.#written, this.#similar, this.#buckets] as Map<string, unknown>[]) {
      for (const k of m.keys()) {
        if (m.size < this.#o.maxCacheEntries) break;
        m.delete(k);
      }
    }
  }

  #enqueue(p: Pending): void {
    // While draining, the head is being sent: #drain removes it when the write returns, so
    // nothing may be put before it, and it is not the one dropped.
    const head = this.#draining ? 1 : 0;
    if (this.#queue.length >= this.#o.queueLimit && this.#queue.length > head) {
      const [dropped] = this.#queue.splice(head, 1);
      if (dropped) this.#pendingRepeats.delete(dropped.key);
      this.#dropped.queueFull++;
    }
    if (p.urgent) {
      // Behind the urgent ones already queued (their order kept), ahead of the rest.
      let at = head;
      while (at < this.#queue.length && (this.#queue[at] as Pending).urgent) at++;
      this.#queue.splice(at, 0, p);
    } else {
      this.#queue.push(p);
    }
    if (!this.#timer) void this.#drain();
  }

  #name(e: KubeEvent, now: number): string {
    // client-go: <object name>.<unix nanoseconds in hex>; a sequence keeps names unique within a millisecond.
    return `${e.involvedObject.name}.${(BigInt(now) * 1_000_000n + BigInt(this.#seq++ % 1_000_000)).toString(16)}`;
  }

  async #drain(): Promise<void> {
    if (this.#draining || this.#closed) return;
    this.#draining = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const p = this.#queue[0] as Pending;
        try {
          await this.#send(p);
          this.#queue.shift();
          const c = `${p.event.reason}/${p.event.type}`;
          this.#counts.set(c, (this.#counts.get(c) ?? 0) + 1);
          if (this.#outage) {
            this.#outage = false;
            this.#log.info({ queued: this.#queue.length }, 'events reach the api again');
          }
        } catch (err) {
          this.#queue.shift();
          const tries = p.tries + 1;
          if (tries >= this.#o.maxTries) {
            this.#pendingRepeats.delete(p.key);
            this.#dropped.retriesExhausted++;
            this.#log.warn({ err, reason: p.event.reason, tries }, 'event dropped after retries');
            continue;
          }
          this.#queue.unshift({ ...p, tries });
          if (!this.#outage) {
            this.#outage = true;
            this.#log.warn({ err, queued: this.#queue.length }, 'events cannot reach the api; retrying');
          }
          const delay = Math.min(this.#o.maxRetryDelayMs, this.#o.retryDelayMs * 2 ** (tries - 1)) * (0.9 + 0.2 * Math.random());
          this.#timer = setTimeout(() => {
            this.#timer = undefined;
            void this.#drain();
          }, delay);
          this.#timer.unref();
          return;
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  async #send(p: Pending): Promise<void> {
    const now = this.#now();
    const w = this.#written.get(p.key);
    if (p.kind === 'patch' && w) {
      try {
        await this.#sink.patch({ name: w.name, namespace: w.namespace, count: w.count, lastTimestamp: new Date(w.last), message: p.event.message });
        return;
      } catch (err) {
        // The event expired or was deleted: write it anew, as client-go does on 404.
        if (!isNotFound(err)) throw err;
      }
    }
    const namespace = p.event.involvedObject.namespace || 'default';
    const name = this.#name(p.event, now);
    const count = w?.count ?? this.#pendingRepeats.get(p.key) ?? 1;
    this.#pendingRepeats.delete(p.key);
    const first = w?.first ?? now;
    await this.#sink.create({ name, namespace, event: p.event, count, firstTimestamp: new Date(first), lastTimestamp: new Date(w?.last ?? now), reportingInstance: this.#instance });
    this.#written.set(p.key, { name, namespace, count, first, last: w?.last ?? now });
  }
}

/** Whether the sink said 404 (the kube adapter's errors carry `status`). */
function isNotFound(err: unknown): boolean {
  const e = err as { status?: unknown; code?: unknown; statusCode?: unknown };
  return e?.status === 404 || e?.code === 404 || e?.statusCode === 404;
}
