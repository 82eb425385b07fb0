/** A grpc-js test server's life on a unix socket, as a kubelet or container runtime lives it. */
import { link, rename, rm } from 'node:fs/promises';
import { ServerCredentials, type Server } from '@grpc/grpc-js';

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
