/**
 * Kube adapter of the pod-metadata port: the pods of this node (`fieldSelector=spec.nodeName=`)
 * and every NetworkAttachmentDefinition (`k8s.cni.cncf.io/v1`, all namespaces), each kept by a
 * {@link Reflector} (list+watch with relist on 410, backoff, watchdog). `pods()` and `networks()`
 * read the caches: the scrape path never calls the API.
 */
import { CoreV1Api, CustomObjectsApi, Watch, type KubeConfig } from '@kubernetes/client-node';
import { AgentError } from '../../agent/model/errors.js';
import { networkDefinitionFromObject } from '../../agent/multus/parse-nad.js';
import { podInfoFromObject } from '../../agent/multus/pod-info.js';
import type { NetworkDefinition, PodInfo, PodMetadataSource } from '../../agent/model/pods.js';
import type { KubeCacheStatus, Logger } from '../../agent/model/ports.js';
import { withSignal } from './api-call.js';
import { DEFAULT_WATCH_TIMING, OutageLog, Reflector, type ListPage, type WatchTiming } from './reflector.js';

/** The NetworkAttachmentDefinition API, as Multus registers it. */
export const NAD_API = { group: 'k8s.cni.cncf.io', version: 'v1', plural: 'network-attachment-definitions' } as const;

/** Options of {@link KubeMetadataSource}. */
export interface KubeMetadataSourceOptions {
  readonly kubeConfig: KubeConfig;
  /** This node's name (`spec.nodeName` of its pods; the DaemonSet passes it as `NODE_NAME`). */
  readonly nodeName: string;
  readonly log: Logger;
  /** Overrides of {@link DEFAULT_WATCH_TIMING} (tests shrink them). */
  readonly timing?: Partial<WatchTiming>;
  /** A burst of changes within this many ms makes one onChange call. Default 10. */
  readonly changeDebounceMs?: number;
}

/** {@link KubeCacheStatus} and the objects of the resource that did not convert. */
export interface KubeSourceStatus extends KubeCacheStatus {
  readonly skipped: number;
}

/** Pods of this node and NADs from the kube API; see the module comment. */
export class KubeMetadataSource implements PodMetadataSource {
  readonly #kc: KubeConfig;
  readonly #nodeName: string;
  readonly #log: Logger;
  readonly #pods: Reflector<PodInfo>;
  readonly #nads: Reflector<NetworkDefinition>;
  readonly #debounceMs: number;
  readonly #listeners = new Set<() => void>();
  readonly #syncWaiters = new Set<() => void>();
  #changeTimer: NodeJS.Timeout | undefined;
  #started = false;

  constructor(options: KubeMetadataSourceOptions) {
    if (options.nodeName === '') throw new AgentError('E_USAGE', 'the node name is empty (set NODE_NAME from spec.nodeName)');
    this.#kc = options.kubeConfig;
    this.#nodeName = options.nodeName;
    this.#log = options.log;
    this.#debounceMs = options.changeDebounceMs ?? 10;
    const timing: WatchTiming = { ...DEFAULT_WATCH_TIMING, ...options.timing };
    const watch = new Watch(withHeaderTimeout(this.#kc, timing.requestTimeoutMs));
    const outages = new OutageLog(options.log);
    const onChange = (): void => this.#changed();
    const onSync = (): void => {
      if (!this.synced()) return;
      for (const w of this.#syncWaiters) w();
    };

    const core = this.#kc.makeApiClient(CoreV1Api);
    const fieldSelector = `spec.nodeName=${options.nodeName}`;
    this.#pods = new Reflector<PodInfo>({
      resource: 'pods',
      listPage: async ({ limit, continueToken }, signal) => {
        const list = await core.listPodForAllNamespaces({ fieldSelector, limit, _continue: continueToken }, withSignal(signal));
        // The generated V1ListMeta renames `continue` to `_continue`.
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '', continueToken: list.metadata?._continue };
      },
      watch,
      watchPath: '/api/v1/pods',
      watchQuery: { fieldSelector },
      notFoundIsEmpty: false,
      convert: podInfoFromObject,
      log: options.log,
      outages,
      timing,
      onChange,
      onSync,
    });

    const custom = this.#kc.makeApiClient(CustomObjectsApi);
    this.#nads = new Reflector<NetworkDefinition>({
      resource: NAD_API.plural,
      listPage: async ({ limit, continueToken }, signal) => {
        const list: unknown = await custom.listClusterCustomObject({ ...NAD_API, limit, _continue: continueToken }, withSignal(signal));
        return rawListPage(list);
      },
      watch,
      watchPath: `/apis/${NAD_API.group}/${NAD_API.version}/${NAD_API.plural}`,
      watchQuery: {},
      // No Multus CRD in the cluster: no NADs, rather than never ready.
      notFoundIsEmpty: true,
      convert: networkDefinitionFromObject,
      log: options.log,
      outages,
      timing,
      onChange,
      onSync,
    });
  }

  /** The pods of this node, from the cache. */
  pods(): readonly PodInfo[] {
    return this.#pods.values();
  }

  /** Every NAD, from the cache. */
  networks(): readonly NetworkDefinition[] {
    return this.#nads.values();
  }

  /** Cache state of pods and NADs, for `multinet_kube_cache_*`. */
  cacheStatus(): readonly KubeSourceStatus[] {
    return [this.#pods.status(), this.#nads.status()];
  }

  /** Both resources have been listed once (it stays true through later outages: the cache still serves). */
  synced(): boolean {
    return this.#pods.synced && this.#nads.synced;
  }

  /** Starts list+watch of both resources; resolves once started, not once synced. */
  async start(): Promise<void> {
    if (this.#started) return;
    const cluster = this.#kc.getCurrentCluster();
    if (cluster === null) throw new AgentError('E_USAGE', 'the kubeconfig has no current cluster');
    this.#started = true;
    this.#log.info({ server: cluster.server, node: this.#nodeName }, 'kube watch starting');
    this.#pods.start();
    this.#nads.start();
  }

  /** Resolves true once synced, or false after `timeoutMs`. */
  waitForSync(timeoutMs: number): Promise<boolean> {
    if (this.synced()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.#syncWaiters.delete(waiter);
        resolve(ok);
      };
      const waiter = (): void => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#syncWaiters.add(waiter);
    });
  }

  /**
   * Calls `listener` shortly (changeDebounceMs) after pods or NADs changed, once per burst.
   * Returns the function that removes it.
   */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops both watches; the caches stay readable. */
  async stop(): Promise<void> {
    clearTimeout(this.#changeTimer);
    this.#changeTimer = undefined;
    this.#listeners.clear();
    await Promise.all([this.#pods.stop(), this.#nads.stop()]);
  }

  #changed(): void {
    if (this.#changeTimer !== undefined || this.#listeners.size === 0) return;
    this.#changeTimer = setTimeout(() => {
      this.#changeTimer = undefined;
      for (const listener of this.#listeners) {
        try {
          listener();
        } catch (err) {
          this.#log.warn({ err }, 'kube change listener failed');
        }
      }
    }, this.#debounceMs);
  }
}

/**
 * The KubeConfig given to client-node's `Watch`: the same one, whose fetch options also carry
 * node-fetch's `timeout`. node-fetch 2 clears that timer when the response headers arrive, so it
 * bounds the wait for a watch to start without cutting a long watch; `Watch` in client-node
 * 1.4.0 sets no timeout of its own.
 */
function withHeaderTimeout(kc: KubeConfig, timeoutMs: number): KubeConfig {
  const wrapped = Object.create(kc) as KubeConfig;
  wrapped.applyToFetchOptions = async (opts) => ({ ...(await kc.applyToFetchOptions(opts)), timeout: timeoutMs });
  return wrapped;
}

/** A list answered as plain JSON (CustomObjectsApi does not deserialize): items, resourceVersion, continue. */
function rawListPage(list: unknown): ListPage {
  const obj = typeof list === 'object' && list !== null ? (list as { items?: unknown; metadata?: unknown }) : {};
  if (!Array.isArray(obj.items)) throw new AgentError('E_HTTP', 'list response without items');
  const meta = typeof obj.metadata === 'object' && obj.metadata !== null ? (obj.metadata as { resourceVersion?: unknown; continue?: unknown }) : {};
  return {
    items: obj.items as unknown[],
    resourceVersion: typeof meta.resourceVersion === 'string' ? meta.resourceVersion : '',
    continueToken: typeof meta.continue === 'string' ? meta.continue : undefined,
  };
}
