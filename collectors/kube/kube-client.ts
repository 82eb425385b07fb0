/**
 * The agent's kube API client, on node:http / node:https: the handful of calls the agent makes
 * (lists, watches, creates and patches, reviews) as JSON over one keep-alive connection pool.
 * It replaces `@kubernetes/client-node`, whose KubeConfig alone loads its whole generated API
 * (about 70 MB of RSS on Node 20; the agent's target is 80 MB in all).
 *
 * - every call takes an AbortSignal (stop, or the caller's `AbortSignal.timeout`);
 * - an error answer becomes a {@link KubeStatusError} with the Status object's reason;
 * - a 401 asks the credentials for fresh ones (a re-read token file, a re-run exec plugin) and
 *   retries once;
 * - a watch is newline-delimited JSON; its start is bounded by a header timeout that a long
 *   watch is not cut by; it ends with `done(null)` when the server ends it, with an error when
 *   the stream breaks.
 *
 * Tokens go in the Authorization header only: never in a URL, a log line or an error message.
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeClientConfig, RequestCredentials } from './kube-config.js';
import { KubeStatusError } from './api-call.js';

/** The patch content types of the kube API. */
export const PATCH = {
  strategicMerge: 'application/strategic-merge-patch+json',
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
} as const;

/** Query parameters; booleans and numbers are written as the apiserver reads them. */
export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

/** One call. */
export interface KubeRequest {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly query?: Query;
  readonly body?: unknown;
  /** Content type of the body: JSON, or one of {@link PATCH}. */
  readonly contentType?: string;
  readonly signal: AbortSignal;
}

/** Starts watches: the part of {@link KubeClient} the reflector needs. */
export interface KubeWatcher {
  /**
   * Watches `path`. Resolves with the controller that ends it once the response headers (200)
   * came; rejects when the watch did not start. After it started, `done` is called once: `null`
   * when the server ended the stream, an error when it broke (never after an abort of ours).
   */
  watch(path: string, query: Query, onEvent: (type: string, object: unknown) => void, done: (err: unknown) => void): Promise<AbortController>;
}

/** Largest response body read (a list page of 500 pods is a few MB). */
const MAX_BODY_BYTES = 64 << 20;
/** Largest watch event line. */
const MAX_LINE_BYTES = 16 << 20;

const clients = new WeakMap<KubeClientConfig, KubeClient>();

/** A client of one kube API server; see the module comment. */
export class KubeClient {
  readonly #config: KubeClientConfig;
  readonly #agent: http.Agent;
  readonly #https: boolean;

  constructor(config: KubeClientConfig) {
    this.#config = config;
    this.#https = config.server.startsWith('https:');
    const tls = config.tls;
    this.#agent = this.#https
      ? new https.Agent({
          keepAlive: true,
          ca: tls.ca,
          cert: tls.cert,
          key: tls.key,
          rejectUnauthorized: !tls.insecureSkipVerify,
          ...(tls.serverName !== undefined ? { servername: tls.serverName } : {}),
        })
      : new http.Agent({ keepAlive: true });
  }

  /** The one client of `config` (its users share one connection pool). */
  static for(config: KubeClientConfig): KubeClient {
    let c = clients.get(config);
    if (!c) clients.set(config, (c = new KubeClient(config)));
    return c;
  }

  get server(): string {
    return this.#config.server;
  }

  /** Makes a call; resolves with the parsed JSON answer, throws KubeStatusError or a transport error. */
  async request<T = unknown>(r: KubeRequest): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const creds = await this.#config.credentials.get();
      const res = await this.#send(r, creds, undefined);
      const body = await readBody(res, r.signal);
      if (res.statusCode === 401 && attempt === 0 && this.#config.credentials.invalidate()) continue;
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) throw new KubeStatusError(status, body);
      return (body === '' ? undefined : JSON.parse(body)) as T;
    }
  }

  /**
   * A watch (see {@link KubeWatcher}); `headerTimeoutMs` bounds the wait for its response
   * headers (an error with code `request-timeout`), not its length.
   */
  async watch(path: string, query: Query, onEvent: (type: string, object: unknown) => void, done: (err: unknown) => void, headerTimeoutMs = 30_000): Promise<AbortController> {
    const controller = new AbortController();
    const creds = await this.#config.credentials.get();
    const res = await this.#send({ method: 'GET', path, query: { ...query, watch: true }, signal: controller.signal }, creds, headerTimeoutMs);
    if (res.statusCode !== 200) {
      const body = await readBody(res, controller.signal);
      if (res.statusCode === 401) this.#config.credentials.invalidate();
      throw new KubeStatusError(res.statusCode ?? 0, body);
    }
    res.setEncoding('utf8');
    let buffered = '';
    let ended = false;
    const end = (err: unknown): void => {
      if (ended) return;
      ended = true;
      if (!controller.signal.aborted) done(err);
    };
    controller.signal.addEventListener('abort', () => res.destroy(), { once: true });
    res.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0 && !ended) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line === '') continue;
        let ev: { type?: unknown; object?: unknown };
        try {
          ev = JSON.parse(line) as { type?: unknown; object?: unknown };
        } catch {
          end(Object.assign(new Error('watch event is not JSON'), { code: 'EBADWATCH' }));
          res.destroy();
          return;
        }
        try {
          onEvent(typeof ev.type === 'string' ? ev.type : '', ev.object);
        } catch (err) {
          // A failing handler ends this watch (the caller restarts it), not the process.
          end(err);
          res.destroy();
          return;
        }
      }
      if (buffered.length > MAX_LINE_BYTES) {
        end(Object.assign(new Error('watch event too large'), { code: 'EBADWATCH' }));
        res.destroy();
      }
    });
    res.on('end', () => end(null));
    res.on('error', (err) => end(err));
    res.on('close', () => end(Object.assign(new Error('watch stream closed before its end'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })));
    return controller;
  }

  /** Closes idle connections (watches end by their own controllers). */
  close(): void {
    this.#agent.destroy();
  }

  /**
   * Sends one request; resolves at the response headers. A request that failed on a reused
   * keep-alive connection before any answer (the server had closed it: ECONNRESET, EPIPE) is
   * sent once more on a new one, as Go's transport does; every call the agent makes may be
   * repeated (a create that did land answers 409 the second time).
   */
  async #send(r: KubeRequest, creds: RequestCredentials, headerTimeoutMs: number | undefined): Promise<http.IncomingMessage> {
    try {
      return await this.#sendOnce(r, creds, headerTimeoutMs);
    } catch (err) {
      if (!(err instanceof Error && (err as { reusedSocket?: boolean }).reusedSocket === true)) throw err;
      return this.#sendOnce(r, creds, headerTimeoutMs);
    }
  }

  #sendOnce(r: KubeRequest, creds: RequestCredentials, headerTimeoutMs: number | undefined): Promise<http.IncomingMessage> {
    const url = new URL(this.#config.server + r.path);
    for (const [k, v] of Object.entries(r.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const payload = r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body));
    const headers: http.OutgoingHttpHeaders = { accept: 'application/json', 'user-agent': 'multinet-agent' };
    if (creds.authorization !== undefined) headers['authorization'] = creds.authorization;
    if (payload) {
      headers['content-type'] = r.contentType ?? 'application/json';
      headers['content-length'] = payload.length;
    }
    const options: https.RequestOptions = { method: r.method, headers, agent: this.#agent, signal: r.signal };
    // An exec plugin's client certificate goes per request (the agent keys its sockets by it).
    if (creds.cert !== undefined && creds.key !== undefined) Object.assign(options, { cert: creds.cert, key: creds.key });
    return new Promise((resolve, reject) => {
      if (r.signal.aborted) {
        reject(abortError(r.signal));
        return;
      }
      const req = (this.#https ? https : http).request(url, options);
      let timer: NodeJS.Timeout | undefined;
      if (headerTimeoutMs !== undefined) {
        timer = setTimeout(() => req.destroy(Object.assign(new Error(`no response headers within ${headerTimeoutMs} ms`), { code: 'request-timeout' })), headerTimeoutMs);
      }
      req.on('response', (res) => {
        clearTimeout(timer);
        resolve(res);
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (r.signal.aborted) reject(abortError(r.signal));
        else if (req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) reject(Object.assign(err, { reusedSocket: true }));
        else reject(err);
      });
      req.end(payload);
    });
  }
}

function abortError(signal: AbortSignal): Error {
  const why = signal.reason instanceof Error ? signal.reason.message : 'aborted';
  return Object.assign(new Error(`request aborted: ${why}`), { name: 'AbortError' });
}

/** The whole body as text; an abort or a broken connection rejects. */
function readBody(res: http.IncomingMessage, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        res.destroy(Object.assign(new Error(`response larger than ${MAX_BODY_BYTES} bytes`), { code: 'ETOOBIG' }));
        return;
      }
      chunks.push(c);
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', (err) => reject(signal.aborted ? abortError(signal) : err));
    res.on('close', () => {
      if (!res.complete) reject(signal.aborted ? abortError(signal) : Object.assign(new Error('response closed before its end'), { code: 'ECONNRESET' }));
    });
  });
}
