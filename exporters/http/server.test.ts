/**
 * The HTTP server with /metrics protected: bearer tokens checked by the real client library
 * against the kube API test server, and HTTPS from a Secret-volume-like directory that changes
 * under the running server.
 */
import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../agent/model/ports.js';
import { KubeAccessReviewer } from '../../collectors/kube/access-review.js';
import { KubeApiServer } from '../../test/support/kube-api-server.js';
import { makeTestPair, peerCertificate, SecretVolume, type TestPair } from '../../test/support/tls.js';
import type { MetricsRenderer } from '../prometheus/registry.js';
import { BearerAuth } from './bearer-auth.js';
import { startHttpServer, type RunningServer } from './server.js';
import { ServingCertificate } from './serving-certificate.js';
import { assertExposition } from '../../test/support/exposition-invariant.js';

const PROMETHEUS_SA = 'system:serviceaccount:monitoring:prometheus-k8s';
// A fixed body, itself held to the exposition invariant: the tests below see exactly it served.
const BODY = assertExposition('# HELP multinet_build_info x\n# TYPE multinet_build_info gauge\nmultinet_build_info{version="test"} 1\n', 'server.test BODY');
const metrics: MetricsRenderer = { contentType: 'text/plain; version=0.0.4; charset=utf-8', render: () => Promise.resolve(BODY) };

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** One request on a fresh connection (no keep-alive: each TLS request sees the current certificate). */
function request(url: string, opts: { token?: string; method?: string; ca?: string } = {}): Promise<Answer> {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      u,
      { method: opts.method ?? 'GET', agent: false, headers: opts.token !== undefined ? { Authorization: `Bearer ${opts.token}` } : {}, ...(opts.ca !== undefined ? { ca: opts.ca } : {}) },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.once('error', reject);
    req.end();
  });
}

/** Keeps what was logged. */
function memoryLog(): Logger & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (_obj: object, msg: string) => void lines.push({ level, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Polls `probe` until it returns true; fails after `ms`. */
async function until(what: string, probe: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('/metrics with --web.auth=kube, against the kube API test server', () => {
  let kube: KubeApiServer;
  let server: RunningServer;
  let base: string;
  const reviews = (): number => kube.accessReviews().length;

  beforeEach(async () => {
    kube = await KubeApiServer.start();
    kube.addToken('prom-token', { username: PROMETHEUS_SA, uid: 'c0ffee', groups: ['system:serviceaccounts', 'system:serviceaccounts:monitoring', 'system:authenticated'] });
    kube.addToken('dev-token', { username: 'jane@example.com', groups: ['developers', 'system:authenticated'] });
    kube.grantNonResource({ groups: ['system:serviceaccounts:monitoring'], nonResourceURLs: ['/metrics'], verbs: ['get'] });
    const auth = new BearerAuth({ reviewer: new KubeAccessReviewer({ kubeConfig: kube.kubeConfig() }), log: memoryLog(), allowedTtlMs: 120_000, deniedTtlMs: 10_000 });
    server = await startHttpServer({ host: '127.0.0.1', port: 0, metrics, readiness: () => ({ ready: true, reasons: [] }), log: memoryLog(), version: 'test', auth });
    base = `http://127.0.0.1:${server.address.port}`;
  });

  afterEach(async () => {
    await server.close();
    await kube.close();
  });

  it('answers 401 with a Bearer challenge without a token, and asks the API nothing', async () => {
    const res = await request(`${base}/metrics`);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="multinet-agent"');
    expect(res.body).toBe('Unauthorized\n');
    expect(reviews()).toBe(0);
  });

  it('answers 401 for a token the cluster does not know, after one TokenReview and no SubjectAccessReview', async () => {
    const res = await request(`${base}/metrics`, { token: 'forged' });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="multinet-agent"');
    expect(kube.accessReviews().map((r) => r.kind)).toEqual(['TokenReview']);
  });

  it('answers 403 for a known user RBAC does not allow to get /metrics', async () => {
    const res = await request(`${base}/metrics`, { token: 'dev-token' });
    expect(res).toMatchObject({ status: 403, body: 'Forbidden (user=jane@example.com, verb=get, path=/metrics)\n' });
    expect(kube.accessReviews('SubjectAccessReview').map((r) => r.spec)).toEqual([
      { user: 'jane@example.com', groups: ['developers', 'system:authenticated'], nonResourceAttributes: { path: '/metrics', verb: 'get' } },
    ]);
  });

  it('serves /metrics to a user RBAC allows, and answers the next requests from the cache', async () => {
    const res = await request(`${base}/metrics`, { token: 'prom-token' });
    expect(res).toMatchObject({ status: 200, body: BODY });
    expect(res.headers['content-type']).toBe(metrics.contentType);
    expect(kube.accessReviews().map((r) => [r.kind, r.status])).toEqual([
      ['TokenReview', 201],
      ['SubjectAccessReview', 201],
    ]);
    expect((await request(`${base}/metrics`, { token: 'prom-token' })).status).toBe(200);
    expect((await request(`${base}/metrics`, { token: 'prom-token', method: 'HEAD' })).status).toBe(200);
    // A denial is cached too.
    expect((await request(`${base}/metrics`, { token: 'dev-token' })).status).toBe(403);
    expect((await request(`${base}/metrics`, { token: 'dev-token' })).status).toBe(403);
    expect(reviews()).toBe(4);
  });

  it('keeps /healthz, /readyz and the landing page open', async () => {
    expect(await request(`${base}/healthz`)).toMatchObject({ status: 200, body: 'ok\n' });
    expect(await request(`${base}/readyz`)).toMatchObject({ status: 200, body: 'ok\n' });
    expect((await request(`${base}/`)).status).toBe(200);
    expect(reviews()).toBe(0);
  });

  it('fails closed while the kube API is down, caches no error, and serves again when it is back', async () => {
    const down = kube.outage(1500);
    const refused = await request(`${base}/metrics`, { token: 'prom-token' });
    expect(refused).toMatchObject({ status: 401, body: 'Unauthorized\n' });
    expect((await request(`${base}/metrics`, { token: 'prom-token' })).status).toBe(401);
    await down;
    expect(await request(`${base}/metrics`, { token: 'prom-token' })).toMatchObject({ status: 200, body: BODY });
  });

  it('answers 500 when the SubjectAccessReview cannot be made, and caches nothing', async () => {
    kube.setAccessReviewsPermitted(false, 'SubjectAccessReview');
    expect(await request(`${base}/metrics`, { token: 'prom-token' })).toMatchObject({ status: 500, body: `Authorization error (user=${PROMETHEUS_SA}, verb=get, path=/metrics)\n` });
    kube.setAccessReviewsPermitted(true);
    expect((await request(`${base}/metrics`, { token: 'prom-token' })).status).toBe(200);
    expect(kube.accessReviews().map((r) => [r.kind, r.status])).toEqual([
      ['TokenReview', 201],
      ['SubjectAccessReview', 403],
      ['TokenReview', 201],
      ['SubjectAccessReview', 201],
    ]);
  });
});

describe('HTTPS from a Secret volume that changes under the server', () => {
  let dir: string;
  let pairs: { a: TestPair; b: TestPair; c: TestPair };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'multinet-tls-'));
    pairs = { a: makeTestPair(dir, 'a', 45), b: makeTestPair(dir, 'b', 90), c: makeTestPair(dir, 'c', 30) };
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  let server: RunningServer | undefined;
  let cert: ServingCertificate | undefined;
  afterEach(async () => {
    cert?.stop();
    await server?.close();
    server = undefined;
    cert = undefined;
  });

  /** Serves from `volume`; the fallback timer is an hour away, so a switch seen here came from the directory watch. */
  async function serve(volume: SecretVolume, log: Logger): Promise<{ cert: ServingCertificate; port: number }> {
    cert = ServingCertificate.load({ certFile: volume.certFile, keyFile: volume.keyFile, log, pollMs: 3_600_000, settleMs: 50 });
    cert.start();
    server = await startHttpServer({ host: '127.0.0.1', port: 0, metrics, readiness: () => ({ ready: true, reasons: [] }), log, version: 'test', tls: cert });
    return { cert, port: server.address.port };
  }

  it('serves the pair with TLS 1.2 or later, verifiable against the certificate', async () => {
    const volume = new SecretVolume(join(dir, 'v1'));
    volume.install({ 'tls.crt': pairs.a.cert, 'tls.key': pairs.a.key });
    const { cert: serving, port } = await serve(volume, memoryLog());
    expect(await request(`https://127.0.0.1:${port}/metrics`, { ca: pairs.a.cert })).toMatchObject({ status: 200, body: BODY });
    expect(await peerCertificate(port, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).toEqual({ fingerprint256: pairs.a.fingerprint256, protocol: 'TLSv1.2' });
    // SECLEVEL=0 lets this client offer TLS 1.1: the refusal is the server's (OpenSSL 3's default
    // security level refuses it too; minVersion says so whatever the level).
    expect(serving.secureContextOptions.minVersion).toBe('TLSv1.2');
    await expect(peerCertificate(port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })).rejects.toThrow();
    expect(serving.stats()).toEqual({ notAfterMs: Date.parse(new X509Certificate(pairs.a.cert).validTo), reloads: { success: 0, failure: 0 } });
  });

  it('switches new connections to a pair swapped in atomically, and keeps it when a broken pair follows', async () => {
    const volume = new SecretVolume(join(dir, 'v2'));
    volume.install({ 'tls.crt': pairs.a.cert, 'tls.key': pairs.a.key });
    const log = memoryLog();
    const { cert: serving, port } = await serve(volume, log);
    expect((await peerCertificate(port)).fingerprint256).toBe(pairs.a.fingerprint256);

    volume.install({ 'tls.crt': pairs.b.cert, 'tls.key': pairs.b.key });
    await until('the new certificate', async () => (await peerCertificate(port)).fingerprint256 === pairs.b.fingerprint256);
    expect(serving.stats()).toEqual({ notAfterMs: pairs.b.notAfterMs, reloads: { success: 1, failure: 0 } });
    expect(await request(`https://127.0.0.1:${port}/healthz`, { ca: pairs.b.cert })).toMatchObject({ status: 200, body: 'ok\n' });

    // c's certificate with b's key: refused, b stays, said once however often the files are read.
    volume.install({ 'tls.crt': pairs.c.cert, 'tls.key': pairs.b.key });
    await until('the refusal', () => serving.stats().reloads.failure === 1);
    expect(serving.reload()).toBe(false);
    expect((await peerCertificate(port)).fingerprint256).toBe(pairs.b.fingerprint256);
    expect(serving.stats()).toEqual({ notAfterMs: pairs.b.notAfterMs, reloads: { success: 1, failure: 1 } });
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual(['new tls certificate or key refused; the current pair stays']);

    // Fixed: c's own key.
    volume.install({ 'tls.crt': pairs.c.cert, 'tls.key': pairs.c.key });
    await until('the fixed pair', async () => (await peerCertificate(port)).fingerprint256 === pairs.c.fingerprint256);
    expect(serving.stats().notAfterMs).toBe(pairs.c.notAfterMs);
  });

  it('finds a change the directory watch cannot see on the fallback timer', async () => {
    // The flags name symlinks in one directory pointing at files in another: a rewrite of the
    // targets raises no event in the watched directory.
    const targets = join(dir, 'v4-targets');
    const links = join(dir, 'v4-links');
    mkdirSync(targets);
    mkdirSync(links);
    writeFileSync(join(targets, 'tls.crt'), pairs.a.cert);
    writeFileSync(join(targets, 'tls.key'), pairs.a.key);
    symlinkSync(join(targets, 'tls.crt'), join(links, 'tls.crt'));
    symlinkSync(join(targets, 'tls.key'), join(links, 'tls.key'));
    cert = ServingCertificate.load({ certFile: join(links, 'tls.crt'), keyFile: join(links, 'tls.key'), log: memoryLog(), pollMs: 200 });
    cert.start();
    const serving = cert;
    server = await startHttpServer({ host: '127.0.0.1', port: 0, metrics, readiness: () => ({ ready: true, reasons: [] }), log: memoryLog(), version: 'test', tls: serving });
    const port = server.address.port;
    writeFileSync(join(targets, 'tls.key'), pairs.b.key);
    writeFileSync(join(targets, 'tls.crt'), pairs.b.cert);
    await until('the new certificate', async () => (await peerCertificate(port)).fingerprint256 === pairs.b.fingerprint256);
    expect(serving.stats().notAfterMs).toBe(pairs.b.notAfterMs);
  });

  it('refuses to start on a key that is not the certificate\'s, naming both flags', () => {
    const volume = new SecretVolume(join(dir, 'v3'));
    volume.install({ 'tls.crt': pairs.a.cert, 'tls.key': pairs.b.key });
    expect(() => ServingCertificate.load({ certFile: volume.certFile, keyFile: volume.keyFile, log: memoryLog() })).toThrow(
      `--web.tls.cert-file=${volume.certFile}, --web.tls.key-file=${volume.keyFile}: error:05800074:x509 certificate routines::key values mismatch`,
    );
    expect(() => ServingCertificate.load({ certFile: join(dir, 'missing.crt'), keyFile: volume.keyFile, log: memoryLog() })).toThrow(/^--web\.tls\.cert-file=.*missing\.crt: ENOENT/);
  });
});
