/**
 * The gRPC side of a cache that an adapter refreshes over a unix socket on its own timer, never
 * inside a scrape (the kubelet's PodResources API, the container runtime's CRI): one long-lived
 * channel, each call under a deadline and cancelled by {@link PolledChannel.close}, the outcome
 * of each refresh as connected/lastError, jittered exponential backoff while the server is away,
 * and one warning per outage (retries at debug). The adapter keeps its timer, its cache and what
 * a refresh asks.
 */
import type { Logger } from '../../agent/model/ports.js';
import { GrpcError, UnixGrpcClient, type PendingCall, type UnaryMethod } from './unary-client.js';

/** Bounds of the reconnect backoff; each delay is jittered by ±20 %. */
export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** Default retry delays: 0.8 s doubling to 30 s. */
export const DEFAULT_BACKOFF: Backoff = { initialMs: 800, maxMs: 30_000 };

/** The delay before retry number `failures` (1, 2, ...): doubling from `initialMs`, capped at `maxMs`, jittered ±20 %. */
export function backoffDelayMs(failures: number, backoff: Backoff, random: () => number = Math.random): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(Math.max(failures - 1, 0), 30));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Whether the cache is current, when it last was, and why not. */
export interface ChannelStatus {
  /** The last refresh succeeded and none has failed since: the cache is current. */
  readonly connected: boolean;
  /** Milliseconds since the epoch of the last successful refresh; undefined before the first. */
  readonly lastSuccessMs: number | undefined;
  /** `CODE: details` of the last failed call; undefined once a refresh succeeds. */
  readonly lastError: string | undefined;
  /** Seconds the last finished refresh took, successful or not (multinet_scrape_collector_duration_seconds); undefined before the first. */
  readonly lastRefreshSeconds: number | undefined;
}

/** One unary call on the channel under the call deadline; {@link PolledChannel.close} cancels it. */
export type UnaryCall = <Req, Res>(method: UnaryMethod<Req, Res>, request: Req) => Promise<Res>;

/** One refresh of the adapter's cache; throws (a call's GrpcError) when it fails. `current()` turns false once the channel is closed or reopened meanwhile: then the cache must be left as it is. */
export type Refresh = (call: UnaryCall, current: () => boolean) => Promise<void>;

/** The log lines of the channel's state, constant per adapter, and what each says of the cache. */
export interface OutageLog {
  /** Info, at the first success and at the first after an outage. */
  readonly connected: string;
  /** Warn, at the first failure of an outage. */
  readonly unavailable: string;
  /** Debug, at each further failure. */
  readonly retry: string;
  /** Fields of the connected line besides `socket` and `afterOutage`. */
  readonly connectedFields: () => Record<string, unknown>;
  /** Fields of the unavailable line besides `socket` and `reason`: what the cache still holds. */
  readonly cachedFields: () => Record<string, unknown>;
}

/** Options of {@link PolledChannel}. */
export interface PolledChannelOptions {
  readonly socketPath: string;
  readonly log: Logger;
  readonly lines: OutageLog;
  /** Delay between refreshes while the server answers. */
  readonly refreshIntervalMs: number;
  /** Deadline of one call. */
  readonly callTimeoutMs: number;
  /** Default {@link DEFAULT_BACKOFF}. */
  readonly backoff?: Backoff;
  /** A larger response message fails its call with RESOURCE_EXHAUSTED. */
  readonly maxResponseBytes: number;
}

/** A unix-socket gRPC channel a cache is refreshed over, and the state of that cache; see the module comment. */
export class PolledChannel {
  readonly #socket: string;
  readonly #log: Logger;
  readonly #lines: OutageLog;
  readonly #intervalMs: number;
  readonly #callTimeoutMs: number;
  readonly #backoff: Backoff;
  readonly #maxResponseBytes: number;
  #client: UnixGrpcClient | undefined;
  #call: PendingCall<unknown> | undefined;
  /** Bumped by open and close, so that the end of a refresh from before is ignored. */
  #generation = 0;
  #connected = false;
  #lastSuccessMs: number | undefined;
  #lastError: string | undefined;
  #lastRefreshSeconds: number | undefined;
  /** Failed refreshes in a row. */
  #failures = 0;

  constructor(options: PolledChannelOptions) {
    this.#socket = options.socketPath;
    this.#log = options.log;
    this.#lines = options.lines;
    this.#intervalMs = options.refreshIntervalMs;
    this.#callTimeoutMs = options.callTimeoutMs;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#maxResponseBytes = options.maxResponseBytes;
  }

  /** Whether the channel is open (between {@link open} and {@link close}). */
  get isOpen(): boolean {
    return this.#client !== undefined;
  }

  /** Dials the socket; false (and nothing done) when already open. */
  open(): boolean {
    if (this.#client) return false;
    this.#generation++;
    this.#failures = 0;
    // Dialled at the first call and again after a failure: the retries are this channel's backoff.
    this.#client = new UnixGrpcClient(this.#socket, { maxResponseBytes: this.#maxResponseBytes });
    return true;
  }

  /** Cancels the call in flight and closes the channel; a refresh under way then ends without a word. */
  close(): void {
    this.#generation++;
    const call = this.#call;
    this.#call = undefined;
    call?.cancel();
    this.#client?.close();
    this.#client = undefined;
    this.#connected = false;
  }

  /** Whether the cache is current, when it last was, and why not. */
  status(): ChannelStatus {
    return { connected: this.#connected, lastSuccessMs: this.#lastSuccessMs, lastError: this.#lastError, lastRefreshSeconds: this.#lastRefreshSeconds };
  }

  /**
   * Runs `refresh`, records its outcome and logs a change of state; then, unless the channel was
   * closed or reopened meanwhile, calls `next` with the delay before the following refresh (the
   * refresh interval, or the backoff after a failure), so slow answers never pile up.
   */
  async refresh(refresh: Refresh, next: (delayMs: number) => void): Promise<void> {
    const client = this.#client;
    if (!client) return;
    const generation = this.#generation;
    const current = (): boolean => generation === this.#generation;
    const started = process.hrtime.bigint();
    const took = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    let delayMs: number;
    try {
      await refresh((method, request) => this.#unary(client, method, request), current);
      if (!current()) return;
      this.#lastRefreshSeconds = took();
      delayMs = this.#succeeded();
    } catch (err) {
      if (!current()) return;
      this.#lastRefreshSeconds = took();
      delayMs = this.#failed(err);
    }
    next(delayMs);
  }

  async #unary<Req, Res>(client: UnixGrpcClient, method: UnaryMethod<Req, Res>, request: Req): Promise<Res> {
    const call = client.unary(method, request, this.#callTimeoutMs);
    this.#call = call;
    try {
      return await call.response;
    } finally {
      if (this.#call === call) this.#call = undefined;
    }
  }

  #succeeded(): number {
    const firstOrBack = !this.#connected;
    const afterOutage = this.#failures > 0;
    this.#connected = true;
    this.#lastSuccessMs = Date.now();
    this.#lastError = undefined;
    this.#failures = 0;
    if (firstOrBack) this.#log.info({ socket: this.#socket, ...this.#lines.connectedFields(), afterOutage }, this.#lines.connected);
    return this.#intervalMs;
  }

  #failed(err: unknown): number {
    this.#connected = false;
    this.#lastError = err instanceof GrpcError ? err.message : String(err);
    this.#failures++;
    const retryInMs = backoffDelayMs(this.#failures, this.#backoff);
    if (this.#failures === 1) {
      this.#log.warn({ socket: this.#socket, reason: this.#lastError, ...this.#lines.cachedFields() }, this.#lines.unavailable);
    } else {
      this.#log.debug({ socket: this.#socket, reason: this.#lastError, failures: this.#failures, retryInMs }, this.#lines.retry);
    }
    return retryInMs;
  }
}
