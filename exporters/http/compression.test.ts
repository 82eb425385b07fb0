/**
 * /metrics compressed as promhttp compresses it: gzip when Accept-Encoding allows it, the body as
 * rendered otherwise, and after decompression the same exposition, valid for promtool.
 */
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../agent/model/ports.js';
import { parseExposition } from '../../test/support/exposition.js';
import { promtoolCheck } from '../../test/support/promtool.js';
import type { MetricsRenderer } from '../prometheus/registry.js';
import { startHttpServer, type RunningServer } from './server.js';

/** An exposition of the size and repetitiveness of a real one: 300 pod interfaces × 4 counters. */
function exposition(): string {
  const lines: string[] = [];
  for (const name of ['rx_bytes', 'tx_bytes', 'rx_packets', 'tx_packets']) {
    lines.push(`# HELP multinet_pod_interface_${name}_total Test counter.`, `# TYPE multinet_pod_interface_${name}_total counter`);
    for (let i = 0; i < 300; i++) {
      lines.push(`multinet_pod_interface_${name}_total{namespace="default",pod="cnf-7d4b9c-${i}",interface="net${(i % 3) + 1}",network="default/data-network"} ${i * 1531}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const BODY = exposition();
const SILENT: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const metrics: MetricsRenderer = { contentType: 'text/plain; version=0.0.4; charset=utf-8', render: () => Promise.resolve(BODY) };

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly raw: Buffer;
}

function get(url: string, acceptEncoding: string | undefined, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, headers: acceptEncoding === undefined ? {} : { 'Accept-Encoding': acceptEncoding } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, raw: Buffer.concat(chunks) }));
    });
    req.once('error', reject);
    req.end();
  });
}

describe('/metrics content coding', () => {
  let server: RunningServer;
  let url = '';

  beforeAll(async () => {
    server = await startHttpServer({ host: '127.0.0.1', port: 0, metrics, readiness: () => ({ ready: true, reasons: [] }), log: SILENT, version: 'test' });
    url = `http://127.0.0.1:${server.address.port}/metrics`;
  });
  afterAll(() => server.close());

  it('gzip when the client accepts it (as Prometheus asks), and the same valid exposition after decompression', async () => {
    const a = await get(url, 'gzip');
    expect(a.status).toBe(200);
    expect(a.headers['content-encoding']).toBe('gzip');
    expect(a.headers.vary).toBe('Accept-Encoding');
    expect(Number(a.headers['content-length'])).toBe(a.raw.length);
    expect(a.raw.length).toBeLessThan(BODY.length / 5);
    const text = gunzipSync(a.raw).toString('utf8');
    expect(text).toBe(BODY);
    expect(parseExposition(text)).toHaveLength(1200);
    const complaints = promtoolCheck(text);
    if (complaints !== undefined) expect(complaints).toBe('');
  });

  it('the same bytes again for the next gzip scrape of the same rendering', async () => {
    const [a, b] = [await get(url, 'gzip, deflate'), await get(url, 'x-gzip;q=0.8')];
    expect(b.raw.equals(a.raw)).toBe(true);
  });

  it.each([
    ['absent', undefined],
    ['identity', 'identity'],
    ['gzip refused with q=0', 'gzip;q=0, identity'],
    ['only codings the agent does not speak', 'br, zstd'],
  ])('the body as rendered when Accept-Encoding is %s', async (_what, header) => {
    const a = await get(url, header);
    expect(a.status).toBe(200);
    expect(a.headers['content-encoding']).toBeUndefined();
    expect(a.headers.vary).toBe('Accept-Encoding');
    expect(a.raw.toString('utf8')).toBe(BODY);
  });

  it('HEAD with gzip: the headers, no body', async () => {
    const a = await get(url, 'gzip', 'HEAD');
    expect(a.status).toBe(200);
    expect(a.headers['content-encoding']).toBe('gzip');
    expect(a.raw.length).toBe(0);
  });
});
