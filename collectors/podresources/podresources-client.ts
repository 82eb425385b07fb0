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
import { Client, credentials, Metadata, status as GrpcStatus, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from '../../agent/ports.js';
import { podResourcesService, type ListPodResourcesResponseMessage, type PodResourcesService } from './podresources-proto.js';

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
export interface PodResourcesStatus {
  /** The last List succeeded and none has failed since: the cache is current. */
  readonly connected: boolean;
  /** Milliseconds since the epoch of the last successful List; undefined before the first. */
  readonly lastSuccessMs: number | undefined;
  /** `CODE: details` of the last failed List; undefined once a List succeeds. */
  readonly lastError: string | undefined;
}

/** Bounds of the reconnect backoff; each delay is jittered by ±20 %. */
export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

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
const DEFAULT_BACKOFF: Backoff = { initialMs: 800, maxMs: 30_000 };

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

/** The delay before retry number `failures` (1, 2, ...): doubling from `initialMs`, capped at `maxMs`, jittered ±20 %. */
export function backoffDelayMs(failures: number, backoff: Backoff, random: () => number = Math.random): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(Math.max(failures - 1, 0), 30));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/**
 * Device users as the kubelet's PodResources API reports them, cached. Empty until the first
 * successful List after {@link PodResourcesSource.start}.
 */
export class PodResourcesSource {
  readonly #socket: string;
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #callTimeoutMs: number;
  readonly #backoff: Backoff;
  #service: PodResourcesService | undefined;
  #client: Client | undefined;
  #timer: NodeJS.Timeout | undefined;
  #call: ClientUnaryCall | undefined;
  /** Bumped by start and stop, so that the answer to a call from before is ignored. */
  #generation = 0;
  #devices: ReadonlyMap<string, DeviceUser> = new Map();
  #connected = false;
  #lastSuccessMs: number | undefined;
  #lastError: string | undefined;
  /** Failed Lists in a row. */
  #failures = 0;

  constructor(options: PodResourcesSourceOptions) {
    this.#socket = path.resolve(options.dir ?? DEFAULT_PODRESOURCES_DIR, PODRESOURCES_SOCKET);
    this.#log = options.log;
    this.#intervalMs = options.refreshIntervalMs ?? 10_000;
    this.#callTimeoutMs = options.callTimeoutMs ?? 5_000;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
  }

  /** The socket this source dials. */
  get socketPath(): string {
    return this.#socket;
  }

  /** Opens the channel and starts refreshing; the first List is sent at once. Throws only when the vendored api.proto is missing. */
  start(): void {
    if (this.#client) return;
    this.#service ??= podResourcesService();
    this.#generation++;
    this.#failures = 0;
    this.#client = new Client(`unix://${this.#socket}`, credentials.createInsecure(), {
      // grpc-js reconnects in the background while a call waits or fails; keep its backoff within ours.
      'grpc.initial_reconnect_backoff_ms': this.#backoff.initialMs,
      'grpc.max_reconnect_backoff_ms': this.#backoff.maxMs,
      'grpc.max_receive_message_length': MAX_RESPONSE_BYTES,
    });
    this.#schedule(0);
  }

  /** Cancels the call in flight, clears the timer and closes the channel. The cache stays readable. */
  stop(): void {
    this.#generation++;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const call = this.#call;
    this.#call = undefined;
    call?.cancel();
    this.#client?.close();
    this.#client = undefined;
    this.#connected = false;
  }

  /** Device ID → user, as of the last successful List (kept while the kubelet is away). */
  devices(): ReadonlyMap<string, DeviceUser> {
    return this.#devices;
  }

  /** Whether the cache is current, when it last was, and why not. */
  status(): PodResourcesStatus {
    return { connected: this.#connected, lastSuccessMs: this.#lastSuccessMs, lastError: this.#lastError };
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#list();
    }, delayMs);
  }

  /** Sends one List; the next is scheduled only when it has answered, so slow answers never pile up. */
  #list(): void {
    const client = this.#client;
    const service = this.#service;
    if (!client || !service) return;
    const generation = this.#generation;
    const { path: method, requestSerialize, responseDeserialize } = service.list;
    this.#call = client.makeUnaryRequest(method, requestSerialize, responseDeserialize, {}, new Metadata(), { deadline: Date.now() + this.#callTimeoutMs }, (err, response) => {
      if (generation !== this.#generation) return; // stopped (and maybe started again) meanwhile
      this.#call = undefined;
      if (err) this.#failed(err);
      else this.#succeeded(response ?? {});
    });
  }

  #succeeded(response: ListPodResourcesResponseMessage): void {
    this.#devices = deviceUsersFromList(response);
    const firstOrBack = !this.#connected;
    const afterOutage = this.#failures > 0;
    this.#connected = true;
    this.#lastSuccessMs = Date.now();
    this.#lastError = undefined;
    this.#failures = 0;
    if (firstOrBack) {
      this.#log.info({ socket: this.#socket, devices: this.#devices.size, afterOutage }, 'kubelet pod resources connected');
    }
    this.#schedule(this.#intervalMs);
  }

  #failed(err: ServiceError): void {
    this.#connected = false;
    // grpc-js appends an empty "Resolution note: " to UNAVAILABLE details of a unix target.
    this.#lastError = `${GrpcStatus[err.code] ?? err.code}: ${err.details.replace(/\s*Resolution note:\s*$/, '')}`;
    this.#failures++;
    const retryInMs = backoffDelayMs(this.#failures, this.#backoff);
    if (this.#failures === 1) {
      this.#log.warn({ socket: this.#socket, reason: this.#lastError, cachedDevices: this.#devices.size }, 'kubelet pod resources unavailable');
    } else {
      this.#log.debug({ socket: this.#socket, reason: this.#lastError, failures: this.#failures, retryInMs }, 'kubelet pod resources retry');
    }
    this.#schedule(retryInMs);
  }
}
