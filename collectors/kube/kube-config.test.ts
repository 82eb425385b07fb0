/**
 * The kubeconfig and in-cluster loader: each kind of user, relative paths resolved against the
 * kubeconfig's directory, exec plugins run for real (a small shell script), token rotation,
 * and the one-line refusals.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { loadKubeConfig, TokenFileCredentials, type KubeClientConfig } from './kube-config.js';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'kubecfg-'));
  dirs.push(d);
  return d;
}

/** Writes a kubeconfig with one cluster and one user into `dir`; returns its path. */
function kubeconfig(dir: string, cluster: object, user: object, name = 'config'): string {
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server: 'https://kube.example:6443', ...cluster } }],
    users: [{ name: 'u', user }],
    contexts: [
      { name: 'other', context: { cluster: 'nope', user: 'u' } },
      { name: 'ctx', context: { cluster: 'c', user: 'u' } },
    ],
    'current-context': 'ctx',
  };
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(doc)); // JSON is YAML; one test below writes YAML
  return file;
}

const B64 = (s: string): string => Buffer.from(s).toString('base64');

describe('loadKubeConfig from a file', () => {
  test('a bearer token, in YAML, with the current context picked among several', async () => {
    const dir = tmp();
    const file = join(dir, 'config');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- {name: a, cluster: {server: "https://a.example:6443"}}',
        '- {name: b, cluster: {server: "https://b.example:6443/", insecure-skip-tls-verify: true, tls-server-name: kube.b}}',
        'users: [{name: ub, user: {token: tok-b}}]',
        'contexts: [{name: ca, context: {cluster: a, user: ub}}, {name: cb, context: {cluster: b, user: ub}}]',
        'current-context: cb',
      ].join('\n'),
    );
    const c = loadKubeConfig(file);
    expect(c.server).toBe('https://b.example:6443');
    expect(c.tls).toMatchObject({ insecureSkipVerify: true, serverName: 'kube.b' });
    expect(await c.credentials.get()).toEqual({ authorization: 'Bearer tok-b' });
  });

  test('CA, client certificate and key from files relative to the kubeconfig, or inline data', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'ca.crt'), 'CA-PEM');
    writeFileSync(join(dir, 'client.crt'), 'CERT-PEM');
    writeFileSync(join(dir, 'client.key'), 'KEY-PEM');
    const fromFiles = loadKubeConfig(kubeconfig(dir, { 'certificate-authority': 'ca.crt' }, { 'client-certificate': './client.crt', 'client-key': join(dir, 'client.key') }));
    expect([fromFiles.tls.ca, fromFiles.tls.cert, fromFiles.tls.key].map(String)).toEqual(['CA-PEM', 'CERT-PEM', 'KEY-PEM']);
    expect(fromFiles.tls.insecureSkipVerify).toBe(false);
    const inline = loadKubeConfig(kubeconfig(dir, { 'certificate-authority-data': B64('CA2') }, { 'client-certificate-data': B64('CERT2'), 'client-key-data': B64('KEY2') }, 'inline'));
    expect([inline.tls.ca, inline.tls.cert, inline.tls.key].map(String)).toEqual(['CA2', 'CERT2', 'KEY2']);
  });

  test('username and password are basic auth', async () => {
    const c = loadKubeConfig(kubeconfig(tmp(), {}, { username: 'admin', password: 's3cret' }));
    expect(await c.credentials.get()).toEqual({ authorization: `Basic ${B64('admin:s3cret')}` });
  });

  test('a tokenFile relative to the kubeconfig is re-read after a 401 and after its refresh period', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'token'), 'one\n');
    const c = loadKubeConfig(kubeconfig(dir, {}, { tokenFile: 'token' }));
    expect(await c.credentials.get()).toEqual({ authorization: 'Bearer one' });
    writeFileSync(join(dir, 'token'), 'two');
    expect(await c.credentials.get()).toEqual({ authorization: 'Bearer one' }); // cached for a minute
    expect(c.credentials.invalidate()).toBe(true);
    expect(await c.credentials.get()).toEqual({ authorization: 'Bearer two' });

    const quick = new TokenFileCredentials(join(dir, 'token'), 20);
    expect(await quick.get()).toEqual({ authorization: 'Bearer two' });
    writeFileSync(join(dir, 'token'), 'three');
    await new Promise((r) => setTimeout(r, 30));
    expect(await quick.get()).toEqual({ authorization: 'Bearer three' });
    // A failed re-read (the kubelet swapping the file) keeps the last token.
    rmSync(join(dir, 'token'));
    await new Promise((r) => setTimeout(r, 30));
    expect(await quick.get()).toEqual({ authorization: 'Bearer three' });
  });

  test('refusals are one E_USAGE line naming the file', () => {
    const dir = tmp();
    const cases: [object, object, string][] = [
      [{}, { 'auth-provider': { name: 'oidc' } }, 'user field auth-provider is not supported'],
      [{ 'proxy-url': 'http://proxy:3128' }, { token: 't' }, 'cluster field proxy-url is not supported'],
      [{}, { as: 'someone' }, 'user field as is not supported'],
      [{}, { exec: { apiVersion: 'client.authentication.k8s.io/v1alpha1', command: 'x' } }, 'exec apiVersion "client.authentication.k8s.io/v1alpha1" is not supported'],
      [{ server: 'ftp://x' }, { token: 't' }, 'is neither https nor http'],
      [{}, { tokenFile: 'missing-token' }, 'ENOENT'],
      [{ 'certificate-authority': 'missing-ca' }, { token: 't' }, 'ENOENT'],
    ];
    for (const [i, [cluster, user, message]] of cases.entries()) {
      const file = kubeconfig(dir, cluster, user, `c${i}`);
      expect(() => loadKubeConfig(file)).toThrow(expect.objectContaining({ code: 'E_USAGE', message: expect.stringContaining(`--kubeconfig=${file}: `) as unknown }));
      expect(() => loadKubeConfig(file)).toThrow(message);
    }
    const noContext = join(dir, 'nocontext');
    writeFileSync(noContext, 'apiVersion: v1\nkind: Config\nclusters: []\n');
    expect(() => loadKubeConfig(noContext)).toThrow(`--kubeconfig=${noContext}: no current context with a cluster`);
    expect(() => loadKubeConfig(join(dir, 'absent'))).toThrow(expect.objectContaining({ code: 'E_USAGE', message: expect.stringContaining('ENOENT') as unknown }));
  });
});

describe('exec credential plugins', () => {
  /**
   * A plugin script relative to the kubeconfig: prints an ExecCredential whose token is
   * `$PREFIX-<run number>`, counts its runs in a file, and records KUBERNETES_EXEC_INFO.
   */
  function plugin(dir: string, apiVersion: string, expiry: string): { config: KubeClientConfig; runs: () => number; info: () => unknown } {
    writeFileSync(
      join(dir, 'plugin.sh'),
      [
        '#!/bin/sh',
        'n=$(( $(cat "$COUNT" 2>/dev/null || echo 0) + 1 ))',
        'echo $n > "$COUNT"',
        'printf "%s" "$KUBERNETES_EXEC_INFO" > "$COUNT.info"',
        `printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"%s-%s"${expiry ? `,"expirationTimestamp":"${expiry}"` : ''}}}' "$1" "$PREFIX" "$n"`,
      ].join('\n'),
    );
    chmodSync(join(dir, 'plugin.sh'), 0o755);
    const count = join(dir, 'count');
    const config = loadKubeConfig(kubeconfig(dir, {}, { exec: { apiVersion, command: './plugin.sh', args: [apiVersion], provideClusterInfo: apiVersion.endsWith('/v1'), env: [{ name: 'PREFIX', value: 'tok' }, { name: 'COUNT', value: count }] } }));
    return { config, runs: () => Number(readFileSync(count, 'utf8')), info: () => JSON.parse(readFileSync(`${count}.info`, 'utf8')) as unknown };
  }

  test('v1: run once and kept until expiry, run again after a 401; with provideClusterInfo the plugin is told the cluster', async () => {
    const p = plugin(tmp(), 'client.authentication.k8s.io/v1', new Date(Date.now() + 3_600_000).toISOString());
    expect(await p.config.credentials.get()).toEqual({ authorization: 'Bearer tok-1' });
    expect(await p.config.credentials.get()).toEqual({ authorization: 'Bearer tok-1' });
    expect(p.runs()).toBe(1);
    expect(p.info()).toEqual({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', spec: { interactive: false, cluster: { server: 'https://kube.example:6443/' } } });
    expect(p.config.credentials.invalidate()).toBe(true);
    expect(await p.config.credentials.get()).toEqual({ authorization: 'Bearer tok-2' });
    expect(p.runs()).toBe(2);
  });

  test('v1beta1: an expired credential is fetched again on the next request; concurrent requests share one run', async () => {
    const p = plugin(tmp(), 'client.authentication.k8s.io/v1beta1', new Date(Date.now() - 1000).toISOString());
    const both = await Promise.all([p.config.credentials.get(), p.config.credentials.get()]);
    expect(both).toEqual([{ authorization: 'Bearer tok-1' }, { authorization: 'Bearer tok-1' }]);
    // Without provideClusterInfo the plugin is not told the cluster.
    expect(p.info()).toEqual({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', spec: { interactive: false } });
    expect(await p.config.credentials.get()).toEqual({ authorization: 'Bearer tok-2' });
    expect(p.runs()).toBe(2);
  });

  test('a plugin that fails or prints something else is an error naming the plugin, not a token', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'bad.sh'), '#!/bin/sh\necho "login required" >&2\nexit 3\n');
    writeFileSync(join(dir, 'wrong.sh'), '#!/bin/sh\necho \'{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"secret-token"}}\'\n');
    chmodSync(join(dir, 'bad.sh'), 0o755);
    chmodSync(join(dir, 'wrong.sh'), 0o755);
    const bad = loadKubeConfig(kubeconfig(dir, {}, { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: './bad.sh' } }, 'bad'));
    await expect(bad.credentials.get()).rejects.toThrow(/exec plugin .*bad\.sh failed: exit 3 \(login required\)/);
    const wrong = loadKubeConfig(kubeconfig(dir, {}, { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: './wrong.sh' } }, 'wrong'));
    const err = await wrong.credentials.get().catch((e: unknown) => e);
    expect(String(err)).toMatch(/did not print an ExecCredential of client.authentication.k8s.io\/v1$/);
    expect(String(err)).not.toContain('secret-token');
  });
});

describe('loadKubeConfig in a pod', () => {
  function serviceAccount(token: string): string {
    const dir = tmp();
    writeFileSync(join(dir, 'token'), token);
    writeFileSync(join(dir, 'ca.crt'), 'CLUSTER-CA');
    return dir;
  }

  test('the service host and port, brackets around IPv6, the CA, and a rotated token followed', async () => {
    const dir = serviceAccount('sa-1');
    const c = loadKubeConfig(undefined, { env: { KUBERNETES_SERVICE_HOST: 'fd00:10:96::1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: dir });
    expect(c.server).toBe('https://[fd00:10:96::1]:443');
    expect(String(c.tls.ca)).toBe('CLUSTER-CA');
    expect(c.source).toBe('in-cluster');
    expect(await c.credentials.get()).toEqual({ authorization: 'Bearer sa-1' });
    writeFileSync(join(dir, 'token'), 'sa-2');
    c.credentials.invalidate(); // a 401, or the minute passing
    expect(await c.credentials.get()).toEqual({ authorization: 'Bearer sa-2' });
    const v4 = loadKubeConfig(undefined, { env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: dir });
    expect(v4.server).toBe('https://10.96.0.1:443');
  });

  test('outside a pod, or a pod without its token: one E_USAGE line', () => {
    expect(() => loadKubeConfig(undefined, { env: {} })).toThrow('not in a pod (KUBERNETES_SERVICE_HOST unset): give --kubeconfig=FILE');
    const empty = tmp();
    expect(() => loadKubeConfig('', { env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: empty })).toThrow(
      expect.objectContaining({ code: 'E_USAGE', message: expect.stringContaining('without a service account token') as unknown }),
    );
  });
});
