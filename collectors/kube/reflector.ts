/**
 * List+watch of one kube resource into a cache of converted objects, on the agent's own
 * {@link KubeWatcher} (kube-client.ts), modelled on client-go's Reflector:
 *
 * - a chunked list (`limit` + `continue`, one consistent snapshot) replaces the cache at once,
 *   so an object deleted while the agent was not watching leaves it;
 * - a watch from the list's resourceVersion, with `allowWatchBookmarks` and a server-side
 *   `timeoutSeconds`, resumes from the last resourceVersion seen (events and bookmarks) when it
 *   ends — at once after a clean end, after a jittered exponential backoff after a failure;
 * - 410 Gone (a list's or watch's HTTP status, or an ERROR event in a 200 stream) drops the
 *   resourceVersion and relists; any other ERROR event restarts the watch;
 * - a watchdog restarts a watch that has been silent for longer than `watchSilenceMs`;
 * - nothing is cleared on errors: the last cache is served through an outage.
 *
 * (When the agent was built on client-node, its own `ListWatch`/`makeInformer` was not used: in 1.4.0 it stops for good on any
 * error other than 410 (the caller must call `start()` again), restarts without backoff, has no
 * watchdog, sends neither `allowWatchBookmarks` nor `timeoutSeconds`, lists in one request, and
 * its `Watch` has no timeout at all (an `AbortSignal.timeout(30000)` is overwritten on the next line).)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../agent/model/ports.js';
import type { Parsed } from '../../agent/model/pods.js';
import { describeKubeError, type KubeFailure } from './api-call.js';
import type { KubeWatcher } from './kube-client.js';

/** Timing of list+watch; the defaults are client-go's where it has one. */
export interface WatchTiming {
  /** First retry delay after a failure (client-go: 800 ms). */
  readonly backoffInitialMs: number;
  /** Largest retry delay (client-go: 30 s). */
  readonly backoffMaxMs: number;
  /** A failure this long after the previous one starts again from the first delay (client-go: 2 min). */
  readonly backoffResetMs: number;
  /**
   * Server-side watch timeout: each watch asks for `timeoutSeconds` in [t, 2t), spread as
   * client-go spreads its own (which uses t = 5 min). The apiserver ends a watch then, so a
   * healthy watch is never silent for longer than 2t, bookmarks or not.
   */
  readonly watchTimeoutSeconds: number;
  /**
   * A watch that has received nothing, not even a BOOKMARK, for this long is restarted. Longer
   * than 2 × watchTimeoutSeconds, so only a stalled watch trips it; apiservers since 1.27 also
   * send a bookmark about every minute to a watch that asked for them.
   */
  readonly watchSilenceMs: number;
  /** Time allowed for one list page, and for a watch's response headers. */
  readonly requestTimeoutMs: number;
  /** `limit` of each list page (client-go: 500). */
  readonly listPageSize: number;
}

/** The production timing. */
export const DEFAULT_WATCH_TIMING: WatchTiming = {
  backoffInitialMs: 800,
  backoffMaxMs: 30_000,
  backoffResetMs: 120_000,
  watchTimeoutSeconds: 60,
  watchSilenceMs: 150_000,
  requestTimeoutMs: 30_000,
  listPageSize: 500,
};

/** One page of a list. */
export interface ListPage {
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
  /** The token for the next page; undefined or '' on the last. */
  readonly continueToken: string | undefined;
}

/** Options of {@link Reflector}. */
export interface ReflectorOptions<T> {
  /** The resource's plural name, for logs and status (`pods`). */
  readonly resource: string;
  /** Lists one page; `signal` ends it on stop or timeout. */
  readonly listPage: (page: { readonly limit: number; readonly continueToken: string | undefined }, signal: AbortSignal) => Promise<ListPage>;
  readonly watch: KubeWatcher;
  /** The collection path watched (`/api/v1/pods`). */
  readonly watchPath: string;
  /** Extra watch query parameters (`fieldSelector`), the same the list uses. */
  readonly watchQuery: Readonly<Record<string, string>>;
  /** A 404 from the list means the resource is not served (a CRD not installed): an empty, synced cache. */
  readonly notFoundIsEmpty: boolean;
  readonly convert: (obj: unknown) => Parsed<T>;
  readonly log: Logger;
  readonly outages: OutageLog;
  readonly timing: WatchTiming;
  /** Called synchronously after the cache changed. */
  readonly onChange: () => void;
  /** Called after each completed list. */
  readonly onSync: () => void;
}

/** Cache state of a {@link Reflector}. */
export interface ReflectorStatus {
  readonly resource: string;
  readonly synced: boolean;
  readonly lastEventMs: number | undefined;
  readonly objects: number;
  readonly restarts: number;
  /** Objects the API holds that did not convert (left out of the cache). */
  readonly skipped: number;
}

/** How one watch ended. */
type WatchEnd =
  | { readonly kind: 'closed'; readonly events: number; readonly durationMs: number }
  | { readonly kind: 'expired'; readonly message: string }
  | { readonly kind: 'failed'; readonly why: string; readonly failure: KubeFailure }
  | { readonly kind: 'quiet' }
  | { readonly kind: 'stopped' };

interface Entry<T> {
  readonly rv: string;
  readonly value: T;
}

/** client-go's "very short watch": a clean end this soon, with no event, counts as a failure. */
const SHORT_WATCH_MS = 1000;

/**
 * Says an API outage once: a warning when the first resource starts failing, debug lines for
 * the retries of any resource while one still fails, and one info line when all have recovered.
 * Shared by the reflectors of one source, so one outage of the API is one warning.
 */
export class OutageLog {
  readonly #log: Logger;
  readonly #failing = new Map<string, number>();
  #since = 0;
  #attempts = 0;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** A list or watch of `resource` failed. */
  failed(resource: string, why: string, failure: KubeFailure): void {
    this.#attempts++;
    const fields = { resource, why, status: failure.status, reason: failure.reason, error: failure.message };
    if (this.#failing.size === 0) {
      this.#since = Date.now();
      this.#attempts = 1;
      this.#log.warn(fields, 'kube api request failing, serving cached objects');
    } else {
      this.#log.debug({ ...fields, attempt: this.#attempts }, 'kube api retry failed');
    }
    this.#failing.set(resource, (this.#failing.get(resource) ?? 0) + 1);
  }

  /** A list of `resource` completed or its watch delivered an event. */
  recovered(resource: string): void {
    if (!this.#failing.delete(resource) || this.#failing.size > 0) return;
    this.#log.info({ resource, downMs: Date.now() - this.#since, attempts: this.#attempts }, 'kube api reachable again');
  }

  /** Whether some resource is failing now. */
  get failing(): boolean {
    return this.#failing.size > 0;
  }
}

/** List+watch of one resource; see the module comment. */
export class Reflector<T> {
  readonly #o: ReflectorOptions<T>;
  #entries = new Map<string, Entry<T>>();
  /** Objects present that did not convert, key → resourceVersion (each version is logged once). */
  #invalid = new Map<string, string>();
  #values: readonly T[] | undefined;
  #rv = '';
  #synced = false;
  #lastEventMs: number | undefined;
  #restarts = 0;
  readonly #backoff: Backoff;
  #expiredStreak = 0;
  /** The server has sent a bookmark: a silent watch is then a stalled one, not a quiet one. */
  #sawBookmark = false;
  #notServedLogged = false;
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #endWatch: ((end: WatchEnd) => void) | undefined;

  constructor(options: ReflectorOptions<T>) {
    this.#o = options;
    this.#backoff = new Backoff(options.timing);
  }

  /** Starts the list+watch loop (once). */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops the loop and closes the watch; the cache stays readable. */
  async stop(): Promise<void> {
    this.#stop.abort();
    this.#endWatch?.({ kind: 'stopped' });
    await this.#loop;
  }

  /** The converted objects (the same array until the cache changes). */
  values(): readonly T[] {
    this.#values ??= [...this.#entries.values()].map((e) => e.value);
    return this.#values;
  }

  get synced(): boolean {
    return this.#synced;
  }

  status(): ReflectorStatus {
    return {
      resource: this.#o.resource,
      synced: this.#synced,
      lastEventMs: this.#lastEventMs,
      objects: this.#entries.size,
      restarts: this.#restarts,
      skipped: this.#invalid.size,
    };
  }

  async #run(): Promise<void> {
    const { log, resource } = this.#o;
    while (!this.#stop.signal.aborted) {
      let end: WatchEnd;
      try {
        if (this.#rv === '') await this.#relist();
        if (this.#stop.signal.aborted) return;
        end = await this.#watchOnce();
      } catch (err) {
        if (this.#stop.signal.aborted) return;
        end = this.#endFromError(err, 'list');
        if (end.kind === 'failed' && end.failure.status === 404 && this.#o.notFoundIsEmpty) {
          this.#notServed(end.failure);
          await this.#pause(this.#nextBackoff());
          continue;
        }
      }
      if (end.kind === 'stopped' || this.#stop.signal.aborted) return;
      let delay = 0;
      switch (end.kind) {
        case 'closed':
          if (end.events === 0 && end.durationMs < SHORT_WATCH_MS) {
            this.#restarts++;
            this.#o.outages.failed(resource, 'short watch', { status: 200, reason: undefined, message: `watch ended after ${end.durationMs} ms without an event` });
            delay = this.#nextBackoff();
          } else {
            log.debug({ resource, resourceVersion: this.#rv }, 'kube watch closed by server');
            this.#o.outages.recovered(resource);
          }
          break;
        case 'expired':
          this.#restarts++;
          this.#rv = '';
          log.info({ resource, error: end.message }, 'kube watch expired, relisting');
          // The first relist goes at once; a server that keeps answering 410 gets the backoff.
          delay = this.#expiredStreak++ === 0 ? 0 : this.#nextBackoff();
          break;
        case 'failed':
          this.#restarts++;
          if (end.failure.status === 404 && this.#o.notFoundIsEmpty) {
            // The watch of a resource whose CRD went away: relist, which will say so.
            log.debug({ resource }, 'kube watch not found, relisting');
            this.#rv = '';
            break;
          }
          this.#o.outages.failed(resource, end.why, end.failure);
          delay = this.#nextBackoff();
          break;
        case 'quiet':
          // No bookmark ever came from this server, so silence may be a quiet resource: resume.
          this.#restarts++;
          log.debug({ resource, resourceVersion: this.#rv }, 'kube watch silent, restarting');
          break;
      }
      if (delay > 0) await this.#pause(delay);
    }
  }

  /** Lists every page and swaps the cache in one step. */
  async #relist(): Promise<void> {
    const { timing } = this.#o;
    const started = Date.now();
    const entries = new Map<string, Entry<T>>();
    const invalid = new Map<string, string>();
    let token: string | undefined;
    let rv = '';
    let pages = 0;
    do {
      const signal = AbortSignal.any([this.#stop.signal, AbortSignal.timeout(timing.requestTimeoutMs)]);
      const page = await this.#o.listPage({ limit: timing.listPageSize, continueToken: token }, signal);
      if (pages++ === 0) rv = page.resourceVersion;
      for (const item of page.items) this.#ingest(entries, invalid, item);
      token = page.continueToken || undefined;
    } while (token !== undefined && !this.#stop.signal.aborted);
    if (this.#stop.signal.aborted) return;

    const changed = !sameVersions(this.#entries, entries);
    this.#entries = entries;
    this.#invalid = invalid;
    this.#rv = rv;
    this.#lastEventMs = Date.now();
    this.#o.outages.recovered(this.#o.resource);
    this.#notServedLogged = false;
    const fields = { resource: this.#o.resource, objects: entries.size, skipped: invalid.size, pages, resourceVersion: rv, ms: Date.now() - started };
    if (!this.#synced) this.#o.log.info(fields, 'kube cache synced');
    else this.#o.log.debug(fields, 'kube cache relisted');
    this.#synced = true;
    if (changed) this.#changed();
    this.#o.onSync();
  }

  /** A 404 list of a resource that may not exist: an empty cache, said once. */
  #notServed(failure: KubeFailure): void {
    if (!this.#notServedLogged) this.#o.log.warn({ resource: this.#o.resource, error: failure.message }, 'kube resource not served, treating as empty');
    this.#notServedLogged = true;
    this.#o.outages.recovered(this.#o.resource);
    const changed = this.#entries.size > 0;
    this.#entries = new Map();
    this.#invalid = new Map();
    this.#rv = '';
    this.#lastEventMs = Date.now();
    this.#synced = true;
    if (changed) this.#changed();
    this.#o.onSync();
  }

  /** One watch from the current resourceVersion, until it ends. */
  #watchOnce(): Promise<WatchEnd> {
    const { timing, resource } = this.#o;
    return new Promise<WatchEnd>((resolve) => {
      const startedAt = Date.now();
      let lastActivity = startedAt;
      let events = 0;
      let settled = false;
      let controller: AbortController | undefined;
      const finish = (end: WatchEnd): void => {
        if (settled) return;
        settled = true;
        clearInterval(watchdog);
        this.#endWatch = undefined;
        controller?.abort();
        resolve(end);
      };
      this.#endWatch = finish;
      const watchdog = setInterval(
        () => {
          if (Date.now() - lastActivity <= timing.watchSilenceMs) return;
          const silence = { status: undefined, reason: 'silent', message: `no event or bookmark for ${Date.now() - lastActivity} ms` };
          // No response headers yet, or silence from a server known to send bookmarks: stalled.
          finish(controller === undefined || this.#sawBookmark ? { kind: 'failed', why: 'watchdog', failure: silence } : { kind: 'quiet' });
        },
        Math.max(10, Math.min(1000, timing.watchSilenceMs / 4)),
      );
      watchdog.unref();

      const onEvent = (type: string, obj: unknown): void => {
        if (settled) return;
        const now = Date.now();
        lastActivity = now;
        this.#lastEventMs = now;
        if (type === 'ERROR') {
          finish(errorEventEnd(obj));
          return;
        }
        if (events++ === 0) {
          this.#o.outages.recovered(resource);
          this.#expiredStreak = 0;
        }
        let changed = false;
        if (type === 'ADDED' || type === 'MODIFIED') changed = this.#ingest(this.#entries, this.#invalid, obj);
        else if (type === 'DELETED') changed = this.#remove(obj);
        else if (type === 'BOOKMARK') this.#sawBookmark = true;
        else this.#o.log.debug({ resource, type }, 'kube watch event of unknown type ignored');
        const rv = resourceVersionOf(obj);
        if (rv !== undefined) this.#rv = rv;
        if (changed) this.#changed();
      };
      const query = {
        ...this.#o.watchQuery,
        resourceVersion: this.#rv,
        allowWatchBookmarks: true,
        timeoutSeconds: Math.floor(timing.watchTimeoutSeconds * (1 + Math.random())),
      };
      this.#o.log.debug({ resource, resourceVersion: this.#rv }, 'kube watch starting');
      this.#o.watch
        .watch(this.#o.watchPath, query, onEvent, (err: unknown) => {
          if (err === null || err === undefined) finish({ kind: 'closed', events, durationMs: Date.now() - startedAt });
          else finish(this.#endFromError(err, 'watch'));
        })
        .then(
          (c) => {
            if (settled) c.abort();
            else controller = c;
          },
          (err: unknown) => finish(this.#endFromError(err, 'watch')),
        );
    });
  }

  /**
   * Adds or replaces one object from a list or a watch event; one that does not convert is left
   * out (and a version of it it replaces is removed). Whether the cache changed.
   */
  #ingest(entries: Map<string, Entry<T>>, invalid: Map<string, string>, obj: unknown): boolean {
    const id = identityOf(obj);
    if (id === undefined) {
      this.#o.log.debug({ resource: this.#o.resource }, 'kube object without metadata.name ignored');
      return false;
    }
    if (id.rv !== '' && entries.get(id.key)?.rv === id.rv) return false;
    const parsed = this.#o.convert(obj);
    if (parsed.ok) {
      invalid.delete(id.key);
      entries.set(id.key, { rv: id.rv, value: parsed.value });
      return true;
    }
    if (this.#invalid.get(id.key) !== id.rv) {
      this.#o.log.warn({ resource: this.#o.resource, object: id.key, resourceVersion: id.rv, reason: parsed.error }, 'kube object skipped');
    }
    invalid.set(id.key, id.rv);
    return entries.delete(id.key);
  }

  #remove(obj: unknown): boolean {
    const id = identityOf(obj);
    if (id === undefined) return false;
    this.#invalid.delete(id.key);
    return this.#entries.delete(id.key);
  }

  #changed(): void {
    this.#values = undefined;
    this.#o.onChange();
  }

  /** Classifies a list or watch error; a 410 means relist. */
  #endFromError(err: unknown, what: 'list' | 'watch'): WatchEnd {
    const failure = describeKubeError(err);
    if (failure.status === 410) return { kind: 'expired', message: failure.message };
    // An abort we did not ask for is a request timeout's signal (list) firing.
    const reason = failure.reason === 'aborted' && !this.#stop.signal.aborted ? 'timeout' : failure.reason;
    return { kind: 'failed', why: `${what} failed`, failure: { ...failure, reason } };
  }

  #nextBackoff(): number {
    return this.#backoff.next();
  }

  async #pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.#stop.signal, ref: false });
    } catch (err) {
      if (!this.#stop.signal.aborted) throw err;
    }
  }
}

/**
 * Retry delays: doubling from backoffInitialMs up to backoffMaxMs, each spread by ±25 % so that
 * the agents of a cluster that one outage hit do not retry in step. A failure more than
 * backoffResetMs after the previous one starts from the first delay again.
 */
export class Backoff {
  readonly #timing: Pick<WatchTiming, 'backoffInitialMs' | 'backoffMaxMs' | 'backoffResetMs'>;
  readonly #random: () => number;
  #attempt = 0;
  #lastMs = Number.NEGATIVE_INFINITY;

  constructor(timing: Pick<WatchTiming, 'backoffInitialMs' | 'backoffMaxMs' | 'backoffResetMs'>, random: () => number = Math.random) {
    this.#timing = timing;
    this.#random = random;
  }

  /** The delay before the next retry, for a failure at `nowMs`. */
  next(nowMs: number = Date.now()): number {
    const t = this.#timing;
    if (nowMs - this.#lastMs > t.backoffResetMs) this.#attempt = 0;
    this.#lastMs = nowMs;
    const base = Math.min(t.backoffMaxMs, t.backoffInitialMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(base * (0.75 + 0.5 * this.#random()));
  }
}

/** How a watch ends on an ERROR event: its Status decides (410 → relist). */
function errorEventEnd(obj: unknown): WatchEnd {
  const s = typeof obj === 'object' && obj !== null ? (obj as { code?: unknown; reason?: unknown; message?: unknown }) : {};
  const code = typeof s.code === 'number' ? s.code : undefined;
  const message = typeof s.message === 'string' ? s.message : 'ERROR event';
  if (code === 410) return { kind: 'expired', message };
  return { kind: 'failed', why: 'error event', failure: { status: code, reason: typeof s.reason === 'string' ? s.reason : undefined, message } };
}

/** `namespace/name` and resourceVersion from an object's metadata. */
function identityOf(obj: unknown): { key: string; rv: string } | undefined {
  const meta = typeof obj === 'object' && obj !== null ? (obj as { metadata?: unknown }).metadata : undefined;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const { name, namespace, resourceVersion } = meta as { name?: unknown; namespace?: unknown; resourceVersion?: unknown };
  if (typeof name !== 'string' || name === '') return undefined;
  const ns = typeof namespace === 'string' ? namespace : '';
  return { key: `${ns}/${name}`, rv: typeof resourceVersion === 'string' ? resourceVersion : '' };
}

function resourceVersionOf(obj: unknown): string | undefined {
  const meta = typeof obj === 'object' && obj !== null ? (obj as { metadata?: unknown }).metadata : undefined;
  const rv = typeof meta === 'object' && meta !== null ? (meta as { resourceVersion?: unknown }).resourceVersion : undefined;
  return typeof rv === 'string' && rv !== '' ? rv : undefined;
}

/** Whether two caches hold the same objects at the same versions. */
function sameVersions<T>(a: ReadonlyMap<string, Entry<T>>, b: ReadonlyMap<string, Entry<T>>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, e] of a) if (b.get(k)?.rv !== e.rv) return false;
  return true;
}
