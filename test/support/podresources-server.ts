/**
 * A kubelet PodResources server for tests: the vendored `podresources/v1` proto served by grpc-js
 * on `kubelet.sock` in a directory, as the kubelet serves it (List, Get, GetAllocatableResources).
 * Tests set what it answers ({@link PodResourcesServer.pods}, {@link PodResourcesServer.allocatable})
 * and drive faults: {@link PodResourcesServer.stop} (socket removed, or left behind as after a
 * crash, so a dial is refused), {@link PodResourcesServer.restart} (socket re-created at the same
 * path, as a restarted kubelet does), {@link PodResourcesServer.delayMs} (slow answers) and
 * {@link PodResourcesServer.failWith} (an error status, like the kubelet's rate limiter).
 * {@link PodResourcesServer.close} ends every timer and socket.
 */
import path from 'node:path';
import { status, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { UnixGrpcServer } from './grpc-unix.js';
import { PODRESOURCES_SOCKET } from '../../collectors/podresources/podresources-client.js';
import { podResourcesGrpc } from './grpc-services.js';
import {
  type AllocatableResourcesResponseMessage,
  type ContainerDevicesMessage,
  type GetPodResourcesRequestMessage,
  type GetPodResourcesResponseMessage,
  type ListPodResourcesResponseMessage,
  type PodResourcesMessage,
} from '../../collectors/podresources/podresources-proto.js';

/** Calls the server has answered or is answering, by method. */
export interface PodResourcesCalls {
  list: number;
  get: number;
  getAllocatableResources: number;
  /** Calls being answered now (a delayed call counts until it is answered or cancelled). */
  inFlight: number;
  /** The most calls ever answered at once. */
  maxInFlight: number;
}

/** A PodResourcesLister on a unix socket, controlled by the test. */
export class PodResourcesServer extends UnixGrpcServer {
  /** The directory (`--path.podresources`). */
  readonly dir: string;
  /** What List answers (and Get looks up); replace at will. */
  pods: readonly PodResourcesMessage[] = [];
  /** What GetAllocatableResources answers. */
  allocatable: readonly ContainerDevicesMessage[] = [];
  /** Whether Get is served (the `KubeletPodResourcesGet` feature gate, GA in 1.36). */
  getEnabled = true;
  /** Every answer waits this long. */
  delayMs = 0;
  readonly calls: PodResourcesCalls = { list: 0, get: 0, getAllocatableResources: 0, inFlight: 0, maxInFlight: 0 };
  readonly #pending = new Set<NodeJS.Timeout>();

  private constructor(dir: string) {
    super(path.join(dir, PODRESOURCES_SOCKET));
    this.dir = dir;
  }

  /** Starts serving on `kubelet.sock` in `dir` (which must exist). */
  static async start(dir: string): Promise<PodResourcesServer> {
    const server = new PodResourcesServer(dir);
    await server.restart();
    return server;
  }

  /**
   * Stops serving: connections are dropped, delayed answers dropped, and the socket removed. With
   * `stale`, the socket file stays behind, no longer listened on, as after a kubelet crash: a dial is refused.
   */
  override async stop(options: { stale?: boolean } = {}): Promise<void> {
    for (const t of this.#pending) clearTimeout(t);
    this.#pending.clear();
    await super.stop(options);
  }

  protected override service(): { definition: ServiceDefinition; implementation: UntypedServiceImplementation } {
    const { definition } = podResourcesGrpc();
    const implementation: UntypedServiceImplementation = {
      List: this.#unary('list', (): ListPodResourcesResponseMessage => ({ pod_resources: this.pods })),
      Get: this.#unary('get', (req: GetPodResourcesRequestMessage): GetPodResourcesResponseMessage => {
        // The kubelet answers both with a plain Go error, which gRPC sends as UNKNOWN.
        if (!this.getEnabled) throw Object.assign(new Error('PodResources API Get method disabled'), { code: status.UNKNOWN });
        const pod = this.pods.find((p) => p.name === req.pod_name && p.namespace === req.pod_namespace);
        if (!pod) throw Object.assign(new Error(`pod ${req.pod_name ?? ''} in namespace ${req.pod_namespace ?? ''} not found`), { code: status.UNKNOWN });
        return { pod_resources: pod };
      }),
      GetAllocatableResources: this.#unary('getAllocatableResources', (): AllocatableResourcesResponseMessage => ({ devices: this.allocatable, cpu_ids: [], memory: [] })),
    };
    return { definition, implementation };
  }

  /** A unary handler that counts, waits {@link delayMs}, and answers (or fails as told). */
  #unary<Req, Res>(method: 'list' | 'get' | 'getAllocatableResources', answer: (req: Req) => Res) {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      this.calls[method]++;
      this.calls.inFlight++;
      this.calls.maxInFlight = Math.max(this.calls.maxInFlight, this.calls.inFlight);
      let done = false;
      const finish = (): boolean => {
        if (done) return false;
        done = true;
        this.calls.inFlight--;
        return true;
      };
      const respond = (): void => {
        if (finish()) this.respond(call, callback, answer);
      };
      call.on('cancelled', () => void finish());
      if (this.delayMs <= 0) return respond();
      const timer = setTimeout(() => {
        this.#pending.delete(timer);
        respond();
      }, this.delayMs);
      this.#pending.add(timer);
    };
  }
}
