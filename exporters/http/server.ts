/**
 * The HTTP face of the agent: /metrics (Prometheus text format), /healthz (the process serves),
 * /readyz (the agent can see what it must see), and a small landing page.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../agent/ports.js';
import type { MetricsRenderer } from '../prometheus/registry.js';

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
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    switch (url) {
      case '/metrics':
        opts.metrics.render().then(
          (body) => {
            res.writeHead(200, { 'Content-Type': opts.metrics.contentType }).end(req.method === 'HEAD' ? undefined : body);
          },
          (err: unknown) => {
            opts.log.error({ err }, 'metrics rendering failed');
            res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics rendering failed\n');
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
  });
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
