/**
 * Kube adapter of the pod-metadata port: the pods of this node (`fieldSelector=spec.nodeName=`)
 * and every NetworkAttachmentDefinition (`k8s.cni.cncf.io/v1`, all namespaces), each kept by a
 * {@link Reflector} (list+watch with relist on 410, backoff, watchdog). `pods()` and `networks()`
 * read the caches: the scrape path never calls the API.
 */
import { AgentError } from '../../agent/model/errors.js';
import { networkDefinitionFromObject } from '../../agent/multus/parse-nad.js';
import { podInfoFromObject } from '../../agent/multus/pod-info.js';
import type { NetworkDefinition, PodInfo, PodMetadataSource } from '../../agent/model/pods.js';
import type { KubeCacheStatus, Logger } from '../../agent/model/ports.js';
import { KubeClient, type KubeWatcher } from './kube-client.js';
import type { KubeClientConfig } from './kube-config.js';
import { DEFAULT_WATCH_TIMING, OutageLog, Reflector, type ListPage, type WatchTiming } from './reflector.js';

/** The NetworkAttachmentDefinition API, as Multus registers it. */
export const NAD_API = { group: 'k8s.cni.cncf.io', version: 'v1', plural: 'network-attachment-definitions' } as const;

/** Options of {@link KubeMetadataSource}. */
export interface KubeMetadataSourceOptions {
  readonly kubeConfig: KubeClientConfig;
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
  readonly #kc: KubeClientConfig;
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
    const client = KubeClient.for(this.#kc);
    // The header timeout bounds the wait for a watch to start, not its length.
    const watch = { watch: ((path, query, onEvent, done) => client.watch(path, query, onEvent, done, timing.requestTimeoutMs)) satisfies KubeWatcher['watch'] };
    const outages = new OutageLog(options.log);
    const onChange = (): void => this.#changed();
    const onSync = (): void => {
      if (!this.synced()) return;
      for (const w of this.#syncWaiters) w();
    };

    const fieldSelector = `spec.nodeName=${options.nodeName}`;
    this.#pods = new Reflector<PodInfo>({
      resource: 'pods',
      listPage: async ({ limit, continueToken }, signal) => {
        const list = await client.request({ method: 'GET', path: '/api/v1/pods', query: { fieldSelector, limit, continue: continueToken }, signal });
        return rawListPage(list);
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

    const nadPath = `/apis/${NAD_API.group}/${NAD_API.version}/${NAD_API.plural}`;
    this.#nads = new Reflector<NetworkDefinition>({
      resource: NAD_API.plural,
      listPage: async ({ limit, continueToken }, signal) => {
        const list = await client.request({ method: 'GET', path: nadPath, query: { limit, continue: continueToken }, signal });
        return rawListPage(list);
      },
      watch,
      watchPath: nadPath,
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
    this.#started = true;
    this.#log.info({ server: this.#kc.server, node: this.#nodeName }, 'kube watch starting');
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

/** A list answer: items, resourceVersion, continue. */
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
