/**
 * CRI adapter: the pod sandboxes of the node and their network namespaces, from the container
 * runtime's `runtime.v1.RuntimeService` (containerd, CRI-O) on `--cri.endpoint`.
 *
 * One long-lived channel, dialled at start. A cache refreshed on its own timer, never inside a
 * scrape: ListPodSandbox (ready sandboxes), then PodSandboxStatus with `verbose` once per sandbox
 * not seen before (its network namespace path and pid do not change while it lives), then each
 * namespace's nsfs inode, so that the core can join by inode. When the runtime is away the cache
 * is kept but marked stale in {@link CriSandboxSource.status}, and the refresh is retried with
 * jittered exponential backoff; a runtime that restarts re-creates its socket at the same path.
 */
import type { Logger, PodSandbox, PodSandboxSource } from '../../agent/model/ports.js';
import { PolledChannel, type Backoff, type ChannelStatus, type UnaryCall } from '../grpc/polled-channel.js';
import { GrpcError, GrpcStatus } from '../grpc/unary-client.js';
import { CRI_RUNTIME_SERVICE as CRI, type PodSandboxMessage, type PodSandboxStatusResponseMessage } from './cri-proto.js';
import { parseSandboxInfo, type InfoLayout } from './parse-sandbox-info.js';
import { nsfsDevice, resolveNetnsInode, type HostPaths } from './sandbox-netns.js';

/** The CRI API version the agent speaks (VersionRequest.version; runtimes answer with their own). */
export const CRI_API_VERSION = 'v1';

/** What the runtime said of itself (Version). */
export interface RuntimeVersion {
  readonly name: string;
  readonly version: string;
  readonly apiVersion: string;
}

/** State of the cache, for `multinet_scrape_collector_success{collector="cri"}`. */
export interface CriStatus extends ChannelStatus {
  readonly runtime: RuntimeVersion | undefined;
}

/** Options of {@link CriSandboxSource}. */
export interface CriSandboxSourceOptions {
  /** The runtime's socket path (`/run/containerd/containerd.sock`, `/var/run/crio/crio.sock`). */
  readonly socketPath: string;
  /** `--path.netns` and `--path.procfs`: where the runtime's namespace paths and pids are read. */
  readonly host: HostPaths;
  readonly log: Logger;
  /** How often the sandboxes are listed while the runtime answers. Default 5 s. */
  readonly refreshIntervalMs?: number;
  /** Deadline of one call. Default 2 s. */
  readonly callTimeoutMs?: number;
  /** Retry delays while the runtime does not answer. Default 0.8 s doubling to 30 s. */
  readonly backoff?: Backoff;
}

/** What PodSandboxStatus said of one sandbox (its namespace's inode is resolved per refresh); kept while the sandbox is listed. */
interface SandboxEntry extends Omit<PodSandbox, 'netnsInode'> {
  readonly layout: InfoLayout;
  /** `hostNetwork: true`: the node's namespace, no pod's own. */
  readonly hostNetwork: boolean;
}

/** Runtimes answer big lists; the kubelet's CRI client allows 16 MiB (`maxMsgSize`), so do we. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** Ready pod sandboxes as the container runtime reports them, cached. Empty until the first successful refresh after {@link CriSandboxSource.start}. */
export class CriSandboxSource implements PodSandboxSource {
  readonly #socket: string;
  readonly #host: HostPaths;
  readonly #log: Logger;
  readonly #channel: PolledChannel;
  #timer: NodeJS.Timeout | undefined;
  readonly #entries = new Map<string, SandboxEntry>();
  /** Sandbox ids whose namespace could not be resolved at the last refresh (logged on change only). */
  #unresolved = new Set<string>();
  #sandboxes: readonly PodSandbox[] = [];
  #runtime: RuntimeVersion | undefined;
  #refreshes = 0;
  readonly #refreshWaiters = new Set<() => void>();

  constructor(options: CriSandboxSourceOptions) {
    this.#socket = options.socketPath;
    this.#host = options.host;
    this.#log = options.log;
    this.#channel = new PolledChannel({
      socketPath: this.#socket,
      log: options.log,
      refreshIntervalMs: options.refreshIntervalMs ?? 5_000,
      callTimeoutMs: options.callTimeoutMs ?? 2_000,
      backoff: options.backoff,
      maxResponseBytes: MAX_RESPONSE_BYTES,
      lines: {
        connected: 'container runtime connected',
        unavailable: 'container runtime unavailable',
        retry: 'container runtime retry',
        connectedFields: () => ({ runtime: this.#runtime?.name, runtimeVersion: this.#runtime?.version, sandboxes: this.#sandboxes.length }),
        cachedFields: () => ({ cachedSandboxes: this.#sandboxes.length }),
      },
    });
  }

  /** The socket this source dials. */
  get socketPath(): string {
    return this.#socket;
  }

  /** Opens the channel and starts refreshing at once. */
  start(): void {
    if (this.#channel.isOpen) return;
    this.#channel.open();
    this.#schedule(0);
  }

  /** Cancels the call in flight, clears the timer and closes the channel. The cache stays readable. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#channel.close();
    for (const w of this.#refreshWaiters) w();
  }

  /** Ready sandboxes whose network namespace was found, as of the last successful refresh. */
  sandboxes(): readonly PodSandbox[] {
    return this.#sandboxes;
  }

  /** Whether the cache is current, when it last was, and why not. */
  status(): CriStatus {
    return { ...this.#channel.status(), runtime: this.#runtime };
  }

  /** Resolves once a refresh has ended (succeeded or failed) after this call's moment, or after `timeoutMs`; true when it ended. */
  waitForRefresh(timeoutMs: number): Promise<boolean> {
    const target = this.#refreshes + 1;
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#refreshWaiters.delete(check);
        resolve(this.#refreshes >= target);
      };
      const check = (): void => {
        if (this.#refreshes >= target || !this.#channel.isOpen) done();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#refreshWaiters.add(check);
    });
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#channel.refresh(
        (call, current) => this.#refresh(call, current),
        (next) => {
          this.#refreshes++;
          for (const w of this.#refreshWaiters) w();
          this.#schedule(next);
        },
      );
    }, delayMs);
  }

  /** Lists, fetches the status of new sandboxes, resolves namespaces; the version too on a new connection. */
  async #refresh(call: UnaryCall, current: () => boolean): Promise<void> {
    let runtime = this.#runtime;
    if (!this.#channel.status().connected) {
      const v = await call(CRI.version, { version: CRI_API_VERSION });
      runtime = { name: v.runtime_name ?? '', version: v.runtime_version ?? '', apiVersion: v.runtime_api_version ?? '' };
      if (!current()) return;
    }
    const listed = await call(CRI.listPodSandbox, { filter: { state: { state: 'SANDBOX_READY' } } });
    if (!current()) return;
    const items = (listed.items ?? []).filter((s): s is PodSandboxMessage & { id: string } => typeof s.id === 'string' && s.id !== '' && s.state !== 'SANDBOX_NOTREADY');
    for (const item of items) {
      if (this.#entries.has(item.id)) continue;
      let st: PodSandboxStatusResponseMessage;
      try {
        st = await call(CRI.podSandboxStatus, { pod_sandbox_id: item.id, verbose: true });
      } catch (err) {
        // Removed between the list and this call: it is simply not there any more.
        if (err instanceof GrpcError && err.code === GrpcStatus.NOT_FOUND) continue;
        throw err;
      }
      if (!current()) return;
      this.#entries.set(item.id, this.#entryOf(item, st));
    }
    const ids = new Set(items.map((s) => s.id));
    for (const id of this.#entries.keys()) if (!ids.has(id)) this.#entries.delete(id);
    this.#sandboxes = this.#resolve();
    this.#runtime = runtime;
  }

  #entryOf(item: PodSandboxMessage, st: PodSandboxStatusResponseMessage): SandboxEntry {
    const meta = st.status?.metadata ?? item.metadata;
    const info = parseSandboxInfo(st.info);
    const entry: SandboxEntry = {
      id: item.id ?? '',
      namespace: meta?.namespace ?? '',
      name: meta?.name ?? '',
      uid: meta?.uid ?? '',
      netnsPath: info.netnsPath,
      pid: info.pid,
      layout: info.layout,
      hostNetwork: st.status?.linux?.namespaces?.options?.network === 'NODE',
    };
    this.#log.debug({ sandbox: entry.id, pod: `${entry.namespace}/${entry.name}`, layout: entry.layout, netnsPath: entry.netnsPath, pid: entry.pid, hostNetwork: entry.hostNetwork, problem: info.problem }, 'cri sandbox status');
    return entry;
  }

  /** The sandboxes whose namespace is found now; those whose path and process are gone are left out (and retried next time). */
  #resolve(): PodSandbox[] {
    const dev = nsfsDevice(this.#host.procRoot);
    const out: PodSandbox[] = [];
    const unresolved = new Set<string>();
    for (const e of this.#entries.values()) {
      if (e.hostNetwork) continue;
      const r = resolveNetnsInode(e, this.#host, dev);
      if (r.inode === undefined) {
        unresolved.add(e.id);
        if (!this.#unresolved.has(e.id)) this.#log.debug({ sandbox: e.id, pod: `${e.namespace}/${e.name}`, reason: r.reason }, 'cri sandbox network namespace not found');
        continue;
      }
      out.push({ id: e.id, namespace: e.namespace, name: e.name, uid: e.uid, netnsPath: e.netnsPath, pid: e.pid, netnsInode: r.inode });
    }
    this.#unresolved = unresolved;
    return out;
  }
}
