/**
 * Kubelet PodResources adapter: which pod and container each device-plugin device is allocated
 * to (for the SR-IOV device plugin the device IDs are VF PCI addresses, `0000:3b:02.1`), from the
 * kubelet's `podresources/v1` gRPC API on `kubelet.sock` in `--path.podresources`.
 *
 * One long-lived channel, dialled at start. A cache refreshed with List on its own timer, never
 * inside a scrape: a scrape reads {@link PodResourcesSource.devices} synchronously. When the kubelet
 * is away (socket missing, refused, a restart, a slow or failing call) the cache is kept, marked
 * stale in {@link PodResourcesSource.status}, and List is retried with jittered exponential
 * backoff; the socket's directory is what is mounted, so the socket a restarted kubelet re-creates
 * is found at the same path. Get is not used: List answers for every pod in one call, and Get
 * needs the `KubeletPodResourcesGet` feature gate before Kubernetes 1.36.
 */
import path from 'node:path';
import type { Logger } from '../../agent/model/ports.js';
import { PolledChannel, type Backoff, type ChannelStatus, type UnaryCall } from '../grpc/polled-channel.js';
import { PODRESOURCES_LISTER, type ListPodResourcesResponseMessage } from './podresources-proto.js';

/** `--path.podresources` default: the directory the kubelet serves the PodResources API in. */
export const DEFAULT_PODRESOURCES_DIR = '/var/lib/kubelet/pod-resources';
/** The socket the kubelet creates in that directory (`podresources.Socket` in the kubelet). */
export const PODRESOURCES_SOCKET = 'kubelet.sock';

/** The container a device is allocated to, and the extended resource it was allocated as. */
export interface DeviceUser {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  /** `intel.com/intel_sriov_netdevice`, `nvidia.com/gpu`, ... */
  readonly resourceName: string;
}

/** State of the cache, for `multinet_scrape_collector_success{collector="podresources"}` and /readyz. */
export type PodResourcesStatus = ChannelStatus;

/** Options of {@link PodResourcesSource}. */
export interface PodResourcesSourceOptions {
  /** `--path.podresources`: the directory holding `kubelet.sock`. Default {@link DEFAULT_PODRESOURCES_DIR}. */
  readonly dir?: string;
  readonly log: Logger;
  /** How often List refreshes the cache while the kubelet answers. Default 10 s. */
  readonly refreshIntervalMs?: number;
  /** Deadline of one List call. Default 5 s. */
  readonly callTimeoutMs?: number;
  /** Retry delays while the kubelet does not answer. Default 0.8 s doubling to 30 s. */
  readonly backoff?: Backoff;
}

/** The kubelet's own podresources client allows responses of up to 16 MiB (`defaultPodResourcesMaxSize`); so do we. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/**
 * Device ID → user, from a List (or Get) response. Device IDs of every resource are kept; the
 * caller picks the ones it knows (PCI addresses). An ID listed under two containers (a device a
 * restartable init container shares with an app container: the kubelet lists init containers
 * first) is credited to the last one listed.
 */
export function deviceUsersFromList(response: ListPodResourcesResponseMessage): Map<string, DeviceUser> {
  const users = new Map<string, DeviceUser>();
  for (const pod of response.pod_resources ?? []) {
    for (const container of pod.containers ?? []) {
      for (const devices of container.devices ?? []) {
        for (const id of devices.device_ids ?? []) {
          if (id === '') continue;
          users.set(id, {
            namespace: pod.namespace ?? '',
            pod: pod.name ?? '',
            container: container.name ?? '',
            resourceName: devices.resource_name ?? '',
          });
        }
      }
    }
  }
  return users;
}

/**
 * Device users as the kubelet's PodResources API reports them, cached. Empty until the first
 * successful List after {@link PodResourcesSource.start}.
 */
export class PodResourcesSource {
  readonly #socket: string;
  readonly #channel: PolledChannel;
  #timer: NodeJS.Timeout | undefined;
  #devices: ReadonlyMap<string, DeviceUser> = new Map();

  constructor(options: PodResourcesSourceOptions) {
    this.#socket = path.resolve(options.dir ?? DEFAULT_PODRESOURCES_DIR, PODRESOURCES_SOCKET);
    this.#channel = new PolledChannel({
      socketPath: this.#socket,
      log: options.log,
      refreshIntervalMs: options.refreshIntervalMs ?? 10_000,
      callTimeoutMs: options.callTimeoutMs ?? 5_000,
      backoff: options.backoff,
      maxResponseBytes: MAX_RESPONSE_BYTES,
      lines: {
        connected: 'kubelet pod resources connected',
        unavailable: 'kubelet pod resources unavailable',
        retry: 'kubelet pod resources retry',
        connectedFields: () => ({ devices: this.#devices.size }),
        cachedFields: () => ({ cachedDevices: this.#devices.size }),
      },
    });
  }

  /** The socket this source dials. */
  get socketPath(): string {
    return this.#socket;
  }

  /** Opens the channel and starts refreshing; the first List is sent at once. */
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
  }

  /** Device ID → user, as of the last successful List (kept while the kubelet is away). */
  devices(): ReadonlyMap<string, DeviceUser> {
    return this.#devices;
  }

  /** Whether the cache is current, when it last was, and why not. */
  status(): PodResourcesStatus {
    return this.#channel.status();
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#channel.refresh(
        (call, current) => this.#list(call, current),
        (next) => this.#schedule(next),
      );
    }, delayMs);
  }

  /** One List; the cache is replaced only by the answer to a call of the channel as it is now. */
  async #list(call: UnaryCall, current: () => boolean): Promise<void> {
    const response = await call(PODRESOURCES_LISTER.list, {});
    if (current()) this.#devices = deviceUsersFromList(response ?? {});
  }
}
