/**
 * How one kube API call is made with `@kubernetes/client-node` 1.x and how its failure is read:
 * an AbortSignal passed through request middleware (the generated APIs take no signal
 * argument), and a short description of the three error shapes the library throws.
 */
import { Observable, type ConfigurationOptions, type RequestContext, type ResponseContext } from '@kubernetes/client-node';
import { AgentError } from '../../agent/model/errors.js';

/**
 * Per-call options that attach `signal` to the request. The ObjectParamAPI classes that
 * `makeApiClient` returns hand these options to the Observable API, so the middleware must
 * return client-node's own `Observable`, not a promise.
 */
export function withSignal(signal: AbortSignal, options: ConfigurationOptions = {}): ConfigurationOptions {
  return {
    ...options,
    middleware: [
      ...(options.middleware ?? []),
      {
        pre: (ctx: RequestContext) => {
          ctx.setSignal(signal);
          return new Observable(Promise.resolve(ctx));
        },
        post: (ctx: ResponseContext) => new Observable(Promise.resolve(ctx)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/** What a failed call says, short enough for a log line. */
export interface KubeFailure {
  /** HTTP status, when the server answered. */
  readonly status: number | undefined;
  /** The Status object's `reason` (`Expired`, `NotFound`, ...) or the transport's code (`ECONNREFUSED`, `request-timeout`). */
  readonly reason: string | undefined;
  readonly message: string;
}

/**
 * Reads an error thrown by client-node: an `ApiException` from the generated APIs (`code` is
 * the HTTP status, `body` the response text — its `message` embeds the whole body and headers,
 * so it is not logged as is), an `Error` with `statusCode` from `Watch` for a non-200 answer,
 * or node-fetch's `FetchError` / `AbortError` for transport failures.
 */
export function describeKubeError(err: unknown): KubeFailure {
  if (typeof err !== 'object' || err === null) return { status: undefined, reason: undefined, message: String(err) };
  const e = err as { code?: unknown; statusCode?: unknown; body?: unknown; message?: unknown; type?: unknown; name?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (typeof e.code === 'number' && 'body' in e) {
    const body = statusBody(e.body);
    return { status: e.code, reason: body?.reason, message: body?.message ?? `HTTP ${e.code}` };
  }
  if (typeof e.statusCode === 'number') return { status: e.statusCode, reason: undefined, message: `HTTP ${e.statusCode} ${message}` };
  // node-fetch turns any abort (ours on stop, or a request timeout's signal) into one AbortError.
  if (e.name === 'AbortError') return { status: undefined, reason: 'aborted', message };
  if (typeof e.code === 'string') return { status: undefined, reason: e.code, message };
  if (typeof e.type === 'string' && e.type !== 'system') return { status: undefined, reason: e.type, message };
  return { status: undefined, reason: undefined, message };
}

/** The `reason` and `message` of a Status body, given as text (ApiException) or as an object. */
function statusBody(body: unknown): { reason: string | undefined; message: string | undefined } | undefined {
  let obj: unknown = body;
  if (typeof body === 'string') {
    try {
      obj = JSON.parse(body) as unknown;
    } catch {
      return { reason: undefined, message: body.slice(0, 200) || undefined }; // not JSON: a proxy's error page, say
    }
  }
  if (typeof obj !== 'object' || obj === null) return undefined;
  const s = obj as { reason?: unknown; message?: unknown };
  return { reason: typeof s.reason === 'string' ? s.reason : undefined, message: typeof s.message === 'string' ? s.message : undefined };
}

/** A kube API call that failed; `status` and `reason` let a caller tell a conflict from an outage. */
export class KubeApiError extends AgentError {
  readonly status: number | undefined;
  readonly reason: string | undefined;

  constructor(what: string, err: unknown) {
    const f = describeKubeError(err);
    super('E_HTTP', `${what}: ${f.status !== undefined ? `${f.status} ` : ''}${f.reason !== undefined ? `${f.reason}: ` : ''}${f.message}`, { cause: err });
    this.name = 'KubeApiError';
    this.status = f.status;
    this.reason = f.reason;
  }
}
