/**
 * Where the agent finds the kube API and how it authenticates: a kubeconfig file
 * (`--kubeconfig`, YAML or JSON) or, in a pod, the service account (`KUBERNETES_SERVICE_HOST`/
 * `_PORT`, the token and CA under /var/run/secrets/kubernetes.io/serviceaccount).
 *
 * Read here, without `@kubernetes/client-node` (whose KubeConfig alone loads its whole generated
 * API and costs the agent some 70 MB of RSS), what the agent needs of a kubeconfig, as client-go
 * reads it: the current context's cluster (`server`, `certificate-authority` / `-data`,
 * `insecure-skip-tls-verify`, `tls-server-name`) and user (`token`, `tokenFile`,
 * `client-certificate` / `-data`, `client-key` / `-data`, `username` / `password`, and `exec`
 * plugins of client.authentication.k8s.io v1 and v1beta1). Relative file paths and exec commands
 * are resolved against the kubeconfig's directory, as kubectl does. A token file (the pod's
 * projected token included) is re-read every minute and after a 401, so a rotated token is
 * followed; an exec credential is kept until its `expirationTimestamp` and re-run after a 401.
 * Everything else (auth-provider, proxy-url, impersonation) is refused with one E_USAGE line.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { AgentError } from '../../agent/model/errors.js';
import { isJsonObject, type JsonObject } from '../../agent/multus/go-json.js';

/** What one request authenticates with. */
export interface RequestCredentials {
  /** The `Authorization` header value. */
  readonly authorization?: string;
  /** A client certificate and key (PEM) an exec plugin gave. */
  readonly cert?: string;
  readonly key?: string;
}

/** Credentials of a user: asked before each request, told when the server answered 401. */
export interface Credentials {
  get(): Promise<RequestCredentials>;
  /** The server said 401: whether fresh credentials may be had (a re-read token, a re-run plugin). */
  invalidate(): boolean;
}

/** A kube API endpoint and how to talk to it. */
export interface KubeClientConfig {
  /** `https://HOST:PORT` (or `http:` for a test server). */
  readonly server: string;
  /** Where it came from, for logs: the kubeconfig path or `in-cluster`. */
  readonly source: string;
  readonly tls: {
    readonly ca?: Buffer;
    readonly cert?: Buffer;
    readonly key?: Buffer;
    readonly insecureSkipVerify: boolean;
    readonly serverName?: string;
  };
  readonly credentials: Credentials;
}

/** The service account directory of a pod. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** How long a token read from a file is used before it is read again (client-go: one minute). */
export const TOKEN_FILE_REFRESH_MS = 60_000;
/** Time an exec plugin has to answer. */
const EXEC_TIMEOUT_MS = 30_000;

/** Options of {@link loadKubeConfig} (tests point them elsewhere). */
export interface LoadOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly serviceAccountDir?: string;
}

/** The config from `path`, else from the pod's service account; a usage error when neither can be had. */
export function loadKubeConfig(path: string | undefined, options: LoadOptions = {}): KubeClientConfig {
  const env = options.env ?? process.env;
  if (path !== undefined && path !== '') {
    try {
      return fromKubeconfig(path, env);
    } catch (err) {
      if (err instanceof AgentError) throw err;
      throw new AgentError('E_USAGE', `--kubeconfig=${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port) throw new AgentError('E_USAGE', 'not in a pod (KUBERNETES_SERVICE_HOST unset): give --kubeconfig=FILE');
  const dir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const tokenFile = `${dir}/token`;
  let ca: Buffer;
  try {
    readFileSync(tokenFile);
    ca = readFileSync(`${dir}/ca.crt`);
  } catch (err) {
    throw new AgentError('E_USAGE', `in a pod without a service account token (automountServiceAccountToken: false?): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    source: 'in-cluster',
    tls: { ca, insecureSkipVerify: false },
    credentials: new TokenFileCredentials(tokenFile),
  };
}

/** Credentials that never change (a 401 cannot be mended by asking again). */
const fixedCredentials = (creds: RequestCredentials): Credentials => ({ get: () => Promise.resolve(creds), invalidate: () => false });

/** A fixed bearer token (a test server's, or a kubeconfig's `token`). */
export function tokenCredentials(token: string): Credentials {
  return fixedCredentials({ authorization: `Bearer ${token}` });
}

const NO_CREDENTIALS = fixedCredentials({});

function fromKubeconfig(path: string, env: NodeJS.ProcessEnv): KubeClientConfig {
  const fail = (message: string): never => {
    throw new AgentError('E_USAGE', `--kubeconfig=${path}: ${message}`);
  };
  const doc = parseConfig(readFileSync(path, 'utf8'));
  if (!isJsonObject(doc)) return fail('not a kubeconfig (no mapping at the top)');
  const current = doc['current-context'];
  const named = (list: string, name: unknown, field: string): JsonObject | undefined => {
    const entries = Array.isArray(doc[list]) ? (doc[list] as unknown[]) : [];
    const entry = entries.find((e) => isJsonObject(e) && e['name'] === name);
    return isJsonObject(entry) && isJsonObject(entry[field]) ? entry[field] : undefined;
  };
  const context = typeof current === 'string' && current !== '' ? named('contexts', current, 'context') : undefined;
  const cluster = context ? named('clusters', context['cluster'], 'cluster') : undefined;
  if (!context || !cluster || typeof cluster['server'] !== 'string' || cluster['server'] === '') return fail('no current context with a cluster');
  const user = (typeof context['user'] === 'string' && context['user'] !== '' ? named('users', context['user'], 'user') : undefined) ?? {};
  const base = dirname(resolve(path));
  const file = (p: unknown): string => (isAbsolute(String(p)) ? String(p) : resolve(base, String(p)));
  const bytes = (fileField: string, dataField: string, from: JsonObject): Buffer | undefined => {
    const data = from[dataField];
    if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64');
    const f = from[fileField];
    if (typeof f === 'string' && f !== '') return readFileSync(file(f));
    return undefined;
  };

  for (const refused of ['proxy-url']) if (cluster[refused] !== undefined) fail(`cluster field ${refused} is not supported (see docs/limitations.md)`);
  for (const refused of ['auth-provider', 'as', 'as-uid', 'as-groups', 'as-user-extra']) {
    if (user[refused] !== undefined) fail(`user field ${refused} is not supported (see docs/limitations.md)`);
  }
  let server: URL;
  try {
    server = new URL(cluster['server']);
  } catch {
    return fail(`cluster server ${JSON.stringify(cluster['server'])} is not a URL`);
  }
  if (server.protocol !== 'https:' && server.protocol !== 'http:') fail(`cluster server ${server.href} is neither https nor http`);

  let credentials = NO_CREDENTIALS;
  if (typeof user['token'] === 'string' && user['token'] !== '') credentials = tokenCredentials(user['token']);
  else if (typeof user['tokenFile'] === 'string' && user['tokenFile'] !== '') {
    const tf = file(user['tokenFile']);
    readFileSync(tf); // unreadable: refuse at start, not at the first request
    credentials = new TokenFileCredentials(tf);
  } else if (typeof user['username'] === 'string' && user['username'] !== '') {
    credentials = fixedCredentials({ authorization: `Basic ${Buffer.from(`${user['username']}:${typeof user['password'] === 'string' ? user['password'] : ''}`).toString('base64')}` });
  } else if (user['exec'] !== undefined) {
    credentials = new ExecCredentials(execSpec(user['exec'], base, env, fail), server.href);
  }

  return {
    server: server.origin + server.pathname.replace(/\/+$/, ''),
    source: path,
    tls: {
      ca: bytes('certificate-authority', 'certificate-authority-data', cluster),
      cert: bytes('client-certificate', 'client-certificate-data', user),
      key: bytes('client-key', 'client-key-data', user),
      insecureSkipVerify: cluster['insecure-skip-tls-verify'] === true,
      ...(typeof cluster['tls-server-name'] === 'string' && cluster['tls-server-name'] !== '' ? { serverName: cluster['tls-server-name'] } : {}),
    },
    credentials,
  };
}

/**
 * A kubeconfig as JSON, else as YAML. The yaml library is loaded only for a YAML file (about
 * 9 MB of RSS): in a pod the agent reads the service account and never loads it.
 */
function parseConfig(text: string): unknown {
  if (text.trimStart().startsWith('{')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // not JSON after all: YAML (a flow mapping) below
    }
  }
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml.parse(text) as unknown;
}

/**
 * A token read from a file: used for {@link TOKEN_FILE_REFRESH_MS}, then read again (a projected
 * service account token is rotated by the kubelet); read again at once after a 401.
 */
export class TokenFileCredentials implements Credentials {
  readonly #file: string;
  readonly #refreshMs: number;
  #cached: { creds: RequestCredentials; at: number } | undefined;

  constructor(file: string, refreshMs = TOKEN_FILE_REFRESH_MS) {
    this.#file = file;
    this.#refreshMs = refreshMs;
  }

  async get(): Promise<RequestCredentials> {
    const now = Date.now();
    if (this.#cached && now - this.#cached.at < this.#refreshMs) return this.#cached.creds;
    let token: string;
    try {
      token = (await readFile(this.#file, 'utf8')).trim();
    } catch (err) {
      // A failed re-read keeps the last token (the kubelet swaps the file by rename; a read can race it).
      if (this.#cached) return this.#cached.creds;
      throw new AgentError('E_HTTP', `token file ${this.#file} unreadable: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
    }
    this.#cached = { creds: { authorization: `Bearer ${token}` }, at: now };
    return this.#cached.creds;
  }

  invalidate(): boolean {
    this.#cached = undefined;
    return true;
  }
}

interface ExecSpec {
  readonly apiVersion: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** `provideClusterInfo`: the plugin is told the cluster's server in KUBERNETES_EXEC_INFO. */
  readonly clusterInfo: boolean;
}

const EXEC_API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];

function execSpec(raw: unknown, base: string, env: NodeJS.ProcessEnv, fail: (m: string) => never): ExecSpec {
  if (!isJsonObject(raw)) return fail('user exec is not a mapping');
  const apiVersion = raw['apiVersion'];
  if (typeof apiVersion !== 'string' || !EXEC_API_VERSIONS.includes(apiVersion)) {
    return fail(`exec apiVersion ${JSON.stringify(apiVersion)} is not supported (${EXEC_API_VERSIONS.join(' or ')})`);
  }
  const command = raw['command'];
  if (typeof command !== 'string' || command === '') return fail('exec without a command');
  if (raw['interactiveMode'] === 'Always') return fail('exec interactiveMode Always: the agent has no terminal');
  const args = Array.isArray(raw['args']) ? raw['args'].map(String) : [];
  const extra: NodeJS.ProcessEnv = {};
  for (const e of Array.isArray(raw['env']) ? (raw['env'] as unknown[]) : []) {
    if (isJsonObject(e) && typeof e['name'] === 'string') extra[e['name']] = String(e['value'] ?? '');
  }
  // As client-go: a command with a path separator is relative to the kubeconfig, a bare name is looked up in PATH.
  const cmd = command.includes('/') && !isAbsolute(command) ? resolve(base, command) : command;
  return { apiVersion, command: cmd, args, env: { ...env, ...extra }, clusterInfo: raw['provideClusterInfo'] === true };
}

/** Credentials from an exec plugin (ExecCredential), kept until their expiry or a 401. */
export class ExecCredentials implements Credentials {
  readonly #spec: ExecSpec;
  readonly #server: string;
  #cached: { creds: RequestCredentials; expiresMs: number } | undefined;
  #running: Promise<RequestCredentials> | undefined;

  constructor(spec: ExecSpec, server: string) {
    this.#spec = spec;
    this.#server = server;
  }

  get(): Promise<RequestCredentials> {
    if (this.#cached && Date.now() < this.#cached.expiresMs) return Promise.resolve(this.#cached.creds);
    this.#running ??= this.#run().finally(() => (this.#running = undefined));
    return this.#running;
  }

  invalidate(): boolean {
    this.#cached = undefined;
    return true;
  }

  async #run(): Promise<RequestCredentials> {
    const { apiVersion, command, args } = this.#spec;
    const info = { apiVersion, kind: 'ExecCredential', spec: { interactive: false, ...(this.#spec.clusterInfo ? { cluster: { server: this.#server } } : {}) } };
    const env = { ...this.#spec.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
    const stdout = await new Promise<string>((ok, ko) => {
      execFile(command, [...args], { env, timeout: EXEC_TIMEOUT_MS, maxBuffer: 1 << 20 }, (err, out, errOut) => {
        if (err) {
          const firstLine = String(errOut).trim().split('\n')[0]?.slice(0, 200) ?? '';
          const code: unknown = (err as { code?: unknown }).code;
          const why = typeof code === 'number' ? `exit ${code}` : err.killed ? `killed after ${EXEC_TIMEOUT_MS} ms` : typeof code === 'string' ? code : err.message;
          ko(new AgentError('E_HTTP', `exec plugin ${command} failed: ${why}${firstLine ? ` (${firstLine})` : ''}`));
        } else ok(String(out));
      });
    });
    let cred: unknown;
    try {
      cred = JSON.parse(stdout);
    } catch {
      throw new AgentError('E_HTTP', `exec plugin ${command} did not print an ExecCredential (not JSON)`);
    }
    if (!isJsonObject(cred) || cred['kind'] !== 'ExecCredential' || cred['apiVersion'] !== apiVersion || !isJsonObject(cred['status'])) {
      throw new AgentError('E_HTTP', `exec plugin ${command} did not print an ExecCredential of ${apiVersion}`);
    }
    const s = cred['status'];
    const creds: RequestCredentials = {
      ...(typeof s['token'] === 'string' && s['token'] !== '' ? { authorization: `Bearer ${s['token']}` } : {}),
      ...(typeof s['clientCertificateData'] === 'string' && typeof s['clientKeyData'] === 'string' ? { cert: s['clientCertificateData'], key: s['clientKeyData'] } : {}),
    };
    if (creds.authorization === undefined && creds.cert === undefined) throw new AgentError('E_HTTP', `exec plugin ${command} gave neither a token nor a client certificate`);
    const expires = typeof s['expirationTimestamp'] === 'string' ? Date.parse(s['expirationTimestamp']) : Number.POSITIVE_INFINITY;
    this.#cached = { creds, expiresMs: Number.isNaN(expires) ? Number.POSITIVE_INFINITY : expires };
    return creds;
  }
}
