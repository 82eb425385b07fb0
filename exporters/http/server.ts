/**
 * The HTTP face of the agent: /metrics (Prometheus text format), /healthz (the process serves),
 * /readyz (the agent can see what it must see), and a small landing page. Optionally HTTPS with
 * a reloading certificate, and /metrics for authorised bearer tokens only (/healthz, /readyz and
 * the landing page stay open: kubelet probes carry no token).
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import type { Logger } from '../../agent/model/ports.js';
import type { MetricsRenderer } from '../prometheus/registry.js';
import { metricsEncoding } from './accept-encoding.js';
import { ChunkedGzip } from './gzip-chunks.js';
import type { AuthDecision, RequestAuthorizer } from './bearer-auth.js';

/** Readiness as the agent judges it: ready, or the reasons it is not. */
export interface Readiness {
  readonly ready: boolean;
  readonly reasons: readonly string[];
}

/**
 * What one client may hold of the server (`--web.*` flags). Every /metrics body handed to a
 * socket counts against `maxBufferedBytes` until the client has taken it (or the write timeout
 * closed the connection): a client that sends GET /metrics and never reads holds one body, and
 * once the budget is spent new scrapes get 503 instead of another copy.
 */
export interface HttpLimits {
  /** Time to receive a request's headers (slowloris). */
  readonly headerTimeoutMs: number;
  /** Time to receive a whole request. */
  readonly requestTimeoutMs: number;
  /** Time from a request to the end of its response; the connection is closed after it. */
  readonly writeTimeoutMs: number;
  /** Open connections at once; beyond it new connections are closed on accept. */
  readonly maxConnections: number;
  /** Bytes of /metrics responses not yet taken by their clients, all connections together. */
  readonly maxBufferedBytes: number;
}

/** Responses one connection may have waiting (pipelined requests); Prometheus sends one at a time. */
const MAX_OUTSTANDING_PER_CONNECTION = 4;

/** The defaults of the `--web.*` limits: a scrape takes well under a second; Prometheus' scrape timeout is at most its interval. */
export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headerTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  writeTimeoutMs: 60_000,
  maxConnections: 64,
  maxBufferedBytes: 64 * 1024 * 1024,
};

/** What the limits did since start (self-metrics). */
export interface HttpLimitStats {
  /** /metrics requests answered 503 because unread responses held the byte budget. */
  readonly refusedBuffered: number;
  /** Responses cut by the write timeout. */
  readonly writeTimeouts: number;
  /** Connections closed for pipelining more than a few requests without reading the answers. */
  readonly droppedPipelined: number;
  /** Bytes of /metrics responses handed out and not yet taken. */
  readonly bufferedBytes: number;
}

/** Options of {@link startHttpServer}. */
export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly metrics: MetricsRenderer;
  readonly readiness: () => Readiness;
  readonly log: Logger;
  readonly version: string;
  /** Serve HTTPS with these options, and switch to new ones when they change (certificate reload). */
  readonly tls?: { readonly secureContextOptions: SecureContextOptions; onChange(listener: (options: SecureContextOptions) => void): void };
  /** Decides who may read /metrics; open when absent. */
  readonly auth?: RequestAuthorizer;
  /** Timeouts and caps; {@link DEFAULT_HTTP_LIMITS} when absent. */
  readonly limits?: HttpLimits;
}

/** A started server and how to stop it. */
export interface RunningServer {
  readonly address: AddressInfo;
  stats(): HttpLimitStats;
  close(): Promise<void>;
}

const LANDING = (version: string): string => `<!doctype html>
<html><head><title>multinet-agent</title></head>
<body><h1>multinet-agent ${version}</h1>
<p>Secondary-network interfaces of Kubernetes pods and the host interfaces they hang off.</p>
<ul><li><a href="metrics">/metrics</a></li><li><a href="healthz">/healthz</a></li><li><a href="readyz">/readyz</a></li></ul>
</body></html>
`;

/** Starts listening; resolves once the socket is bound, rejects if it cannot be. */
export function startHttpServer(opts: HttpServerOptions): Promise<RunningServer> {
  const limits = opts.limits ?? DEFAULT_HTTP_LIMITS;
  let buffered = 0;
  let refusedBuffered = 0;
  let writeTimeouts = 0;
  let droppedPipelined = 0;
  /** Responses not yet taken, per connection. */
  const pending = new WeakMap<object, number>();
  // The renderer hands out the same first chunk while it serves one snapshot: it is compressed once.
  const gzip = new ChunkedGzip();
  const bodyOf = async (): Promise<readonly Buffer[]> => (opts.metrics.chunks ? opts.metrics.chunks() : [Buffer.from(await opts.metrics.render())]);
  const serveMetrics = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    // Pipelined requests of a client that does not read its answers queue one response each:
    // past a few, the connection is dropped (before any rendering) rather than letting it hold a body per request.
    const socket = req.socket;
    const outstanding = (pending.get(socket) ?? 0) + 1;
    pending.set(socket, outstanding);
    res.once('close', () => pending.set(socket, (pending.get(socket) ?? 1) - 1));
    if (outstanding > MAX_OUTSTANDING_PER_CONNECTION) {
      droppedPipelined++;
      opts.log.debug({ remote: socket.remoteAddress, outstanding }, 'client pipelines requests without reading the answers; connection closed');
      socket.destroy();
      return;
    }
    const encoding = metricsEncoding(req.headers['accept-encoding']);
    const headers = { 'Content-Type': opts.metrics.contentType, Vary: 'Accept-Encoding' };
    bodyOf()
      .then(async (body) => {
        const payload = encoding === 'identity' ? body : await gzip.compress(body);
        if (res.destroyed) return; // the write timeout or the client ended it meanwhile
        let bytes = 0;
        for (const chunk of payload) bytes += chunk.length;
        const sent = req.method === 'HEAD' ? 0 : bytes;
        if (sent > 0 && buffered > 0 && buffered + sent > limits.maxBufferedBytes) {
          refusedBuffered++;
          res.writeHead(503, { 'Content-Type': 'text/plain', 'Retry-After': '5', Connection: 'close' }).end('too many unread /metrics responses; retry later\n');
          return;
        }
        // Counted until the socket has taken the body or is gone: 'close' comes once either way.
        buffered += sent;
        res.once('close', () => (buffered -= sent));
        res.writeHead(200, { ...headers, ...(encoding === 'gzip' ? { 'Content-Encoding': 'gzip' } : {}), 'Content-Length': bytes });
        if (req.method === 'HEAD') {
          res.end();
          return;
        }
        res.cork();
        for (const chunk of payload) res.write(chunk);
        res.end();
      })
      .catch((err: unknown) => {
        opts.log.error({ err }, 'metrics rendering failed');
        if (res.headersSent) res.destroy();
        else res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics rendering failed\n');
      });
  };
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    // Go's WriteTimeout: a response not taken by then is cut, and what it held is freed.
    const timer = setTimeout(() => {
      writeTimeouts++;
      opts.log.debug({ url: req.url, remote: req.socket.remoteAddress }, 'response not taken within the write timeout; connection closed');
      res.destroy();
    }, limits.writeTimeoutMs);
    timer.unref();
    res.once('close', () => clearTimeout(timer));
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    switch (url) {
      case '/metrics':
        if (!opts.auth) {
          serveMetrics(req, res);
          return;
        }
        // HEAD is a read too: both are the `get` verb, as the kubelet maps them.
        opts.auth.check(req.headers.authorization, { path: '/metrics', verb: 'get' }).then(
          (d) => (d.result === 'allowed' ? serveMetrics(req, res) : refuse(res, d, '/metrics')),
          (err: unknown) => {
            // check() does not reject; should it ever, the request is refused, not served.
            opts.log.error({ err }, 'access check failed');
            if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' }).end('access check failed\n');
          },
        );
        return;
      case '/healthz':
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
        return;
      case '/readyz': {
        const r = opts.readiness();
        const body = r.ready ? 'ok\n' : `not ready: ${r.reasons.join('; ')}\n`;
        res.writeHead(r.ready ? 200 : 503, { 'Content-Type': 'text/plain' }).end(body);
        return;
      }
      case '/':
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(LANDING(opts.version));
        return;
      default:
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    }
  };
  // Node checks the header and request timeouts on this interval (30 s by default): often enough for the shortest.
  const connectionsCheckingInterval = Math.max(250, Math.min(30_000, Math.min(limits.headerTimeoutMs, limits.requestTimeoutMs) / 4));
  const server = opts.tls
    ? https.createServer({ ...opts.tls.secureContextOptions, connectionsCheckingInterval }, handler)
    : http.createServer({ connectionsCheckingInterval }, handler);
  if (opts.tls && server instanceof https.Server) opts.tls.onChange((o) => server.setSecureContext(o));
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = limits.headerTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.maxConnections = limits.maxConnections;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve({
        address: server.address() as AddressInfo,
        stats: () => ({ refusedBuffered, writeTimeouts, droppedPipelined, bufferedBytes: buffered }),
        close: () =>
          new Promise<void>((res) => {
            server.close(() => res());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/**
 * The answer to a refused request, as kube-rbac-proxy and the apiserver give it: 401 with a
 * Bearer challenge when the caller is not known — also when the TokenReview itself failed, since
 * then no identity was established (delegated authentication treats an error as "not
 * authenticated"); 403 for a known user RBAC does not allow; 500 when the SubjectAccessReview
 * failed. Nothing is served in any of these cases.
 */
function refuse(res: http.ServerResponse, d: AuthDecision, path: string): void {
  const text = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' };
  if (d.result === 'forbidden') {
    res.writeHead(403, text).end(`Forbidden (user=${d.user ?? ''}, verb=get, path=${path})\n`);
  } else if (d.result === 'error' && d.stage === 'authorization') {
    res.writeHead(500, text).end(`Authorization error (user=${d.user ?? ''}, verb=get, path=${path})\n`);
  } else {
    res.writeHead(401, { ...text, 'WWW-Authenticate': 'Bearer realm="multinet-agent"' }).end('Unauthorized\n');
  }
}
