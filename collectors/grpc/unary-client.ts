/**
 * A gRPC client for unary calls over a unix socket, on Node's own HTTP/2 (`node:http2`): what the
 * agent asks the kubelet (PodResources) and the container runtime (CRI) is a handful of unary
 * calls every few seconds, so @grpc/grpc-js (its channel, resolver and load-balancer machinery,
 * and proto-loader's protobufjs) is not needed: in the 250-pod lab they held 4-10 MB of the
 * agent's RSS, and 33 packages in a privileged image (docs/performance.md).
 *
 * The protocol as https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md gives it: a POST
 * to `/package.Service/Method` with `content-type: application/grpc`, `te: trailers` and the
 * deadline in `grpc-timeout`; the request and the response each one length-prefixed message
 * (flag byte, 4-byte big-endian length); the outcome in `grpc-status` / `grpc-message` of the
 * trailers, or of the headers in a trailers-only response. Messages are never compressed (no
 * `grpc-accept-encoding` is sent, so a server must not). An HTTP status other than 200 maps to a
 * gRPC code as the spec's table says. The session is dialled at the first call, kept while it
 * lives, and dialled again after it closes, fails or is sent GOAWAY.
 */
import http2 from 'node:http2';
import net from 'node:net';
import { ProtobufError } from './protobuf.js';

/** gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export enum GrpcStatus {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

/** A call that did not succeed: its gRPC status and the server's (or this client's) message. */
export class GrpcError extends Error {
  override readonly name = 'GrpcError';
  readonly code: GrpcStatus;
  readonly details: string;

  constructor(code: GrpcStatus, details: string) {
    super(`${GrpcStatus[code] ?? code}: ${details}`);
    this.code = code;
    this.details = details;
  }
}

/** A stream the server refused before processing it: UNAVAILABLE, and safe to send again. */
class RefusedStream extends GrpcError {
  constructor(details: string) {
    super(GrpcStatus.UNAVAILABLE, details);
  }
}

/** One unary method: its path and its request and response codecs. */
export interface UnaryMethod<Req, Res> {
  /** `/runtime.v1.RuntimeService/ListPodSandbox`. */
  readonly path: string;
  encode(request: Req): Buffer;
  /** Throws {@link ProtobufError} on a malformed message. */
  decode(message: Buffer): Res;
}

/** A call in flight. */
export interface PendingCall<Res> {
  readonly response: Promise<Res>;
  /** Ends the call with CANCELLED (RST_STREAM CANCEL to the server); no-op once it has ended. */
  cancel(): void;
}

/** Options of {@link UnixGrpcClient}. */
export interface UnixGrpcClientOptions {
  /** A response message larger than this fails the call with RESOURCE_EXHAUSTED, as grpc's `max_receive_message_length`. */
  readonly maxResponseBytes: number;
}

const GRPC_FRAME_HEADER = 5;

/** HTTP status → gRPC code, for a response that is not gRPC (the spec's http-grpc-status-mapping). */
function codeOfHttpStatus(httpStatus: number): GrpcStatus {
  switch (httpStatus) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/** RST_STREAM error code → gRPC code, for a stream reset without a status (the spec's table; the rest INTERNAL). */
function codeOfRstCode(rst: number | undefined): GrpcStatus {
  switch (rst) {
    case http2.constants.NGHTTP2_REFUSED_STREAM:
      return GrpcStatus.UNAVAILABLE;
    case http2.constants.NGHTTP2_CANCEL:
      return GrpcStatus.CANCELLED;
    case http2.constants.NGHTTP2_ENHANCE_YOUR_CALM:
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case http2.constants.NGHTTP2_INADEQUATE_SECURITY:
      return GrpcStatus.PERMISSION_DENIED;
    default:
      return GrpcStatus.INTERNAL;
  }
}

/** `grpc-message` is percent-encoded; a malformed escape is kept as sent. */
function decodeGrpcMessage(raw: unknown): string {
  const s = typeof raw === 'string' ? raw : Array.isArray(raw) ? raw.join(',') : '';
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The status a header block carries, if it carries one. */
function statusOf(headers: http2.IncomingHttpHeaders): GrpcError | null | undefined {
  const raw = headers['grpc-status'];
  if (raw === undefined) return undefined;
  // Digits only: Number('') and Number(' ') are 0, which would read a blank status as OK.
  const code = typeof raw === 'string' && /^\d{1,2}$/.test(raw) ? Number(raw) : -1;
  if (code < 0 || code > 16) return new GrpcError(GrpcStatus.UNKNOWN, `invalid grpc-status ${String(raw)}`);
  if (code === GrpcStatus.OK) return null;
  return new GrpcError(code, decodeGrpcMessage(headers['grpc-message']));
}

/** What the calls on one session need to know of it. */
interface SessionState {
  /** Calls in flight on it. */
  inFlight: number;
  /** Told GOAWAY: destroyed when its last call ends. */
  draining: boolean;
  /** What it failed with (a refused dial, a broken connection), for the calls it ends. */
  error: Error | undefined;
}

/** A unix-socket gRPC client for unary calls; see the module comment. */
export class UnixGrpcClient {
  readonly #socketPath: string;
  readonly #maxResponseBytes: number;
  #live: { readonly session: http2.ClientHttp2Session; readonly state: SessionState } | undefined;
  #closed = false;

  constructor(socketPath: string, options: UnixGrpcClientOptions) {
    this.#socketPath = socketPath;
    this.#maxResponseBytes = options.maxResponseBytes;
  }

  /** Closes the session; calls in flight end with UNAVAILABLE. A later call is refused. */
  close(): void {
    this.#closed = true;
    const live = this.#live;
    this.#live = undefined;
    live?.session.destroy();
  }

  /** The live session, dialled afresh when there is none or the last one closed, failed or was told GOAWAY. */
  #sessionNow(): { readonly session: http2.ClientHttp2Session; readonly state: SessionState } {
    const live = this.#live;
    if (live && !live.session.closed && !live.session.destroyed) return live;
    const socketPath = this.#socketPath;
    const state: SessionState = { inFlight: 0, draining: false, error: undefined };
    const session = http2.connect('http://localhost', {
      createConnection: () => {
        const socket = net.connect(socketPath);
        // The socket's error (a refused dial: ENOENT, ECONNREFUSED) comes before the session's, and the streams end in between.
        socket.once('error', (err) => (state.error ??= err));
        return socket;
      },
      settings: { enablePush: false, initialWindowSize: 1 << 20 },
      // Room for a full 16 MiB answer buffered in the session before the stream reads it.
      maxSessionMemory: 64,
    });
    const forget = (): void => {
      if (this.#live?.session === session) this.#live = undefined;
    };
    // A failed dial or a broken connection: each stream on the session sees it and ends its call.
    session.on('error', (err: Error) => {
      state.error ??= err;
      forget();
    });
    session.on('close', forget);
    // GOAWAY: new calls go to a new session; this one is destroyed when its last call ends.
    session.on('goaway', () => {
      forget();
      state.draining = true;
      if (state.inFlight === 0) session.destroy();
      else session.close();
    });
    // Idle between refreshes the session must not hold the process: a call's deadline timer does.
    session.unref();
    this.#live = { session, state };
    return this.#live;
  }

  /**
   * Sends `request` to `method`; the call ends by `deadlineMs` from now with DEADLINE_EXCEEDED.
   * A stream the server refused unprocessed (REFUSED_STREAM, as for a stream past a GOAWAY's
   * last stream) is sent once more within the same deadline (on a new session after GOAWAY), as
   * gRPC's transparent retry does: the server never saw it.
   */
  unary<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, deadlineMs: number): PendingCall<Res> {
    if (this.#closed) return { response: Promise.reject(new GrpcError(GrpcStatus.UNAVAILABLE, 'client closed')), cancel: () => {} };
    let body: Buffer;
    try {
      body = method.encode(request);
    } catch (err) {
      return { response: Promise.reject(new GrpcError(GrpcStatus.INTERNAL, `request not encoded: ${(err as Error).message}`)), cancel: () => {} };
    }
    const frame = Buffer.allocUnsafe(GRPC_FRAME_HEADER + body.length);
    frame.writeUInt8(0, 0);
    frame.writeUInt32BE(body.length, 1);
    body.copy(frame, GRPC_FRAME_HEADER);

    const deadlineAt = Date.now() + deadlineMs;
    let cancelled = false;
    let current = this.#send(method, frame, deadlineMs);
    const response = current.response.catch((err: unknown) => {
      const left = deadlineAt - Date.now();
      if (cancelled || this.#closed || !(err instanceof RefusedStream) || left <= 0) throw err;
      current = this.#send(method, frame, left);
      return current.response;
    });
    return {
      response,
      cancel: () => {
        cancelled = true;
        current.cancel();
      },
    };
  }

  /** One attempt of a call: one stream, `frame` sent, the answer read. */
  #send<Req, Res>(method: UnaryMethod<Req, Res>, frame: Buffer, deadlineMs: number): PendingCall<Res> {
    let cancel = (): void => {};
    const response = new Promise<Res>((resolve, reject) => {
      const { session, state } = this.#sessionNow();
      let stream: http2.ClientHttp2Stream;
      try {
        stream = session.request({
          ':method': 'POST',
          ':path': method.path,
          'content-type': 'application/grpc',
          te: 'trailers',
          'grpc-timeout': `${Math.max(1, Math.ceil(deadlineMs))}m`,
          'user-agent': 'multinet-agent',
        });
      } catch (err) {
        if (this.#live?.session === session) this.#live = undefined;
        session.destroy();
        reject(new GrpcError(GrpcStatus.UNAVAILABLE, (err as Error).message));
        return;
      }

      state.inFlight++;
      let done = false;
      let httpStatus: number | undefined;
      let headerStatus: GrpcError | null | undefined;
      let trailerStatus: GrpcError | null | undefined;
      /** Bytes before the frame header is complete; then the one buffer of exactly 5 + the announced length. */
      let head: Buffer[] = [];
      let message: Buffer | undefined;
      let received = 0;

      const finish = (err: GrpcError | undefined, value?: Res): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(value as Res);
      };
      /** Ends the call from this side: the stream is reset (the server sees the cancel) and the call fails with `err`. */
      const abort = (err: GrpcError): void => {
        if (done) return;
        finish(err);
        if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
      };
      cancel = () => abort(new GrpcError(GrpcStatus.CANCELLED, 'Cancelled on client'));
      const timer = setTimeout(() => abort(new GrpcError(GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded')), deadlineMs);

      let grpcContent = false;
      stream.on('response', (headers) => {
        httpStatus = Number(headers[':status']);
        grpcContent = /^application\/grpc(?:[+;]|$)/.test(String(headers['content-type'] ?? ''));
        headerStatus = statusOf(headers);
        // Not a gRPC answer (a proxy's or a plain HTTP server's page): ended now, not after its body.
        if (httpStatus !== 200) abort(headerStatus ?? new GrpcError(codeOfHttpStatus(httpStatus), `Received HTTP status code ${httpStatus}`));
        else if (!grpcContent && headerStatus === undefined) abort(new GrpcError(GrpcStatus.UNKNOWN, `response is not gRPC (content-type ${String(headers['content-type'] ?? 'none')})`));
      });
      stream.on('data', (chunk: Buffer) => {
        if (done) return;
        if (message === undefined) {
          head.push(chunk);
          received += chunk.length;
          if (received < GRPC_FRAME_HEADER) return;
          const first = Buffer.concat(head);
          head = [];
          if (first[0] !== 0) return abort(new GrpcError(GrpcStatus.INTERNAL, 'compressed response message, but no compression was asked for'));
          const announced = first.readUInt32BE(1);
          if (announced > this.#maxResponseBytes) {
            return abort(new GrpcError(GrpcStatus.RESOURCE_EXHAUSTED, `Received message larger than max (${announced} vs. ${this.#maxResponseBytes})`));
          }
          message = Buffer.allocUnsafe(GRPC_FRAME_HEADER + announced);
          received = 0;
          chunk = first;
        }
        // A unary answer is one message: a byte past it ends the call.
        if (received + chunk.length > message.length) return abort(new GrpcError(GrpcStatus.INTERNAL, `more than one message of ${message.length - GRPC_FRAME_HEADER} bytes for a unary call`));
        chunk.copy(message, received);
        received += chunk.length;
      });
      stream.on('trailers', (trailers) => {
        trailerStatus = statusOf(trailers);
      });
      let streamError: Error | undefined;
      stream.on('error', (err: Error) => {
        // The outcome is decided at 'close'; kept here so that it is not thrown.
        streamError = err;
      });
      stream.on('close', () => {
        if (--state.inFlight === 0 && state.draining) session.destroy();
        if (done) return;
        const status = trailerStatus !== undefined ? trailerStatus : headerStatus;
        if (httpStatus === undefined) {
          // Nothing came back: the dial failed or the connection broke (UNAVAILABLE), or the server reset the stream.
          const rst = stream.rstCode;
          // A stream the server reset on a live connection, as against one ended by the connection going.
          const reset = !session.destroyed && !session.closed && rst !== undefined && rst !== http2.constants.NGHTTP2_NO_ERROR;
          const details = this.#transportError(state, stream, streamError);
          if (rst === http2.constants.NGHTTP2_REFUSED_STREAM) return finish(new RefusedStream(details));
          return finish(new GrpcError(reset ? codeOfRstCode(rst) : GrpcStatus.UNAVAILABLE, details));
        }
        if (status === undefined) {
          const rst = stream.rstCode;
          return finish(new GrpcError(codeOfRstCode(rst), `stream ended without a grpc-status (RST_STREAM code ${rst ?? 'none'})`));
        }
        if (status !== null) return finish(status);
        if (message === undefined) return finish(new GrpcError(GrpcStatus.INTERNAL, 'no response message for a unary call'));
        if (received !== message.length) return finish(new GrpcError(GrpcStatus.INTERNAL, `response message cut short: ${received - GRPC_FRAME_HEADER} of ${message.length - GRPC_FRAME_HEADER} bytes`));
        try {
          finish(undefined, method.decode(message.subarray(GRPC_FRAME_HEADER)));
        } catch (err) {
          finish(new GrpcError(GrpcStatus.INTERNAL, `response not decoded: ${err instanceof ProtobufError ? err.message : String(err)}`));
        }
      });
      stream.end(frame);
    });
    return { response, cancel: () => cancel() };
  }

  /** What a stream that got no response died of, in the words the logs and /readyz show. */
  #transportError(state: SessionState, stream: http2.ClientHttp2Stream, streamError: Error | undefined): string {
    if (state.error) return state.error.message;
    const rst = stream.rstCode;
    if (rst !== undefined && rst !== http2.constants.NGHTTP2_NO_ERROR) return `stream reset (RST_STREAM code ${rst})`;
    return streamError?.message ?? `connection to ${this.#socketPath} closed`;
  }
}
