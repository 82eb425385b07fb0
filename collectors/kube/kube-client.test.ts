/**
 * The agent's kube client against the protocol-faithful test apiserver (itself checked against
 * the real @kubernetes/client-node in api-wire.test.ts), and against a TLS server with a
 * self-signed certificate made by openssl.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { KubeApiServer } from '../../test/support/kube-api-server.js';
import { podObject } from '../../test/support/kube-api/objects.js';
import { makeTestPair } from '../../test/support/tls.js';
import { describeKubeError, KubeStatusError } from './api-call.js';
import { KubeClient, PATCH } from './kube-client.js';
import { loadKubeConfig, TokenFileCredentials, type KubeClientConfig } from './kube-config.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(options: { historyLimit?: number } = {}): Promise<{ server: KubeApiServer; client: KubeClient }> {
  const server = await KubeApiServer.start({ bookmarkIntervalMs: 50, ...options });
  cleanups.push(() => server.close());
  const client = new KubeClient(server.kubeConfig());
  cleanups.push(() => client.close());
  return { server, client };
}

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'kubeclient-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const signal = (): AbortSignal => AbortSignal.timeout(5000);

/** Runs a watch, collecting events until it ends. */
async function watch(client: KubeClient, path: string, query: Record<string, string | number | boolean>) {
  const events: { type: string; object: { metadata?: { name?: string; resourceVersion?: string }; code?: number; reason?: string } }[] = [];
  let finished: (err: unknown) => void = () => undefined;
  const done = new Promise<unknown>((resolve) => (finished = resolve));
  const controller = await client.watch(path, query, (type, object) => events.push({ type, object: object as (typeof events)[number]['object'] }), finished);
  cleanups.push(() => controller.abort());
  return { events, done, controller };
}

async function until(what: string, ok: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

type PodList = { items: { metadata: { name: string } }[]; metadata: { resourceVersion: string; continue?: string } };

describe('KubeClient on the test apiserver', () => {
  test('a chunked list with a field selector: limit, continue, one resourceVersion', async () => {
    const { server, client } = await setup();
    for (const name of ['a', 'b', 'c']) server.create('pods', podObject({ name, node: 'n1' }));
    server.create('pods', podObject({ name: 'x', node: 'n2' }));
    const first = await client.request<PodList>({ method: 'GET', path: '/api/v1/pods', query: { fieldSelector: 'spec.nodeName=n1', limit: 2 }, signal: signal() });
    expect(first.items.map((p) => p.metadata.name)).toEqual(['a', 'b']);
    expect(first.metadata.continue).toBeTruthy();
    const second = await client.request<PodList>({ method: 'GET', path: '/api/v1/pods', query: { fieldSelector: 'spec.nodeName=n1', limit: 2, continue: first.metadata.continue }, signal: signal() });
    expect(second.items.map((p) => p.metadata.name)).toEqual(['c']);
    expect(second.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
    expect(server.requests({ path: '/api/v1/pods' }).map((r) => r.query['limit'])).toEqual(['2', '2']);
  });

  test('a watch streams events and bookmarks, then a 410 Expired ERROR event inside the 200 stream', async () => {
    const { server, client } = await setup();
    server.create('pods', podObject({ name: 'a', node: 'n1' }));
    const w = await watch(client, '/api/v1/pods', { resourceVersion: server.resourceVersion, allowWatchBookmarks: true });
    server.create('pods', podObject({ name: 'b', node: 'n1' }));
    await until('ADDED b and a bookmark', () => w.events.some((e) => e.type === 'ADDED') && w.events.some((e) => e.type === 'BOOKMARK'));
    expect(w.events.find((e) => e.type === 'ADDED')?.object.metadata?.name).toBe('b');
    expect(server.requests({ path: '/api/v1/pods', watch: true })[0]?.query).toMatchObject({ watch: 'true', allowWatchBookmarks: 'true' });

    const old = server.resourceVersion;
    server.expireHistory();
    const gone = await watch(client, '/api/v1/pods', { resourceVersion: old });
    expect(await gone.done).toBeNull(); // the server ends the stream after the ERROR event
    expect(gone.events).toEqual([{ type: 'ERROR', object: expect.objectContaining({ kind: 'Status', code: 410, reason: 'Expired' }) as unknown }]);
  });

  test('a watch the server ends cleanly says null; one it breaks says why; one we abort says nothing', async () => {
    const { server, client } = await setup();
    const clean = await watch(client, '/api/v1/pods', { timeoutSeconds: 1 });
    expect(await clean.done).toBeNull();

    const broken = await watch(client, '/api/v1/pods', {});
    await until('open watch', () => server.openWatches('pods') === 1);
    server.dropWatches('pods');
    expect(describeKubeError(await broken.done).reason).toBe('ECONNRESET');

    let called = false;
    const aborted = await client.watch('/api/v1/pods', {}, () => undefined, () => (called = true));
    await until('open watch', () => server.openWatches('pods') === 1);
    aborted.abort();
    await until('watch closed on the server', () => server.openWatches('pods') === 0);
    expect(called).toBe(false);
  });

  test('a watch whose event handler throws ends with that error, and the process goes on', async () => {
    const { server, client } = await setup();
    let ended: unknown;
    await client.watch('/api/v1/pods', {}, () => {
      throw new Error('handler failed');
    }, (e) => (ended = e));
    server.create('pods', podObject({ name: 'a', node: 'n1' }));
    await until('the watch ended', () => ended !== undefined);
    expect(String(ended)).toBe('Error: handler failed');
    await until('watch closed on the server', () => server.openWatches('pods') === 0);
  });

  test('a watch whose headers do not come in time is refused with request-timeout; a long watch is not cut by it', async () => {
    const { server, client } = await setup();
    server.setLatency(500);
    const err = await client.watch('/api/v1/pods', {}, () => undefined, () => undefined, 100).catch((e: unknown) => e);
    expect(describeKubeError(err)).toMatchObject({ status: undefined, reason: 'request-timeout' });
    server.setLatency(0);
    let ended: unknown = 'not ended';
    const long = await client.watch('/api/v1/pods', { allowWatchBookmarks: true }, () => undefined, (e) => (ended = e), 100);
    cleanups.push(() => long.abort());
    await new Promise((r) => setTimeout(r, 300));
    expect(server.openWatches('pods')).toBe(1);
    expect(ended).toBe('not ended');
  });

  test('the three patch types reach the server as such; another is 415', async () => {
    const { server, client } = await setup();
    server.create('events', { metadata: { name: 'e1', namespace: 'default' }, involvedObject: { kind: 'Node', name: 'n1' }, reason: 'R', count: 1 });
    const path = '/api/v1/namespaces/default/events/e1';
    await client.request({ method: 'PATCH', path, body: { count: 2 }, contentType: PATCH.strategicMerge, signal: signal() });
    await client.request({ method: 'PATCH', path, body: { message: 'm' }, contentType: PATCH.merge, signal: signal() });
    const after = await client.request<{ count: number; message: string }>({ method: 'PATCH', path, body: [{ op: 'replace', path: '/count', value: 3 }], contentType: PATCH.json, signal: signal() });
    expect(after).toMatchObject({ count: 3, message: 'm' });
    expect(server.requests({ method: 'PATCH' }).map((r) => r.contentType)).toEqual([PATCH.strategicMerge, PATCH.merge, PATCH.json]);
    const err = await client.request({ method: 'PATCH', path, body: {}, contentType: 'application/apply-patch+yaml', signal: signal() }).catch((e: unknown) => e);
    expect(describeKubeError(err).status).toBe(415);
  });

  test('an error answer is a KubeStatusError with the Status reason and message', async () => {
    const { server, client } = await setup();
    const missing = await client.request({ method: 'PATCH', path: '/api/v1/namespaces/default/events/gone', body: {}, contentType: PATCH.merge, signal: signal() }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(KubeStatusError);
    expect(describeKubeError(missing)).toEqual({ status: 404, reason: 'NotFound', message: 'events "gone" not found' });
    const bad = await client.request({ method: 'GET', path: '/api/v1/pods', query: { fieldSelector: 'spec.nodeNam=x' }, signal: signal() }).catch((e: unknown) => e);
    expect(describeKubeError(bad)).toMatchObject({ status: 400, reason: 'BadRequest' });
    const unauthorized = new KubeClient(server.kubeConfig('wrong'));
    cleanups.push(() => unauthorized.close());
    const denied = await unauthorized.request({ method: 'GET', path: '/api/v1/pods', signal: signal() }).catch((e: unknown) => e);
    expect(describeKubeError(denied)).toMatchObject({ status: 401, reason: 'Unauthorized' });
    expect(String((denied as Error).message)).not.toContain('wrong');
  });

  test('abort: a call its signal ends is an AbortError (reason aborted), the connection is not left open', async () => {
    const { server, client } = await setup();
    server.setLatency(1000);
    const err = await client.request({ method: 'GET', path: '/api/v1/pods', signal: AbortSignal.timeout(100) }).catch((e: unknown) => e);
    expect(describeKubeError(err).reason).toBe('aborted');
    const pre = await client.request({ method: 'GET', path: '/api/v1/pods', signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(describeKubeError(pre).reason).toBe('aborted');
  });

  test('a 401 re-reads a rotated token file and retries once', async () => {
    const { server } = await setup();
    const dir = tmp();
    writeFileSync(join(dir, 'token'), 'old');
    const credentials = new TokenFileCredentials(join(dir, 'token'));
    await credentials.get(); // the old token is cached
    writeFileSync(join(dir, 'token'), 't'); // the kubelet rotated it
    const client = new KubeClient({ ...server.kubeConfig(), credentials });
    cleanups.push(() => client.close());
    await expect(client.request({ method: 'GET', path: '/api/v1/pods', signal: signal() })).resolves.toMatchObject({ kind: 'PodList' });
    // One call, two requests: the 401 with the cached token, then the re-read one.
    expect(server.requests({ path: '/api/v1/pods' })).toHaveLength(2);
  });

  test('an exec plugin kubeconfig: the token it prints is used; after a 401 it is run again', async () => {
    const { server } = await setup();
    const dir = tmp();
    // First run prints a stale token, later runs the right one.
    writeFileSync(
      join(dir, 'plugin.sh'),
      '#!/bin/sh\nif [ -e "$0.ran" ]; then tok=t; else tok=stale; touch "$0.ran"; fi\nprintf \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}\' "$tok"\n',
    );
    chmodSync(join(dir, 'plugin.sh'), 0o755);
    const file = join(dir, 'config');
    writeFileSync(
      file,
      JSON.stringify({
        clusters: [{ name: 'c', cluster: { server: server.url } }],
        users: [{ name: 'u', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: './plugin.sh' } } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      }),
    );
    const client = new KubeClient(loadKubeConfig(file));
    cleanups.push(() => client.close());
    await expect(client.request({ method: 'GET', path: '/api/v1/pods', signal: signal() })).resolves.toMatchObject({ kind: 'PodList' });
    await expect(client.request({ method: 'GET', path: '/api/v1/pods', signal: signal() })).resolves.toMatchObject({ kind: 'PodList' });
    // Three requests for two calls: the stale token's 401, its retry with the plugin's next token, then that token kept.
    expect(server.requests({ path: '/api/v1/pods' })).toHaveLength(3);
  });
});

describe('KubeClient over TLS (a self-signed certificate from openssl)', () => {
  /** An HTTPS server answering a PodList, that asks for (but does not require) a client certificate. */
  async function tlsServer(dir: string): Promise<{ server: Server; url: string; ca: Buffer; peers: string[] }> {
    const pair = makeTestPair(dir, 'kube-test', 1);
    const peers: string[] = [];
    const server = createServer({ cert: pair.cert, key: pair.key, ca: pair.cert, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      peers.push(String(peer.subject?.CN ?? '-'));
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ kind: 'PodList', items: [], metadata: { resourceVersion: '1' } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    cleanups.push(() => server.closeAllConnections());
    const port = (server.address() as { port: number }).port;
    return { server, url: `https://127.0.0.1:${port}`, ca: Buffer.from(pair.cert), peers };
  }

  const get = async (config: KubeClientConfig): Promise<unknown> => {
    const client = new KubeClient(config);
    cleanups.push(() => client.close());
    return client.request({ method: 'GET', path: '/api/v1/pods', signal: signal() }).catch((e: unknown) => e);
  };
  const none = { get: () => Promise.resolve({}), invalidate: () => false };

  test('verified with the configured CA, refused without it, accepted with insecure-skip-tls-verify', async () => {
    const dir = tmp();
    const s = await tlsServer(dir);
    expect(await get({ server: s.url, source: 't', tls: { ca: s.ca, insecureSkipVerify: false }, credentials: none })).toMatchObject({ kind: 'PodList' });
    expect(describeKubeError(await get({ server: s.url, source: 't', tls: { insecureSkipVerify: false }, credentials: none })).reason).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(await get({ server: s.url, source: 't', tls: { insecureSkipVerify: true }, credentials: none })).toMatchObject({ kind: 'PodList' });
  });

  test('tls-server-name is the name verified (the certificate names 127.0.0.1 only)', async () => {
    const dir = tmp();
    const s = await tlsServer(dir);
    const err = await get({ server: s.url, source: 't', tls: { ca: s.ca, insecureSkipVerify: false, serverName: 'kube.example' }, credentials: none });
    expect(describeKubeError(err).reason).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  test('a client certificate from the kubeconfig is presented', async () => {
    const dir = tmp();
    const s = await tlsServer(dir);
    const client = makeTestPair(dir, 'agent-client', 1);
    writeFileSync(join(dir, 'ca.crt'), s.ca);
    writeFileSync(join(dir, 'client.crt'), client.cert);
    writeFileSync(join(dir, 'client.key'), client.key);
    const file = join(dir, 'config');
    writeFileSync(
      file,
      JSON.stringify({
        clusters: [{ name: 'c', cluster: { server: s.url, 'certificate-authority': 'ca.crt' } }],
        users: [{ name: 'u', user: { 'client-certificate': 'client.crt', 'client-key': 'client.key' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      }),
    );
    expect(await get(loadKubeConfig(file))).toMatchObject({ kind: 'PodList' });
    expect(s.peers).toEqual(['agent-client']);
  });
});
