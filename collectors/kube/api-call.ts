/**
 * How a failed kube API call is read: the error shapes of {@link KubeClient} (kube-client.ts)
 * made into a short description with the HTTP status and the Status object's reason, and
 * {@link KubeApiError}, what the callers throw.
 */
import { AgentError } from '../../agent/model/errors.js';

/** The server answered with an error status; `reason` and `message` are its Status object's. */
export class KubeStatusError extends Error {
  readonly status: number;
  readonly reason: string | undefined;

  constructor(status: number, body: string) {
    const s = statusBody(body);
    super(s?.message ?? `HTTP ${status}`);
    this.name = 'KubeStatusError';
    this.status = status;
    this.reason = s?.reason;
  }
}

/** What a failed call says, short enough for a log line. */
export interface KubeFailure {
  /** HTTP status, when the server answered. */
  readonly status: number | undefined;
  /** The Status object's `reason` (`Expired`, `NotFound`, ...) or the transport's code (`ECONNREFUSED`, `request-timeout`, `aborted`). */
  readonly reason: string | undefined;
  readonly message: string;
}

/**
 * Reads an error of {@link KubeClient}: a {@link KubeStatusError} for an error answer, an
 * `AbortError` for a call its signal ended (ours on stop, or a request timeout's), or a Node
 * system error (`code`: `ECONNREFUSED`, `ECONNRESET`, `request-timeout`, ...) for the transport.
 */
export function describeKubeError(err: unknown): KubeFailure {
  if (err instanceof KubeStatusError) return { status: err.status, reason: err.reason, message: err.message };
  if (typeof err !== 'object' || err === null) return { status: undefined, reason: undefined, message: String(err) };
  const e = err as { code?: unknown; message?: unknown; name?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (e.name === 'AbortError') return { status: undefined, reason: 'aborted', message };
  if (typeof e.code === 'string') return { status: undefined, reason: e.code, message };
  return { status: undefined, reason: undefined, message };
}

/** The `reason` and `message` of a Status body; the start of the text when it is not JSON (a proxy's error page, say). */
function statusBody(body: string): { reason: string | undefined; message: string | undefined } | undefined {
  let obj: unknown;
  try {
    obj = JSON.parse(body) as unknown;
  } catch {
    return { reason: undefined, message: body.slice(0, 200) || undefined };
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
