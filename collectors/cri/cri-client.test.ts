import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, credentials, Metadata, status, type MethodDefinition } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { NetLink } from '../../agent/model/domain.js';
import type { LinkSource, PodSandbox } from '../../agent/model/ports.js';
import { FailureLog } from '../../agent/runtime/snapshot.js';
import { snapshotFrom } from '../../test/support/collectors.js';
import { CriServer, type TestSandbox } from '../../test/support/cri-server.js';
import { recordingLogger } from '../../test/support/links.js';
import { CriSandboxSource, type CriSandboxSourceOptions } from './cri-client.js';
import { criGrpc } from '../../test/support/grpc-services.js';

const FAST = { refreshIntervalMs: 30, callTimeoutMs: 1_000, backoff: { initialMs: 20, maxMs: 80 } } as const;
const WAIT = { timeout: 3_000, interval: 10 } as const;

let dir: string;
let socket: string;
let netnsDir: string;
let procRoot: string;
let server: CriServer | undefined;
let source: CriSandboxSource | undefined;

/**
 * A host tree the source reads: `netns/` with "namespaces" (plain files: their inode is what the
 * source reports; the nsfs device check is skipped because this procfs has no `self/`) and a
 * `proc/` where pid 4243's `ns/net` links to `net:[4026530002]` as the kernel's magic link reads.
 */
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cri-'));
  socket = path.join(dir, 'containerd.sock');
  netnsDir = path.join(dir, 'netns');
  procRoot = path.join(dir, 'proc');
  await mkdir(netnsDir);
  await mkdir(path.join(procRoot, '4243/ns'), { recursive: true });
  await symlink('net:[4026530002]', path.join(procRoot, '4243/ns/net'));
  for (const n of ['cni-aaaa', 'crio-bbbb', 'cni-gggg']) await writeFile(path.join(netnsDir, n), '');
});

afterEach(async () => {
  source?.stop();
  source = undefined;
  await server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

const inode = async (name: string): Promise<number> => (await stat(path.join(netnsDir, name))).ino;

const SANDBOXES: readonly TestSandbox[] = [
  // containerd, path and pid: the path wins (it outlives the process).
  { id: 'aaaa0001', namespace: 'default', name: 'order-service-1', uid: 'uid-a', layout: 'containerd', netnsPath: '/var/run/netns/cni-aaaa', pid: 4243 },
  // CRI-O with an infra container.
  { id: 'bbbb0002', namespace: 'default', name: 'order-db-0', uid: 'uid-b', layout: 'cri-o', netnsPath: '/var/run/netns/crio-bbbb', pid: 999_999 },
  // CRI-O, infra dropped, namespace gone (torn down between list and read): skipped, not fatal.
  { id: 'cccc0003', namespace: 'default', name: 'leaving', uid: 'uid-c', layout: 'cri-o-dropped-infra', netnsPath: '/var/run/netns/gone' },
  // containerd whose path is gone but whose pause process lives: by /proc/<pid>/ns/net.
  { id: 'dddd0004', namespace: 'telco', name: 'cnf', uid: 'uid-d', layout: 'containerd', netnsPath: '/var/run/netns/cni-gone', pid: 4243 },
  // hostNetwork: the node's own namespace, not a pod's.
  { id: 'eeee0005', namespace: 'kube-system', name: 'kube-proxy-x', uid: 'uid-e', layout: 'containerd', pid: 4243, hostNetwork: true },
  // Not ready: filtered out by the runtime.
  { id: 'ffff0006', namespace: 'default', name: 'stopped', uid: 'uid-f', layout: 'containerd', netnsPath: '/var/run/netns/cni-aaaa', state: 'SANDBOX_NOTREADY' },
];

function startSource(over: Partial<CriSandboxSourceOptions> = {}): { source: CriSandboxSource; lines: ReturnType<typeof recordingLogger>['lines'] } {
  const { log, lines } = recordingLogger();
  source = new CriSandboxSource({ socketPath: socket, host: { netnsDir, procRoot }, log, ...FAST, ...over });
  source.start();
  return { source, lines };
}

const byId = (list: readonly PodSandbox[]): PodSandbox[] => [...list].sort((a, b) => a.id.localeCompare(b.id));
const levels = (lines: readonly { level: string; msg: string }[], level: string): string[] => lines.filter((l) => l.level === level).map((l) => l.msg);

describe('CriSandboxSource against a CRI server on a unix socket', () => {
  it('lists ready sandboxes and maps each to its namespace inode, from containerd\'s and CRI-O\'s info', async () => {
    server = await CriServer.start(socket);
    server.sandboxes = SANDBOXES;
    const { source: s, lines } = startSource();
    await vi.waitFor(() => expect(s.status().connected).toBe(true), WAIT);
    expect(byId(s.sandboxes())).toEqual([
      { id: 'aaaa0001', namespace: 'default', name: 'order-service-1', uid: 'uid-a', netnsPath: '/var/run/netns/cni-aaaa', pid: 4243, netnsInode: await inode('cni-aaaa') },
      { id: 'bbbb0002', namespace: 'default', name: 'order-db-0', uid: 'uid-b', netnsPath: '/var/run/netns/crio-bbbb', pid: 999_999, netnsInode: await inode('crio-bbbb') },
      { id: 'dddd0004', namespace: 'telco', name: 'cnf', uid: 'uid-d', netnsPath: '/var/run/netns/cni-gone', pid: 4243, netnsInode: 4026530002 },
    ]);
    expect(s.status()).toMatchObject({ lastError: undefined, runtime: { name: 'containerd', version: 'v2.1.4', apiVersion: 'v1' } });
    expect(levels(lines, 'info')).toEqual(['container runtime connected']);
    expect(lines.filter((l) => l.msg === 'cri sandbox network namespace not found').map((l) => l.obj)).toEqual([
      { sandbox: 'cccc0003', pod: 'default/leaving', reason: `${path.join(netnsDir, 'gone')}: gone` },
    ]);
    // One verbose status per ready sandbox, not per refresh.
    await vi.waitFor(() => expect(server?.calls.listPodSandbox).toBeGreaterThanOrEqual(4), WAIT);
    expect(Object.fromEntries(server.calls.statusById)).toEqual({ aaaa0001: 1, bbbb0002: 1, cccc0003: 1, dddd0004: 1, eeee0005: 1 });
    expect(server.calls.version).toBe(1);

    // A new sandbox costs one status call; a removed one leaves the list.
    server.sandboxes = [...SANDBOXES.filter((x) => x.id !== 'aaaa0001'), { id: 'gggg0007', namespace: 'default', name: 'new', uid: 'uid-g', layout: 'cri-o-dropped-infra', netnsPath: '/run/netns/cni-gggg' }];
    await vi.waitFor(() => expect(byId(s.sandboxes()).map((x) => x.id)).toEqual(['bbbb0002', 'dddd0004', 'gggg0007']), WAIT);
    expect(s.sandboxes().find((x) => x.id === 'gggg0007')?.netnsInode).toBe(await inode('cni-gggg'));
    expect(server.calls.statusById.get('gggg0007')).toBe(1);
    expect(server.calls.statusById.get('bbbb0002')).toBe(1);

    // A namespace that appears later (the sandbox was listed before its mount showed) is picked up without a new status call.
    await writeFile(path.join(netnsDir, 'gone'), '');
    const gone = await inode('gone');
    await vi.waitFor(() => expect(s.sandboxes().find((x) => x.id === 'cccc0003')?.netnsInode).toBe(gone), WAIT);
    expect(server.calls.statusById.get('cccc0003')).toBe(1);
  });

  it('skips a sandbox removed between the list and its status (NOT_FOUND), and keeps going', async () => {
    server = await CriServer.start(socket);
    server.sandboxes = SANDBOXES.slice(0, 2);
    const real = server.sandboxes;
    // The list names one more sandbox than the status call can find.
    Object.defineProperty(server, 'sandboxes', {
      get: () => (server?.calls.podSandboxStatus === 0 && (server?.calls.listPodSandbox ?? 0) <= 1 ? [...real, { ...real[0], id: 'vanished' } as TestSandbox] : real),
      set: () => undefined,
    });
    const { source: s } = startSource();
    await vi.waitFor(() => expect(s.status().connected).toBe(true), WAIT);
    expect(byId(s.sandboxes()).map((x) => x.id)).toEqual(['aaaa0001', 'bbbb0002']);
    expect(server.calls.statusById.get('vanished')).toBe(1);
    expect(s.status().lastError).toBeUndefined();
  });

  it('starts before the runtime serves: collector_success 0, no crash, and recovers once it does', async () => {
    const { source: s, lines } = startSource();
    const links: LinkSource = { listLinks: async (): Promise<readonly NetLink[]> => [], close: () => undefined };
    const failures = new FailureLog(recordingLogger().log);
    await vi.waitFor(() => expect(levels(lines, 'debug').filter((m) => m === 'container runtime retry').length).toBeGreaterThanOrEqual(2), WAIT);
    expect(s.status()).toMatchObject({ connected: false, lastSuccessMs: undefined });
    expect(s.status().lastError).toMatch(/^UNAVAILABLE: .*connect ENOENT .*containerd\.sock\.?$/);
    const down = await snapshotFrom({ links, devices: undefined, sandboxes: s }, { collectorTimeoutMs: 1_000, failures });
    expect(down.collectors.find((c) => c.name === 'cri')).toMatchObject({ name: 'cri', success: false, error: expect.stringMatching(/^UNAVAILABLE: /) as unknown });

    server = await CriServer.start(socket);
    server.sandboxes = SANDBOXES;
    await vi.waitFor(() => expect(s.status().connected).toBe(true), WAIT);
    expect(byId(s.sandboxes()).map((x) => x.id)).toEqual(['aaaa0001', 'bbbb0002', 'dddd0004']);
    const up = await snapshotFrom({ links, devices: undefined, sandboxes: s }, { collectorTimeoutMs: 1_000, failures });
    // The duration is the last refresh's, measured off the scrape path (it was always 0 before).
    expect(up.collectors.find((c) => c.name === 'cri')).toEqual({ name: 'cri', success: true, durationSeconds: expect.any(Number) as unknown as number });
    expect(up.collectors.find((c) => c.name === 'cri')?.durationSeconds).toBeGreaterThan(0);
    expect(levels(lines, 'warn')).toEqual(['container runtime unavailable']);
    expect(lines.find((l) => l.msg === 'container runtime connected')?.obj).toMatchObject({ afterOutage: true, runtime: 'containerd', sandboxes: 3 });
  });

  it('survives runtime restarts (socket removed, or left stale after a crash): reconnects and refreshes', async () => {
    server = await CriServer.start(socket);
    server.sandboxes = SANDBOXES;
    const { source: s, lines } = startSource();
    await vi.waitFor(() => expect(s.status().connected).toBe(true), WAIT);

    await server.stop();
    await vi.waitFor(() => expect(s.status().lastError).toMatch(/^UNAVAILABLE: .*ENOENT/), WAIT);
    expect(s.status().connected).toBe(false);
    expect(s.sandboxes().length).toBe(3); // kept, marked stale by status

    // The runtime comes back as CRI-O with other sandboxes (a node re-provisioned): all of it is read again.
    server.runtime = { name: 'cri-o', version: '1.33.2' };
    server.sandboxes = [{ id: 'gggg0007', namespace: 'default', name: 'new', uid: 'uid-g', layout: 'cri-o', netnsPath: '/var/run/netns/cni-gggg', pid: 4243 }];
    await server.restart();
    await vi.waitFor(() => expect(s.sandboxes().map((x) => x.id)).toEqual(['gggg0007']), WAIT);
    expect(s.status()).toMatchObject({ connected: true, lastError: undefined, runtime: { name: 'cri-o', version: '1.33.2' } });

    await server.stop({ stale: true });
    await vi.waitFor(() => expect(s.status().lastError).toMatch(/^UNAVAILABLE: .*ECONNREFUSED/), WAIT);
    server.sandboxes = SANDBOXES;
    await server.restart();
    await vi.waitFor(() => expect(byId(s.sandboxes()).map((x) => x.id)).toEqual(['aaaa0001', 'bbbb0002', 'dddd0004']), WAIT);
    expect(levels(lines, 'warn')).toEqual(['container runtime unavailable', 'container runtime unavailable']);
    expect(server.calls.version).toBe(3); // once per connection
  });

  it('a failing call marks the cache stale without a second warning per outage', async () => {
    server = await CriServer.start(socket);
    server.sandboxes = SANDBOXES;
    const { source: s, lines } = startSource();
    await vi.waitFor(() => expect(s.status().connected).toBe(true), WAIT);
    server.failWith(status.UNIMPLEMENTED, 'unknown service runtime.v1.RuntimeService');
    await vi.waitFor(() => expect(s.status().lastError).toBe('UNIMPLEMENTED: unknown service runtime.v1.RuntimeService'), WAIT);
    server.failWith(undefined);
    await vi.waitFor(() => expect(s.status().connected).toBe(true), WAIT);
    expect(levels(lines, 'warn')).toEqual(['container runtime unavailable']);
  });

  it('waitForRefresh resolves when the first refresh ends, either way; stop() sends no more calls', async () => {
    const { source: s } = startSource({ refreshIntervalMs: 60_000 });
    expect(await s.waitForRefresh(3_000)).toBe(true);
    expect(s.status().connected).toBe(false);
    server = await CriServer.start(socket);
    server.sandboxes = SANDBOXES;
    await vi.waitFor(() => expect(s.status().connected).toBe(true), WAIT);
    s.stop();
    const calls = server.calls.listPodSandbox;
    expect(await s.waitForRefresh(50)).toBe(false);
    expect(server.calls.listPodSandbox).toBe(calls);
    expect(s.sandboxes().length).toBe(3); // still readable
  });
});

describe('the CRI test server', () => {
  it('answers Version, and PodSandboxStatus without verbose carries no info, as runtimes do', async () => {
    server = await CriServer.start(socket);
    server.sandboxes = SANDBOXES;
    const { version, podSandboxStatus } = criGrpc();
    const client = new Client(`unix://${socket}`, credentials.createInsecure());
    try {
      const call = <Req, Res>(m: MethodDefinition<Req, Res>, req: Req): Promise<Res> =>
        new Promise((resolve, reject) => {
          client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, req, new Metadata(), {}, (err, res) => (err ? reject(err) : resolve(res as Res)));
        });
      expect(await call(version, { version: 'v1' })).toEqual({ version: '0.1.0', runtime_name: 'containerd', runtime_version: 'v2.1.4', runtime_api_version: 'v1' });
      const plain = await call(podSandboxStatus, { pod_sandbox_id: 'aaaa0001', verbose: false });
      expect(plain.info).toEqual({});
      expect(plain.status).toMatchObject({ id: 'aaaa0001', metadata: { name: 'order-service-1', uid: 'uid-a', namespace: 'default', attempt: 0 }, state: 'SANDBOX_READY', linux: { namespaces: { options: { network: 'POD' } } } });
      expect(version.path).toBe('/runtime.v1.RuntimeService/Version');
      await expect(call(podSandboxStatus, { pod_sandbox_id: 'nope', verbose: true })).rejects.toMatchObject({ code: status.NOT_FOUND });
    } finally {
      client.close();
    }
  });
});
