/** A grpc-js test server's life on a unix socket, as a kubelet or container runtime lives it. */
import { link, rename, rm } from 'node:fs/promises';
import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';

/** Removes a socket left behind (as the kubelet, containerd and CRI-O do at start) and serves `server` on `socketPath`. */
export async function bindUnix(server: Server, socketPath: string): Promise<void> {
  await rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * Stops serving: connections are dropped and the socket removed. With `stale`, the socket file
 * stays behind, no longer listened on, as after a crash: a dial is refused.
 */
export async function shutdownUnix(server: Server, socketPath: string, options: { stale?: boolean } = {}): Promise<void> {
  // libuv unlinks a unix socket when its listener closes; a hard link keeps the inode for the stale case.
  const keep = `${socketPath}.stale`;
  if (options.stale) await link(socketPath, keep);
  server.forceShutdown();
  if (options.stale) await rename(keep, socketPath);
  else await rm(socketPath, { force: true });
}

/**
 * One gRPC service on a unix socket that a test stops (socket removed, or left behind as after a
 * crash), restarts at the same path and makes fail; a subclass says what the service answers.
 */
export abstract class UnixGrpcServer {
  readonly socketPath: string;
  #failure: { code: status; details: string } | undefined;
  #server: Server | undefined;

  protected constructor(socketPath: string) {
    this.socketPath = socketPath;
  }

  /** The service definition and its handlers, for each (re)start. */
  protected abstract service(): { definition: ServiceDefinition; implementation: UntypedServiceImplementation };

  /** Answers every call with this status until called with undefined. */
  failWith(code: status | undefined, details = 'injected failure'): void {
    this.#failure = code === undefined ? undefined : { code, details };
  }

  /** True while serving. */
  get serving(): boolean {
    return this.#server !== undefined;
  }

  /** Stops serving; with `stale` the socket file stays behind, refusing connections, as after a crash. */
  async stop(options: { stale?: boolean } = {}): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    await shutdownUnix(server, this.socketPath, options);
  }

  /** (Re)starts serving at the same path, removing a socket left behind first, as the kubelet, containerd and CRI-O do. */
  async restart(): Promise<void> {
    await this.stop();
    const server = new Server();
    const { definition, implementation } = this.service();
    server.addService(definition, implementation);
    await bindUnix(server, this.socketPath);
    this.#server = server;
  }

  /** Stops serving and removes the socket. */
  async close(): Promise<void> {
    await this.stop();
  }

  /** Sends the failure set by {@link failWith}, else `answer(request)`, else the error it throws (its `code`, INTERNAL without one). */
  protected respond<Req, Res>(call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>, answer: (req: Req) => Res): void {
    const failure = this.#failure;
    if (failure) return callback({ code: failure.code, details: failure.details });
    try {
      callback(null, answer(call.request));
    } catch (err) {
      callback({ code: (err as { code?: status }).code ?? status.INTERNAL, details: err instanceof Error ? err.message : String(err) });
    }
  }
}
