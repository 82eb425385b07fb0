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
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Logger } from '../../agent/model/ports.js';
import type { MetricsRenderer } from '../prometheus/registry.js';
import { metricsEncoding } from './accept-encoding.js';
import type { AuthDecision, RequestAuthorizer } from './bearer-auth.js';

const gzip = promisify(zlib.gzip);
/**
 * zlib level 1: an exposition is long runs of the same label names and values, so the fastest
 * level already shrinks it about tenfold; higher levels cost several times the CPU for a few
 * percent fewer bytes (npm run bench prints both figures).
 */
const GZIP_OPTIONS: zlib.ZlibOptions = { level: zlib.constants.Z_BEST_SPEED };

/** Readiness as the agent judges it: ready, or the reasons it is not. */
export interface Readiness {
  readonly ready: boolean;
  readonly reasons: readonly string[];
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
}

/** A started server and how to stop it. */
export interface RunningServer {
  readonly address: AddressInfo;
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
  // The renderer hands out the same string while it serves one snapshot: compress it once.
  let lastText: string | undefined;
  let lastGzip: Promise<Buffer> | undefined;
  const gzipped = (text: string): Promise<Buffer> => {
    if (text !== lastText || lastGzip === undefined) {
      lastText = text;
      lastGzip = gzip(text, GZIP_OPTIONS);
    }
    return lastGzip;
  };
  const serveMetrics = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const encoding = metricsEncoding(req.headers['accept-encoding']);
    const headers = { 'Content-Type': opts.metrics.contentType, Vary: 'Accept-Encoding' };
    opts.metrics
      .render()
      .then(async (body) => {
        if (encoding === 'identity') {
          res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : body);
          return;
        }
        const gz = await gzipped(body);
        res.writeHead(200, { ...headers, 'Content-Encoding': 'gzip', 'Content-Length': gz.length }).end(req.method === 'HEAD' ? undefined : gz);
      })
      .catch((err: unknown) => {
        opts.log.error({ err }, 'metrics rendering failed');
        if (res.headersSent) res.destroy();
        else res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics rendering failed\n');
      });
  };
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
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
  const server = opts.tls ? https.createServer(opts.tls.secureContextOptions, handler) : http.createServer(handler);
  if (opts.tls && server instanceof https.Server) opts.tls.onChange((o) => server.setSecureContext(o));
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve({
        address: server.address() as AddressInfo,
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
