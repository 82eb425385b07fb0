/**
 * The built agent with /metrics protected, unprivileged on loopback: `--web.auth=kube` against
 * the kube API test server (which also serves its pods and NADs) and `--web.tls.*` from a
 * Secret-volume-like directory; and the one-line refusals to start. `npm test` builds dist first.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_BIN } from '../support/agent-process.js';
import { parseExposition } from '../support/exposition.js';
import { KubeApiServer } from '../support/kube-api-server.js';
import { expositionComplaints } from '../support/exposition-invariant.js';
import { makeTestPair, SecretVolume, type TestPair } from '../support/tls.js';

const PROMETHEUS_SA = 'system:serviceaccount:monitoring:prometheus-k8s';

/** An HTTPS GET on a fresh connection, trusting `ca`. */
function get(port: number, path: string, ca: string, token?: string): Promise<{ status: number; body: string; bytes?: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path, agent: false, ca, headers: token !== undefined ? { Authorization: `Bearer ${token}` } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          const answer = { status: res.statusCode ?? 0, body: bytes.toString('utf8') };
          // Raw bytes of a served exposition, for the exposition invariant.
          resolve(answer.status === 200 && path === '/metrics' ? { ...answer, bytes } : answer);
        });
      },
    );
    req.once('error', reject);
    req.end();
  });
}

/** The agent's environment without a service account, so only flags point it at a cluster. */
function envOutsideCluster(): NodeJS.ProcessEnv {
  const { KUBERNETES_SERVICE_HOST: _h, KUBERNETES_SERVICE_PORT: _p, NODE_NAME: _n, ...rest } = process.env;
  return rest;
}

describe('the built agent with --web.auth=kube and --web.tls.*', () => {
  let dir: string;
  let kube: KubeApiServer;
  let pair: TestPair;
  let volume: SecretVolume;
  let kubeconfig: string;
  let child: ReturnType<typeof spawn> | undefined;
  let log = '';
  let port = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'multinet-web-'));
    pair = makeTestPair(dir, 'serving', 45);
    volume = new SecretVolume(join(dir, 'tls'));
    volume.install({ 'tls.crt': pair.cert, 'tls.key': pair.key });
    kube = await KubeApiServer.start();
    kube.addToken('prom-token', { username: PROMETHEUS_SA, groups: ['system:serviceaccounts', 'system:serviceaccounts:monitoring', 'system:authenticated'] });
    kube.addToken('dev-token', { username: 'jane@example.com', groups: ['system:authenticated'] });
    kube.grantNonResource({ users: [PROMETHEUS_SA], nonResourceURLs: ['/metrics'], verbs: ['get'] });
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: test, cluster: {server: "${kube.url}", insecure-skip-tls-verify: true}}]`,
        'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: test, context: {cluster: test, user: u}}]',
        'current-context: test',
        '',
      ].join('\n'),
    );
    const args = [
      AGENT_BIN,
      '--web.listen-address=127.0.0.1:0',
      '--log.level=info',
      '--no-collector.netns',
      '--no-collector.podresources',
      `--kubeconfig=${kubeconfig}`,
      '--node-name=worker-1',
      '--web.auth=kube',
      `--web.tls.cert-file=${volume.certFile}`,
      `--web.tls.key-file=${volume.keyFile}`,
    ];
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: envOutsideCluster() });
    child = c;
    c.stderr?.setEncoding('utf8').on('data', (d: string) => (log += d));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (c.exitCode !== null) throw new Error(`agent exited with ${c.exitCode}: ${log}`);
      const listening = /"address":\{"address":"127\.0\.0\.1","family":"IPv4","port":(\d+)\}/.exec(log);
      if (listening?.[1] !== undefined) {
        port = Number(listening[1]);
        if ((await get(port, '/readyz', pair.cert)).status === 200) break;
      }
      if (Date.now() > deadline) throw new Error(`agent not ready: ${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await kube?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses /metrics without a token or to a user without RBAC, serves it over TLS to an allowed one', async () => {
    expect(await get(port, '/healthz', pair.cert)).toEqual({ status: 200, body: 'ok\n' });
    expect(await get(port, '/metrics', pair.cert)).toEqual({ status: 401, body: 'Unauthorized\n' });
    expect(await get(port, '/metrics', pair.cert, 'forged')).toEqual({ status: 401, body: 'Unauthorized\n' });
    expect((await get(port, '/metrics', pair.cert, 'dev-token')).status).toBe(403);
    const first = await get(port, '/metrics', pair.cert, 'prom-token');
    expect(first.status).toBe(200);
    parseExposition(first.bytes ?? first.body, 'first scrape');
    const second = await get(port, '/metrics', pair.cert, 'prom-token');
    expect(second.status).toBe(200);

    const samples = parseExposition(second.bytes ?? second.body, 'second scrape');
    const value = (name: string, labels: Record<string, string> = {}): number | undefined =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(value('multinet_web_tls_certificate_expiry_timestamp_seconds')).toBe(pair.notAfterMs / 1000);
    // The scrape counts itself: the decision is made before the body is rendered.
    expect(value('multinet_web_auth_requests_total', { result: 'allowed' })).toBe(2);
    expect(value('multinet_web_auth_requests_total', { result: 'unauthenticated' })).toBe(2);
    expect(value('multinet_web_auth_requests_total', { result: 'forbidden' })).toBe(1);
    expect(value('multinet_web_auth_requests_total', { result: 'error' })).toBe(0);
    expect(value('multinet_web_auth_cache_hits_total')).toBe(1);
    // forged, dev-token and prom-token each reviewed once; the missing token never.
    expect(kube.accessReviews('TokenReview').length).toBe(3);
    expect(kube.accessReviews('SubjectAccessReview').length).toBe(2);
    expect(value('multinet_web_auth_reviews_total', { review: 'token', result: 'ok' })).toBe(3);
    expect(value('multinet_kube_cache_synced', { resource: 'pods' })).toBe(1);

    expect(expositionComplaints(second.bytes ?? second.body)).toBe('');
  });
});

describe('the built agent refuses to start, in one line', () => {
  it.each([
    [['--web.auth=kube'], 'multinet-agent: --web.auth=kube needs the kube API: give --kubeconfig=FILE, or run in a pod (KUBERNETES_SERVICE_HOST is unset)\n'],
    [['--web.tls.key-file=/nonexistent/tls.key'], 'multinet-agent: --web.tls.key-file needs --web.tls.cert-file too\n'],
    [
      ['--web.tls.cert-file=/nonexistent/tls.crt', '--web.tls.key-file=/nonexistent/tls.key'],
      "multinet-agent: --web.tls.cert-file=/nonexistent/tls.crt: ENOENT: no such file or directory, open '/nonexistent/tls.crt'\n",
    ],
  ])('%j exits 2', (flags, line) => {
    const out = spawnSync(process.execPath, [AGENT_BIN, '--web.listen-address=127.0.0.1:0', '--no-collector.netns', '--no-collector.podresources', ...flags], {
      encoding: 'utf8',
      env: envOutsideCluster(),
      timeout: 30_000,
    });
    expect({ status: out.status, stderr: out.stderr }).toEqual({ status: 2, stderr: line });
  });
});
