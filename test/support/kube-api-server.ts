/**
 * A kube-apiserver for tests, on node:http, that the agent's client talks to; api-wire.test.ts
 * holds it to the real `@kubernetes/client-node` (a devDependency), so it stays protocol-faithful.
 * It speaks the wire format of the real one for what the agent uses: Pods, Events and Nodes
 * (core/v1) and NetworkAttachmentDefinitions (`k8s.cni.cncf.io/v1`) in an in-memory store with
 * one cluster-wide, monotonically increasing resourceVersion (etcd's revision);
 *
 * - LIST for all namespaces or one, with field and label selectors, `limit` + `continue` (chunks
 *   of one consistent snapshot), `metadata.resourceVersion`, and 410 Expired for a
 *   resourceVersion or continue token older than the retained history;
 * - WATCH (`watch=true`/`1`) as newline-delimited JSON over chunked transfer encoding: ADDED,
 *   MODIFIED, DELETED (an object leaving a field selector is DELETED, one entering is ADDED),
 *   BOOKMARK when `allowWatchBookmarks=true`, resumption from a resourceVersion by replaying a
 *   bounded history, and, for a resourceVersion older than that history, an ERROR event with a
 *   410 Expired Status inside the 200 stream, as the apiserver's watch cache answers;
 *   `timeoutSeconds` ends the stream cleanly (a bookmark first, when asked for);
 * - POST/PATCH of Events (409 AlreadyExists, 404 NotFound, merge / strategic-merge / JSON patch,
 *   415 for another content type) and PATCH of `nodes/{name}/status` (conditions merged by type);
 * - bearer-token authentication (401);
 * - TokenReview (`authentication.k8s.io/v1`) from a table of tokens and users, and
 *   SubjectAccessReview (`authorization.k8s.io/v1`) for non-resource URLs decided like RBAC
 *   from rules a test grants (users or groups; verbs and `nonResourceURLs`, `*` and `prefix*`),
 *   `system:masters` allowed everything; 403 for both when the caller may not create them.
 *
 * Tests drive faults through plain methods: {@link KubeApiServer.expireHistory},
 * {@link KubeApiServer.injectErrorEvent}, {@link KubeApiServer.dropWatches},
 * {@link KubeApiServer.stallWatches}, {@link KubeApiServer.setLatency},
 * {@link KubeApiServer.outage}; and read what happened through {@link KubeApiServer.requests},
 * {@link KubeApiServer.eventWrites} and {@link KubeApiServer.accessReviews}. Everything is bounded; {@link KubeApiServer.close} ends
 * every timer and socket.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { tokenCredentials, type KubeClientConfig } from '../../collectors/kube/kube-config.js';
import { jsonPatch, mergePatch, PATCH_CONTENT_TYPES, strategicMergePatch, type PatchResult } from './kube-api/patch.js';
import { parseFieldSelector, parseLabelSelector } from './kube-api/selectors.js';

/** The resources this server serves, by their plural name. */
export type ResourceName = 'pods' | 'network-attachment-definitions' | 'events' | 'nodes';

/** A stored object: plain JSON with `metadata`. */
export type KubeObject = Record<string, unknown> & { metadata: Record<string, unknown> };

/** What the server knows of a resource type. */
interface ResourceDef {
  readonly name: ResourceName;
  readonly group: string;
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** Built-in types omit kind/apiVersion in list items; custom resources (unstructured) keep them. */
  readonly builtin: boolean;
  /** Field labels a field selector may use (apiserver `GetAttrs` / CRD `selectableFields`). */
  readonly fieldLabels: ReadonlySet<string>;
  /** Strategic-merge list keys by path. */
  readonly mergeKeys: Readonly<Record<string, string>>;
  /** `status` is written through `/status` only. */
  readonly hasStatusSubresource: boolean;
}

const META_FIELDS = ['metadata.name', 'metadata.namespace'];

const RESOURCES: Readonly<Record<ResourceName, ResourceDef>> = {
  pods: {
    name: 'pods',
    group: '',
    apiVersion: 'v1',
    kind: 'Pod',
    namespaced: true,
    builtin: true,
    fieldLabels: new Set([...META_FIELDS, 'spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName']),
    mergeKeys: { 'spec.containers': 'name', 'status.conditions': 'type' },
    hasStatusSubresource: true,
  },
  'network-attachment-definitions': {
    name: 'network-attachment-definitions',
    group: 'k8s.cni.cncf.io',
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    namespaced: true,
    builtin: false,
    fieldLabels: new Set(META_FIELDS),
    mergeKeys: {},
    hasStatusSubresource: false,
  },
  events: {
    name: 'events',
    group: '',
    apiVersion: 'v1',
    kind: 'Event',
    namespaced: true,
    builtin: true,
    fieldLabels: new Set([...META_FIELDS, 'involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type']),
    mergeKeys: {},
    hasStatusSubresource: false,
  },
  nodes: {
    name: 'nodes',
    group: '',
    apiVersion: 'v1',
    kind: 'Node',
    namespaced: false,
    builtin: true,
    fieldLabels: new Set([...META_FIELDS, 'spec.unschedulable']),
    mergeKeys: { 'status.conditions': 'type', 'status.addresses': 'type' },
    hasStatusSubresource: true,
  },
};

/** One request as it arrived. */
export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** A GET with `watch=true` or `watch=1`. */
  readonly watch: boolean;
  /** The Content-Type header (a patch's type), when sent. */
  readonly contentType: string | undefined;
  readonly atMs: number;
}

/** One write of an Event through the API. */
export interface EventWrite {
  readonly verb: 'create' | 'patch';
  readonly namespace: string;
  readonly name: string;
  /** The request's Content-Type (the patch strategy for a patch). */
  readonly contentType: string;
  /** The request body as sent. */
  readonly body: unknown;
  /** The HTTP status answered. */
  readonly status: number;
}

/** Who a token is, as a TokenReview answers (UserInfo). */
export interface TokenUser {
  readonly username: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

/** An RBAC rule on non-resource URLs with its subjects: a ClusterRole and its ClusterRoleBinding in one. */
export interface NonResourceGrant {
  readonly users?: readonly string[];
  readonly groups?: readonly string[];
  /** Exact paths, `*`, or a prefix ending in `*` (`/metrics*`). */
  readonly nonResourceURLs: readonly string[];
  /** `get`, ..., or `*`. */
  readonly verbs: readonly string[];
}

/** One TokenReview or SubjectAccessReview that reached the server, and its answer. */
export interface AccessReviewRecord {
  readonly kind: 'TokenReview' | 'SubjectAccessReview';
  /** The request's spec as sent. */
  readonly spec: unknown;
  /** The HTTP status answered. */
  readonly status: number;
  /** The review's `status` answered (undefined for an error Status). */
  readonly result: unknown;
}

/** A Status object, as the apiserver sends for errors. */
export interface KubeStatus {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure';
  readonly message: string;
  readonly reason: string;
  readonly code: number;
  readonly details?: Record<string, unknown>;
}

/** Options of {@link KubeApiServer.start}. */
export interface KubeApiServerOptions {
  /** Watch events kept for resumption (the watch cache's capacity); older resourceVersions get 410. Default 1000. */
  readonly historyLimit?: number;
  /** How often a bookmark goes to watches that asked for them. Default 1000 ms (the apiserver: about a minute). */
  readonly bookmarkIntervalMs?: number;
  /** The bearer token accepted. Default `t`. */
  readonly token?: string;
  /** Address to listen on. Default 127.0.0.1 (an agent in another namespace needs a bridge address). */
  readonly host?: string;
}

interface HistoryEntry {
  readonly rv: number;
  readonly resource: ResourceName;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: KubeObject;
  /** The object before the change (for MODIFIED and DELETED), to turn selector moves into ADDED/DELETED. */
  readonly prev: KubeObject | undefined;
}

interface Watcher {
  readonly def: ResourceDef;
  readonly namespace: string | undefined;
  readonly matches: (obj: unknown) => boolean;
  readonly res: ServerResponse;
  readonly bookmarks: boolean;
  stalledUntil: number;
  readonly queued: string[];
  closed: boolean;
  timeout: NodeJS.Timeout | undefined;
}

/** A chunked list in progress: the snapshot every continue token of it reads. */
interface ListSnapshot {
  readonly rv: number;
  readonly items: readonly KubeObject[];
}

const MAX_BODY_BYTES = 1 << 20;
const MAX_REQUEST_LOG = 10_000;
const MAX_EVENT_WRITES = 10_000;
const MAX_SNAPSHOTS = 32;
/** Lines a stalled watch may hold before the server gives up on it (a real TCP buffer is finite too). */
const MAX_STALLED_LINES = 10_000;
/** The apiserver's default when a watch names no timeout (min-request-timeout 1800 s). */
const DEFAULT_WATCH_TIMEOUT_S = 1800;

const TOKEN_REVIEW_PATH = '/apis/authentication.k8s.io/v1/tokenreviews';
const SUBJECT_ACCESS_REVIEW_PATH = '/apis/authorization.k8s.io/v1/subjectaccessreviews';
/** The audiences the apiserver puts in a TokenReview answer when the spec names none (its --api-audiences). */
const API_AUDIENCES = ['https://kubernetes.default.svc.cluster.local'];

const CORE_PATH = /^\/api\/v1(?:\/namespaces\/([^/]+))?\/(pods|events|nodes)(?:\/([^/]+)(?:\/(status))?)?$/;
const NAD_PATH = /^\/apis\/k8s\.cni\.cncf\.io\/v1(?:\/namespaces\/([^/]+))?\/(network-attachment-definitions)(?:\/([^/]+))?$/;

/** A protocol-faithful kube-apiserver for tests; see the module comment. */
export class KubeApiServer {
  readonly #server: Server;
  readonly #host: string;
  #port = 0;
  readonly #token: string;
  readonly #historyLimit: number;
  readonly #store = new Map<ResourceName, Map<string, KubeObject>>();
  #rv = 1;
  /** Watches from a resourceVersion below this get 410: the history before it is gone. */
  #floor = 1;
  readonly #history: HistoryEntry[] = [];
  readonly #watchers = new Set<Watcher>();
  readonly #snapshots = new Map<string, ListSnapshot>();
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #requests: RequestRecord[] = [];
  readonly #eventWrites: EventWrite[] = [];
  readonly #bookmarkTimer: NodeJS.Timeout;
  #latencyMs = 0;
  /** Resources answered with 404, as when their CRD is not installed. */
  readonly #unserved = new Set<ResourceName>();
  #down = false;
  #closed = false;
  readonly #tokenUsers = new Map<string, TokenUser>();
  readonly #grants: NonResourceGrant[] = [];
  /** Reviews the caller may not create (403). */
  readonly #reviewsForbidden = new Set<AccessReviewRecord['kind']>();
  readonly #accessReviews: AccessReviewRecord[] = [];

  private constructor(options: KubeApiServerOptions) {
    this.#token = options.token ?? 't';
    this.#host = options.host ?? '127.0.0.1';
    this.#historyLimit = options.historyLimit ?? 1000;
    for (const name of Object.keys(RESOURCES) as ResourceName[]) this.#store.set(name, new Map());
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.#sendStatus(res, status(500, 'InternalError', String(err)));
        else res.destroy();
      });
    });
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.#bookmarkTimer = setInterval(() => this.#sendBookmarks(), options.bookmarkIntervalMs ?? 1000);
  }

  /** Starts a server on a free port of its host (127.0.0.1 by default). */
  static async start(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
    const s = new KubeApiServer(options);
    await s.#listen(0);
    return s;
  }

  /** `http://HOST:PORT`. */
  get url(): string {
    return `http://${this.#host}:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  /** The cluster's current resourceVersion. */
  get resourceVersion(): string {
    return String(this.#rv);
  }

  /** The agent's client config for this server, with a bearer token. */
  kubeConfig(token = this.#token): KubeClientConfig {
    return { server: this.url, source: 'test', tls: { insecureSkipVerify: false }, credentials: tokenCredentials(token) };
  }

  /**
   * A client-node KubeConfig for this server, to judge it by the real library. client-node 1.x
   * refuses an `http:` server unless the cluster has `skipTLSVerify: true` ("HTTP protocol is
   * not allowed when skipTLSVerify is not set").
   */
  clientNodeConfig(token = this.#token): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'test', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'u', token }],
      contexts: [{ name: 'test', cluster: 'test', user: 'u' }],
      currentContext: 'test',
    });
    return kc;
  }

  /** Writes a kubeconfig file for this server, for an agent started with `--kubeconfig` (skipTLSVerify as in {@link kubeConfig}). */
  async writeKubeconfig(file: string, token = this.#token): Promise<void> {
    await writeFile(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: test, cluster: {server: "${this.url}", insecure-skip-tls-verify: true}}]`,
        `users: [{name: u, user: {token: ${token}}}]`,
        'contexts: [{name: test, context: {cluster: test, user: u}}]',
        'current-context: test',
        '',
      ].join('\n'),
    );
  }

  // ---- store, as the test changes it ---------------------------------------------------------

  /** Creates an object (kind, apiVersion, uid, creationTimestamp and resourceVersion are filled in); throws if it exists. */
  create(resource: ResourceName, obj: object): KubeObject {
    const def = RESOURCES[resource];
    const o = this.#normalise(def, obj);
    const key = objectKey(def, o);
    const objects = this.#objects(resource);
    if (objects.has(key)) throw new Error(`${resource} ${key} already exists`);
    this.#commit(def, 'ADDED', o, undefined);
    return structuredClone(o);
  }

  /** Replaces an existing object (identity fields kept); throws if it does not exist. */
  update(resource: ResourceName, obj: object): KubeObject {
    const def = RESOURCES[resource];
    const o = this.#normalise(def, obj);
    const key = objectKey(def, o);
    const prev = this.#objects(resource).get(key);
    if (prev === undefined) throw new Error(`${resource} ${key} not found`);
    o.metadata['uid'] = prev.metadata['uid'];
    o.metadata['creationTimestamp'] = prev.metadata['creationTimestamp'];
    this.#commit(def, 'MODIFIED', o, prev);
    return structuredClone(o);
  }

  /** Creates or replaces. */
  apply(resource: ResourceName, obj: object): KubeObject {
    const def = RESOURCES[resource];
    const key = objectKey(def, this.#normalise(def, obj));
    return this.#objects(resource).has(key) ? this.update(resource, obj) : this.create(resource, obj);
  }

  /** Deletes an object; false when there was none. */
  delete(resource: ResourceName, namespace: string, name: string): boolean {
    const def = RESOURCES[resource];
    const key = def.namespaced ? `${namespace}/${name}` : name;
    const prev = this.#objects(resource).get(key);
    if (prev === undefined) return false;
    const gone = structuredClone(prev);
    this.#commit(def, 'DELETED', gone, prev);
    return true;
  }

  /** The stored object, or undefined. */
  get(resource: ResourceName, namespace: string, name: string): KubeObject | undefined {
    const def = RESOURCES[resource];
    const o = this.#objects(resource).get(def.namespaced ? `${namespace}/${name}` : name);
    return o === undefined ? undefined : structuredClone(o);
  }

  /** Every stored object of a resource, in key order. */
  list(resource: ResourceName): KubeObject[] {
    return this.#sorted(resource).map((o) => structuredClone(o));
  }

  /** The Events stored (created and patched through the API, or by the test). */
  events(): KubeObject[] {
    return this.list('events');
  }

  /** Every Event create and patch that reached the server, in order. */
  eventWrites(): readonly EventWrite[] {
    return [...this.#eventWrites];
  }

  // ---- authentication and authorization ----------------------------------------------------

  /** Makes TokenReview authenticate `token` as `user`. */
  addToken(token: string, user: TokenUser): void {
    this.#tokenUsers.set(token, user);
  }

  /** TokenReview no longer authenticates `token` (a deleted service account). */
  removeToken(token: string): void {
    this.#tokenUsers.delete(token);
  }

  /** Grants non-resource access (a ClusterRole with `nonResourceURLs` bound to users or groups). */
  grantNonResource(grant: NonResourceGrant): void {
    this.#grants.push(grant);
  }

  /** Removes every grant made with {@link grantNonResource}. */
  revokeNonResourceGrants(): void {
    this.#grants.length = 0;
  }

  /** Whether the caller may create TokenReviews and SubjectAccessReviews, or one of them (false: 403 Forbidden, a ClusterRole missing a rule). */
  setAccessReviewsPermitted(permitted: boolean, kind?: AccessReviewRecord['kind']): void {
    for (const k of kind === undefined ? (['TokenReview', 'SubjectAccessReview'] as const) : [kind]) {
      if (permitted) this.#reviewsForbidden.delete(k);
      else this.#reviewsForbidden.add(k);
    }
  }

  /** Every TokenReview and SubjectAccessReview that reached the server, in order. */
  accessReviews(kind?: AccessReviewRecord['kind']): AccessReviewRecord[] {
    return this.#accessReviews.filter((r) => kind === undefined || r.kind === kind);
  }

  // ---- faults ------------------------------------------------------------------------------

  /**
   * Compacts the history at a new resourceVersion: every resumption from an earlier one — even
   * the latest a client has seen — gets 410 Expired (an ERROR event in a watch, a 410 for a list
   * or a continue token), as after an etcd compaction. Open watches go on.
   */
  expireHistory(): void {
    this.#rv++;
    this.#floor = this.#rv;
    this.#history.length = 0;
    this.#snapshots.clear();
  }

  /**
   * Sends an ERROR event to every open watch of `resource` and ends those streams, as the
   * apiserver does. Default: 500 InternalError; pass `{ code: 410, reason: 'Expired' }` for a
   * 410 Gone inside the 200 stream.
   */
  injectErrorEvent(resource: ResourceName, error: { code?: number; reason?: string; message?: string } = {}): number {
    const s = status(error.code ?? 500, error.reason ?? 'InternalError', error.message ?? 'an error on the server ("injected") has prevented the request from succeeding');
    let n = 0;
    for (const w of [...this.#watchers]) {
      if (w.def.name !== resource) continue;
      this.#write(w, { type: 'ERROR', object: s });
      this.#endWatch(w);
      n++;
    }
    return n;
  }

  /** Destroys the sockets of every open watch mid-stream (no clean end of the chunked body). */
  dropWatches(resource?: ResourceName): number {
    let n = 0;
    for (const w of [...this.#watchers]) {
      if (resource !== undefined && w.def.name !== resource) continue;
      w.closed = true;
      this.#watchers.delete(w);
      clearTimeout(w.timeout);
      w.res.socket?.destroy();
      n++;
    }
    return n;
  }

  /**
   * Keeps the sockets of the watches open now but sends nothing on them for `ms` (no events, no
   * bookmarks); what they should have received is held and sent afterwards, as a congested path
   * would deliver it. Watches opened later are served normally.
   */
  stallWatches(ms: number, resource?: ResourceName): number {
    const until = Date.now() + ms;
    let n = 0;
    for (const w of this.#watchers) {
      if (resource !== undefined && w.def.name !== resource) continue;
      w.stalledUntil = until;
      n++;
    }
    this.#after(ms, () => {
      for (const w of this.#watchers) this.#flush(w);
    });
    return n;
  }

  /**
   * Serves a resource or answers 404 for it, as a cluster without the CRD does (`false` also
   * ends its open watches, as removing a CRD does).
   */
  setServed(resource: ResourceName, served: boolean): void {
    if (served) {
      this.#unserved.delete(resource);
      return;
    }
    this.#unserved.add(resource);
    for (const w of [...this.#watchers]) if (w.def.name === resource) this.#endWatch(w);
  }

  /** Delays every request (headers included) by `ms` from now on; 0 turns it off. */
  setLatency(ms: number): void {
    this.#latencyMs = ms;
  }

  /**
   * Stops listening and destroys every connection for `ms`, then listens again on the same port:
   * clients get ECONNREFUSED meanwhile. The store stays and may be changed by the test while the
   * server is down; the promise resolves when it is back.
   */
  async outage(ms: number): Promise<void> {
    if (this.#down) throw new Error('already down');
    this.#down = true;
    for (const w of [...this.#watchers]) {
      w.closed = true;
      this.#watchers.delete(w);
      clearTimeout(w.timeout);
    }
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    await closed;
    await new Promise<void>((resolve) => this.#after(ms, resolve));
    if (this.#closed) return;
    await this.#listen(this.#port);
    this.#down = false;
  }

  /** Requests received, oldest first (bounded); `filter` narrows them. */
  requests(filter: { method?: string; path?: string; watch?: boolean } = {}): RequestRecord[] {
    return this.#requests.filter(
      (r) => (filter.method === undefined || r.method === filter.method) && (filter.path === undefined || r.path === filter.path) && (filter.watch === undefined || r.watch === filter.watch),
    );
  }

  /** Forgets the request log. */
  clearRequests(): void {
    this.#requests.length = 0;
  }

  /** Watches open now, of one resource or all. */
  openWatches(resource?: ResourceName): number {
    let n = 0;
    for (const w of this.#watchers) if (resource === undefined || w.def.name === resource) n++;
    return n;
  }

  /** Ends every watch, timer and connection and stops listening. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#bookmarkTimer);
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const w of [...this.#watchers]) this.#endWatch(w);
    const closed = this.#server.listening ? new Promise<void>((resolve) => this.#server.close(() => resolve())) : Promise.resolve();
    for (const s of this.#sockets) s.destroy();
    await closed;
  }

  // ---- HTTP --------------------------------------------------------------------------------

  async #listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.#server.once('error', onError);
      this.#server.listen(port, this.#host, () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    const addr = this.#server.address();
    if (addr !== null && typeof addr === 'object') this.#port = addr.port;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const query = url.searchParams;
    const method = req.method ?? 'GET';
    const watch = method === 'GET' && isTrue(query.get('watch'));
    this.#requests.push({ method, path: url.pathname, query: Object.fromEntries(query), watch, contentType: req.headers['content-type'], atMs: Date.now() });
    if (this.#requests.length > MAX_REQUEST_LOG) this.#requests.splice(0, this.#requests.length - MAX_REQUEST_LOG);
    const body = method === 'POST' || method === 'PATCH' || method === 'PUT' ? await readBody(req) : undefined;
    if (this.#latencyMs > 0) await new Promise<void>((resolve) => this.#after(this.#latencyMs, resolve));
    if (res.destroyed || this.#closed) return;

    if (req.headers.authorization !== `Bearer ${this.#token}`) return this.#sendStatus(res, status(401, 'Unauthorized', 'Unauthorized'));
    if (body === null) return this.#sendStatus(res, status(413, 'RequestEntityTooLarge', 'request body too large'));
    if (url.pathname === TOKEN_REVIEW_PATH || url.pathname === SUBJECT_ACCESS_REVIEW_PATH) return this.#accessReview(url.pathname === TOKEN_REVIEW_PATH ? 'TokenReview' : 'SubjectAccessReview', method, body, res);

    const m = CORE_PATH.exec(url.pathname) ?? NAD_PATH.exec(url.pathname);
    const def = m ? RESOURCES[m[2] as ResourceName] : undefined;
    if (!m || !def || (m[1] !== undefined && !def.namespaced) || this.#unserved.has(def.name)) return this.#sendStatus(res, status(404, 'NotFound', 'the server could not find the requested resource'));
    const namespace = m[1] !== undefined ? decodeURIComponent(m[1]) : undefined;
    const name = m[3] !== undefined ? decodeURIComponent(m[3]) : undefined;
    const subresource = m[4];
    if (subresource !== undefined && def.name !== 'nodes') return this.#sendStatus(res, status(404, 'NotFound', 'the server could not find the requested resource'));
    if (name !== undefined && def.namespaced && namespace === undefined) return this.#sendStatus(res, status(404, 'NotFound', 'the server could not find the requested resource'));

    if (name === undefined) {
      if (method === 'GET') return watch ? this.#watch(def, namespace, query, res) : this.#list(def, namespace, query, res);
      if (method === 'POST') return this.#create(def, namespace, body, req, res);
      return this.#sendStatus(res, status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`));
    }
    const key = def.namespaced ? `${namespace ?? ''}/${name}` : name;
    if (method === 'GET') {
      const o = this.#objects(def.name).get(key);
      return o ? this.#sendJson(res, 200, o) : this.#sendStatus(res, notFound(def, name));
    }
    if (method === 'PATCH') return this.#patch(def, key, name, namespace, subresource, body, req, res);
    if (method === 'DELETE') {
      const o = this.#objects(def.name).get(key);
      if (!o) return this.#sendStatus(res, notFound(def, name));
      this.#commit(def, 'DELETED', structuredClone(o), o);
      return this.#sendJson(res, 200, o);
    }
    return this.#sendStatus(res, status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`));
  }

  #list(def: ResourceDef, namespace: string | undefined, query: URLSearchParams, res: ServerResponse): void {
    const field = parseFieldSelector(query.get('fieldSelector'), def.fieldLabels);
    if (!field.ok) return this.#sendStatus(res, status(400, 'BadRequest', field.error));
    const label = parseLabelSelector(query.get('labelSelector'));
    if (!label.ok) return this.#sendStatus(res, status(400, 'BadRequest', label.error));
    const limit = Number(query.get('limit') ?? '0');
    const token = query.get('continue');
    let snapshot: ListSnapshot;
    let offset = 0;
    if (token !== null && token !== '') {
      const parsed = parseContinue(token);
      const found = parsed ? this.#snapshots.get(parsed.id) : undefined;
      if (!parsed || !found) return this.#sendStatus(res, status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.'));
      snapshot = found;
      offset = parsed.offset;
    } else {
      const rvParam = query.get('resourceVersion');
      if (rvParam !== null && rvParam !== '' && rvParam !== '0') {
        const rv = Number(rvParam);
        if (!Number.isInteger(rv)) return this.#sendStatus(res, status(400, 'BadRequest', `invalid resource version: ${rvParam}`));
        if (rv < this.#floor) return this.#sendStatus(res, status(410, 'Expired', `too old resource version: ${rv} (${this.#floor})`));
        if (rv > this.#rv) return this.#sendStatus(res, status(504, 'Timeout', `Too large resource version: ${rv}, current: ${this.#rv}`, { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 }));
      }
      const items = this.#sorted(def.name).filter((o) => (namespace === undefined || o.metadata['namespace'] === namespace) && field.matches(o) && label.matches(o));
      snapshot = { rv: this.#rv, items };
    }
    const end = limit > 0 ? Math.min(offset + limit, snapshot.items.length) : snapshot.items.length;
    const page = snapshot.items.slice(offset, end).map((o) => (def.builtin ? withoutTypeMeta(o) : o));
    const metadata: Record<string, unknown> = { resourceVersion: String(snapshot.rv) };
    if (end < snapshot.items.length) {
      let id = token !== null && token !== '' ? parseContinue(token)?.id : undefined;
      if (id === undefined) {
        id = randomBytes(6).toString('hex');
        this.#snapshots.set(id, snapshot);
        while (this.#snapshots.size > MAX_SNAPSHOTS) this.#snapshots.delete(this.#snapshots.keys().next().value as string);
      }
      metadata['continue'] = Buffer.from(JSON.stringify({ id, offset: end })).toString('base64url');
      metadata['remainingItemCount'] = snapshot.items.length - end;
    }
    this.#sendJson(res, 200, { kind: `${def.kind}List`, apiVersion: def.apiVersion, metadata, items: page });
  }

  #watch(def: ResourceDef, namespace: string | undefined, query: URLSearchParams, res: ServerResponse): void {
    const field = parseFieldSelector(query.get('fieldSelector'), def.fieldLabels);
    if (!field.ok) return this.#sendStatus(res, status(400, 'BadRequest', field.error));
    const label = parseLabelSelector(query.get('labelSelector'));
    if (!label.ok) return this.#sendStatus(res, status(400, 'BadRequest', label.error));
    const rvParam = query.get('resourceVersion');
    const fromRv = rvParam === null || rvParam === '' || rvParam === '0' ? undefined : Number(rvParam);
    if (fromRv !== undefined && !Number.isInteger(fromRv)) return this.#sendStatus(res, status(400, 'BadRequest', `invalid resource version: ${rvParam ?? ''}`));
    const timeoutS = Number(query.get('timeoutSeconds') ?? DEFAULT_WATCH_TIMEOUT_S);

    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const w: Watcher = {
      def,
      namespace,
      matches: (o) => field.matches(o) && label.matches(o),
      res,
      bookmarks: isTrue(query.get('allowWatchBookmarks')),
      stalledUntil: 0,
      queued: [],
      closed: false,
      timeout: undefined,
    };
    res.on('close', () => {
      w.closed = true;
      clearTimeout(w.timeout);
      this.#watchers.delete(w);
    });

    if (fromRv !== undefined && fromRv < this.#floor) {
      // The watch cache answers a too-old resourceVersion inside the 200 stream, then ends it.
      this.#write(w, { type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${fromRv} (${this.#floor})`) });
      this.#endWatch(w);
      return;
    }
    if (fromRv === undefined) {
      // "Get state and start at most recent": synthetic ADDED for what exists now.
      for (const o of this.#sorted(def.name)) if (this.#inScope(w, o) && w.matches(o)) this.#write(w, { type: 'ADDED', object: o });
    } else {
      for (const e of this.#history) if (e.rv > fromRv && e.resource === def.name) this.#deliver(w, e);
    }
    this.#watchers.add(w);
    w.timeout = setTimeout(() => {
      if (w.bookmarks) this.#write(w, { type: 'BOOKMARK', object: this.#bookmark(def) });
      this.#endWatch(w);
    }, Math.max(0, timeoutS) * 1000);
  }

  #create(def: ResourceDef, namespace: string | undefined, body: Buffer | undefined, req: IncomingMessage, res: ServerResponse): void {
    const parsed = parseBody(body);
    const record = (code: number, name: string): void => {
      if (def.name === 'events') this.#recordEventWrite({ verb: 'create', namespace: namespace ?? '', name, contentType: req.headers['content-type'] ?? '', body: parsed.ok ? parsed.value : undefined, status: code });
    };
    if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null) {
      record(400, '');
      return this.#sendStatus(res, status(400, 'BadRequest', 'the body of the request was in an unknown format'));
    }
    const obj = structuredClone(parsed.value) as Record<string, unknown>;
    const meta = (typeof obj['metadata'] === 'object' && obj['metadata'] !== null ? obj['metadata'] : {}) as Record<string, unknown>;
    obj['metadata'] = meta;
    if (def.namespaced) {
      if (meta['namespace'] !== undefined && meta['namespace'] !== '' && meta['namespace'] !== namespace) {
        record(400, String(meta['name'] ?? ''));
        return this.#sendStatus(res, status(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request'));
      }
      meta['namespace'] = namespace;
    }
    if ((meta['name'] === undefined || meta['name'] === '') && typeof meta['generateName'] === 'string') meta['name'] = `${meta['generateName']}${randomBytes(3).toString('hex').slice(0, 5)}`;
    const name = typeof meta['name'] === 'string' ? meta['name'] : '';
    if (name === '') {
      record(422, '');
      return this.#sendStatus(res, status(422, 'Invalid', `${def.kind} "" is invalid: metadata.name: Required value: name or generateName is required`));
    }
    if (this.#objects(def.name).has(def.namespaced ? `${namespace ?? ''}/${name}` : name)) {
      record(409, name);
      return this.#sendStatus(res, status(409, 'AlreadyExists', `${qualified(def)} "${name}" already exists`, { name, group: def.group, kind: def.name }));
    }
    const created = this.create(def.name, obj);
    record(201, name);
    this.#sendJson(res, 201, created);
  }

  #patch(def: ResourceDef, key: string, name: string, namespace: string | undefined, subresource: string | undefined, body: Buffer | undefined, req: IncomingMessage, res: ServerResponse): void {
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
    const parsed = parseBody(body);
    const record = (code: number): void => {
      if (def.name === 'events') this.#recordEventWrite({ verb: 'patch', namespace: namespace ?? '', name, contentType, body: parsed.ok ? parsed.value : undefined, status: code });
    };
    const prev = this.#objects(def.name).get(key);
    if (!prev) {
      record(404);
      return this.#sendStatus(res, notFound(def, name));
    }
    if (!parsed.ok) {
      record(400);
      return this.#sendStatus(res, status(400, 'BadRequest', `error decoding patch: ${parsed.error}`));
    }
    let result: PatchResult;
    if (contentType === PATCH_CONTENT_TYPES.merge) result = { ok: true, value: mergePatch(prev, parsed.value) };
    else if (contentType === PATCH_CONTENT_TYPES.json) result = jsonPatch(prev, parsed.value);
    else if (contentType === PATCH_CONTENT_TYPES.strategic && def.builtin) result = { ok: true, value: strategicMergePatch(prev, parsed.value, def.mergeKeys) };
    else {
      // Custom resources take no strategic merge patch (there is no Go struct to read keys from).
      record(415);
      const accepted = def.builtin ? 'application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json' : 'application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml';
      return this.#sendStatus(res, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted}`));
    }
    if (!result.ok || typeof result.value !== 'object' || result.value === null || Array.isArray(result.value)) {
      record(422);
      return this.#sendStatus(res, status(422, 'Invalid', result.ok ? 'patch result is not an object' : result.error));
    }
    const patched = result.value as Record<string, unknown>;
    // A status subresource changes status only; through the main resource, status is kept.
    let next: KubeObject;
    if (subresource === 'status') next = { ...structuredClone(prev), status: patched['status'] };
    else {
      next = { ...(patched as KubeObject) };
      if (def.hasStatusSubresource) next['status'] = structuredClone(prev['status']);
    }
    const meta = typeof patched['metadata'] === 'object' && patched['metadata'] !== null ? (patched['metadata'] as Record<string, unknown>) : {};
    next.metadata = subresource === 'status' ? structuredClone(prev.metadata) : { ...meta };
    for (const k of ['name', 'namespace', 'uid', 'creationTimestamp'] as const) {
      if (prev.metadata[k] === undefined) delete next.metadata[k];
      else next.metadata[k] = prev.metadata[k];
    }
    next['kind'] = def.kind;
    next['apiVersion'] = def.apiVersion;
    this.#commit(def, 'MODIFIED', next, prev);
    record(200);
    this.#sendJson(res, 200, next);
  }

  // ---- reviews -----------------------------------------------------------------------------

  /** TokenReview and SubjectAccessReview: create-only virtual resources, answered 201 with the object and its status. */
  #accessReview(kind: AccessReviewRecord['kind'], method: string, body: Buffer | undefined, res: ServerResponse): void {
    const [group, resource] = kind === 'TokenReview' ? ['authentication.k8s.io', 'tokenreviews'] : ['authorization.k8s.io', 'subjectaccessreviews'];
    if (method !== 'POST') return this.#sendStatus(res, status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
    const parsed = parseBody(body);
    const spec = parsed.ok && typeof parsed.value === 'object' && parsed.value !== null ? ((parsed.value as { spec?: unknown }).spec ?? {}) : undefined;
    const answer = (code: number, result: unknown, s?: KubeStatus): void => {
      this.#accessReviews.push({ kind, spec, status: code, result });
      if (this.#accessReviews.length > MAX_EVENT_WRITES) this.#accessReviews.splice(0, this.#accessReviews.length - MAX_EVENT_WRITES);
      if (s) return this.#sendStatus(res, s);
      this.#sendJson(res, 201, { kind, apiVersion: `${group}/v1`, metadata: { creationTimestamp: null }, spec, status: result });
    };
    if (this.#reviewsForbidden.has(kind)) {
      return answer(403, undefined, status(403, 'Forbidden', `${resource}.${group} is forbidden: User "system:serviceaccount:multinet:multinet-agent" cannot create resource "${resource}" in API group "${group}" at the cluster scope`, { group, kind: resource }));
    }
    if (spec === undefined || typeof spec !== 'object' || spec === null) return answer(400, undefined, status(400, 'BadRequest', 'the body of the request was in an unknown format'));
    if (kind === 'TokenReview') {
      const token = (spec as { token?: unknown }).token;
      if (typeof token !== 'string' || token === '') return answer(400, undefined, status(400, 'BadRequest', 'token is required for TokenReview in authentication'));
      const user = this.#tokenUsers.get(token);
      // Go's omitempty: `authenticated` and `audiences` are absent when false/empty; `user` is a struct, always there.
      const result = user
        ? { authenticated: true, user: { username: user.username, ...(user.uid !== undefined ? { uid: user.uid } : {}), ...(user.groups ? { groups: [...user.groups] } : {}), ...(user.extra ? { extra: structuredClone(user.extra) } : {}) }, audiences: API_AUDIENCES }
        : { user: {}, error: 'invalid bearer token' };
      return answer(201, result);
    }
    const sar = spec as { user?: unknown; groups?: unknown; resourceAttributes?: unknown; nonResourceAttributes?: { path?: unknown; verb?: unknown } };
    const user = typeof sar.user === 'string' ? sar.user : '';
    const groups = Array.isArray(sar.groups) ? sar.groups.filter((g): g is string => typeof g === 'string') : [];
    if ((sar.resourceAttributes === undefined) === (sar.nonResourceAttributes === undefined)) {
      return answer(422, undefined, status(422, 'Invalid', 'SubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified'));
    }
    if (user === '' && groups.length === 0) return answer(422, undefined, status(422, 'Invalid', 'SubjectAccessReview.authorization.k8s.io "" is invalid: spec.user: Invalid value: "": at least one of user or group must be specified'));
    const path = typeof sar.nonResourceAttributes?.path === 'string' ? sar.nonResourceAttributes.path : undefined;
    const verb = typeof sar.nonResourceAttributes?.verb === 'string' ? sar.nonResourceAttributes.verb : '';
    // Resource attributes are not modelled here: nothing is granted on resources.
    const grant =
      path === undefined
        ? undefined
        : this.#grants.find(
            (g) =>
              ((g.users ?? []).includes(user) || (g.groups ?? []).some((x) => groups.includes(x))) &&
              (g.verbs.includes('*') || g.verbs.includes(verb)) &&
              g.nonResourceURLs.some((u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1)))),
          );
    if (groups.includes('system:masters')) return answer(201, { allowed: true });
    if (grant) return answer(201, { allowed: true, reason: `RBAC: allowed by ClusterRoleBinding "test" of ClusterRole "test" to ${(grant.users ?? []).includes(user) ? `User "${user}"` : 'Group'}` });
    return answer(201, { allowed: false });
  }

  // ---- watches -----------------------------------------------------------------------------

  #commit(def: ResourceDef, type: HistoryEntry['type'], obj: KubeObject, prev: KubeObject | undefined): void {
    this.#rv++;
    obj.metadata['resourceVersion'] = String(this.#rv);
    const key = objectKey(def, obj);
    if (type === 'DELETED') this.#objects(def.name).delete(key);
    else this.#objects(def.name).set(key, obj);
    const entry: HistoryEntry = { rv: this.#rv, resource: def.name, type, object: structuredClone(obj), prev: prev && structuredClone(prev) };
    this.#history.push(entry);
    if (this.#history.length > this.#historyLimit) {
      const dropped = this.#history.splice(0, this.#history.length - this.#historyLimit);
      const last = dropped[dropped.length - 1];
      if (last) this.#floor = Math.max(this.#floor, last.rv);
    }
    for (const w of this.#watchers) if (w.def.name === def.name) this.#deliver(w, entry);
  }

  /** Sends one history entry to a watch as its selector sees it. */
  #deliver(w: Watcher, e: HistoryEntry): void {
    if (!this.#inScope(w, e.object)) return;
    const now = w.matches(e.object);
    const before = e.prev !== undefined && w.matches(e.prev);
    let type: string | undefined;
    if (e.type === 'ADDED') type = now ? 'ADDED' : undefined;
    else if (e.type === 'DELETED') type = now || before ? 'DELETED' : undefined;
    else if (now) type = before ? 'MODIFIED' : 'ADDED';
    else if (before) type = 'DELETED';
    if (type !== undefined) this.#write(w, { type, object: e.object });
  }

  #inScope(w: Watcher, o: KubeObject): boolean {
    return w.namespace === undefined || o.metadata['namespace'] === w.namespace;
  }

  #write(w: Watcher, event: { type: string; object: unknown }): void {
    if (w.closed) return;
    const line = `${JSON.stringify(event)}\n`;
    if (Date.now() < w.stalledUntil) {
      w.queued.push(line);
      if (w.queued.length > MAX_STALLED_LINES) {
        w.closed = true;
        w.res.socket?.destroy();
      }
      return;
    }
    w.res.write(line);
  }

  #flush(w: Watcher): void {
    if (w.closed || Date.now() < w.stalledUntil) return;
    for (const line of w.queued.splice(0)) w.res.write(line);
  }

  #endWatch(w: Watcher): void {
    this.#watchers.delete(w);
    clearTimeout(w.timeout);
    if (w.closed) return;
    w.closed = true;
    w.res.end();
  }

  #sendBookmarks(): void {
    for (const w of this.#watchers) {
      if (!w.bookmarks || Date.now() < w.stalledUntil) continue;
      this.#write(w, { type: 'BOOKMARK', object: this.#bookmark(w.def) });
    }
  }

  #bookmark(def: ResourceDef): object {
    return { kind: def.kind, apiVersion: def.apiVersion, metadata: { resourceVersion: String(this.#rv), creationTimestamp: null } };
  }

  // ---- helpers -----------------------------------------------------------------------------

  #objects(resource: ResourceName): Map<string, KubeObject> {
    const m = this.#store.get(resource);
    if (!m) throw new Error(`unknown resource ${resource}`);
    return m;
  }

  #sorted(resource: ResourceName): KubeObject[] {
    return [...this.#objects(resource).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o);
  }

  /** A deep copy with kind, apiVersion, namespace, uid and creationTimestamp filled in. */
  #normalise(def: ResourceDef, obj: object): KubeObject {
    const o = structuredClone(obj) as Record<string, unknown>;
    const meta = (typeof o['metadata'] === 'object' && o['metadata'] !== null ? o['metadata'] : {}) as Record<string, unknown>;
    if (typeof meta['name'] !== 'string' || meta['name'] === '') throw new Error('metadata.name is required');
    if (def.namespaced) meta['namespace'] = typeof meta['namespace'] === 'string' && meta['namespace'] !== '' ? meta['namespace'] : 'default';
    else delete meta['namespace'];
    meta['uid'] ??= randomUUID();
    meta['creationTimestamp'] ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    return { ...o, kind: def.kind, apiVersion: def.apiVersion, metadata: meta };
  }

  #recordEventWrite(w: EventWrite): void {
    this.#eventWrites.push(w);
    if (this.#eventWrites.length > MAX_EVENT_WRITES) this.#eventWrites.splice(0, this.#eventWrites.length - MAX_EVENT_WRITES);
  }

  /** A timer that close() clears. */
  #after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  #sendJson(res: ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  #sendStatus(res: ServerResponse, s: KubeStatus): void {
    this.#sendJson(res, s.code, s);
  }
}

/** A Failure Status. */
export function status(code: number, reason: string, message: string, details?: Record<string, unknown>): KubeStatus {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code, ...(details ? { details } : {}) };
}

function notFound(def: ResourceDef, name: string): KubeStatus {
  return status(404, 'NotFound', `${qualified(def)} "${name}" not found`, { name, group: def.group, kind: def.name });
}

/** `pods`, or `network-attachment-definitions.k8s.cni.cncf.io`: how the apiserver names a resource in messages. */
function qualified(def: ResourceDef): string {
  return def.group === '' ? def.name : `${def.name}.${def.group}`;
}

function objectKey(def: ResourceDef, o: KubeObject): string {
  const name = String(o.metadata['name']);
  return def.namespaced ? `${String(o.metadata['namespace'])}/${name}` : name;
}

function withoutTypeMeta(o: KubeObject): Record<string, unknown> {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = o;
  return rest;
}

function isTrue(v: string | null): boolean {
  return v === 'true' || v === '1';
}

function parseContinue(token: string): { id: string; offset: number } | undefined {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { id?: unknown; offset?: unknown };
    return typeof v.id === 'string' && typeof v.offset === 'number' ? { id: v.id, offset: v.offset } : undefined;
  } catch {
    return undefined; // not a token this server made: the apiserver answers 410 for those too
  }
}

/** The request body, or null when it is larger than the apiserver would take here. */
async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function parseBody(body: Buffer | undefined): { ok: true; value: unknown } | { ok: false; error: string } {
  if (body === undefined || body.length === 0) return { ok: false, error: 'empty body' };
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) as unknown };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}
